//! Downstream servers that misbehave, through the real binary: what a child
//! inherits, grandchildren, stderr floods, endless stdout lines, crash loops,
//! failed listings and cancellation. Each test asserts what the downstream side
//! saw (its environment, its processes, its start log, the cancellations it
//! received), not only what the program got back.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::util::{
    Host, HostOptions, expect_error, expect_result, process_exists, test_server_binary,
    wait_for_exit,
};

const MIB: u64 = 1024 * 1024;

fn test_server(args: &[&str]) -> Value {
    json!({ "command": test_server_binary(), "args": args })
}

fn host_with(servers: Value, runtime: Value) -> HostOptions {
    HostOptions {
        servers,
        runtime,
        ..Default::default()
    }
}

/// The PIDs the server appended to its `--start-log`: one per start.
fn starts(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |text| text.lines().count())
}

fn read_pid(path: &Path) -> Result<u32> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("read {}", path.display()))?
        .trim()
        .parse()?)
}

/// A value of the host's `/proc/PID/status`, in bytes (`VmHWM`, `VmRSS`).
fn host_memory(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .context("field in /proc status")?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .context("a number")?
        .parse()?;
    Ok(kib * 1024)
}

/// Calls `tool` of server `test` in a run and returns the result or the error kind.
async fn call(host: &Host, tool: &str, arguments: Value) -> Result<Value> {
    let code = format!(
        "try {{ return {{ok: await mcp.call('test', {tool:?}, {arguments})}}; }} catch (e) {{ return {{kind: e.kind, message: e.message}}; }}"
    );
    Ok(expect_result(&host.execute(&code).await?).clone())
}

#[tokio::test]
async fn a_child_sees_the_baseline_environment_and_its_own_env_only() -> Result<()> {
    let mut plain = test_server(&[]);
    plain["env"] = json!({ "CONFIGURED": "yes" });
    let mut inheriting = test_server(&[]);
    inheriting["inheritEnv"] = json!(true);
    let servers = json!({ "plain": plain, "inheriting": inheriting });
    let mut options = host_with(servers, Value::Null);
    options.env = vec![
        ("SECRET_TOKEN".into(), "s3cret".into()),
        ("USER".into(), "tester".into()),
    ];
    let host = Host::start_with(options).await?;
    let response = host.execute("return [await mcp.call('plain', 'get_env', {}), await mcp.call('inheriting', 'get_env', {})];").await?;
    let result = expect_result(&response);
    let (plain, inheriting) = (&result[0], &result[1]);
    assert_eq!(
        plain["SECRET_TOKEN"],
        Value::Null,
        "a secret of the host leaked: {plain}"
    );
    assert_eq!(plain["CONFIGURED"], json!("yes"), "{plain}");
    assert_eq!(plain["USER"], json!("tester"), "{plain}");
    assert!(
        plain["PATH"].is_string() && plain["HOME"].is_string(),
        "{plain}"
    );
    assert_eq!(
        plain["RUST_LOG"],
        Value::Null,
        "only the documented variables pass: {plain}"
    );
    assert_eq!(
        inheriting["SECRET_TOKEN"],
        json!("s3cret"),
        "inheritEnv passes everything: {inheriting}"
    );
    Ok(())
}

#[tokio::test]
async fn grandchildren_die_with_their_server_on_restart_and_on_shutdown() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let grandchild_file = dir.path().join("grandchild.pid");
    let servers =
        json!({ "test": test_server(&["--spawn-grandchild", grandchild_file.to_str().unwrap()]) });
    let host = Host::start_with(host_with(servers, Value::Null)).await?;
    assert_eq!(
        call(&host, "echo", json!({"message": "a"})).await?,
        json!({"ok": {"message": "a"}})
    );
    let first = read_pid(&grandchild_file)?;
    assert!(process_exists(first), "the grandchild runs");
    assert_eq!(
        call(&host, "crash", json!({})).await?["kind"],
        json!("transport_error")
    );
    assert!(
        wait_for_exit(first, Duration::from_secs(20)).await,
        "grandchild {first} outlived its crashed server"
    );

    assert_eq!(
        call(&host, "echo", json!({"message": "b"})).await?,
        json!({"ok": {"message": "b"}})
    );
    let second = read_pid(&grandchild_file)?;
    assert_ne!(
        first, second,
        "the restarted server started a new grandchild"
    );
    assert!(process_exists(second));
    let pid = host.pid;
    host.client.cancel().await?;
    assert!(
        wait_for_exit(pid, Duration::from_secs(20)).await,
        "the host exits when its client goes away"
    );
    assert!(
        wait_for_exit(second, Duration::from_secs(20)).await,
        "grandchild {second} outlived the host"
    );
    Ok(())
}

