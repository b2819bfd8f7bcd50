//! What one run may reach: a [`RunGrant`] is the run's view of the bridge.
//!
//! Everything a program asks of a downstream server passes through here and is
//! checked in the host, never in guest JavaScript: the server must be visible
//! to the run (`execute_code`'s `mcpServers`), the tool allowed by the server's
//! policy, and the run within its limits on calls and bytes received. The grant
//! also keeps the per-server statistics reported with the run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{JsonObject, Tool};
use serde_json::{Value, json};

use super::catalog::{Catalog, Detail, allowed_tools};
use super::downstream::{Downstream, DownstreamError};
use super::results::tool_value;
use crate::outcome::ServerUsage;
use crate::policy::{Decision, Policy};
use crate::sandbox::{Failure, FailureKind, ToolAccess, ToolFuture};

/// The per-run limits on tool use.
#[derive(Debug, Clone, Copy)]
pub struct ToolLimits {
    pub max_calls: u32,
    pub call_timeout: Duration,
    pub max_bytes_received: u64,
}

#[derive(Default)]
struct Usage {
    calls: u32,
    bytes_received: u64,
    servers: BTreeMap<String, ServerUsage>,
}

pub struct RunGrant {
    visible: Vec<Arc<Downstream>>,
    configured: Vec<String>,
    policy: Arc<Policy>,
    limits: ToolLimits,
    usage: Arc<Mutex<Usage>>,
}

impl RunGrant {
    pub(super) fn new(visible: Vec<Arc<Downstream>>, configured: Vec<String>, policy: Arc<Policy>, limits: ToolLimits) -> Self {
        RunGrant { visible, configured, policy, limits, usage: Arc::default() }
    }

    /// Tool use so far, by server.
    pub fn usage(&self) -> BTreeMap<String, ServerUsage> {
        self.usage.lock().expect("usage lock").servers.clone()
    }

    fn server(&self, server: &str, tool: &str) -> Result<Arc<Downstream>, Failure> {
        if let Some(found) = self.visible.iter().find(|downstream| downstream.name() == server) {
            return Ok(Arc::clone(found));
        }
        let visible = self.visible_names();
        if self.configured.iter().any(|name| name == server) {
            return Err(Failure::new(
                FailureKind::CapabilityDenied,
                format!("server `{server}` is not available to this run; it may use: {visible}"),
                server,
                tool,
            ));
        }
        Err(Failure::new(FailureKind::NotFound, format!("no MCP server is named `{server}`; known servers: {visible}"), server, tool))
    }

    fn visible_names(&self) -> String {
        if self.visible.is_empty() {
            return "(none)".into();
        }
        self.visible.iter().map(|downstream| downstream.name()).collect::<Vec<_>>().join(", ")
    }

    /// Counts one call against the run's and the server's limits.
    fn admit_call(&self, server: &str, tool: &str) -> Result<(), Failure> {
        let mut usage = self.usage.lock().expect("usage lock");
        if usage.calls >= self.limits.max_calls {
            let message = format!("the run reached its limit of {} tool calls", self.limits.max_calls);
            return Err(Failure::new(FailureKind::ToolLimit, message, server, tool));
        }
        let server_calls = usage.servers.get(server).map_or(0, |used| used.calls);
        if let Some(max) = self.policy.max_calls(server).filter(|max| server_calls >= *max) {
            let message = format!("the run reached its limit of {max} calls to server `{server}`");
            return Err(Failure::new(FailureKind::ToolLimit, message, server, tool));
        }
        usage.calls += 1;
        usage.servers.entry(server.to_owned()).or_default().calls += 1;
        Ok(())
    }
}

impl ToolAccess for RunGrant {
    fn server_names(&self) -> Vec<String> {
        self.visible.iter().map(|downstream| downstream.name().to_owned()).collect()
    }

    fn call_tool(&self, server: &str, tool: &str, arguments_json: &str) -> Result<ToolFuture, Failure> {
        let downstream = self.server(server, tool)?;
        let arguments: JsonObject = serde_json::from_str(arguments_json).map_err(|error| {
            Failure::new(FailureKind::InvalidArguments, format!("tool arguments must be a JSON object: {error}"), server, tool)
        })?;
        self.admit_call(server, tool)?;
        let call = ToolCall {
            downstream,
            requested: tool.to_owned(),
            bytes_out: arguments_json.len() as u64,
            arguments,
            policy: Arc::clone(&self.policy),
            limits: self.limits,
            usage: Arc::clone(&self.usage),
        };
        Ok(Box::pin(call.run()))
    }

    fn list_servers(&self) -> ToolFuture {
        let visible = self.visible.clone();
        Box::pin(async move {
            let mut servers = Vec::with_capacity(visible.len());
            for downstream in visible {
                servers.push(json!({ "name": downstream.name(), "state": super::state_label(&downstream.state().await) }));
            }
            Ok(Value::Array(servers).to_string())
        })
    }

    fn list_tools(&self, server: &str) -> Result<ToolFuture, Failure> {
        let downstream = self.server(server, "")?;
        let policy = Arc::clone(&self.policy);
        Ok(Box::pin(async move {
            let tools = downstream.tools().await.map_err(|error| downstream_failure(&error, downstream.name(), ""))?;
            let allowed: Vec<Value> = allowed_tools(&policy, downstream.name(), &tools).map(tool_listing).collect();
            Ok(Value::Array(allowed).to_string())
        }))
    }

