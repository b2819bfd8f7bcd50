//! Analytics and audit: what `runtime_stats`, `stats` and `audit` report
//! after scripted runs matches what was run, call by call (checked against
//! the fault server's own `counter`); retention bounds hold; a host killed
//! with SIGKILL while it records leaves a database the next host opens; a
//! corrupt database stops the host with a clear error and is left as it
//! is; the dashboard renders in headless Chromium with the runs' numbers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use xxhash_rust::xxh3::xxh3_64;

use crate::util::{Host, HostOptions, expect_error, expect_result, host_binary, shared_cache_dir, test_server_binary, wait_for_exit};

/// A host with the fault server as `test`, recording into `data_dir`.
async fn recording_host(data_dir: &Path, runtime: Value) -> Result<Host> {
    Host::start_with(HostOptions {
        servers: json!({"test": {"command": test_server_binary()}}),
        runtime,
        args: vec!["--data-dir".into(), data_dir.display().to_string()],
        ..HostOptions::default()
    })
    .await
}

/// `runtime_stats` of `window` (all when `None`), as JSON.
async fn runtime_stats(host: &Host, window: Option<&str>) -> Result<Value> {
    let arguments = window.map_or_else(|| json!({}), |window| json!({"window": window}));
    let result = host.call("runtime_stats", arguments).await?;
    assert_eq!(result.is_error, Some(false), "runtime_stats failed: {result:?}");
    result.structured_content.context("runtime_stats returns structured content")
}

/// Runs the CLI with `args` (after the command) against `data_dir`.
fn cli(command: &str, data_dir: &Path, args: &[&str]) -> Result<Output> {
    Ok(Command::new(host_binary())
        .arg(command)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--cache-dir")
        .arg(shared_cache_dir())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()?)
}

