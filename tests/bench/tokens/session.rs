//! The two ways a model can do a workflow, each as an MCP client that records
//! what the model would see ([`Tally`]):
//!
//! - [`Direct`]: rmcp clients straight to the downstream servers, started as
//!   the host starts them (the seed config's command, args, env and cwd, a
//!   cleared environment with PATH and HOME, each in its own process group,
//!   which is killed on close so no browser outlives it);
//! - [`CodeMode`]: one client to `mcp-code-runtime serve` with the same config.
//!
//! Neither knows a workflow; the workflows drive them.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{Peer, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::process::Command;

use super::count::Tally;
use crate::child::{CALL_LIMIT, Connection, Paths};

/// How long a downstream server may take to answer `initialize` (task-master takes seconds).
const START_LIMIT: Duration = Duration::from_secs(120);
/// How long a program may run: the first call of a server starts it.
const RUN_TIMEOUT_MS: u64 = 240_000;
/// How long a server may take to exit once its stdin is closed.
const CLOSE_LIMIT: Duration = Duration::from_secs(10);

/// The name Claude Code gives the host (`mcp-code-runtime migrate` registers it so).
const HOST_NAME: &str = "code-runtime";

/// One downstream server, spoken to directly.
struct Server {
    name: String,
    client: Option<RunningService<RoleClient, ()>>,
    /// Its process group: the server and what it started (Chromium).
    group: i32,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill(2) of the process group this benchmark started for the server.
        unsafe { libc::kill(-self.group, libc::SIGKILL) };
    }
}

/// The direct path: the model holds every involved server's tools and calls them itself.
pub struct Direct {
    servers: Vec<Server>,
    pub tally: Tally,
    /// Spawn to `initialize` answered, all servers in turn.
    pub startup: Duration,
}

impl Direct {
    /// Starts `names` from `config` (a resolved seed config), with `home` as HOME.
    pub async fn start(config: &Value, names: &[&str], home: &Path) -> Result<Direct> {
        let started = Instant::now();
        let mut servers = Vec::new();
        for name in names {
            servers.push(start_server(config, name, home).await?);
        }
        Ok(Direct { servers, tally: Tally::default(), startup: started.elapsed() })
    }

    /// Every server's `tools/list` and instructions into the context, as a client loads them.
    pub async fn list_tools(&mut self) -> Result<()> {
        for server in &self.servers {
            let client = server.client.as_ref().context("an open server")?;
            let tools = client.list_all_tools().await?;
            let instructions = client.peer_info().and_then(|info| info.instructions.clone());
            self.tally.listing(&server.name, instructions.as_deref(), &tools);
        }
        Ok(())
    }

    /// Calls `tool` of `server` as the model would, recording both sides; fails on a tool error.
    pub async fn call(&mut self, server: &str, tool: &str, arguments: Value) -> Result<CallToolResult> {
        let peer = self
            .servers
            .iter()
            .find(|candidate| candidate.name == server)
            .and_then(|found| found.client.as_ref())
            .with_context(|| format!("server {server} is not started"))?
            .peer()
            .clone();
        let result = call(&peer, tool, &arguments).await?;
        self.tally.call(server, tool, &arguments, &result);
        if result.is_error == Some(true) {
            bail!("{server}.{tool} failed: {}", super::count::client_text(&result));
        }
        Ok(result)
    }

    pub async fn close(mut self) -> Result<()> {
        for server in &mut self.servers {
            if let Some(mut client) = server.client.take() {
                client.close_with_timeout(CLOSE_LIMIT).await?;
            }
        }
        Ok(())
    }
}

