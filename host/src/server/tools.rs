//! The host's tools. Bodies stay a few lines: they call the runtime and shape
//! its answer as MCP content.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{Peer, RequestContext};
use rmcp::{ErrorData, RoleServer};
use rmcp::{ServerHandler, tool, tool_router};
use serde_json::{Value, json};

use super::params::{DeleteSkillParams, DescribeToolsParams, ExecuteCodeParams, SaveSkillParams, SearchToolsParams};
use super::{CodeRuntimeServer, INSTRUCTIONS, approvals, progress, resources, response, skills, stats};
use crate::bridge::{Found, ServerStatus, state_label};
use crate::outcome::RunOutcome;
use crate::runtime::{ExecuteRequest, Runtime, SkillRequest};
use crate::skills::SaveRequest;
use crate::typegen::one_line_summary;

#[tool_router]
impl CodeRuntimeServer {
    pub fn new(runtime: Arc<Runtime>) -> Self {
        CodeRuntimeServer { runtime, tool_router: Self::tool_router(), reporting: progress::Reporting::default() }
    }

    /// The host's own tools, as `tools/list` shows them.
    pub fn tool_definitions() -> Vec<rmcp::model::Tool> {
        Self::tool_router().list_all()
    }

    /// Run TypeScript in a sandbox; get back its return value and console output.
    /// Only what the code returns reaches you, so filter and summarize data in code.
    /// Call MCP servers' tools: `const fs = await import("mcp://filesystem"); await fs.readFile({path: "/x"})`
    /// (exact or camelCase names), or `await mcp.call("server", "tool", {...})`; also
    /// `mcp.servers()`, `mcp.tools(server)`. A failed call throws an McpError (.kind, .server, .tool).
    /// No files, network, process, require or fetch except through MCP tools. Limits: time,
    /// CPU fuel, 64 MiB memory, 1 MiB code and result. The response has {ok, result, logs,
    /// error: {kind, message, line, column}, stats}.
    #[tool(
        name = "execute_code",
        title = "Run a TypeScript program that calls MCP tools",
        output_schema = run_outcome_schema(),
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn execute_code(&self, Parameters(params): Parameters<ExecuteCodeParams>, context: RequestContext<RoleServer>) -> CallToolResult {
        let reporter = self.reporting.start(&context, "execute_code");
        let request = ExecuteRequest {
            code: params.code,
            timeout: params.timeout.map(Duration::from_millis),
            servers: params.mcp_servers,
            cancel: context.ct.clone(),
            observer: reporter.observer(),
            approver: approvals::approver(&context),
            session_id: params.session_id,
        };
        let outcome = self.runtime.execute(request).await;
        reporter.finish().await;
        response::run_result(outcome, params.stats, &self.runtime)
    }

    /// List the configured MCP servers: state (running, or failed and why) and each tool in one line.
    #[tool(name = "list_mcp_servers", title = "List MCP servers and their tools", annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_mcp_servers(&self) -> CallToolResult {
        let statuses = self.runtime.server_statuses().await;
        let mut result = CallToolResult::success(vec![ContentBlock::text(servers_text(&statuses))]);
        result.structured_content = Some(json!({ "servers": statuses.iter().map(server_json).collect::<Vec<_>>() }));
        result
    }

    /// Find tools of the MCP servers by what they do, best first.
    #[tool(name = "search_tools", title = "Search MCP tools", annotations(read_only_hint = true, open_world_hint = false))]
    async fn search_tools(&self, Parameters(params): Parameters<SearchToolsParams>) -> CallToolResult {
        let detail = params.detail.unwrap_or_default();
        let limit = params.limit.unwrap_or(DEFAULT_SEARCH_LIMIT) as usize;
        let found = match self.runtime.bridge().search_tools(&params.query, detail, limit, self.runtime.skill_infos()).await {
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
        let (mut text, unknown) = match self.runtime.bridge().describe_tools(params.names, self.runtime.skill_infos()).await {
            Ok(described) => (described.declarations, described.unknown),
            Err(error) => return CallToolResult::error(vec![ContentBlock::text(error.to_string())]),
        };
        let nothing_found = text.is_empty();
        if !unknown.is_empty() {
            let _ = write!(text, "\n// Not found: {}. Names are `server.tool`, `server` or `skills/name`; try search_tools.", unknown.join(", "));
        }
        let content = vec![ContentBlock::text(text.trim_start().to_owned())];
        if nothing_found { CallToolResult::error(content) } else { CallToolResult::success(content) }
    }

    /// Save a program that worked as a skill: the tool `skill_<name>` and the module
    /// `skills/<name>`, running with only the `servers` given.
    #[tool(name = "save_skill", title = "Save a program as a skill", annotations(read_only_hint = false, destructive_hint = false, open_world_hint = false))]
    async fn save_skill(&self, Parameters(params): Parameters<SaveSkillParams>, peer: Peer<RoleServer>) -> CallToolResult {
        let request = SaveRequest {
            name: params.name,
            code: params.code,
            description: params.description,
            input_schema: params.input_schema,
            output_schema: params.output_schema,
            servers: params.servers,
            replace: params.replace.unwrap_or(false),
        };
        match self.runtime.save_skill(request).await {
            Ok(skill) => {
                let exposure = &self.runtime.config().runtime.skills.expose;
                if exposure.exposes(skill.name()) {
                    notify_tools_changed(&peer).await;
                }
                skills::saved(&skill, exposure)
            }
            Err(error) => skills::refused(&error),
        }
    }

    /// Runs, success rate, p50/p95 ms, errors, top skills and tools, tokens saved; `window` such as "7d" (default all).
    #[tool(name = "runtime_stats", title = "Runtime statistics", annotations(read_only_hint = true, open_world_hint = false))]
    async fn runtime_stats(&self, Parameters(params): Parameters<stats::RuntimeStatsParams>) -> CallToolResult {
        stats::report(&self.runtime, params).await
    }

    /// Delete a skill saved with save_skill.
    #[tool(name = "delete_skill", title = "Delete a saved skill", annotations(read_only_hint = false, destructive_hint = true, open_world_hint = false))]
    async fn delete_skill(&self, Parameters(params): Parameters<DeleteSkillParams>, peer: Peer<RoleServer>) -> CallToolResult {
        match self.runtime.skills().delete(&params.name) {
            Ok(()) => {
                notify_tools_changed(&peer).await;
                skills::deleted(&params.name)
            }
            Err(error) => skills::refused(&error),
        }
    }
}

