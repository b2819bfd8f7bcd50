//! The bridge to the downstream MCP servers named in the configuration.
//!
//! It owns one [`Downstream`] per configured server (a connection started on
//! first use and shared by every run) and hands each run a [`RunGrant`]: the
//! servers that run may see and what it may do with them, decided by the
//! run's [`Capabilities`] (see `policy::capability`). It also answers the MCP
//! client's `search_tools` and `describe_tools` through the same [`Catalog`]
//! code the sandbox's `mcp.search`/`mcp.describe` use. On shutdown every
//! child server is stopped.
//!
//! It must not run guest code and knows nothing of the sandbox: its errors are
//! its own ([`BridgeError`], [`DiscoveryError`]), mapped by the runtime.

mod catalog;
mod downstream;
mod grant;
mod http;
mod results;
mod schema_drift;
mod tool_cache;

use std::sync::Arc;

use crate::typegen::ToolInfo;

use crate::config::Config;
use crate::policy::{Budget, Capabilities, Policy};
use crate::search::Query;

pub use catalog::{Catalog, Described, Detail, DiscoveryError, Found};
pub use downstream::{ConnectionState, DownstreamError};
pub use grant::{BridgeError, RunGrant, ToolLimits};
/// How a downstream result becomes what a program receives (public for the fuzz target).
pub use results::{ResultError, completion, content_bytes};

use catalog::{MAX_DISCOVERY_BYTES, Workers};

use downstream::Downstream;
use schema_drift::{RunDrift, SchemaChecks};
use tool_cache::{RunToolCache, ToolCache};

pub struct Bridge {
    servers: Vec<Arc<Downstream>>,
    policy: Arc<Policy>,
    budget: Budget,
    limits: ToolLimits,
    workers: Workers,
    /// The tools' output schemas, compiled once for every run.
    schema_checks: Arc<SchemaChecks>,
    /// Results of cacheable tool calls, shared by every run.
    tool_cache: Arc<ToolCache>,
}

/// What `list_mcp_servers` reports of one server.
#[derive(Debug, Clone)]
pub struct ServerStatus {
    pub name: String,
    pub state: ConnectionState,
    /// Its allowed tools, when it could be listed.
    pub tools: Vec<ToolInfo>,
}

impl Bridge {
    pub fn new(config: &Config) -> Self {
        let settings = &config.runtime;
        let servers = config
            .servers
            .iter()
            .map(|server| Arc::new(Downstream::new(server.clone(), settings.startup_timeout)))
            .collect();
        let limits = &settings.limits;
        let budget = Budget {
            max_calls: limits.max_tool_calls,
            max_argument_bytes: limits.max_tool_argument_bytes,
            max_bytes_sent: limits.max_tool_bytes_sent,
            max_bytes_received: limits.max_tool_bytes_received,
        };
        let tool_limits = ToolLimits {
            call_timeout: limits.tool_call_timeout,
            approval_timeout: limits.approval_timeout,
            max_completion_bytes: limits.memory_bytes,
        };
        let tool_cache = ToolCache::new(&settings.cache);
        Bridge { servers, policy: Arc::new(settings.policy.clone()), budget, limits: tool_limits, workers: Workers::new(), schema_checks: Arc::default(), tool_cache }
    }

    /// The name of the tool that `requested` (its name or camelCase alias)
    /// names on `server`, from the server's last listing, without waiting;
    /// `None` when it cannot be told now.
    pub fn tool_name(&self, server: &str, requested: &str) -> Option<String> {
        let downstream = self.servers.iter().find(|downstream| downstream.name() == server)?;
        let tools = downstream.listed_tools()?;
        grant::resolve_tool(&tools, requested).map(|tool| tool.name.to_string())
    }

    pub fn server_names(&self) -> Vec<String> {
        self.servers.iter().map(|server| server.name().to_owned()).collect()
    }

    /// What a new run may do: every configured server, under the policy and
    /// the configured budget. Narrow it before granting it.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::new(self.server_names(), Arc::clone(&self.policy), self.budget)
    }

    /// The grant of a run with `capabilities`.
    pub fn grant(&self, capabilities: Capabilities) -> RunGrant {
        let visible = self.servers.iter().filter(|server| capabilities.visible().iter().any(|name| name == server.name())).cloned().collect();
        let drift = RunDrift::new(Arc::clone(&self.schema_checks));
        let tool_cache = RunToolCache::new(Arc::clone(&self.tool_cache));
        RunGrant::new(visible, capabilities, Arc::clone(&self.policy), self.limits, self.workers.clone(), drift, tool_cache)
    }

    /// Starts every server now, concurrently (`startServers: "eager"`).
    pub async fn start_all(&self) {
        let starts = self.servers.iter().map(|server| {
            let server = Arc::clone(server);
            tokio::spawn(async move { server.start().await })
        });
        for start in starts.collect::<Vec<_>>() {
            let _ = start.await;
        }
    }

    /// Every server with its state and allowed tools, starting the servers
    /// that have not started yet so their tools can be listed.
    pub async fn statuses(&self) -> Vec<ServerStatus> {
        let catalog = self.catalog().await;
        let mut statuses = Vec::with_capacity(self.servers.len());
        for server in &self.servers {
            let tools = catalog.tools_of(server.name()).map(<[ToolInfo]>::to_vec).unwrap_or_default();
            statuses.push(ServerStatus { name: server.name().to_owned(), state: server.state().await, tools });
        }
        statuses
    }

    /// The allowed tools of every server, starting servers as needed.
    pub async fn catalog(&self) -> Catalog {
        Catalog::gather(&self.servers, &self.policy, self.workers.indexes()).await
    }

    /// `search_tools`: the same ranking as a run's `mcp.search`, off the
    /// async workers, over the servers' tools and `skills`.
    pub async fn search_tools(&self, query: &str, detail: Detail, limit: usize, skills: Vec<ToolInfo>) -> Result<Vec<Found>, DiscoveryError> {
        let query = Query::parse(query)?;
        let catalog = self.catalog().await.with_skills(skills);
        self.workers.run(move || catalog.search(&query, detail, limit, MAX_DISCOVERY_BYTES, &|| false)).await
    }

    /// `describe_tools`: the same declarations as a run's `mcp.describe`, off
    /// the async workers, of servers, tools and `skills`.
    pub async fn describe_tools(&self, names: Vec<String>, skills: Vec<ToolInfo>) -> Result<Described, DiscoveryError> {
        let catalog = self.catalog().await.with_skills(skills);
        self.workers.run(move || catalog.describe(&names, MAX_DISCOVERY_BYTES, &|| false)).await
    }

    /// Stops every running server.
    pub async fn shutdown(&self) {
        for server in &self.servers {
            server.shutdown().await;
        }
    }
}

/// The label of a connection state in listings.
pub fn state_label(state: &ConnectionState) -> String {
    match state {
        ConnectionState::NotStarted => "not started".into(),
        ConnectionState::Running => "running".into(),
        ConnectionState::Failed(reason) => format!("failed: {reason}"),
    }
}
