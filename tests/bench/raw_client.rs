//! The raw client: the least a client can do to speak MCP to a child over
//! stdio, newline-delimited JSON-RPC written and read with blocking calls on
//! the pipes, no rmcp on this side. What it measures is the server's cost plus
//! two pipe hops, with as little client time as there can be.
//!
//! [`measure`] is `bench roundtrip`: the trivial `execute_code` round trip
//! (p50, p99) from this client, and the floor, the same client asking the
//! project's rmcp test server for `echo`: an rmcp server doing nothing costs
//! that much, so our ratio to it is what the host adds on top of rmcp.
//!
//! It owns only its own child processes; the curves (`curves.rs`) use it too.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::child::{CALL_LIMIT, Paths, host_command, std_command};
use crate::report::{Report, Target, max, ms, percentile};

const WARMUP: usize = 500;
const CALLS: usize = 5_000;
const TRIVIAL: &str = "return 1;";
/// How long a child may take to answer `initialize`.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How long a child may take to exit once its stdin is closed.
const CLOSE_LIMIT: Duration = Duration::from_secs(10);

/// A child spoken to with newline-delimited JSON-RPC over its stdin and stdout.
pub struct RawClient {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
    line: Vec<u8>,
    _home: TempDir,
}

impl RawClient {
    /// `mcp-code-runtime serve` with `config`, initialized.
    pub fn host(paths: &Paths, config: &Value) -> Result<RawClient> {
        let (command, home) = host_command(paths, config)?;
        RawClient::start(command, home)
    }

    /// The test server on its own, initialized.
    pub fn test_server(paths: &Paths) -> Result<RawClient> {
        let home = tempfile::tempdir()?;
        RawClient::start(std_command(&paths.test_server, home.path()), home)
    }

    fn start(mut command: std::process::Command, home: TempDir) -> Result<RawClient> {
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
        let stdin = child.stdin.take().context("the child's stdin is piped")?;
        let stdout = BufReader::with_capacity(1 << 20, child.stdout.take().context("the child's stdout is piped")?);
        let mut client = RawClient { child, stdin: Some(stdin), stdout, next_id: 0, line: Vec::new(), _home: home };
        let initialize = json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "bench-raw-client", "version": "0" }
        });
        client.request("initialize", initialize, START_LIMIT).context("MCP initialize")?;
        client.write(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))?;
        Ok(client)
    }

    /// Calls `tool` and returns its result (failing on a JSON-RPC error) and the round-trip time.
    pub fn call_tool(&mut self, tool: &str, arguments: Value) -> Result<(Value, Duration)> {
        let started = Instant::now();
        let result = self.request("tools/call", json!({ "name": tool, "arguments": arguments }), CALL_LIMIT)?;
        Ok((result, started.elapsed()))
    }

    /// Sends every call of `calls` before reading any answer, so all are in
    /// flight at once, and returns their results in the order they were sent.
    pub fn call_all(&mut self, calls: &[(&str, Value)]) -> Result<Vec<Value>> {
        let first = self.next_id;
        for (tool, arguments) in calls {
            let id = self.next_id;
            self.next_id += 1;
            self.write(&json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": { "name": tool, "arguments": arguments } }))?;
        }
        let deadline = Instant::now() + CALL_LIMIT;
        let mut results = vec![Value::Null; calls.len()];
        for _ in 0..calls.len() {
            let (id, result) = self.read_response(deadline)?;
            let slot = id.checked_sub(first).and_then(|index| results.get_mut(index as usize)).context("an answer to a request sent")?;
            *slot = result;
        }
        Ok(results)
    }

    /// Sends one request and waits (until `limit`) for its answer's `result`.
    fn request(&mut self, method: &str, params: Value, limit: Duration) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.write(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))?;
        let (answered, result) = self.read_response(Instant::now() + limit)?;
        if answered != id {
            bail!("answer to request {answered} while waiting for {id}");
        }
        Ok(result)
    }

    fn write(&mut self, message: &Value) -> Result<()> {
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        let stdin = self.stdin.as_mut().context("the client is open")?;
        stdin.write_all(&line)?;
        stdin.flush()?;
        Ok(())
    }

    /// The next response (skipping notifications and requests from the
    /// child): its id and `result`; a JSON-RPC error fails.
    fn read_response(&mut self, deadline: Instant) -> Result<(u64, Value)> {
        loop {
            self.read_line(deadline)?;
            let mut message: Value = serde_json::from_slice(&self.line).context("the child writes JSON-RPC")?;
            if message.get("method").is_some() {
                continue;
            }
            let id = message["id"].as_u64().context("a response has a numeric id")?;
            if let Some(error) = message.get("error") {
                bail!("request {id} failed: {error}");
            }
            return Ok((id, message["result"].take()));
        }
    }

    /// Reads one line into `self.line`, waiting for the child no later than `deadline`.
    fn read_line(&mut self, deadline: Instant) -> Result<()> {
        self.line.clear();
        loop {
            let buffered = self.stdout.buffer();
            if let Some(end) = buffered.iter().position(|&byte| byte == b'\n') {
                self.line.extend_from_slice(&buffered[..end]);
                self.stdout.consume(end + 1);
                return Ok(());
            }
            let taken = buffered.len();
            self.line.extend_from_slice(buffered);
            self.stdout.consume(taken);
            wait_readable(self.stdout.get_ref(), deadline)?;
            if self.stdout.fill_buf()?.is_empty() {
                bail!("the child closed its stdout");
            }
        }
    }

    /// Closes stdin and waits for the child to exit; kills it after [`CLOSE_LIMIT`].
    pub fn close(mut self) -> Result<()> {
        self.stdin = None;
        let deadline = Instant::now() + CLOSE_LIMIT;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        bail!("process {} did not exit within {CLOSE_LIMIT:?} of its stdin closing", self.child.id())
    }
}

