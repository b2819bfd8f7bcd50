//! One downstream MCP server: its connection, started on first use and
//! restarted after a crash, and its cached tool list.
//!
//! A connection that fails to start is retried on a later use after a backoff
//! that doubles with each failure; a connection that breaks during a call is
//! dropped, so the next call starts the server again.
//!
//! # Security
//! Children run with the environment the user configured for them, in their
//! own process group, and receive SIGTERM if the host dies (Linux
//! `PR_SET_PDEATHSIG`), so none outlives the host.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation, JsonObject, Tool};
use rmcp::service::{NotificationContext, RunningService, ServiceError};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{ChildStderr, Command};
use tokio::sync::Mutex;

use crate::config::{ServerConfig, Transport};

/// The first wait before retrying a server that failed to start.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

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
    Idle,
    Connected(Arc<Client>),
    Failed { reason: String, retry_at: Instant, failures: u32 },
}

pub struct Downstream {
    pub config: ServerConfig,
    startup_timeout: Duration,
    connection: Mutex<Connection>,
    tools: Mutex<Option<Arc<Vec<Tool>>>>,
    tools_stale: Arc<AtomicBool>,
}

impl Downstream {
    pub fn new(config: ServerConfig, startup_timeout: Duration) -> Self {
        Downstream {
            config,
            startup_timeout,
            connection: Mutex::new(Connection::Idle),
            tools: Mutex::new(None),
            tools_stale: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub async fn state(&self) -> ConnectionState {
        match &*self.connection.lock().await {
            Connection::Idle => ConnectionState::NotStarted,
            Connection::Connected(client) if client.is_closed() => ConnectionState::NotStarted,
            Connection::Connected(_) => ConnectionState::Running,
            Connection::Failed { reason, .. } => ConnectionState::Failed(reason.clone()),
        }
    }

    /// The server's tools, from the cache unless the server said they changed.
    pub async fn tools(&self) -> Result<Arc<Vec<Tool>>, DownstreamError> {
        let mut cached = self.tools.lock().await;
        if let Some(tools) = cached.as_ref().filter(|_| !self.tools_stale.load(Ordering::Acquire)) {
            return Ok(Arc::clone(tools));
        }
        self.tools_stale.store(false, Ordering::Release);
        let client = self.client().await?;
        let tools = tokio::time::timeout(self.startup_timeout, client.list_all_tools())
            .await
            .map_err(|_| self.timed_out(self.startup_timeout))?;
        let tools = match tools {
            Ok(tools) => tools,
            Err(error) => return Err(self.failed(&client, error).await),
        };
        let tools = Arc::new(tools);
        *cached = Some(Arc::clone(&tools));
        Ok(tools)
    }

    /// Calls `tool` with `arguments`, giving up after `timeout`.
    pub async fn call(&self, tool: &str, arguments: JsonObject, timeout: Duration) -> Result<CallToolResult, DownstreamError> {
        let client = self.client().await?;
        let request = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        match tokio::time::timeout(timeout, client.call_tool(request)).await {
            Err(_) => Err(self.timed_out(timeout)),
            Ok(Err(error)) => Err(self.failed(&client, error).await),
            Ok(Ok(result)) => Ok(result),
        }
    }

    /// Starts the server now unless it runs or is backing off.
    pub async fn start(&self) -> Result<(), DownstreamError> {
        self.client().await.map(|_| ())
    }

    /// Stops the server, if it runs.
    pub async fn shutdown(&self) {
        let previous = std::mem::replace(&mut *self.connection.lock().await, Connection::Idle);
        if let Connection::Connected(client) = previous {
            client.cancellation_token().cancel();
        }
    }

    async fn client(&self) -> Result<Arc<Client>, DownstreamError> {
        let mut connection = self.connection.lock().await;
        match &*connection {
            Connection::Connected(client) if !client.is_closed() => return Ok(Arc::clone(client)),
            Connection::Failed { reason, retry_at, .. } if Instant::now() < *retry_at => {
                return Err(self.unavailable(reason.clone()));
            }
            _ => {}
        }
        let failures = match &*connection {
            Connection::Failed { failures, .. } => *failures,
            _ => 0,
        };
        match tokio::time::timeout(self.startup_timeout, self.connect()).await {
            Ok(Ok(client)) => {
                tracing::info!(server = self.name(), "downstream server started");
                let client = Arc::new(client);
                *connection = Connection::Connected(Arc::clone(&client));
                Ok(client)
            }
            Ok(Err(reason)) => Err(self.record_failure(&mut connection, reason, failures)),
            Err(_) => {
                let reason = format!("it did not finish initializing within {} ms", self.startup_timeout.as_millis());
                Err(self.record_failure(&mut connection, reason, failures))
            }
        }
    }

    fn record_failure(&self, connection: &mut Connection, reason: String, failures: u32) -> DownstreamError {
        let backoff = FIRST_BACKOFF.saturating_mul(1 << failures.min(16)).min(MAX_BACKOFF);
        tracing::warn!(server = self.name(), %reason, retry_in_ms = backoff.as_millis() as u64, "downstream server failed to start");
        *connection = Connection::Failed { reason: reason.clone(), retry_at: Instant::now() + backoff, failures: failures + 1 };
        self.unavailable(reason)
    }

    async fn connect(&self) -> Result<Client, String> {
        let listener = Listener { tools_stale: Arc::clone(&self.tools_stale) };
        match &self.config.transport {
            Transport::Stdio { command, args, env, cwd, .. } => {
                let mut child = Command::new(command);
                child.args(args).envs(env).kill_on_drop(true).process_group(0);
                if let Some(cwd) = cwd {
                    child.current_dir(cwd);
                }
                die_with_parent(&mut child);
                let (transport, stderr) = TokioChildProcess::builder(child)
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|error| format!("cannot start `{command}`: {error}"))?;
                if let Some(stderr) = stderr {
                    tokio::spawn(forward_stderr(self.name().to_owned(), stderr));
                }
                listener.serve(transport).await.map_err(|error| describe_start_error(&error.to_string()))
            }
            Transport::Http { url, headers } => super::http::connect(listener, url, headers).await,
        }
    }

    fn unavailable(&self, reason: String) -> DownstreamError {
        DownstreamError::Unavailable { server: self.name().to_owned(), reason }
    }

    fn timed_out(&self, after: Duration) -> DownstreamError {
        DownstreamError::TimedOut { server: self.name().to_owned(), after }
    }

    /// A request failed. An error the server answered with leaves the
    /// connection as it is; any other failure means the connection is gone, so
    /// it is dropped and the next use starts the server again.
    async fn failed(&self, client: &Arc<Client>, error: ServiceError) -> DownstreamError {
        let server = self.name().to_owned();
        if let ServiceError::McpError(answer) = error {
            return DownstreamError::Rejected { server, message: answer.message.to_string() };
        }
        let reason = error.to_string();
        tracing::warn!(server = %server, %reason, "downstream connection lost; the next use restarts the server");
        let mut connection = self.connection.lock().await;
        if matches!(&*connection, Connection::Connected(current) if Arc::ptr_eq(current, client)) {
            *connection = Connection::Idle;
            client.cancellation_token().cancel();
        }
        DownstreamError::Broken { server, reason }
    }
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

/// Logs each line the server writes to stderr, tagged with its name.
async fn forward_stderr(server: String, stderr: ChildStderr) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(target: "downstream", server = %server, "{line}");
    }
}

/// Asks Linux to send the child SIGTERM when the host exits, however it exits.
fn die_with_parent(command: &mut Command) {
    // SAFETY: `prctl` is async-signal-safe and touches only the calling process.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}