/// Tells the client that `tools/list` changed (a skill was saved or deleted).
async fn notify_tools_changed(peer: &Peer<RoleServer>) {
    if let Err(error) = peer.notify_tool_list_changed().await {
        tracing::debug!(%error, "cannot notify the client of the new tool list");
    }
}

impl CodeRuntimeServer {
    /// The host's own tools, then the exposed skills' tools.
    fn all_tools(&self) -> Vec<Tool> {
        let mut tools = self.tool_router.list_all();
        for tool in &mut tools {
            tool.input_schema = compact_input_schema(&tool.input_schema);
        }
        tools.extend(skills::tools(&self.runtime.skills().current(), &self.runtime.config().runtime.skills.expose));
        tools
    }

    async fn call_skill_tool(&self, request: &CallToolRequestParams, context: &RequestContext<RoleServer>) -> Option<CallToolResult> {
        let current = self.runtime.skills().current();
        let skill = skills::called(&request.name, &current, &self.runtime.config().runtime.skills.expose)?;
        let input = Value::Object(request.arguments.clone().unwrap_or_default());
        let reporter = self.reporting.start(context, &request.name);
        let observer = reporter.observer();
        let approver = approvals::approver(context);
        let request = SkillRequest { name: skill.name().to_owned(), input, cancel: context.ct.clone(), observer, approver };
        let outcome = self.runtime.call_skill(request).await;
        reporter.finish().await;
        Some(skills::result(skill, outcome, &self.runtime))
    }
}

impl ServerHandler for CodeRuntimeServer {
    async fn call_tool(&self, request: CallToolRequestParams, context: RequestContext<RoleServer>) -> Result<CallToolResponse, ErrorData> {
        if let Some(result) = self.call_skill_tool(&request, &context).await {
            return Ok(result.into());
        }
        self.tool_router.call(ToolCallContext::new(self, request, context)).await
    }

    async fn list_tools(&self, _request: Option<PaginatedRequestParams>, _context: RequestContext<RoleServer>) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.all_tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.all_tools().into_iter().find(|tool| tool.name == name)
    }

    #[allow(deprecated, reason = "MCP logging (deprecated by SEP-2577) is what clients show today")]
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_tool_list_changed().enable_resources().enable_logging().build())
            .with_server_info(Implementation::new("mcp-code-runtime", env!("CARGO_PKG_VERSION")));
        info.instructions = Some(INSTRUCTIONS.into());
        info
    }

    #[allow(deprecated, reason = "MCP logging (deprecated by SEP-2577) is what clients show today")]
    async fn set_level(&self, request: rmcp::model::SetLevelRequestParams, _context: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        self.reporting.set_level(request.level);
        Ok(())
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
        resources::read(&self.runtime, &request.uri).await.map(Into::into)
    }
}

/// `execute_code`'s outputSchema: [`RunOutcome`]'s derived schema without
/// descriptions (the tool's description explains the fields), number formats
/// and the `$schema` (2020-12 is MCP's default), and with enums as `enum`
/// lists, so the host's `tools/list` stays small.
fn run_outcome_schema() -> Arc<JsonObject> {
    compacted(rmcp::handler::server::common::schema_for_output::<RunOutcome>().as_ref(), &["$schema", "description", "format", "minimum"])
}

/// A tool's input schema without what says nothing to a model: the `$schema`
/// (2020-12 is MCP's default) and Rust's number formats and bounds.
fn compact_input_schema(schema: &JsonObject) -> Arc<JsonObject> {
    compacted(schema, &["$schema", "format", "minimum"])
}

fn compacted(schema: &JsonObject, noise: &[&str]) -> Arc<JsonObject> {
    let mut schema = Value::Object(schema.clone());
    compact_schema(&mut schema, noise);
    match schema {
        Value::Object(schema) => Arc::new(schema),
        _ => unreachable!("a schema object stays an object"),
    }
}

fn compact_schema(schema: &mut Value, noise: &[&str]) {
    match schema {
        Value::Object(object) => {
            for noise in noise {
                object.remove(*noise);
            }
            let constants = object.get("oneOf").and_then(Value::as_array).and_then(|variants| {
                variants.iter().map(|variant| variant.get("const").cloned()).collect::<Option<Vec<_>>>()
            });
            if let Some(constants) = constants {
                object.remove("oneOf");
                object.insert("type".into(), json!("string"));
                object.insert("enum".into(), Value::Array(constants));
            }
            object.values_mut().for_each(|value| compact_schema(value, noise));
        }
        Value::Array(items) => items.iter_mut().for_each(|item| compact_schema(item, noise)),
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