    fn search_tools(&self, query: &str, detail: &str, limit: u32) -> ToolFuture {
        let Ok(parsed) = serde_json::from_value::<Detail>(Value::String(detail.to_owned())) else {
            let message = format!("detail must be \"name\", \"summary\" or \"full\", not {detail:?}");
            return Box::pin(async move { Err(Failure::new(FailureKind::InvalidArguments, message, "", "")) });
        };
        let catalog = self.catalog();
        let query = query.to_owned();
        Box::pin(async move {
            let found = catalog.await.search(&query, parsed, limit as usize);
            Ok(serde_json::to_string(&found).unwrap_or_else(|_| "[]".into()))
        })
    }

    fn describe_tools(&self, names: Vec<String>) -> ToolFuture {
        let catalog = self.catalog();
        Box::pin(async move {
            let (declarations, unknown) = catalog.await.describe(&names);
            if !unknown.is_empty() {
                let message = format!(
                    "no visible tool or server is named {}; names are `server.tool` or `server` (see mcp.search)",
                    unknown.join(", ")
                );
                return Err(Failure::new(FailureKind::NotFound, message, "", ""));
            }
            Ok(Value::String(declarations).to_string())
        })
    }
}

impl RunGrant {
    fn catalog(&self) -> impl Future<Output = Catalog> + Send + 'static {
        let visible = self.visible.clone();
        let policy = Arc::clone(&self.policy);
        async move { Catalog::gather(&visible, &policy).await }
    }
}

/// `{name, description, inputSchema, outputSchema}` of one tool.
fn tool_listing(tool: &Tool) -> Value {
    json!({
        "name": tool.name,
        "description": tool.description,
        "inputSchema": tool.input_schema,
        "outputSchema": tool.output_schema,
    })
}

/// One admitted call, run as an operation of the run.
struct ToolCall {
    downstream: Arc<Downstream>,
    requested: String,
    arguments: JsonObject,
    bytes_out: u64,
    policy: Arc<Policy>,
    limits: ToolLimits,
    usage: Arc<Mutex<Usage>>,
}

impl ToolCall {
    async fn run(mut self) -> Result<String, Failure> {
        let started = Instant::now();
        let server = self.downstream.name().to_owned();
        let arguments = std::mem::take(&mut self.arguments);
        let outcome = self.call(&server, arguments).await;
        let bytes_in = outcome.as_ref().map_or(0, |json| json.len() as u64);
        let mut usage = self.usage.lock().expect("usage lock");
        usage.bytes_received += bytes_in;
        let over_limit = usage.bytes_received > self.limits.max_bytes_received;
        let used = usage.servers.entry(server.clone()).or_default();
        used.latency_ms += started.elapsed().as_secs_f64() * 1000.0;
        used.bytes_out += self.bytes_out;
        used.bytes_in += bytes_in;
        used.failed += u32::from(outcome.is_err());
        if over_limit && outcome.is_ok() {
            let message = format!("the run received more than its limit of {} bytes from tools", self.limits.max_bytes_received);
            return Err(Failure::new(FailureKind::ToolLimit, message, &server, &self.requested));
        }
        outcome
    }

    async fn call(&self, server: &str, arguments: JsonObject) -> Result<String, Failure> {
        let tools = self.downstream.tools().await.map_err(|error| downstream_failure(&error, server, &self.requested))?;
        let tool = resolve_tool(&tools, &self.requested)
            .ok_or_else(|| unknown_tool(&tools, server, &self.requested))?
            .to_owned();
        if let Decision::Deny { reason } = self.policy.check_tool(server, &tool) {
            return Err(Failure::new(FailureKind::CapabilityDenied, reason, server, &tool));
        }
        let result = self
            .downstream
            .call(&tool, arguments, self.limits.call_timeout)
            .await
            .map_err(|error| downstream_failure(&error, server, &tool))?;
        match tool_value(result) {
            Ok(value) => Ok(value.to_string()),
            Err(message) => Err(Failure::new(FailureKind::ToolError, message, server, &tool)),
        }
    }
}

/// The exact name of the tool `requested` names, directly or by its camelCase alias.
fn resolve_tool<'a>(tools: &'a [Tool], requested: &str) -> Option<&'a str> {
    let exact = tools.iter().find(|tool| tool.name == requested);
    exact
        .or_else(|| tools.iter().find(|tool| crate::typegen::camel_case(&tool.name) == requested))
        .map(|tool| tool.name.as_ref())
}

fn unknown_tool(tools: &[Tool], server: &str, requested: &str) -> Failure {
    let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    let message = format!("server `{server}` has no tool `{requested}`; its tools: {}", names.join(", "));
    Failure::new(FailureKind::NotFound, message, server, requested)
}

fn downstream_failure(error: &DownstreamError, server: &str, tool: &str) -> Failure {
    let kind = match error {
        DownstreamError::TimedOut { .. } => FailureKind::Timeout,
        DownstreamError::Rejected { .. } => FailureKind::ToolError,
        DownstreamError::Unavailable { .. } | DownstreamError::Broken { .. } => FailureKind::TransportError,
    };
    Failure::new(kind, error.to_string(), server, tool)
}
