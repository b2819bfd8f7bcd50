//! The runtime: the sandbox and the bridge, shared by every request.
//!
//! The sandbox is built in the background as soon as the runtime starts, so
//! the MCP handshake is answered at once even when the guest must first be
//! compiled (a cold cache); the first run waits for it.
//!
//! Each run gets its capabilities from the bridge, narrowed to the servers
//! the request names, and a grant the sandbox reaches through [`access`]
//! (the one place bridge errors become the sandbox's WIT failures). The grant
//! is revoked when the run ends.

mod access;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::bridge::{Bridge, ServerStatus};
use crate::config::Config;
use crate::outcome::{ErrorKind, RunError, RunOutcome};
use crate::sandbox::{Job, RunObserver, Sandbox};
use access::RevokeOnDrop;

pub use access::GrantAccess;

/// One `execute_code` request.
#[derive(Clone, Default)]
pub struct ExecuteRequest {
    pub code: String,
    pub timeout: Option<Duration>,
    /// The servers the code may call; all configured ones when `None`.
    pub servers: Option<Vec<String>>,
    /// Cancelled when the client cancels the request: the run stops at once.
    pub cancel: tokio_util::sync::CancellationToken,
    /// Told of console lines and tool calls as the run goes.
    pub observer: Option<Arc<dyn RunObserver>>,
}

pub struct Runtime {
    config: Config,
    bridge: Bridge,
    sandbox: OnceCell<Result<Sandbox, String>>,
}

impl Runtime {
    /// Creates the runtime and starts building its sandbox in the background.
    pub fn start(config: Config) -> Arc<Self> {
        let runtime = Arc::new(Runtime { bridge: Bridge::new(&config), config, sandbox: OnceCell::new() });
        let warming = Arc::clone(&runtime);
        tokio::spawn(async move {
            if let Err(error) = warming.sandbox().await {
                tracing::error!(%error, "the sandbox cannot start; every run will fail");
            }
        });
        runtime
    }

    pub fn bridge(&self) -> &Bridge {
        &self.bridge
    }

    /// Waits until the sandbox is ready (or has failed to start).
    pub async fn sandbox(&self) -> Result<&Sandbox, &str> {
        let cache_dir: PathBuf = self.config.runtime.cache_dir.clone();
        let limits = self.config.runtime.limits.clone();
        self.sandbox
            .get_or_init(|| async move { Sandbox::new(limits, &cache_dir).await.map_err(|error| error.to_string()) })
            .await
            .as_ref()
            .map_err(String::as_str)
    }

    /// Runs one program and reports what it did.
    pub async fn execute(&self, request: ExecuteRequest) -> RunOutcome {
        let mut capabilities = self.bridge.capabilities();
        if let Some(servers) = &request.servers {
            capabilities = match capabilities.narrow(servers) {
                Ok(narrowed) => narrowed,
                Err(unknown) => return RunOutcome::rejected(RunError::new(ErrorKind::InvalidInput, unknown.to_string())),
            };
        }
        let grant = Arc::new(self.bridge.grant(capabilities));
        let _revoke = RevokeOnDrop(Arc::clone(&grant));
        let sandbox = match self.sandbox().await {
            Ok(sandbox) => sandbox,
            Err(error) => {
                return RunOutcome::rejected(RunError::new(ErrorKind::RuntimeError, format!("the sandbox is unavailable: {error}")));
            }
        };
        let job = Job { source: request.code, timeout: request.timeout, tools: Arc::new(GrantAccess::new(Arc::clone(&grant))), cancel: request.cancel, observer: request.observer };
        let mut outcome = sandbox.run(job).await;
        outcome.stats.tool_calls = grant.usage();
        outcome
    }

    /// The servers, their state and their tools.
    pub async fn server_statuses(&self) -> Vec<ServerStatus> {
        self.bridge.statuses().await
    }

    /// Stops every downstream server.
    pub async fn shutdown(&self) {
        self.bridge.shutdown().await;
    }
}