fn cli_json(command: &str, data_dir: &Path, args: &[&str]) -> Result<Output> {
    let output = cli(command, data_dir, args)?;
    if !output.status.success() {
        bail!("`{command}` failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(output)
}

/// The audit log, oldest first, as `audit --json` prints it.
fn audit(data_dir: &Path) -> Result<Vec<Value>> {
    let output = cli_json("audit", data_dir, &["--json", "--limit", "1000"])?;
    String::from_utf8(output.stdout)?.lines().map(|line| Ok(serde_json::from_str(line)?)).collect()
}

/// `(server.tool, outcome)` of each audited call.
fn calls(entries: &[Value]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|entry| (format!("{}.{}", entry["server"].as_str().unwrap(), entry["tool"].as_str().unwrap()), entry["outcome"].as_str().unwrap().to_owned()))
        .collect()
}

const ECHO_TWICE: &str = "const first = await mcp.call(\"test\", \"echo\", { message: input.word });\n\
                          const second = await mcp.call(\"test\", \"echo\", { message: input.word });\n\
                          return { words: [first.message, second.message] };";

#[tokio::test]
async fn stats_and_the_audit_log_match_a_scripted_series_of_runs() -> Result<()> {
    let data = tempfile::tempdir()?;
    let host = recording_host(data.path(), Value::Null).await?;
    let saved = host
        .call(
            "save_skill",
            json!({"name": "echo-twice", "code": ECHO_TWICE, "description": "Echoes a word twice.",
                   "inputSchema": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}, "servers": ["test"]}),
        )
        .await?;
    assert_eq!(saved.is_error, Some(false), "{saved:?}");

    // 1-2: successes, one calling a tool by its camelCase alias, one with
    // three counter calls; 3-5: failures of known kinds.
    expect_result(&host.execute("await mcp.call(\"test\", \"notifyChange\", {});\nreturn 1;").await?);
    let counted = host.execute("for (let i = 0; i < 2; i++) await mcp.call(\"test\", \"counter\", {});\nreturn (await mcp.call(\"test\", \"counter\", {})).count;").await?;
    assert_eq!(expect_result(&counted), &json!(3), "the server saw three calls");
    expect_error(&host.execute("throw new Error(\"boom\");").await?, "runtime_error");
    expect_error(&host.execute("await mcp.call(\"test\", \"fail\", {});").await?, "tool_error");
    expect_error(&host.execute("return (;").await?, "syntax_error");
    // 6: a caught failure and a refused server in a run that succeeds.
    let caught = "try { await mcp.call(\"test\", \"fail\", { message: \"m\" }); } catch {}\n\
                  try { await mcp.call(\"nowhere\", \"x\", {}); } catch {}\nreturn 2;";
    expect_result(&host.execute(caught).await?);
    // 7: the skill as a tool; 8: imported by a program, on a session.
    let skill = host.call("skill_echo-twice", json!({"word": "hi"})).await?;
    assert_eq!(skill.is_error, Some(false), "{skill:?}");
    let importing = "const { echoTwice } = await import(\"skills/echo-twice\");\nreturn await echoTwice({ word: \"yo\" });";
    let imported = host.execute_with(json!({"code": importing, "sessionId": "analytics-session"})).await?;
    assert_eq!(expect_result(&imported), &json!({"words": ["yo", "yo"]}));

    let stats = runtime_stats(&host, None).await?;
    assert_eq!(stats["runs"], json!(8), "{stats:#}");
    assert_eq!(stats["ok"], json!(5), "{stats:#}");
    assert_eq!(stats["successRate"], json!(5.0 / 8.0), "{stats:#}");
    assert_eq!(stats["errors"], json!({"runtime_error": 1, "syntax_error": 1, "tool_error": 1}), "{stats:#}");
    // Admitted calls: 1 notify_change, 3 counter, 1 + 1 fail, 2 + 2 echo (the refused server is not admitted).
    assert_eq!(stats["toolCalls"], json!(10), "{stats:#}");
    assert_eq!(stats["sessions"], json!(1), "{stats:#}");
    assert_eq!(stats["topSkills"], json!([{"skill": "echo-twice", "calls": 2}]), "{stats:#}");
    let tools: Vec<(String, u64, u64)> = stats["topTools"]
        .as_array()
        .context("topTools")?
        .iter()
        .map(|tool| (format!("{}.{}", tool["server"].as_str().unwrap(), tool["tool"].as_str().unwrap()), tool["calls"].as_u64().unwrap(), tool["failed"].as_u64().unwrap()))
        .collect();
    let expected = [("test.echo", 4, 0), ("test.counter", 3, 0), ("test.fail", 2, 2), ("nowhere.x", 1, 1), ("test.notify_change", 1, 0)];
    assert_eq!(tools, expected.map(|(tool, calls, failed)| (tool.to_owned(), calls, failed)), "tools by their names, not the aliases programs used");
    assert_eq!(stats["window"], json!("all"));
    assert_eq!(stats["unrecorded"], json!(0));
    let tokens = &stats["tokens"];
    assert!(tokens["consumed"].as_u64().unwrap() > 0 && tokens["returned"].as_u64().unwrap() > 0, "{tokens}");
    assert!(stats["p50Ms"].as_f64().unwrap() > 0.0 && stats["p95Ms"].as_f64() >= stats["p50Ms"].as_f64(), "{stats:#}");
    let recent = runtime_stats(&host, Some("1h")).await?;
    assert_eq!((recent["runs"].clone(), recent["window"].clone()), (json!(8), json!("1h")));
    let wrong = host.call("runtime_stats", json!({"window": "soon"})).await?;
    assert_eq!(wrong.is_error, Some(true), "a bad window is refused: {wrong:?}");

    // The audit log: one row per downstream call, in order, with the
    // arguments' digest and never the arguments.
    host.client.cancel().await?;
    let entries = audit(data.path())?;
    let expected: Vec<(String, String)> = [
        ("test.notify_change", "ok"),
        ("test.counter", "ok"),
        ("test.counter", "ok"),
        ("test.counter", "ok"),
        ("test.fail", "tool_error"),
        ("test.fail", "tool_error"),
        ("nowhere.x", "not_found"),
        ("test.echo", "ok"),
        ("test.echo", "ok"),
        ("test.echo", "ok"),
        ("test.echo", "ok"),
    ]
    .iter()
    .map(|(tool, outcome)| ((*tool).to_owned(), (*outcome).to_owned()))
    .collect();
    assert_eq!(calls(&entries), expected);
    assert_eq!(entries[7]["argumentsDigest"], json!(format!("{:016x}", xxh3_64(br#"{"message":"hi"}"#))), "{:#}", entries[7]);
    assert_eq!(entries[9]["argumentsDigest"], json!(format!("{:016x}", xxh3_64(br#"{"message":"yo"}"#))));
    let audit_text = serde_json::to_string(&entries)?;
    assert!(!audit_text.contains("\"hi\"") && !audit_text.contains("yo\""), "no arguments in the audit log: {audit_text}");
    assert!(entries[1]["bytesIn"].as_u64().unwrap() > 0, "{:#}", entries[1]);
    // The same totals from the command line, in a process of its own.
    let printed: Value = serde_json::from_slice(&cli_json("stats", data.path(), &["--json"])?.stdout)?;
    for key in ["runs", "ok", "errors", "toolCalls", "sessions", "topSkills", "topTools", "tokens", "p50Ms", "p95Ms"] {
        assert_eq!(printed[key], stats[key], "{key}");
    }
    let table = String::from_utf8(cli_json("stats", data.path(), &[])?.stdout)?;
    assert!(table.contains("runs              8 (5 ok, 62.5% success)") && table.contains("test.echo"), "{table}");
    Ok(())
}

#[tokio::test]
async fn retention_keeps_the_newest_runs_and_calls() -> Result<()> {
    let data = tempfile::tempdir()?;
    let host = recording_host(data.path(), json!({"analytics": {"maxRuns": 3, "maxCalls": 4}})).await?;
    for run in 0..5 {
        let code = format!("await mcp.call(\"test\", \"echo\", {{ message: \"{run}a\" }});\nawait mcp.call(\"test\", \"echo\", {{ message: \"{run}b\" }});\nreturn {run};");
        expect_result(&host.execute(&code).await?);
    }
    let stats = runtime_stats(&host, None).await?;
    assert_eq!((stats["runs"].clone(), stats["toolCalls"].clone()), (json!(3), json!(6)), "{stats:#}");
    host.client.cancel().await?;
    let digests: Vec<Value> = audit(data.path())?.iter().map(|entry| entry["argumentsDigest"].clone()).collect();
    let newest: Vec<Value> = ["3a", "3b", "4a", "4b"].iter().map(|word| json!(format!("{:016x}", xxh3_64(format!("{{\"message\":\"{word}\"}}").as_bytes())))).collect();
    assert_eq!(digests, newest, "the newest four calls are kept");
    Ok(())
}

#[tokio::test]
async fn a_host_killed_while_recording_leaves_a_usable_database() -> Result<()> {
    let data = tempfile::tempdir()?;
    let host = Arc::new(recording_host(data.path(), Value::Null).await?);
    let stop = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicU64::new(0));
    let mut loops = Vec::new();
    for _ in 0..4 {
        let (host, stop, finished) = (Arc::clone(&host), Arc::clone(&stop), Arc::clone(&finished));
        loops.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if host.execute("await mcp.call(\"test\", \"echo\", { message: \"x\".repeat(2000) });\nreturn 1;").await.is_err() {
                    return;
                }
                finished.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Kill it once runs have been recorded (read by another process).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let output = cli("stats", data.path(), &["--json"])?;
        let recorded = serde_json::from_slice::<Value>(&output.stdout).ok().and_then(|stats| stats["runs"].as_u64()).unwrap_or(0);
        if recorded >= 20 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "runs were not recorded in time: {}", String::from_utf8_lossy(&output.stderr));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = host.pid;
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    assert!(wait_for_exit(pid, Duration::from_secs(30)).await, "the host did not die");
    stop.store(true, Ordering::Relaxed);
    for running in loops {
        running.await?;
    }
    let ran = finished.load(Ordering::Relaxed);

    let restarted = recording_host(data.path(), Value::Null).await?;
    let stats = runtime_stats(&restarted, None).await?;
    let recorded = stats["runs"].as_u64().context("runs")?;
    assert!((20..=ran + 4).contains(&recorded), "{recorded} runs recorded of {ran} finished (and up to 4 under way)");
    assert_eq!(stats["ok"].as_u64(), Some(recorded), "every recorded run is whole: {stats:#}");
    expect_result(&restarted.execute("return 1;").await?);
    let after = runtime_stats(&restarted, None).await?;
    assert_eq!(after["runs"].as_u64(), Some(recorded + 1), "the restarted host records on");
    Ok(())
}

#[tokio::test]
async fn a_corrupt_database_stops_the_host_with_a_clear_error_and_is_kept() -> Result<()> {
    let data = tempfile::tempdir()?;
    let database = data.path().join("runtime.db");
    let garbage: Vec<u8> = (0..16_384u32).map(|index| (index * 31 % 251) as u8).collect();
    std::fs::write(&database, &garbage)?;
    let config = data.path().join("mcp.json");
    std::fs::write(&config, r#"{"mcpServers": {}}"#)?;
    let serve = Command::new(host_binary())
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(data.path())
        .arg("--cache-dir")
        .arg(shared_cache_dir())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .output()?;
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert!(!serve.status.success(), "the host must not serve: {stderr}");
    assert!(serve.stdout.is_empty(), "nothing was served: {:?}", String::from_utf8_lossy(&serve.stdout));
    for words in [database.display().to_string().as_str(), "corrupt", "move it aside", "codeRuntime.analytics.enabled"] {
        assert!(stderr.contains(words), "the error names {words:?}: {stderr}");
    }
    assert_eq!(std::fs::read(&database)?, garbage, "the file is left as it is");
    let stats = cli("stats", data.path(), &[])?;
    assert!(!stats.status.success() && String::from_utf8_lossy(&stats.stderr).contains("corrupt"), "{stats:?}");
    let doctor = cli("doctor", data.path(), &["--json"])?;
    let checks: Value = serde_json::from_slice(&doctor.stdout)?;
    let check = checks["checks"].as_array().into_iter().flatten().find(|check| check["check"] == json!("analytics")).context("an analytics check")?;
    assert_eq!(check["verdict"], json!("fail"), "{check}");
    assert!(check["detail"].as_str().unwrap_or("").contains("corrupt") && !doctor.status.success(), "{check}");
    // Turned off, the host serves without it.
    std::fs::write(&config, r#"{"mcpServers": {}, "codeRuntime": {"analytics": {"enabled": false}}}"#)?;
    let host = Host::start_with(HostOptions {
        runtime: json!({"analytics": {"enabled": false}}),
        args: vec!["--data-dir".into(), data.path().display().to_string()],
        ..HostOptions::default()
    })
    .await?;
    expect_result(&host.execute("return 1;").await?);
    let off = host.call("runtime_stats", json!({})).await?;
    assert_eq!(off.is_error, Some(true), "{off:?}");
    assert_eq!(std::fs::read(&database)?, garbage, "still left as it is");
    Ok(())
}

#[tokio::test]
async fn a_database_damaged_deep_inside_is_found_after_start_and_left_alone() -> Result<()> {
    use mcp_code_runtime::store::{self, AnalyticsStore, CallRow, Retention, RunRow};
    let data = tempfile::tempdir()?;
    let mut filling = store::open(data.path())?;
    let call = CallRow { at_ms: 1, server: "s".into(), tool: "t".into(), arguments_digest: 1, outcome: "ok".into(), duration_ms: 1.0, bytes_out: 1, bytes_in: 1 };
    let run = RunRow {
        started_at_ms: 1,
        skill: None,
        session: None,
        duration_ms: 1.0,
        error_kind: None,
        fuel: 1,
        memory_peak_bytes: 1,
        tool_calls: 1,
        tokens_consumed: 1,
        tokens_returned: 1,
        skills: Vec::new(),
        calls: vec![call],
    };
    let keep = Retention { oldest_ms: 0, max_runs: 1 << 40, max_calls: 1 << 40 };
    filling.save_runs(&vec![run; 2000], &keep)?;
    drop(filling);
    let database = data.path().join(store::DATABASE_FILE);
    let mut bytes = std::fs::read(&database)?;
    // Page 10's b-tree header (4096-byte pages): far from the file header and schema.
    bytes[9 * 4096..9 * 4096 + 64].fill(0xA5);
    std::fs::write(&database, &bytes)?;

    let host = recording_host(data.path(), Value::Null).await?;
    expect_result(&host.execute("return 1;").await?);
    let stats = host.call("runtime_stats", json!({})).await?;
    assert_eq!(stats.is_error, Some(true), "{stats:?}");
    let message = format!("{:?}", stats.content);
    assert!(message.contains("corrupt") && message.contains("not recorded"), "{message}");
    host.client.cancel().await?;
    assert_eq!(std::fs::read(&database)?, bytes, "the damaged file is not written to");
    Ok(())
}

/// Debian's Chromium, which `scripts/setup.sh` installs.
fn chromium() -> PathBuf {
    let path = PathBuf::from("/usr/bin/chromium");
    assert!(path.exists(), "{} is missing: run `make setup` (scripts/setup.sh installs chromium)", path.display());
    path
}

/// Chromium, headless and offline, on `page`, with `args`.
fn headless(page: &Path, profile: &Path, args: &[&str]) -> Result<Output> {
    let output = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .output()?;
    anyhow::ensure!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    Ok(output)
}

/// The value of `attribute` on the first element of `dom` whose opening
/// tag contains `marker`.
fn attribute(dom: &str, marker: &str, attribute: &str) -> Option<String> {
    let at = dom.find(marker)?;
    let tag_start = dom[..=at].rfind('<')?;
    let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>')?];
    let value_start = tag.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    Some(tag[value_start..value_start + tag[value_start..].find('"')?].to_owned())
}

#[tokio::test]
async fn the_dashboard_renders_the_runs_in_chromium() -> Result<()> {
    let data = tempfile::tempdir()?;
    let host = recording_host(data.path(), Value::Null).await?;
    for _ in 0..3 {
        expect_result(&host.execute("await mcp.call(\"test\", \"echo\", { message: \"a\".repeat(4000) });\nreturn 1;").await?);
    }
    expect_result(&host.execute("await mcp.call(\"test\", \"slow\", { ms: 30 });\nreturn 2;").await?);
    expect_error(&host.execute("throw new Error(\"x\");").await?, "runtime_error");
    expect_error(&host.execute("await mcp.call(\"test\", \"fail\", {});").await?, "tool_error");
    host.client.cancel().await?;
    let page = data.path().join("dashboard.html");
    let written = cli("stats", data.path(), &["--html", page.to_str().context("a UTF-8 path")?])?;
    assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
    let html = std::fs::read_to_string(&page)?;
    // Kept for a person to look at, with the screenshot below.
    let _ = std::fs::copy(&page, crate::util::target_dir().join("analytics-dashboard.html"));
    for remote in ["http://", "https://", "src=", "@import", "url("] {
        let outside = html.replace("http://www.w3.org/2000/svg", "");
        assert!(!outside.contains(remote), "the page fetches nothing ({remote})");
    }

    let profile = tempfile::tempdir()?;
    let dom = String::from_utf8(headless(&page, profile.path(), &["--dump-dom"])?.stdout)?;
    assert_eq!(attribute(&dom, "<body", "data-charts-rendered").as_deref(), Some("7"), "every chart was laid out");
    assert_eq!(attribute(&dom, "<body", "data-runs").as_deref(), Some("6"));
    let buckets = dom.matches("data-ok=").count();
    assert!(buckets >= 1, "runs over time has buckets: {buckets}");
    let ok: u64 = bucket_sum(&dom, "data-ok");
    let failed: u64 = bucket_sum(&dom, "data-failed");
    assert_eq!((ok, failed), (4, 2), "the runs chart holds every run");
    assert_eq!(attribute(&dom, "data-label=\"test.echo\"", "data-value").as_deref(), Some("3"));
    assert_eq!(attribute(&dom, "data-label=\"runtime_error\"", "data-value").as_deref(), Some("1"));
    assert_eq!(attribute(&dom, "data-label=\"tool_error\"", "data-value").as_deref(), Some("1"));
    let servers = dom.find("data-chart=\"servers\"").context("the servers chart")?;
    assert!(attribute(&dom[servers..], "data-label=\"test\"", "data-value").is_some(), "the test server's latency is charted");
    assert!(dom.contains("data-chart=\"durations\"") && dom.contains("data-series=\"p95\""));

    let screenshot = data.path().join("dashboard.png");
    let profile = tempfile::tempdir()?;
    headless(&page, profile.path(), &[&format!("--screenshot={}", screenshot.display()), "--window-size=1200,900", "--hide-scrollbars"])?;
    let png = std::fs::read(&screenshot)?;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000, "a screenshot of {} bytes", png.len());
    // Kept for a person to look at.
    let _ = std::fs::copy(&screenshot, crate::util::target_dir().join("analytics-dashboard.png"));
    Ok(())
}

/// The sum of `attribute` over the runs chart's columns.
fn bucket_sum(dom: &str, attribute: &str) -> u64 {
    let needle = format!("{attribute}=\"");
    dom.match_indices(&needle)
        .filter_map(|(at, _)| {
            let start = at + needle.len();
            dom[start..start + dom[start..].find('"')?].parse::<u64>().ok()
        })
        .sum()
}