async fn start_server(config: &Value, name: &str, home: &Path) -> Result<Server> {
    let spec = &config["mcpServers"][name];
    let mut command = Command::new(spec["command"].as_str().with_context(|| format!("{name} has a command"))?);
    command
        .args(spec["args"].as_array().into_iter().flatten().filter_map(Value::as_str))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .envs(spec["env"].as_object().into_iter().flatten().filter_map(|(key, value)| Some((key, value.as_str()?))))
        .process_group(0)
        .kill_on_drop(true);
    if let Some(cwd) = spec["cwd"].as_str() {
        command.current_dir(cwd);
    }
    let (transport, _) = TokioChildProcess::builder(command).stderr(Stdio::null()).spawn()?;
    let group = i32::try_from(transport.id().context("the server has a pid")?)?;
    let mut server = Server { name: name.to_owned(), client: None, group };
    let client = tokio::time::timeout(START_LIMIT, ().serve(transport))
        .await
        .with_context(|| format!("{name} did not answer initialize in time"))?
        .with_context(|| format!("{name}: MCP initialize"))?;
    server.client = Some(client);
    Ok(server)
}

async fn call(peer: &Peer<RoleClient>, tool: &str, arguments: &Value) -> Result<CallToolResult> {
    let Value::Object(object) = arguments.clone() else { bail!("tool arguments must be an object") };
    let request = CallToolRequestParams::new(tool.to_owned()).with_arguments(object);
    tokio::time::timeout(CALL_LIMIT * 4, peer.call_tool(request))
        .await
        .with_context(|| format!("`{tool}` did not answer in time"))?
        .with_context(|| format!("`{tool}`"))
}

/// The code-mode path: the model holds the host's tools (with the skills) and writes a program.
pub struct CodeMode {
    host: Connection,
    pub tally: Tally,
    /// Spawn to `initialize` answered, then the warm-up that started the servers.
    pub startup: Duration,
}

impl CodeMode {
    /// Starts the host with `config`, has it start `servers` and searches once (the warm-up is
    /// not counted: a model would not see it, and the direct path's servers are started before
    /// its clock too).
    pub async fn start(paths: &Paths, config: &Value, servers: &[&str]) -> Result<CodeMode> {
        let started = Instant::now();
        let host = Connection::host(paths, config).await?;
        let warm = format!("for (const server of {}) await mcp.tools(server);\nreturn true;", json!(servers));
        let result = call(&host.peer(), "execute_code", &json!({ "code": warm, "timeout": RUN_TIMEOUT_MS })).await?;
        if result.structured_content.as_ref().is_none_or(|response| response["ok"] != json!(true)) {
            bail!("starting {servers:?} in the host failed: {}", super::count::client_text(&result));
        }
        // The first search lists every configured server, starting those a lazy host has not:
        // done here, so the measured search only ranks, as in a session that searched before.
        let searched = call(&host.peer(), "search_tools", &json!({ "query": "list" })).await?;
        if searched.is_error == Some(true) {
            bail!("the warm-up search failed: {}", super::count::client_text(&searched));
        }
        Ok(CodeMode { host, tally: Tally::default(), startup: started.elapsed() })
    }

    /// The host's `tools/list` (its own tools and one per skill) and instructions.
    pub async fn list_tools(&mut self) -> Result<()> {
        let peer = self.host.peer();
        let tools = peer.list_all_tools().await?;
        let instructions = peer.peer_info().and_then(|info| info.instructions.clone());
        self.tally.listing(HOST_NAME, instructions.as_deref(), &tools);
        Ok(())
    }

    /// A discovery call (search_tools, describe_tools), recorded; fails on a tool error.
    pub async fn call(&mut self, tool: &str, arguments: Value) -> Result<CallToolResult> {
        let result = call(&self.host.peer(), tool, &arguments).await?;
        self.tally.call(HOST_NAME, tool, &arguments, &result);
        if result.is_error == Some(true) {
            bail!("{tool} failed: {}", super::count::client_text(&result));
        }
        Ok(result)
    }

    /// `execute_code` of `code` as the model writes it (no timeout argument), recorded;
    /// the run's structured response, failing unless it succeeded.
    pub async fn execute(&mut self, code: &str) -> Result<Value> {
        let result = self.call("execute_code", json!({ "code": code })).await?;
        let response = result.structured_content.context("execute_code answers structured content")?;
        if response["ok"] != json!(true) {
            bail!("the program failed: {response}");
        }
        Ok(response["result"].clone())
    }

    pub async fn close(self) -> Result<()> {
        self.host.close().await
    }
}
