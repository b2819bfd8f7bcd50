//! The MCP server: the only module that knows MCP server types. Each tool is a
//! thin typed handler over the [`Runtime`]; a failed run is a tool result with
//! `isError: true`, never a protocol error, while unusable arguments are
//! rejected as invalid params by rmcp.

mod approvals;
mod params;
mod progress;
mod resources;
mod response;
mod skills;
mod stats;
mod tools;

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;

use crate::runtime::Runtime;

pub use params::{DescribeToolsParams, ExecuteCodeParams, SearchToolsParams};

/// Instructions sent at `initialize`, for the model: when a program pays and
/// when a direct call is better (the plan's decision matrix), how to discover
/// tools, and the import forms. Kept under 400 tokens (cl100k), as tested.
pub const INSTRUCTIONS: &str = "\
execute_code runs a TypeScript program that calls the tools of the user's MCP servers; only what it \
returns reaches you.

Write a program when a task needs several tool calls or a loop (create 10 tasks, check every page), \
when results are large and you need only part of them (filter, count, aggregate logs or lists), or \
when data moves between servers. Call a tool directly when one call answers (one lookup, one \
screenshot, one diagnostic) and that tool is offered to you directly: a program adds overhead.

Discover: search_tools {query} ranks tools by what they do; list_mcp_servers lists servers and \
tools; describe_tools {names: [\"server.tool\"]} gives exact TypeScript declarations (also the \
mcp-code-runtime://types/ resources). Inside a program: mcp.search(query), mcp.describe(name), \
mcp.servers(), mcp.tools(server).

The code is the body of an async function: top-level await; `return` sets the result. \
`const fs = await import(\"mcp://filesystem\")` or `import * as fs from \"mcp://filesystem\"`, then \
`await fs.readFile({path})` (exact or camelCase tool names), or \
`await mcp.call(\"server\", \"tool\", args)`. Run independent calls with Promise.all. A failed call \
throws McpError (.kind, .server, .tool); console output comes back in `logs`.

Skills are tested workflows: call a skill_<name> tool, or `import x from \"skills/<name>\"` in a \
program. save_skill turns a program that worked into a skill.

Between runs: cache.get/set(key, value, ttlMs?) is shared by runs; with a sessionId, \
session.get/set/update() keeps an object for later runs of that id.";

/// What a client shows a model of this server before any call: its
/// `tools/list` and its instructions, as JSON (what `doctor` counts).
pub fn advertised_json() -> String {
    let advertised = serde_json::json!({ "tools": CodeRuntimeServer::tool_definitions(), "instructions": INSTRUCTIONS });
    serde_json::to_string(&advertised).unwrap_or_default()
}

#[derive(Clone)]
pub struct CodeRuntimeServer {
    runtime: Arc<Runtime>,
    tool_router: ToolRouter<Self>,
    /// The client's logging level, for the runs' log notifications.
    reporting: progress::Reporting,
}