#[tokio::test]
async fn huge_and_non_utf8_stderr_neither_grow_the_host_nor_break_the_server() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("starts.log");
    let servers = json!({ "test": test_server(&["--start-log", log.to_str().unwrap()]) });
    let host = Host::start_with(host_with(servers, Value::Null)).await?;
    assert_eq!(
        call(&host, "echo", json!({"message": "warm"})).await?,
        json!({"ok": {"message": "warm"}})
    );
    let peak_before = host_memory(host.pid, "VmHWM:")?;
    let flood = call(
        &host,
        "stderr_flood",
        json!({"lineBytes": 256 * MIB, "lines": 20_000}),
    )
    .await?;
    assert_eq!(
        flood,
        json!({"ok": {"written": true}}),
        "the server kept writing stderr after a non-UTF-8 line"
    );
    for round in ["a", "b", "c"] {
        assert_eq!(
            call(&host, "echo", json!({"message": round})).await?,
            json!({"ok": {"message": round}})
        );
    }
    assert_eq!(starts(&log), 1, "the same server process kept answering");
    let growth = host_memory(host.pid, "VmHWM:")?.saturating_sub(peak_before);
    assert!(
        growth < 64 * MIB,
        "a 256 MiB stderr line grew the host's peak memory by {} MiB",
        growth / MIB
    );
    Ok(())
}

#[tokio::test]
async fn an_endless_stdout_line_fails_the_connection_and_the_server_restarts() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("starts.log");
    let servers = json!({ "test": test_server(&["--start-log", log.to_str().unwrap()]) });
    let host = Host::start_with(host_with(
        servers,
        json!({"limits": {"toolCallTimeoutMs": 30000}}),
    ))
    .await?;
    let peak_before = host_memory(host.pid, "VmHWM:")?;
    let giant = call(&host, "giant_line", json!({"bytes": 1024 * MIB})).await?;
    assert_eq!(giant["kind"], json!("transport_error"), "{giant}");
    let growth = host_memory(host.pid, "VmHWM:")?.saturating_sub(peak_before);
    assert!(
        growth < 512 * MIB,
        "a 1 GiB line grew the host's peak memory by {} MiB",
        growth / MIB
    );
    assert_eq!(
        call(&host, "echo", json!({"message": "after"})).await?,
        json!({"ok": {"message": "after"}})
    );
    assert_eq!(starts(&log), 2, "the server was restarted on the next use");
    Ok(())
}

#[tokio::test]
async fn a_server_that_crashes_on_every_call_is_backed_off() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("starts.log");
    let servers = json!({ "test": test_server(&["--start-log", log.to_str().unwrap()]) });
    let host = Host::start_with(host_with(servers, Value::Null)).await?;
    let code = r#"
const kinds = [];
for (let i = 0; i < 50; i++) {
  try { await mcp.call('test', 'crash', {}); kinds.push('answered'); } catch (e) { kinds.push(e.kind); }
}
return kinds;
"#;
    let response = host
        .execute_with(json!({"code": code, "timeout": 120000}))
        .await?;
    let kinds = expect_result(&response)
        .as_array()
        .context("kinds")?
        .clone();
    assert_eq!(kinds.len(), 50);
    assert!(
        kinds.iter().all(|kind| kind == "transport_error"),
        "{kinds:?}"
    );
    let started = starts(&log);
    assert!(
        started <= 10,
        "50 crashing calls started the server {started} times"
    );
    let listing = host.execute("return await listMCPServers();").await?;
    let state = expect_result(&listing)[0]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        state.starts_with("failed:") && state.contains("in a row"),
        "{state}"
    );
    Ok(())
}

#[tokio::test]
async fn a_crashed_server_is_listed_as_failed() -> Result<()> {
    let host =
        Host::start_with(host_with(json!({ "test": test_server(&[]) }), Value::Null)).await?;
    assert_eq!(
        call(&host, "crash", json!({})).await?["kind"],
        json!("transport_error")
    );
    let in_run = host.execute("return await listMCPServers();").await?;
    let state = expect_result(&in_run)[0]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        state.starts_with("failed:"),
        "mcp.servers() after a crash: {state}"
    );
    let listing = host.call("list_mcp_servers", json!({})).await?;
    let structured = listing.structured_content.context("structured listing")?;
    let state = structured["servers"][0]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        state.starts_with("failed:"),
        "list_mcp_servers after a crash: {state}"
    );
    assert_eq!(
        call(&host, "echo", json!({"message": "x"})).await?,
        json!({"ok": {"message": "x"}}),
        "the next use restarts it"
    );
    Ok(())
}

