//! The arguments of the host's own tools, as models see them in `tools/list`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::bridge::Detail;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ExecuteCodeParams {
    /// TypeScript run as the body of an async function: top-level `await` works
    /// and `return` sets the result.
    pub code: String,
    /// Wall-clock limit in milliseconds, including time spent waiting on tools
    /// (default 30000).
    pub timeout: Option<u64>,
    /// The MCP servers this code may call (default: all configured).
    #[serde(rename = "mcpServers")]
    pub mcp_servers: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchToolsParams {
    /// What the tool should do, in words: "create a task", "take a screenshot".
    pub query: String,
    /// `name`, `summary` (default) or `full` (the TypeScript declaration).
    pub detail: Option<Detail>,
    /// How many tools to return (default 10).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DescribeToolsParams {
    /// Tools as `server.tool`, or whole servers as `server`.
    pub names: Vec<String>,
}
