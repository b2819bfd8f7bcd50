//! The bridge to the downstream MCP servers named in the configuration.
//!
//! It owns one [`Downstream`] per configured server (a connection started on
//! first use and shared by every run) and hands each run a [`RunGrant`]: the
//! servers that run may see, checked against the policy. On shutdown every
//! child server is stopped.
//!
//! It must not run guest code; the sandbox reaches it only through the
//! [`crate::sandbox::ToolAccess`] a grant implements.

mod catalog;
mod downstream;
mod grant;
mod http;
mod results;

use std::sync::Arc;

use crate::typegen::ToolInfo;

use crate::config::Config;
use crate::policy::{self, Policy, UnknownServers};

pub use catalog::{Catalog, Detail, Found};
pub use downstream::ConnectionState;
pub use grant::{RunGrant, ToolLimits};

use downstream::Downstream;

pub struct Bridge {
    servers: Vec<Arc<Downstream>>,
    policy: Arc<Policy>,
    limits: ToolLimits,
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
        let limits = ToolLimits {
            max_calls: settings.limits.max_tool_calls,
            call_timeout: settings.limits.tool_call_timeout,
            max_bytes_received: settings.limits.max_tool_bytes_received,
        };
        Bridge { servers, policy: Arc::new(settings.policy.clone()), limits }
    }

    pub fn server_names(&self) -> Vec<String> {
        self.servers.iter().map(|server| server.name().to_owned()).collect()
    }

    /// The grant of a run that may use `requested` servers (all when `None`).
    pub fn grant(&self, requested: Option<&[String]>) -> Result<Arc<RunGrant>, UnknownServers> {
        let configured = self.server_names();
        let visible_names = policy::visible_servers(&configured, requested)?;
        let visible = self
            .servers
            .iter()
            .filter(|server| visible_names.iter().any(|name| name == server.name()))
            .cloned()
            .collect();
        Ok(Arc::new(RunGrant::new(visible, configured, Arc::clone(&self.policy), self.limits)))
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
        Catalog::gather(&self.servers, &self.policy).await
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