/// Calls `added_later` until it answers, up to a generous deadline.
async fn added_later_appears(host: &Host) -> Result<bool> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if call(host, "added_later", json!({})).await?["ok"] == json!("added later") {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(false)
}

#[tokio::test]
async fn a_failed_refresh_of_a_stale_tool_list_is_retried() -> Result<()> {
    let host =
        Host::start_with(host_with(json!({ "test": test_server(&[]) }), Value::Null)).await?;
    assert!(call(&host, "echo", json!({"message": "cache the list"})).await?["ok"].is_object());
    assert!(call(&host, "notify_change", json!({"failNextList": true})).await?["ok"].is_string());
    assert!(
        added_later_appears(&host).await?,
        "after one failed tools/list the list was never fetched again"
    );
    Ok(())
}

#[tokio::test]
async fn a_restarted_server_has_its_tools_listed_again() -> Result<()> {
    let host =
        Host::start_with(host_with(json!({ "test": test_server(&[]) }), Value::Null)).await?;
    assert!(call(&host, "notify_change", json!({})).await?["ok"].is_string());
    assert!(added_later_appears(&host).await?);
    assert_eq!(
        call(&host, "crash", json!({})).await?["kind"],
        json!("transport_error")
    );
    assert!(call(&host, "echo", json!({"message": "restart"})).await?["ok"].is_object());
    let listed = host
        .execute("return (await mcp.tools('test')).map((t) => t.name);")
        .await?;
    let names = expect_result(&listed).as_array().context("names")?.clone();
    assert!(names.contains(&json!("echo")), "{names:?}");
    assert!(
        !names.contains(&json!("added_later")),
        "the new process does not have added_later: {names:?}"
    );
    Ok(())
}

/// The `notifications/cancelled` the server has received, once there are `at_least`.
async fn cancellations(host: &Host, at_least: u64) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = call(host, "cancellations", json!({})).await?["ok"].clone();
        if seen["count"].as_u64().unwrap_or(0) >= at_least || Instant::now() > deadline {
            return Ok(seen);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_timed_out_call_is_cancelled_downstream() -> Result<()> {
    let host = Host::start_with(host_with(
        json!({ "test": test_server(&[]) }),
        json!({"limits": {"toolCallTimeoutMs": 300}}),
    ))
    .await?;
    assert_eq!(cancellations(&host, 0).await?["count"], json!(0));
    assert_eq!(
        call(&host, "hang", json!({})).await?["kind"],
        json!("timeout")
    );
    let seen = cancellations(&host, 1).await?;
    assert_eq!(
        seen["count"],
        json!(1),
        "the server was told the timed-out call is cancelled: {seen}"
    );
    Ok(())
}

#[tokio::test]
async fn a_call_its_run_abandoned_is_cancelled_downstream() -> Result<()> {
    let host =
        Host::start_with(host_with(json!({ "test": test_server(&[]) }), Value::Null)).await?;
    assert_eq!(cancellations(&host, 0).await?["count"], json!(0));
    let started = host.execute("mcp.call('test', 'hang', {}); await mcp.call('test', 'slow', {ms: 200}); return 'left it pending';").await?;
    assert_eq!(expect_result(&started), &json!("left it pending"));
    let seen = cancellations(&host, 1).await?;
    assert_eq!(
        seen["count"],
        json!(1),
        "the server was told the abandoned call is cancelled: {seen}"
    );
    let timed_out = host
        .execute_with(json!({"code": "await mcp.call('test', 'hang', {});", "timeout": 300}))
        .await?;
    expect_error(&timed_out, "timeout");
    let seen = cancellations(&host, 2).await?;
    assert_eq!(
        seen["count"],
        json!(2),
        "a run that hit its deadline cancels its pending call: {seen}"
    );
    Ok(())
}

#[tokio::test]
async fn a_client_cancelling_a_run_cancels_its_pending_calls_downstream() -> Result<()> {
    let host = Host::start_with(host_with(json!({ "test": test_server(&[]) }), Value::Null)).await?;
    assert_eq!(cancellations(&host, 0).await?["count"], json!(0));
    let handle = host.start_cancellable_run(json!({"code": "await mcp.call('test', 'hang', {});", "timeout": 120000})).await?;
    // Once the call is pending downstream (the server counts it as started).
    tokio::time::sleep(Duration::from_millis(500)).await;
    handle.cancel(Some("the user pressed stop".into())).await?;
    let seen = cancellations(&host, 1).await?;
    assert_eq!(seen["count"], json!(1), "the server was told the call of the cancelled run is cancelled: {seen}");
    Ok(())
}
