//! The host's tools. Bodies stay a few lines: they call the runtime and shape
//! its answer as MCP content.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, JsonObject, ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::params::{DescribeToolsParams, ExecuteCodeParams, SearchToolsParams};
use super::{CodeRuntimeServer, INSTRUCTIONS, resources};
use crate::bridge::{Found, ServerStatus, state_label};
use crate::outcome::RunOutcome;
use crate::runtime::{ExecuteRequest, Runtime};
use crate::typegen::one_line_summary;

#[tool_router]
impl CodeRuntimeServer {
    pub fn new(runtime: Arc<Runtime>) -> Self {
        CodeRuntimeServer { runtime, tool_router: Self::tool_router() }
    }

    /// The host's own tools, as `tools/list` shows them.
    pub fn tool_definitions() -> Vec<rmcp::model::Tool> {
        Self::tool_router().list_all()
    }

    /// Run TypeScript in a sandbox and get back its return value and console output.
    /// Only what the code returns reaches you, so filter and summarize data in code.
    /// Call MCP servers' tools: `const fs = await import("mcp://filesystem"); await fs.readFile({path: "/x"})`
    /// (tools by exact or camelCase name), or `await mcp.call("server", "tool", {...})`; also
    /// `mcp.servers()`, `mcp.tools(server)`. A failed call throws an McpError (.kind, .server, .tool).
    /// console.log/info/warn/error are captured; setTimeout works. No files, network, process,
    /// require or fetch except through MCP tools. Limits: time (`timeout`, default 30 s), CPU fuel,
    /// 64 MiB memory, 1 MiB code and result. The response has {ok, result, logs, error: {kind,
    /// message, line, column}, stats}.
    #[tool(
        name = "execute_code",
        title = "Run a TypeScript program that calls MCP tools",
        output_schema = run_outcome_schema(),
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn execute_code(&self, Parameters(params): Parameters<ExecuteCodeParams>, cancel: CancellationToken) -> CallToolResult {
        let request = ExecuteRequest {
            code: params.code,
            timeout: params.timeout.map(Duration::from_millis),
            servers: params.mcp_servers,
            cancel,
            observer: None,
        };
        run_result(&self.runtime.execute(request).await)
    }

    /// List the configured MCP servers: state (running, or failed with the reason) and
    /// each tool with a one-line description.
    #[tool(name = "list_mcp_servers", title = "List MCP servers and their tools", annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_mcp_servers(&self) -> CallToolResult {
        let statuses = self.runtime.server_statuses().await;
        let mut result = CallToolResult::success(vec![ContentBlock::text(servers_text(&statuses))]);
        result.structured_content = Some(json!({ "servers": statuses.iter().map(server_json).collect::<Vec<_>>() }));
        result
    }

    /// Find tools of the MCP servers by what they do, best first. `detail`: `name`, `summary`
    /// (default) or `full` (TypeScript declaration).
    #[tool(name = "search_tools", title = "Search MCP tools", annotations(read_only_hint = true, open_world_hint = false))]
    async fn search_tools(&self, Parameters(params): Parameters<SearchToolsParams>) -> CallToolResult {
        let detail = params.detail.unwrap_or_default();
        let limit = params.limit.unwrap_or(DEFAULT_SEARCH_LIMIT) as usize;
        let found = match self.runtime.bridge().search_tools(&params.query, detail, limit).await {
            Ok(found) => found,
            Err(error) => return CallToolResult::error(vec![ContentBlock::text(error.to_string())]),
        };
        let mut result = CallToolResult::success(vec![ContentBlock::text(found_text(&found))]);
        result.structured_content = Some(json!({ "tools": found }));
        result
    }

    /// TypeScript declarations of tools (`server.tool`) or whole servers (`server`), to call
    /// them correctly from execute_code.
    #[tool(name = "describe_tools", title = "Describe MCP tools as TypeScript", annotations(read_only_hint = true, open_world_hint = false))]
    async fn describe_tools(&self, Parameters(params): Parameters<DescribeToolsParams>) -> CallToolResult {
        let (mut text, unknown) = match self.runtime.bridge().describe_tools(params.names).await {
            Ok(described) => (described.declarations, described.unknown),
            Err(error) => return CallToolResult::error(vec![ContentBlock::text(error.to_string())]),
        };
        let nothing_found = text.is_empty();
        if !unknown.is_empty() {
            let _ = write!(text, "\n// Not found: {}. Names are `server.tool` or `server`; try search_tools.", unknown.join(", "));
        }
        let content = vec![ContentBlock::text(text.trim_start().to_owned())];
        if nothing_found { CallToolResult::error(content) } else { CallToolResult::success(content) }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CodeRuntimeServer {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new("mcp-code-runtime", env!("CARGO_PKG_VERSION")));
        info.instructions = Some(INSTRUCTIONS.into());
        info
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(resources::list(&self.runtime.bridge().server_names())))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        resources::read(self.runtime.bridge(), &request.uri).await.map(Into::into)
    }
}

