//! What one run may reach: a [`RunGrant`] is the run's view of the bridge.
//!
//! Everything a program asks of a downstream server passes through here and is
//! checked in the host, never in guest JavaScript, by the run's
//! [`Capabilities`]: the server must be visible to the run, the tool allowed
//! by the server's policy, and the call within the run's budget when it is
//! admitted (calls, argument bytes, and a bytes-received budget not yet
//! spent). Arguments arrive as JSON text and are measured before anything
//! else; they are parsed only when the call is about to be sent. A result is
//! measured before it is converted: one larger than what is left of the
//! budget is refused at once, and the completion is never longer than
//! [`ToolLimits::max_completion_bytes`]. A result within the budget is checked
//! against its tool's `outputSchema` (see `schema_drift`): a mismatch is a
//! warning the grant keeps for the run's logs, never an error. The grant also
//! keeps the per-server statistics reported with the run. A call of a
//! cacheable tool may be answered from the cache of tool calls (see
//! `tool_cache`), once the policy (and any approval) allowed it.
//!
//! Refusals and failures are [`BridgeError`]s; the runtime maps them to what
//! the sandbox reports. This module knows nothing of the sandbox.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{JsonObject, Tool};
use serde_json::{Value, json};

use super::catalog::{Catalog, Detail, DiscoveryError, MAX_DISCOVERY_BYTES, Workers, allowed_tools};
use super::downstream::{Downstream, DownstreamError};
use super::results::{ResultError, completion, content_bytes};
use super::schema_drift::RunDrift;
use super::tool_cache::{CachePlan, RunToolCache};
use crate::outcome::{CacheUse, ServerUsage};
use crate::policy::approval::summarize_arguments;
use crate::policy::{ApprovalDecision, ApprovalRequest, Approver, Capabilities, CapabilityError, Clearance, Policy};
use crate::search::Query;
use crate::typegen::ToolInfo;

/// The per-call limits on tool use (the run's budget is in its [`Capabilities`]).
#[derive(Debug, Clone, Copy)]
pub struct ToolLimits {
    pub call_timeout: Duration,
    /// How long a call waits for a human's approval before it is denied.
    pub approval_timeout: Duration,
    /// The longest completion a program can receive (its memory cap).
    pub max_completion_bytes: usize,
}

