//! The MCP server: the only module that knows MCP server types. Each tool is a
//! thin typed handler over the [`Runtime`]; a failed run is a tool result with
//! `isError: true`, never a protocol error, while unusable arguments are
//! rejected as invalid params by rmcp.

mod params;
mod resources;
mod tools;

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;

use crate::runtime::Runtime;

pub use params::{DescribeToolsParams, ExecuteCodeParams, SearchToolsParams};

/// Instructions sent at `initialize`, for the model.
const INSTRUCTIONS: &str = "Use execute_code to run TypeScript that calls the tools of the user's MCP \
servers and returns only what you need. Find tools with search_tools or list_mcp_servers, read their \
exact types with describe_tools (or the mcp-code-runtime://types/ resources), then write one program.";

#[derive(Clone)]
pub struct CodeRuntimeServer {
    runtime: Arc<Runtime>,
    tool_router: ToolRouter<Self>,
}
