//! The arguments of the host's own tools, as models see them in `tools/list`.

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::bridge::Detail;
use crate::outcome::StatsLevel;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ExecuteCodeParams {
    /// TypeScript run as the body of an async function: top-level `await` works
    /// and `return` sets the result.
    pub code: String,
    /// Wall-clock limit in ms, waits on tools included (default 30000).
    pub timeout: Option<u64>,
    /// The MCP servers this code may call (default: all configured).
    #[serde(rename = "mcpServers")]
    pub mcp_servers: Option<Vec<String>>,
    /// `full` adds fuel, memory and tool use by server.
    pub stats: Option<StatsLevel>,
    /// Keeps `session` between runs.
    #[serde(rename = "sessionId")]
    pub session_id: Option<String>,
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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SaveSkillParams {
    /// kebab-case, e.g. `triage-report`: the tool `skill_<name>`, the module `skills/<name>`.
    pub name: String,
    /// A program that worked in execute_code (its argument is `input`), or a module with
    /// a default export.
    pub code: String,
    pub description: String,
    /// JSON Schema (type object) of `input`.
    pub input_schema: JsonObject,
    /// JSON Schema (type object) of the result.
    pub output_schema: Option<JsonObject>,
    /// The servers it may call: its whole grant.
    pub servers: Vec<String>,
    /// Replace the saved skill of this name.
    pub replace: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteSkillParams {
    pub name: String,
}