/// Why a request of a run was refused or failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BridgeError {
    #[error(transparent)]
    Capability(#[from] CapabilityError),
    #[error("server `{server}` has no tool `{requested}`; its tools: {tools}")]
    NoSuchTool { server: String, requested: String, tools: String },
    #[error("tool arguments must be a JSON object: {0}")]
    InvalidArguments(String),
    /// The tool answered with `isError: true`; the server's message.
    #[error("{0}")]
    ToolFailed(String),
    #[error(transparent)]
    TooLarge(ResultError),
    #[error(transparent)]
    Downstream(#[from] DownstreamError),
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    #[error("no visible tool or server is named {}; names are `server.tool` or `server` (see mcp.search)", .0.join(", "))]
    NotDescribed(Vec<String>),
}

impl From<ResultError> for BridgeError {
    fn from(error: ResultError) -> Self {
        match error {
            ResultError::ToolFailed(message) => BridgeError::ToolFailed(message),
            too_large @ ResultError::TooLarge { .. } => BridgeError::TooLarge(too_large),
        }
    }
}

pub struct RunGrant {
    visible: Vec<Arc<Downstream>>,
    capabilities: Arc<Capabilities>,
    policy: Arc<Policy>,
    limits: ToolLimits,
    workers: Workers,
    usage: Arc<Mutex<BTreeMap<String, ServerUsage>>>,
    /// Who approves calls the policy asks about; `None`: nobody can, so they are denied.
    approver: Option<Arc<dyn Approver>>,
    /// Results checked against their tools' output schemas, and the warnings.
    drift: Arc<RunDrift>,
    tool_cache: RunToolCache,
}

impl RunGrant {
    pub(super) fn new(
        visible: Vec<Arc<Downstream>>,
        capabilities: Capabilities,
        policy: Arc<Policy>,
        limits: ToolLimits,
        workers: Workers,
        drift: RunDrift,
        tool_cache: RunToolCache,
    ) -> Self {
        let drift = Arc::new(drift);
        RunGrant { visible, capabilities: Arc::new(capabilities), policy, limits, workers, usage: Arc::default(), approver: None, drift, tool_cache }
    }

    /// How the run's (and its skills') cacheable calls fared in the cache.
    pub fn cache_use(&self) -> CacheUse {
        self.tool_cache.usage()
    }

    /// The warnings about results that drift from their tools' output
    /// schemas since the last time they were taken.
    pub fn take_drift_warnings(&self) -> Vec<String> {
        self.drift.take()
    }

    /// The grant with `approver` asking a human about calls that need it.
    pub fn with_approver(mut self, approver: Option<Arc<dyn Approver>>) -> Self {
        self.approver = approver;
        self
    }

    /// Whether a skill's input of `bytes` fits the per-call argument limit.
    pub fn check_skill_input(&self, bytes: usize) -> Result<(), BridgeError> {
        Ok(self.capabilities.check_argument_size(bytes)?)
    }

    /// The approval decisions of the run (and its skills) so far.
    pub fn approvals(&self) -> Vec<crate::policy::ApprovalRecord> {
        self.capabilities.approvals()
    }

    /// The time the run (and its skills) waited for approvals.
    pub fn paused(&self) -> Arc<crate::policy::PausedTime> {
        Arc::clone(self.capabilities.paused())
    }

    /// Tool use so far, by server.
    pub fn usage(&self) -> BTreeMap<String, ServerUsage> {
        self.usage.lock().expect("usage lock").clone()
    }

    /// The names of the servers visible to the run.
    pub fn server_names(&self) -> &[String] {
        self.capabilities.visible()
    }

    /// Every configured server, visible to the run or not.
    pub fn configured_names(&self) -> &[String] {
        self.capabilities.configured()
    }

    /// The grant of a skill this run calls: the servers it `declared` that
    /// this run may see (see [`Capabilities::for_skill`]); its calls count in
    /// this run's budget and statistics.
    pub fn for_skill(&self, declared: &[String]) -> RunGrant {
        let capabilities = self.capabilities.for_skill(declared);
        let visible = self.visible.iter().filter(|server| capabilities.visible().iter().any(|name| name == server.name())).cloned().collect();
        RunGrant {
            visible,
            capabilities: Arc::new(capabilities),
            policy: Arc::clone(&self.policy),
            limits: self.limits,
            workers: self.workers.clone(),
            usage: Arc::clone(&self.usage),
            approver: self.approver.clone(),
            drift: Arc::new(self.drift.for_skill()),
            tool_cache: self.tool_cache.clone(),
        }
    }

    /// Ends the run's capabilities: later requests are refused and search or
    /// describe work still running for the run stops.
    pub fn revoke(&self) {
        self.capabilities.revoke();
    }

    /// Admits a call of `tool` on `server` with `arguments` (JSON text) and
    /// returns it, to run; it completes with the result's JSON.
    pub fn call_tool(
        &self,
        server: &str,
        tool: &str,
        arguments: String,
    ) -> Result<impl Future<Output = Result<String, BridgeError>> + Send + 'static, BridgeError> {
        self.capabilities.admit_call(server, arguments.len())?;
        let call = ToolCall {
            downstream: self.downstream(server)?,
            requested: tool.to_owned(),
            bytes_out: arguments.len() as u64,
            arguments,
            capabilities: Arc::clone(&self.capabilities),
            limits: self.limits,
            usage: Arc::clone(&self.usage),
            approver: self.approver.clone(),
            drift: Arc::clone(&self.drift),
            cache: self.tool_cache.clone(),
        };
        self.usage.lock().expect("usage lock").entry(server.to_owned()).or_default().calls += 1;
        Ok(call.run())
    }

    /// The visible servers and their states, as a JSON array.
    pub fn list_servers(&self) -> impl Future<Output = String> + Send + 'static {
        let visible = self.visible.clone();
        async move {
            let mut servers = Vec::with_capacity(visible.len());
            for downstream in visible {
                servers.push(json!({ "name": downstream.name(), "state": super::state_label(&downstream.state().await) }));
            }
            Value::Array(servers).to_string()
        }
    }

    /// The allowed tools of one visible server, as a JSON array.
    pub fn list_tools(&self, server: &str) -> Result<impl Future<Output = Result<String, BridgeError>> + Send + 'static, BridgeError> {
        self.capabilities.check_server(server)?;
        let downstream = self.downstream(server)?;
        let policy = Arc::clone(&self.policy);
        Ok(async move {
            let tools = downstream.tools().await?;
            let allowed: Vec<Value> = allowed_tools(&policy, downstream.name(), &tools).map(tool_listing).collect();
            Ok(Value::Array(allowed).to_string())
        })
    }

    /// A ranked search of the visible servers' tools, as a JSON array; the
    /// ranking runs off the async workers and stops when the run ends.
    pub fn search_tools(
        &self,
        query: &str,
        detail: &str,
        limit: u32,
        skills: Vec<ToolInfo>,
    ) -> impl Future<Output = Result<String, BridgeError>> + Send + 'static {
        let parsed = Query::parse(query).map_err(DiscoveryError::from).and_then(|query| Ok((query, detail.parse::<Detail>()?)));
        let catalog = self.catalog(skills);
        let (workers, capabilities, max_bytes) = (self.workers.clone(), Arc::clone(&self.capabilities), self.max_discovery_bytes());
        async move {
            let (query, detail) = parsed?;
            let catalog = catalog.await;
            let found = workers
                .run(move || catalog.search(&query, detail, limit as usize, max_bytes, &|| capabilities.is_revoked()))
                .await?;
            Ok(serde_json::to_string(&found).unwrap_or_else(|_| "[]".into()))
        }
    }

    /// The declarations of the named tools or servers, as a JSON string; the
    /// rendering runs off the async workers and stops when the run ends.
    pub fn describe_tools(&self, names: Vec<String>, skills: Vec<ToolInfo>) -> impl Future<Output = Result<String, BridgeError>> + Send + 'static {
        let catalog = self.catalog(skills);
        let (workers, capabilities, max_bytes) = (self.workers.clone(), Arc::clone(&self.capabilities), self.max_discovery_bytes());
        async move {
            let catalog = catalog.await;
            let described = workers.run(move || catalog.describe(&names, max_bytes, &|| capabilities.is_revoked())).await?;
            if !described.unknown.is_empty() {
                return Err(BridgeError::NotDescribed(described.unknown));
            }
            Ok(Value::String(described.declarations).to_string())
        }
    }

    fn downstream(&self, server: &str) -> Result<Arc<Downstream>, BridgeError> {
        self.capabilities.check_server(server)?;
        let found = self.visible.iter().find(|downstream| downstream.name() == server);
        Ok(Arc::clone(found.expect("every visible server has a downstream")))
    }

    fn max_discovery_bytes(&self) -> usize {
        MAX_DISCOVERY_BYTES.min(self.limits.max_completion_bytes)
    }

    /// The visible servers' allowed tools, and `skills`.
    fn catalog(&self, skills: Vec<ToolInfo>) -> impl Future<Output = Catalog> + Send + 'static {
        let visible = self.visible.clone();
        let policy = Arc::clone(&self.policy);
        let indexes = Arc::clone(self.workers.indexes());
        async move { Catalog::gather(&visible, &policy, &indexes).await.with_skills(skills) }
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
    /// The JSON text of the arguments, parsed only just before sending.
    arguments: String,
    bytes_out: u64,
    capabilities: Arc<Capabilities>,
    limits: ToolLimits,
    usage: Arc<Mutex<BTreeMap<String, ServerUsage>>>,
    approver: Option<Arc<dyn Approver>>,
    drift: Arc<RunDrift>,
    cache: RunToolCache,
}

