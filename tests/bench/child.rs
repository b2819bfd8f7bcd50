//! The processes the benchmark starts, and the MCP client connected to each.
//!
//! A [`Connection`] owns one child process spoken to over stdio. [`Connection::close`]
//! shuts it down the MCP way (stdin closed, then SIGTERM, then SIGKILL, as rmcp does);
//! a connection dropped without `close` (an error path) is killed at once.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{Peer, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::process::Command;

/// How long one MCP request may take before the benchmark gives up.
pub const CALL_LIMIT: Duration = Duration::from_secs(60);
/// How long a child may take to answer `initialize`.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How long a child may take to exit once its stdin is closed.
const CLOSE_LIMIT: Duration = Duration::from_secs(10);

/// Where the release binaries and the benchmark's artifact cache are.
pub struct Paths {
    pub host: PathBuf,
    pub test_server: PathBuf,
    pub cache_dir: PathBuf,
}

impl Paths {
    /// The binaries next to this one (`target/release/`).
    pub fn beside_current_exe() -> Result<Paths> {
        let exe = std::env::current_exe().context("the benchmark knows its own path")?;
        let dir = exe.parent().context("the benchmark lives in a directory")?;
        let binary = |name: &str| -> Result<PathBuf> {
            let path = dir.join(name);
            if !path.is_file() {
                bail!("{} is missing: run `make bench` (it builds every binary first)", path.display());
            }
            Ok(path)
        };
        Ok(Paths { host: binary("mcp-code-runtime")?, test_server: binary("test-server")?, cache_dir: dir.join("bench-cache") })
    }
}

/// A child process and the MCP client connected to it.
pub struct Connection {
    client: Option<RunningService<RoleClient, ()>>,
    pub pid: u32,
    /// From just before the spawn to `initialize` answered.
    pub startup: Duration,
    /// The host's config file and HOME.
    _home: Option<TempDir>,
}

/// A child with a scrubbed environment: PATH and HOME only.
pub fn std_command(program: &Path, home: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("RUST_LOG", "warn");
    command
}

/// A command for tokio, killed when dropped.
fn killed_on_drop(command: std::process::Command) -> Command {
    let mut command = Command::from(command);
    command.kill_on_drop(true);
    command
}