/// A run as a tool result: structured content plus its text rendering.
pub fn run_result(outcome: &RunOutcome) -> CallToolResult {
    let content = vec![ContentBlock::text(outcome.to_text())];
    let mut result = if outcome.ok { CallToolResult::success(content) } else { CallToolResult::error(content) };
    result.structured_content = serde_json::to_value(outcome).ok();
    result
}

/// `execute_code`'s outputSchema: [`RunOutcome`]'s derived schema without
/// descriptions (the tool's description explains the fields), number formats
/// and the `$schema` (2020-12 is MCP's default), and with enums as `enum`
/// lists, so the host's `tools/list` stays small.
fn run_outcome_schema() -> Arc<JsonObject> {
    let mut schema = Value::Object(rmcp::handler::server::common::schema_for_output::<RunOutcome>().as_ref().clone());
    compact_schema(&mut schema);
    match schema {
        Value::Object(schema) => Arc::new(schema),
        _ => unreachable!("a schema object stays an object"),
    }
}

fn compact_schema(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            for noise in ["$schema", "description", "format", "minimum"] {
                object.remove(noise);
            }
            let constants = object.get("oneOf").and_then(Value::as_array).and_then(|variants| {
                variants.iter().map(|variant| variant.get("const").cloned()).collect::<Option<Vec<_>>>()
            });
            if let Some(constants) = constants {
                object.remove("oneOf");
                object.insert("type".into(), json!("string"));
                object.insert("enum".into(), Value::Array(constants));
            }
            object.values_mut().for_each(compact_schema);
        }
        Value::Array(items) => items.iter_mut().for_each(compact_schema),
        _ => {}
    }
}

/// How many tools `search_tools` returns when not told.
const DEFAULT_SEARCH_LIMIT: u32 = 10;

fn found_text(found: &[Found]) -> String {
    if found.is_empty() {
        return "No tool matches.".into();
    }
    let mut text = String::new();
    for tool in found {
        match (&tool.summary, &tool.declaration) {
            (_, Some(declaration)) => { let _ = writeln!(text, "{declaration}"); }
            (Some(summary), None) => { let _ = writeln!(text, "{}: {summary}", tool.name); }
            (None, None) => { let _ = writeln!(text, "{}", tool.name); }
        }
    }
    text
}

fn servers_text(statuses: &[ServerStatus]) -> String {
    if statuses.is_empty() {
        return "No MCP servers are configured.".into();
    }
    let mut text = String::new();
    for status in statuses {
        let _ = writeln!(text, "{} ({}, {} tools)", status.name, state_label(&status.state), status.tools.len());
        for tool in &status.tools {
            let _ = writeln!(text, "  {}: {}", tool.name, one_line_summary(tool.description.as_deref()));
        }
    }
    text
}

fn server_json(status: &ServerStatus) -> Value {
    let tools: Vec<Value> = status
        .tools
        .iter()
        .map(|tool| json!({ "name": tool.name, "summary": one_line_summary(tool.description.as_deref()) }))
        .collect();
    json!({ "name": status.name, "state": state_label(&status.state), "tools": tools })
}