impl ToolCall {
    async fn run(mut self) -> Result<String, BridgeError> {
        let started = Instant::now();
        let mut bytes_in = 0;
        let outcome = self.call(&mut bytes_in).await;
        let mut usage = self.usage.lock().expect("usage lock");
        let used = usage.entry(self.downstream.name().to_owned()).or_default();
        used.latency_ms += started.elapsed().as_secs_f64() * 1000.0;
        used.bytes_out += self.bytes_out;
        used.bytes_in += bytes_in;
        used.failed += u32::from(outcome.is_err());
        outcome
    }

    async fn call(&mut self, bytes_in: &mut u64) -> Result<String, BridgeError> {
        let server = self.downstream.name();
        let tools = self.downstream.tools().await?;
        let found = resolve_tool(&tools, &self.requested).ok_or_else(|| unknown_tool(&tools, server, &self.requested))?;
        let tool = found.name.as_ref();
        let hints = super::catalog::tool_hints(found);
        if let Clearance::NeedsApproval { reason } = self.capabilities.check_tool(server, tool, hints)? {
            self.approve(server, tool, reason).await?;
        }
        let plan = match self.cache.plan(server, tool, hints.read_only, &self.arguments) {
            CachePlan::Hit(hit) => {
                *bytes_in = hit.bytes_in;
                self.capabilities.receive(*bytes_in)?;
                return Ok(hit.completion.to_string());
            }
            plan => plan,
        };
        let arguments: JsonObject =
            serde_json::from_str(&std::mem::take(&mut self.arguments)).map_err(|error| BridgeError::InvalidArguments(error.to_string()))?;
        let result = self.downstream.call(tool, arguments, self.limits.call_timeout).await?;
        *bytes_in = content_bytes(&result);
        self.capabilities.receive(*bytes_in)?;
        self.drift.check(server, found, &result);
        let completion = completion(&result, self.limits.max_completion_bytes)?;
        plan.finish(&completion, *bytes_in);
        Ok(completion)
    }
}