impl Drop for RawClient {
    fn drop(&mut self) {
        // Not exited yet (an error path, or `close` timed out): kill and reap it.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits until `pipe` has something to read, or fails at `deadline`.
fn wait_readable(pipe: &ChildStdout, deadline: Instant) -> Result<()> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("the child did not answer within {CALL_LIMIT:?}");
        }
        let mut poll = libc::pollfd { fd: pipe.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let timeout = i32::try_from(left.as_millis()).unwrap_or(i32::MAX).max(1);
        // SAFETY: one valid pollfd, the count says one.
        let ready = unsafe { libc::poll(&mut poll, 1, timeout) };
        if ready > 0 {
            return Ok(());
        }
        if ready < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return Err(std::io::Error::last_os_error().into());
        }
    }
}

/// `bench roundtrip`: trivial `execute_code` and the test server's `echo`,
/// sequential calls from the raw client, and our ratio to that floor.
pub fn measure(paths: &Paths, report: &mut Report) -> Result<()> {
    report.section("raw client round trip (no rmcp on the client side)");
    let mut server = RawClient::test_server(paths)?;
    let echo = sequential_ms(&mut server, "echo", &json!({ "message": "x" }))?;
    server.close()?;
    let mut host = RawClient::host(paths, &json!({ "mcpServers": {} }))?;
    let run = sequential_ms(&mut host, "execute_code", &json!({ "code": TRIVIAL }))?;
    host.close()?;
    let (echo_p50, echo_p99) = (percentile(&echo, 50.0), percentile(&echo, 99.0));
    let (run_p50, run_p99) = (percentile(&run, 50.0), percentile(&run, 99.0));
    report.figure("raw_echo_floor_p50_ms", echo_p50, "ms", "raw client: test server `echo` (floor), p50");
    report.figure("raw_echo_floor_p99_ms", echo_p99, "ms", "raw client: test server `echo` (floor), p99");
    report.target("raw_roundtrip_p50_ms", run_p50, "ms", "raw client: execute_code `return 1;`, p50", Target::AtMost(0.2));
    report.target("raw_roundtrip_p99_ms", run_p99, "ms", "raw client: execute_code `return 1;`, p99", Target::AtMost(0.6));
    report.figure("raw_roundtrip_max_ms", max(&run), "ms", "raw client: execute_code `return 1;`, max");
    report.figure("raw_roundtrip_floor_ratio_p50", run_p50 / echo_p50, "x", "raw client: execute_code / echo floor, p50");
    report.figure("raw_roundtrip_floor_ratio_p99", run_p99 / echo_p99, "x", "raw client: execute_code / echo floor, p99");
    Ok(())
}

/// [`WARMUP`] untimed then [`CALLS`] timed sequential calls of `tool`, in ms;
/// each must succeed.
fn sequential_ms(client: &mut RawClient, tool: &str, arguments: &Value) -> Result<Vec<f64>> {
    let mut times = Vec::with_capacity(CALLS);
    for call in 0..WARMUP + CALLS {
        let (result, elapsed) = client.call_tool(tool, arguments.clone())?;
        if result["isError"] == json!(true) || result["structuredContent"]["ok"] == json!(false) {
            bail!("`{tool}` failed: {result}");
        }
        if call >= WARMUP {
            times.push(ms(elapsed));
        }
    }
    Ok(times)
}
