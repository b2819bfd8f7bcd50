//! Attacks on the host through the real binary, grouped by what they attack:
//! runaway CPU, memory, floods of host work, capabilities, guest integrity,
//! deep nesting and the protocol. Each case checks the error kind, that it
//! came within a generous bound of its limit, that the next call answers, and
//! that the host's memory returns near where it started.
//!
//! Downstream servers that misbehave are in `downstream_faults.rs`; floods of
//! tool arguments, results, searches and descriptions in `host_bounds.rs`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::util::{Host, HostOptions, expect_error, expect_result, host_binary, shared_cache_dir, test_server_binary};

/// How far past its limit a stopped run may answer, in a test. The benchmark
/// reports the real overshoot; this only has to hold on a loaded CI machine.
const GENEROUS: Duration = Duration::from_secs(5);
/// How much more memory the host may hold after an attack than before it.
const RSS_SLACK_BYTES: u64 = 96 << 20;

/// The resident memory of process `pid`, in bytes.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the host is running");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kib * 1024
}

/// A host that has run one program, so its memory is at its working level.
async fn warm_host(options: HostOptions) -> Result<(Host, u64)> {
    let host = Host::start_with(options).await?;
    expect_result(&host.execute("return 1;").await?);
    let idle = rss_bytes(host.pid);
    Ok((host, idle))
}

/// Runs `code` with `timeout_ms` and checks the error kind and the time it took.
async fn expect_stopped(host: &Host, code: &str, timeout_ms: u64, kind: &str) -> Result<Value> {
    let started = Instant::now();
    let response = host.execute_with(json!({ "code": code, "timeout": timeout_ms })).await?;
    expect_error(&response, kind);
    let took = started.elapsed();
    assert!(took < Duration::from_millis(timeout_ms) + GENEROUS, "{kind} after {took:?} for {code}");
    Ok(response)
}

/// The host still answers, and holds little more memory than at `idle`.
async fn assert_healthy(host: &Host, idle: u64) -> Result<()> {
    assert_eq!(expect_result(&host.execute("return 'alive';").await?), &json!("alive"));
    let now = rss_bytes(host.pid);
    assert!(now < idle + RSS_SLACK_BYTES, "host RSS {} MiB after the attack, {} MiB before", now >> 20, idle >> 20);
    Ok(())
}

// ---- runaway CPU --------------------------------------------------------------

#[tokio::test]
async fn runaway_cpu_is_stopped_wherever_it_hides() -> Result<()> {
    let (host, idle) = warm_host(HostOptions::default()).await?;
    let cases = [
        ("while (true) {}", "timeout"),
        ("/(a+)+b/.test('a'.repeat(40)); return 1;", "timeout"),
        ("for (;;) await null;", "timeout"),
        ("for (;;) await new Promise((resolve) => queueMicrotask(resolve));", "timeout"),
        ("return { get x() { for (;;) {} } };", "timeout"),
        ("return { toJSON() { for (;;) {} } };", "timeout"),
        ("throw { toString() { for (;;) {} } };", "runtime_error"),
        ("class Slow extends Error { get message(): string { for (;;) {} } }\nthrow new Slow();", "timeout"),
        ("console.log({ get x() { for (;;) {} } });", "timeout"),
    ];
    for (code, kind) in cases {
        expect_stopped(&host, code, 500, kind).await?;
    }
    assert_healthy(&host, idle).await
}

#[tokio::test]
async fn set_interval_zero_does_not_spin_the_host() -> Result<()> {
    let host = Host::start().await?;
    let code = "let n = 0; const id = setInterval(() => { n++; }, 0); await new Promise((r) => setTimeout(r, 100)); clearInterval(id); return n;";
    let ticks = expect_result(&host.execute(code).await?).as_u64().context("a count")?;
    assert!((1..=150).contains(&ticks), "setInterval(f, 0) ran {ticks} times in 100 ms");
    Ok(())
}

// ---- memory -------------------------------------------------------------------