/// `mcp-code-runtime serve` with `config` (a whole config file) and the
/// benchmark's warm cache, and its HOME, which holds the config file.
pub fn host_command(paths: &Paths, config: &Value) -> Result<(std::process::Command, TempDir)> {
    let home = tempfile::tempdir()?;
    let config_path = home.path().join("mcp.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(config)?)?;
    let mut command = std_command(&paths.host, home.path());
    command.arg("serve").arg("--config").arg(&config_path).arg("--cache-dir").arg(&paths.cache_dir);
    Ok((command, home))
}

impl Connection {
    /// Starts `mcp-code-runtime serve` with `config` (a whole config file) and the
    /// benchmark's warm cache, and returns once it has answered `initialize`.
    pub async fn host(paths: &Paths, config: &Value) -> Result<Connection> {
        let (command, home) = host_command(paths, config)?;
        Connection::start(killed_on_drop(command), Some(home)).await
    }

    /// Starts the test server on its own, for calls that bypass the host.
    pub async fn test_server(paths: &Paths) -> Result<Connection> {
        let home = tempfile::tempdir()?;
        Connection::start(killed_on_drop(std_command(&paths.test_server, home.path())), Some(home)).await
    }

    /// Starts `program` with `args`: another MCP server on stdio (the
    /// benchmark's alternatives), with a scrubbed environment of its own.
    pub async fn server(program: &Path, args: &[&Path]) -> Result<Connection> {
        let home = tempfile::tempdir()?;
        let mut command = std_command(program, home.path());
        command.args(args);
        Connection::start(killed_on_drop(command), Some(home)).await
    }

    async fn start(command: Command, home: Option<TempDir>) -> Result<Connection> {
        let started = Instant::now();
        let (transport, _) = TokioChildProcess::builder(command).stderr(Stdio::inherit()).spawn()?;
        let pid = transport.id().context("the child has a pid")?;
        let mut connection = Connection { client: None, pid, startup: Duration::ZERO, _home: home };
        let client = tokio::time::timeout(START_LIMIT, ().serve(transport))
            .await
            .context("the child did not answer `initialize` in time")?
            .context("MCP initialize")?;
        connection.startup = started.elapsed();
        connection.client = Some(client);
        Ok(connection)
    }

    /// A handle for requests; clones share the one connection.
    pub fn peer(&self) -> Peer<RoleClient> {
        self.client.as_ref().expect("an open connection").peer().clone()
    }

    /// The child's resident set size, in MiB.
    pub fn rss_mb(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let kilobytes: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .context("/proc/<pid>/status has VmRSS")?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kilobytes / 1024.0)
    }

    /// The CPU time and page faults of the child so far, all threads.
    pub fn counters(&self) -> Result<Counters> {
        Counters::of(&self.pid.to_string())
    }

    /// Closes stdin and waits for the child to exit (rmcp sends SIGTERM, then
    /// SIGKILL, to a child that lingers).
    pub async fn close(mut self) -> Result<()> {
        let Some(mut client) = self.client.take() else { return Ok(()) };
        let closed = client.close_with_timeout(CLOSE_LIMIT).await?;
        if closed.is_none() {
            kill(self.pid);
            bail!("process {} did not exit within {CLOSE_LIMIT:?} of its stdin closing", self.pid);
        }
        Ok(())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Not closed: an error path. The child is not reaped yet (its handle
        // lives in `client`), so its pid cannot have been reused.
        if self.client.is_some() {
            kill(self.pid);
        }
    }
}

/// What a process has used so far, from `/proc/<pid>/stat`.
#[derive(Clone, Copy)]
pub struct Counters {
    /// User plus system CPU time, all threads.
    pub cpu: Duration,
    /// Page faults served without I/O (copy-on-write, zero-fill, mapping).
    pub minor_faults: u64,
}

impl Counters {
    /// The counters of `/proc/<process>`: a pid, or `self`.
    pub fn of(process: &str) -> Result<Counters> {
        let stat = std::fs::read_to_string(format!("/proc/{process}/stat"))?;
        // The fields after the command name start at field 3 (state); minflt
        // is field 10, utime and stime are 14 and 15.
        let fields: Vec<&str> = stat.rsplit_once(')').context("/proc/<pid>/stat has a command name")?.1.split_whitespace().collect();
        let field = |number: usize| -> Result<u64> { Ok(fields.get(number - 3).context("a /proc/<pid>/stat field")?.parse()?) };
        // SAFETY: sysconf has no preconditions.
        let ticks_per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok().filter(|&hz| hz > 0).unwrap_or(100);
        Ok(Counters {
            cpu: Duration::from_secs_f64((field(14)? + field(15)?) as f64 / ticks_per_second as f64),
            minor_faults: field(10)?,
        })
    }

    /// Per-event averages since `earlier`: CPU µs and minor faults.
    pub fn per_event_since(&self, earlier: &Counters, events: usize) -> (f64, f64) {
        let events = events.max(1) as f64;
        let cpu = self.cpu.saturating_sub(earlier.cpu).as_secs_f64() * 1_000_000.0;
        (cpu / events, self.minor_faults.saturating_sub(earlier.minor_faults) as f64 / events)
    }
}

fn kill(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a pid of our own unreaped child and a valid signal.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Calls `tool` with `arguments` (an object) and returns the result and how long it took.
pub async fn call(peer: &Peer<RoleClient>, tool: &str, arguments: Value) -> Result<(CallToolResult, Duration)> {
    let Value::Object(arguments) = arguments else { bail!("tool arguments must be an object") };
    let request = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
    let started = Instant::now();
    let result = tokio::time::timeout(CALL_LIMIT, peer.call_tool(request))
        .await
        .with_context(|| format!("`{tool}` did not answer within {CALL_LIMIT:?}"))??;
    Ok((result, started.elapsed()))
}

/// Runs `code` through `execute_code` and returns its structured response
/// (failing unless the run succeeded) and the round-trip time.
pub async fn execute(peer: &Peer<RoleClient>, code: &str) -> Result<(Value, Duration)> {
    execute_with(peer, json!({ "code": code })).await
}

pub async fn execute_with(peer: &Peer<RoleClient>, arguments: Value) -> Result<(Value, Duration)> {
    let (response, elapsed) = respond(peer, arguments).await?;
    if response["ok"] != json!(true) {
        bail!("the run failed: {response}");
    }
    Ok((response, elapsed))
}

/// Runs `execute_code` with `arguments` and returns its structured response,
/// whether the run succeeded or not, and the round-trip time.
pub async fn respond(peer: &Peer<RoleClient>, arguments: Value) -> Result<(Value, Duration)> {
    let (result, elapsed) = call(peer, "execute_code", arguments).await?;
    let response = result.structured_content.context("execute_code returns structured content")?;
    Ok((response, elapsed))
}

/// `stats.durationMs` of a response.
pub fn duration_ms(response: &Value) -> Result<f64> {
    response["stats"]["durationMs"].as_f64().context("stats.durationMs is a number")
}
