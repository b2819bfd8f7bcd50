//! One downstream MCP server: its connection, started on first use and
//! restarted after it breaks, and its cached tool list.
//!
//! The child process of a stdio server (environment, process group, stderr,
//! killing) is [`process`]'s and [`stderr`]'s; the stdio transport, with its
//! cap on message size, is [`stdio`]'s; Streamable HTTP is `super::http`'s.
//! This module only decides when to connect, and what a failure means.
//!
//! # Starts, losses and backoff
//! A server that fails to start is retried on a later use after a backoff
//! that doubles with each failure (0.5 s up to 30 s). A connection that
//! breaks (the server exits, crashes or breaks the protocol) is dropped and
//! shown as `failed: <reason>`; the next use starts the server again, at once
//! for the first [`LOSSES_BEFORE_BACKOFF`] losses in a row, then after the
//! same doubling backoff. A call the server answers ends the streak, so a
//! server that crashes on every call is not respawned for each of them.
//!
//! # Tools
//! The tool list is fetched on first use and cached. It is fetched again
//! after `notifications/tools/list_changed` and after every (re)start, and a
//! fetch that fails leaves it marked stale, so the next use tries again.
//!
//! # Cancellation
//! A call abandoned by its caller, because its tool timeout passed or because
//! the run that made it ended, is dropped; rmcp then sends the server
//! `notifications/cancelled` for that request.

mod process;
mod stderr;
mod stdio;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
    JsonObject, Tool,
};
use rmcp::service::{NotificationContext, RunningService, ServiceError};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use tokio::sync::Mutex;

use crate::config::{ServerConfig, Transport};
use stdio::{Ended, StdioTransport};

/// The first wait before retrying a server that failed to start.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Connections lost in a row (no call answered in between) that are
/// restarted at once; later ones wait, as failed starts do.
const LOSSES_BEFORE_BACKOFF: u32 = 3;

type Client = RunningService<RoleClient, Listener>;

/// Why a request to a downstream server failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DownstreamError {
    #[error("server `{server}` is not available: {reason}")]
    Unavailable { server: String, reason: String },
    #[error("server `{server}` failed during the request: {reason}")]
    Broken { server: String, reason: String },
    #[error("server `{server}` rejected the request: {message}")]
    Rejected { server: String, message: String },
    #[error("server `{server}` did not answer within {} ms", .after.as_millis())]
    TimedOut { server: String, after: Duration },
}

/// What `list_mcp_servers` shows of a server's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    NotStarted,
    Running,
    Failed(String),
}

enum Connection {
    NotStarted,
    Connected(Live),
    /// It failed to start or its connection was lost; the next use may start
    /// it again from `retry_at`.
    Down {
        reason: String,
        retry_at: Instant,
    },
}

/// An open connection, and why it ended once it has.
struct Live {
    client: Arc<Client>,
    ended: Arc<Ended>,
}

impl Live {
    fn is_open(&self) -> bool {
        !self.client.is_closed() && !self.client.peer().is_transport_closed()
    }

    /// Why the connection ended, or `fallback` while that is not known.
    fn end_reason(&self, fallback: impl FnOnce() -> String) -> String {
        self.ended.reason().unwrap_or_else(fallback)
    }
}

pub struct Downstream {
    pub config: ServerConfig,
    startup_timeout: Duration,
    connection: Mutex<Connection>,
    /// Failed starts in a row.
    start_failures: AtomicU32,
    /// Connections lost in a row without a call answered.
    losses: AtomicU32,
    tools: Mutex<Option<Arc<Vec<Tool>>>>,
    tools_stale: Arc<AtomicBool>,
}