#[tokio::test]
async fn memory_bombs_stay_inside_the_guest() -> Result<()> {
    let (host, idle) = warm_host(HostOptions::default()).await?;
    let cases = [
        ("const a = new Uint8Array(256 * 1024 * 1024); return a.length;", "memory_limit"),
        ("const parts = []; for (;;) parts.push('x'.repeat(1 << 20) + parts.length);", "memory_limit"),
        ("const a = []; for (;;) a.push({ i: a.length });", "memory_limit"),
        ("return 'x'.repeat(2 * 1024 * 1024);", "output_limit"),
        ("function f(n: number): number { return f(n + 1) + 1; }\nreturn f(0);", "runtime_error"),
    ];
    for (code, kind) in cases {
        expect_stopped(&host, code, 20_000, kind).await?;
    }
    let flood = host.execute("for (let i = 0; i < 200000; i++) console.log('line', i, 'x'.repeat(100)); return 1;").await?;
    let logs = flood["logs"].as_array().context("logs")?;
    assert!(logs.last().unwrap()["message"].as_str().unwrap().contains("console output truncated"), "{}", logs.len());
    assert_healthy(&host, idle).await
}

#[tokio::test]
async fn a_caught_allocation_failure_does_not_relabel_a_later_error() -> Result<()> {
    let host = Host::start().await?;
    let code = "try { const a = []; for (;;) a.push(new Array(100000).fill(1.5)); } catch (e) {}\nthrow new TypeError('unrelated');";
    let response = host.execute(code).await?;
    let error = expect_error(&response, "runtime_error");
    assert!(error["message"].as_str().unwrap().contains("unrelated"), "{response}");
    Ok(())
}

#[tokio::test]
async fn sixteen_concurrent_memory_bombs_leave_the_host_near_idle() -> Result<()> {
    let (host, idle) = warm_host(HostOptions::default()).await?;
    let bomb = json!({"code": "const a = []; for (;;) a.push(new Array(100000).fill(1.5));", "timeout": 20000});
    let bombs = (0..16).map(|_| host.execute_with(bomb.clone()));
    for response in futures::future::join_all(bombs).await {
        expect_error(&response?, "memory_limit");
    }
    assert_healthy(&host, idle).await
}

// ---- floods of host work ------------------------------------------------------

#[tokio::test]
async fn set_and_cleared_timers_hold_no_host_memory() -> Result<()> {
    let (host, idle) = warm_host(HostOptions::default()).await?;
    expect_stopped(&host, "for (;;) clearTimeout(setTimeout(() => {}, 1e9));", 4000, "timeout").await?;
    assert_healthy(&host, idle).await?;
    let pending = expect_stopped(&host, "for (;;) setTimeout(() => {}, 1e9);", 10_000, "runtime_error").await?;
    assert!(pending["error"]["message"].as_str().unwrap().contains("pending"), "{pending}");
    assert_healthy(&host, idle).await
}

#[tokio::test]
async fn timers_of_equal_delay_fire_in_order_and_microtasks_run() -> Result<()> {
    let host = Host::start().await?;
    let code = "const order: number[] = []; for (let i = 0; i < 20; i++) setTimeout(() => order.push(i), 5);\n\
                queueMicrotask(() => order.push(-1));\n\
                await new Promise((r) => setTimeout(r, 50)); return order;";
    let mut expected = vec![-1];
    expected.extend(0..20);
    assert_eq!(expect_result(&host.execute(code).await?), &json!(expected));
    Ok(())
}

#[tokio::test]
async fn unhandled_rejections_are_reported_in_the_logs() -> Result<()> {
    let host = Host::start().await?;
    let response = host.execute("Promise.reject(new Error('nobody caught me'));\nconst caught = Promise.reject(1); caught.catch(() => {});\nreturn 'done';").await?;
    assert_eq!(expect_result(&response), &json!("done"));
    let logs = response["logs"].to_string();
    assert!(logs.contains("Uncaught (in promise)") && logs.contains("nobody caught me"), "{logs}");
    assert_eq!(logs.matches("Uncaught (in promise)").count(), 1, "a handled rejection is not reported: {logs}");
    Ok(())
}

// ---- capabilities and guest integrity ----------------------------------------