impl ToolCall {
    /// Asks the run's approver about this call and waits for the answer (the
    /// wait does not count against the run's deadline), within the approval
    /// timeout; refuses the call unless it is approved.
    async fn approve(&self, server: &str, tool: &str, reason: String) -> Result<(), CapabilityError> {
        let Some(approver) = &self.approver else {
            let reason = format!(
                "it needs a human's approval ({reason}), and this client cannot ask one (it did not declare the MCP \
                 elicitation capability); to allow it without asking, change that setting in the config"
            );
            return self.capabilities.record_approval(server, tool, ApprovalDecision::Deny { reason });
        };
        let request = ApprovalRequest { server: server.to_owned(), tool: tool.to_owned(), arguments: summarize_arguments(&self.arguments), reason };
        let timeout = self.limits.approval_timeout;
        let waiting = self.capabilities.paused().begin();
        let decision = tokio::time::timeout(timeout, approver.ask(request)).await.unwrap_or_else(|_| ApprovalDecision::Deny {
            reason: format!("nobody answered within {} s", timeout.as_secs()),
        });
        drop(waiting);
        self.capabilities.record_approval(server, tool, decision)
    }
}

/// The tool `requested` names, directly or by its camelCase alias.
pub(super) fn resolve_tool<'a>(tools: &'a [Tool], requested: &str) -> Option<&'a Tool> {
    let exact = tools.iter().find(|tool| tool.name == requested);
    exact.or_else(|| tools.iter().find(|tool| crate::typegen::camel_case(&tool.name) == requested))
}

fn unknown_tool(tools: &[Tool], server: &str, requested: &str) -> BridgeError {
    let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    BridgeError::NoSuchTool { server: server.to_owned(), requested: requested.to_owned(), tools: names.join(", ") }
}