impl Downstream {
    pub fn new(config: ServerConfig, startup_timeout: Duration) -> Self {
        Downstream {
            config,
            startup_timeout,
            connection: Mutex::new(Connection::NotStarted),
            start_failures: AtomicU32::new(0),
            losses: AtomicU32::new(0),
            tools: Mutex::new(None),
            tools_stale: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The tools as last listed, without waiting or listing anew; `None`
    /// while they are being listed, or before the first listing.
    pub fn listed_tools(&self) -> Option<Arc<Vec<Tool>>> {
        self.tools.try_lock().ok()?.as_ref().map(Arc::clone)
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub async fn state(&self) -> ConnectionState {
        match &*self.connection.lock().await {
            Connection::NotStarted => ConnectionState::NotStarted,
            Connection::Connected(live) if live.is_open() => ConnectionState::Running,
            Connection::Connected(live) => {
                ConnectionState::Failed(live.end_reason(|| "its connection closed".into()))
            }
            Connection::Down { reason, .. } => ConnectionState::Failed(reason.clone()),
        }
    }

    /// The server's tools, from the cache unless it is stale (see the module doc).
    pub async fn tools(&self) -> Result<Arc<Vec<Tool>>, DownstreamError> {
        let mut cached = self.tools.lock().await;
        if let Some(tools) = cached
            .as_ref()
            .filter(|_| !self.tools_stale.load(Ordering::Acquire))
        {
            return Ok(Arc::clone(tools));
        }
        let client = self.client().await?;
        self.tools_stale.store(false, Ordering::Release);
        let listed = match tokio::time::timeout(self.startup_timeout, client.list_all_tools()).await
        {
            Err(_) => Err(self.timed_out(self.startup_timeout)),
            Ok(Err(error)) => Err(self.failed(&client, error).await),
            Ok(Ok(tools)) => Ok(Arc::new(tools)),
        };
        match listed {
            Ok(tools) => {
                *cached = Some(Arc::clone(&tools));
                Ok(tools)
            }
            Err(error) => {
                self.tools_stale.store(true, Ordering::Release);
                Err(error)
            }
        }
    }

    /// Calls `tool` with `arguments`, giving up after `timeout`.
    pub async fn call(
        &self,
        tool: &str,
        arguments: JsonObject,
        timeout: Duration,
    ) -> Result<CallToolResult, DownstreamError> {
        let client = self.client().await?;
        let request = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        let outcome = match tokio::time::timeout(timeout, client.call_tool(request)).await {
            Err(_) => return Err(self.timed_out(timeout)),
            Ok(outcome) => outcome,
        };
        if matches!(outcome, Ok(_) | Err(ServiceError::McpError(_))) {
            self.losses.store(0, Ordering::Release);
        }
        match outcome {
            Ok(result) => Ok(result),
            Err(error) => Err(self.failed(&client, error).await),
        }
    }

    /// Starts the server now unless it runs or is backing off.
    pub async fn start(&self) -> Result<(), DownstreamError> {
        self.client().await.map(|_| ())
    }

    /// Stops the server, if it runs.
    pub async fn shutdown(&self) {
        let previous =
            std::mem::replace(&mut *self.connection.lock().await, Connection::NotStarted);
        if let Connection::Connected(live) = previous {
            live.client.cancellation_token().cancel();
        }
    }

    async fn client(&self) -> Result<Arc<Client>, DownstreamError> {
        let mut connection = self.connection.lock().await;
        if let Connection::Connected(live) = &*connection {
            if live.is_open() {
                return Ok(Arc::clone(&live.client));
            }
            let reason = live.end_reason(|| "its connection closed".into());
            *connection = self.lost(reason);
        }
        if let Connection::Down { reason, retry_at } = &*connection
            && Instant::now() < *retry_at
        {
            return Err(self.unavailable(reason.clone()));
        }
        let started = match tokio::time::timeout(self.startup_timeout, self.connect()).await {
            Ok(started) => started,
            Err(_) => Err(format!(
                "it did not finish initializing within {} ms",
                self.startup_timeout.as_millis()
            )),
        };
        match started {
            Ok(live) => {
                tracing::info!(server = self.name(), "downstream server started");
                self.start_failures.store(0, Ordering::Release);
                self.tools_stale.store(true, Ordering::Release);
                let client = Arc::clone(&live.client);
                *connection = Connection::Connected(live);
                Ok(client)
            }
            Err(reason) => {
                let failures = self.start_failures.fetch_add(1, Ordering::AcqRel);
                let wait = backoff(failures);
                tracing::warn!(server = self.name(), %reason, retry_in_ms = wait.as_millis() as u64, "downstream server failed to start");
                *connection = Connection::Down {
                    reason: reason.clone(),
                    retry_at: Instant::now() + wait,
                };
                Err(self.unavailable(reason))
            }
        }
    }

    /// The state after losing a connection for `reason`, counting the loss.
    fn lost(&self, reason: String) -> Connection {
        let losses = self.losses.fetch_add(1, Ordering::AcqRel) + 1;
        if losses < LOSSES_BEFORE_BACKOFF {
            tracing::warn!(server = self.name(), %reason, "downstream connection lost; the next use restarts the server");
            return Connection::Down {
                reason: format!("it stopped: {reason}"),
                retry_at: Instant::now(),
            };
        }
        let wait = backoff(losses - LOSSES_BEFORE_BACKOFF);
        tracing::warn!(server = self.name(), %reason, losses, retry_in_ms = wait.as_millis() as u64, "downstream server keeps stopping; restarts are delayed");
        let reason = format!(
            "it stopped {losses} times in a row without answering a call (last: {reason}); it is started again after {} ms",
            wait.as_millis()
        );
        Connection::Down {
            reason,
            retry_at: Instant::now() + wait,
        }
    }

    async fn connect(&self) -> Result<Live, String> {
        let listener = Listener {
            tools_stale: Arc::clone(&self.tools_stale),
        };
        let ended = Arc::new(Ended::default());
        let client = match &self.config.transport {
            Transport::Stdio {
                command,
                args,
                env,
                cwd,
                inherit_env,
            } => {
                let spec = process::Spec {
                    command,
                    args,
                    env,
                    cwd: cwd.as_deref(),
                    inherit_env: *inherit_env,
                };
                let transport = StdioTransport::spawn(self.name(), &spec, Arc::clone(&ended))
                    .map_err(|error| format!("cannot start `{command}`: {error}"))?;
                listener
                    .serve(transport)
                    .await
                    .map_err(|error| describe_start_error(&error.to_string()))?
            }
            Transport::Http { url, headers } => {
                super::http::connect(listener, url, headers).await?
            }
        };
        Ok(Live {
            client: Arc::new(client),
            ended,
        })
    }

    fn unavailable(&self, reason: String) -> DownstreamError {
        DownstreamError::Unavailable {
            server: self.name().to_owned(),
            reason,
        }
    }

    fn timed_out(&self, after: Duration) -> DownstreamError {
        DownstreamError::TimedOut {
            server: self.name().to_owned(),
            after,
        }
    }

    /// A request failed. An error the server answered with leaves the
    /// connection as it is; any other failure means the connection is gone, so
    /// it is dropped (and counted as lost) and the next use starts the server again.
    async fn failed(&self, client: &Arc<Client>, error: ServiceError) -> DownstreamError {
        let server = self.name().to_owned();
        if let ServiceError::McpError(answer) = error {
            return DownstreamError::Rejected {
                server,
                message: answer.message.to_string(),
            };
        }
        let mut connection = self.connection.lock().await;
        let reason = match &*connection {
            Connection::Connected(live) if Arc::ptr_eq(&live.client, client) => {
                let reason = live.end_reason(|| error.to_string());
                live.client.cancellation_token().cancel();
                *connection = self.lost(reason.clone());
                reason
            }
            _ => error.to_string(),
        };
        DownstreamError::Broken { server, reason }
    }
}

/// The wait after `failures` earlier failures: 0.5 s, doubling, at most 30 s.
fn backoff(failures: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << failures.min(16))
        .min(MAX_BACKOFF)
}

fn describe_start_error(error: &str) -> String {
    format!("it exited or broke the protocol during initialize ({error})")
}

/// Receives the server's notifications; a changed tool list marks the cache stale.
pub struct Listener {
    tools_stale: Arc<AtomicBool>,
}

impl ClientHandler for Listener {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.tools_stale.store(true, Ordering::Release);
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("mcp-code-runtime", env!("CARGO_PKG_VERSION")),
        )
    }
}