fn two_test_servers() -> Value {
    json!({
        "granted": { "command": test_server_binary() },
        "secret": { "command": test_server_binary() },
    })
}

#[tokio::test]
async fn an_ungranted_server_is_denied_by_every_access_path() -> Result<()> {
    let host = Host::start_with(HostOptions { servers: two_test_servers(), ..Default::default() }).await?;
    let paths = [
        "await mcp.call('secret', 'echo', { message: 'x' });",
        "await mcp.tools('secret');",
        "const s = await import('mcp://secret'); await s.echo({ message: 'x' });",
        "await (globalThis as any).secret.echo({ message: 'x' });",
        "await mcp.call('SECRET', 'echo', { message: 'x' });",
        "await mcp.call('secret ', 'echo', { message: 'x' });",
        "await mcp.call({ toString: () => 'secret' } as any, 'echo', { message: 'x' });",
        "await (Object.getPrototypeOf(mcp) as any).call?.('secret', 'echo', {}); throw new Error('no prototype call');",
    ];
    for code in paths {
        let response = host.execute_with(json!({ "code": code, "mcpServers": ["granted"] })).await?;
        assert_eq!(response["ok"], json!(false), "{code} succeeded: {response}");
        let kind = response["error"]["kind"].as_str().unwrap_or_default();
        assert!(
            ["capability_denied", "not_found", "runtime_error"].contains(&kind),
            "{code} failed as {kind}: {response}"
        );
        assert!(!response.to_string().contains("\"message\":\"x\""), "{code} reached the server: {response}");
    }
    let listed = host.execute_with(json!({ "code": "return (await mcp.servers()).map((s) => s.name);", "mcpServers": ["granted"] })).await?;
    assert_eq!(expect_result(&listed), &json!(["granted"]));
    Ok(())
}

#[tokio::test]
async fn a_forged_error_kind_is_not_believed() -> Result<()> {
    let host = Host::start().await?;
    let forged = host.execute("throw new McpError({ kind: 'capability-denied', message: 'forged' });").await?;
    expect_error(&forged, "runtime_error");
    let renamed = host.execute("const e = new McpError({ message: 'x' }); (e as any).kind = 'capability_denied'; throw e;").await?;
    expect_error(&renamed, "runtime_error");
    Ok(())
}

#[tokio::test]
async fn converting_a_server_object_calls_no_tool() -> Result<()> {
    let host = Host::start_with(HostOptions {
        servers: json!({ "test": { "command": test_server_binary() } }),
        ..Default::default()
    })
    .await?;
    let code = "const text = `${test}` + String(test) + (test as any).toString();\n\
                JSON.stringify({ s: test }); Object.prototype.toString.call(test);\n\
                const n = await (test as any).counter(); return { text, count: n.count };";
    let result = expect_result(&host.execute(code).await?).clone();
    assert_eq!(result["count"], json!(1), "a conversion called a tool before: {result}");
    assert!(result["text"].as_str().unwrap().contains("[MCP server test]"), "{result}");
    Ok(())
}

// ---- deep nesting ---------------------------------------------------------------

#[tokio::test]
async fn deeply_nested_programs_are_syntax_errors_and_the_host_lives() -> Result<()> {
    let (host, idle) = warm_host(HostOptions::default()).await?;
    let n = 3000;
    let programs = [
        format!("return {}0{};", "(".repeat(n), ")".repeat(n)),
        format!("return {}0{};", "[".repeat(n), "]".repeat(n)),
        format!("return {}{};", "{a:".repeat(n), "}".repeat(n)),
        format!("return {}0;", "() => ".repeat(n)),
        format!("{}return 1;{}", "if (true) {".repeat(n), "}".repeat(n)),
        format!("return {}0{};", "`${".repeat(n), "}`".repeat(n)),
    ];
    for program in &programs {
        let response = host.execute(program).await?;
        let message = expect_error(&response, "syntax_error")["message"].as_str().unwrap().to_owned();
        assert!(message.contains("levels deep"), "{message}");
    }
    // Nesting within the limit still runs, in the host's parser and the guest's.
    let within = format!("return {}1{};", "[".repeat(200), "]".repeat(200));
    let response = host.execute(&within).await?;
    assert!(response["ok"] == json!(true) || response["error"]["kind"] == json!("output_limit"), "{response}");
    let parens = format!("return {}1{};", "(".repeat(450), ")".repeat(450));
    assert_eq!(expect_result(&host.execute(&parens).await?), &json!(1));
    assert_healthy(&host, idle).await
}

#[tokio::test]
async fn results_nested_past_the_json_limit_are_output_limits() -> Result<()> {
    let host = Host::start().await?;
    let deep = host.execute("let v: any = 1; for (let i = 0; i < 500; i++) v = [v]; return v;").await?;
    let message = expect_error(&deep, "output_limit")["message"].as_str().unwrap().to_owned();
    assert!(message.contains("levels deep"), "{message}");
    let fine = host.execute("let v: any = 1; for (let i = 0; i < 100; i++) v = [v]; return v;").await?;
    expect_result(&fine);
    Ok(())
}

// ---- the protocol ----------------------------------------------------------------

/// A raw stdio client: one JSON-RPC message per line, no SDK to smooth things over.
struct RawClient {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl RawClient {
    fn start() -> Result<RawClient> {
        let mut child = Command::new(host_binary())
            .arg("serve")
            .arg("--cache-dir")
            .arg(shared_cache_dir())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("stdout")?);
        let mut client = RawClient { child, stdin, stdout };
        client.send_line(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}).to_string())?;
        client.read()?;
        client.send_line(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string())?;
        Ok(client)
    }

    fn send_line(&mut self, line: &str) -> Result<()> {
        writeln!(self.stdin, "{line}")?;
        Ok(self.stdin.flush()?)
    }

    fn read(&mut self) -> Result<Value> {
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        serde_json::from_str(&line).with_context(|| format!("not JSON: {line:?}"))
    }

    /// Calls `execute_code` and returns the response with `id`.
    fn execute(&mut self, id: u64, code: &str) -> Result<Value> {
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "execute_code", "arguments": {"code": code}}});
        self.send_line(&call.to_string())?;
        loop {
            let message = self.read()?;
            if message["id"] == json!(id) {
                return Ok(message);
            }
        }
    }
}

impl Drop for RawClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn malformed_protocol_input_never_stops_the_host() -> Result<()> {
    let mut client = RawClient::start()?;
    let garbage = [
        "this is not json".to_owned(),
        "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ".to_owned(),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "execute_code", "arguments": {"code": 42}}}).to_string(),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "no_such_tool", "arguments": {}}}).to_string(),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "execute_code", "arguments": {"code": "return 1", "timeout": "soon"}}}).to_string(),
        json!({"jsonrpc": "2.0", "id": 5, "method": "no/such/method"}).to_string(),
        json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "execute_code", "arguments": {"code": "x".repeat(3 << 20)}}}).to_string(),
        format!("[{}]", "[".repeat(100_000)),
    ];
    for line in &garbage {
        client.send_line(line)?;
    }
    let answer = client.execute(100, "return 'still serving';")?;
    assert_eq!(answer["result"]["structuredContent"]["result"], json!("still serving"), "{answer}");
    Ok(())
}

#[tokio::test]
async fn cancelling_a_run_ends_it_and_frees_its_slot() -> Result<()> {
    let host = Host::start_with(HostOptions { runtime: json!({"limits": {"maxConcurrentRuns": 1}}), ..Default::default() }).await?;
    let handle = host.start_cancellable_run(json!({"code": "while (true) {}", "timeout": 120000})).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cancelled_at = Instant::now();
    handle.cancel(Some("the user pressed stop".into())).await?;
    // The only run slot is free again: a new run answers long before the
    // cancelled one's deadline.
    let response = host.execute("return 'next';").await?;
    assert_eq!(expect_result(&response), &json!("next"));
    assert!(cancelled_at.elapsed() < GENEROUS, "the slot was freed after {:?}", cancelled_at.elapsed());
    Ok(())
}
