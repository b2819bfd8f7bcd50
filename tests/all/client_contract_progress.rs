//! Progress and streaming through the real binary: `notifications/progress`
//! for a request that carries a `progressToken` (tool calls counted as they
//! complete, then the program's own `progress()` reports), none without one,
//! the final state before the response; console lines as log messages
//! (`notifications/message`) once the client set a level, at or above it;
//! skills called as tools report too; floods of either are coalesced or
//! dropped with a count, never passed on one by one.
//!
//! rmcp's client puts a progress token on every request, so the test of a
//! request without one speaks JSON-RPC on the host's stdio itself.

#![allow(deprecated, reason = "MCP logging, deprecated by SEP-2577 in rmcp's model, is under test")]

use std::future::Future;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam, SetLevelRequestParams};
use rmcp::service::NotificationContext;
use rmcp::{ClientHandler, RoleClient};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::util::{Host, HostOptions, expect_result, host_binary, shared_cache_dir, test_server_binary};

/// How long a test waits for notifications it expects: generous, for a
/// loaded machine.
const PATIENCE: Duration = Duration::from_secs(30);

/// A client that records the progress and log notifications it receives,
/// in the order it receives them.
#[derive(Clone, Default)]
struct Recorder {
    progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    logs: Arc<Mutex<Vec<LoggingMessageNotificationParam>>>,
}

impl ClientHandler for Recorder {
    fn on_progress(&self, params: ProgressNotificationParam, _context: NotificationContext<RoleClient>) -> impl Future<Output = ()> + Send + '_ {
        self.progress.lock().unwrap().push(params);
        std::future::ready(())
    }

    fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) -> impl Future<Output = ()> + Send + '_ {
        self.logs.lock().unwrap().push(params);
        std::future::ready(())
    }
}

impl Recorder {
    /// Takes the progress notifications received so far.
    fn take_progress(&self) -> Vec<ProgressNotificationParam> {
        std::mem::take(&mut *self.progress.lock().unwrap())
    }

    /// Takes the log notifications received so far.
    fn take_logs(&self) -> Vec<(LoggingLevel, String, Value)> {
        std::mem::take(&mut *self.logs.lock().unwrap())
            .into_iter()
            .map(|log| (log.level, log.logger.unwrap_or_default(), log.data))
            .collect()
    }

    /// Waits (generously) until a progress notification satisfies `done`.
    async fn progress_until(&self, done: impl Fn(&ProgressNotificationParam) -> bool) -> Vec<ProgressNotificationParam> {
        let deadline = Instant::now() + PATIENCE;
        while !self.progress.lock().unwrap().iter().any(&done) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.take_progress()
    }

    /// Waits (generously) until a log notification's data satisfies `done`.
    async fn logs_until(&self, done: impl Fn(&Value) -> bool) -> Vec<(LoggingLevel, String, Value)> {
        let deadline = Instant::now() + PATIENCE;
        while !self.logs.lock().unwrap().iter().any(|log| done(&log.data)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.take_logs()
    }
}

fn test_servers() -> Value {
    json!({ "test": { "command": test_server_binary() } })
}

async fn recording_host(args: Vec<String>) -> Result<(Host<Recorder>, Recorder)> {
    let recorder = Recorder::default();
    let host = Host::start_with_client(HostOptions { servers: test_servers(), args, ..HostOptions::default() }, recorder.clone()).await?;
    Ok((host, recorder))
}

async fn set_level(host: &Host<Recorder>, level: LoggingLevel) -> Result<()> {
    host.client.set_level(SetLevelRequestParams::new(level)).await.context("logging/setLevel")
}

/// Checks that each value is above the one before, as MCP requires.
fn assert_increasing(progress: &[ProgressNotificationParam]) {
    for pair in progress.windows(2) {
        assert!(pair[1].progress > pair[0].progress, "progress went from {} to {}: {progress:?}", pair[0].progress, pair[1].progress);
    }
}

#[tokio::test]
async fn progress_counts_completed_tool_calls_then_follows_the_programs_reports() -> Result<()> {
    let (host, recorder) = recording_host(Vec::new()).await?;
    let code = r#"
        for (let i = 0; i < 3; i++) await mcp.call("test", "slow", { ms: 150 });
        for (let step = 4; step <= 6; step++) {
          progress(step, 6, `step ${step}`);
          await new Promise((resolve) => setTimeout(resolve, 150));
        }
        return "done";
    "#;
    assert_eq!(expect_result(&host.execute(code).await?), &json!("done"));
    let progress = recorder.progress_until(|last| last.progress == 6.0).await;
    assert_increasing(&progress);
    for notification in &progress {
        let value = notification.progress;
        if value <= 3.0 {
            let calls = if value == 1.0 { "call" } else { "calls" };
            assert_eq!(notification.message.as_deref(), Some(format!("{value} tool {calls} (test.slow)").as_str()), "{notification:?}");
            assert_eq!(notification.total, None, "{notification:?}");
        } else {
            assert_eq!(notification.message.as_deref(), Some(format!("step {value}").as_str()), "{notification:?}");
            assert_eq!(notification.total, Some(6.0), "{notification:?}");
        }
    }
    assert!(progress.iter().any(|notification| notification.progress <= 3.0), "no tool call was counted: {progress:?}");
    let last = progress.last().context("no progress notification arrived")?;
    assert_eq!((last.progress, last.total, last.message.as_deref()), (6.0, Some(6.0), Some("step 6")));
    Ok(())
}

#[tokio::test]
async fn a_flood_of_progress_reports_is_coalesced_and_ends_with_the_final_value() -> Result<()> {
    let (host, recorder) = recording_host(Vec::new()).await?;
    let code = r#"
        for (let i = 1; i <= 100000; i++) progress(i, 100000, "item " + i);
        return "done";
    "#;
    let started = Instant::now();
    assert_eq!(expect_result(&host.execute(code).await?), &json!("done"));
    let progress = recorder.progress_until(|last| last.progress == 100_000.0).await;
    let elapsed = started.elapsed();
    assert_increasing(&progress);
    assert!(progress.len() < 200, "{} progress notifications for one run", progress.len());
    // One at once, then at most one per 50 ms, and the final one.
    let bound = elapsed.as_millis() as usize / 50 + 2;
    assert!(progress.len() <= bound, "{} progress notifications in {elapsed:?}", progress.len());
    let last = progress.last().context("no progress notification arrived")?;
    assert_eq!((last.progress, last.total, last.message.as_deref()), (100_000.0, Some(100_000.0), Some("item 100000")));
    Ok(())
}

#[tokio::test]
async fn bad_progress_arguments_are_type_errors_or_ignored() -> Result<()> {
    let (host, recorder) = recording_host(Vec::new()).await?;
    let code = r#"
        const thrown = [];
        for (const args of [["3"], [1, "10"], [undefined]]) {
          try { progress(...args); } catch (error) { thrown.push(error instanceof TypeError); }
        }
        progress(NaN);
        progress(Infinity, 10);
        progress(2, Infinity, { not: "a string" });
        progress(3, null, "x".repeat(5000));
        return thrown;
    "#;
    assert_eq!(expect_result(&host.execute(code).await?), &json!([true, true, true]));
    let progress = recorder.progress_until(|last| last.progress == 3.0).await;
    let values: Vec<_> = progress.iter().map(|notification| (notification.progress, notification.total)).collect();
    assert_eq!(values.last(), Some(&(3.0, None)), "{values:?}");
    assert!(values.iter().all(|(value, _)| value.is_finite()), "{values:?}");
    if let Some(two) = progress.iter().find(|notification| notification.progress == 2.0) {
        assert_eq!((two.total, two.message.as_deref()), (None, Some(r#"{"not": "a string"}"#)));
    }
    let long = progress.last().and_then(|last| last.message.as_deref()).unwrap_or_default();
    assert!(long.len() <= 1024 && long.chars().all(|c| c == 'x'), "a message of {} bytes", long.len());
    Ok(())
}

#[tokio::test]
async fn console_lines_are_log_messages_once_a_level_is_set_and_at_or_above_it() -> Result<()> {
    let (host, recorder) = recording_host(Vec::new()).await?;
    let levels = |tag: &str| {
        format!(
            "console.debug('{tag} debug'); console.info('{tag} info'); console.log('{tag} log'); \
             console.warn('{tag} warn'); console.error('{tag} error'); return 1;"
        )
    };
    host.execute(&levels("before")).await?;
    set_level(&host, LoggingLevel::Warning).await?;
    host.execute(&levels("warning")).await?;
    let logs = recorder.logs_until(|data| data == "warning error").await;
    let logger = || "execute_code".to_owned();
    assert_eq!(
        logs,
        vec![(LoggingLevel::Warning, logger(), json!("warning warn")), (LoggingLevel::Error, logger(), json!("warning error"))]
    );
    set_level(&host, LoggingLevel::Debug).await?;
    host.execute(&levels("debug")).await?;
    let logs = recorder.logs_until(|data| data == "debug error").await;
    let levels: Vec<_> = logs.iter().map(|(level, _, data)| (*level, data.as_str().unwrap_or_default())).collect();
    assert_eq!(
        levels,
        vec![
            (LoggingLevel::Debug, "debug debug"),
            (LoggingLevel::Info, "debug info"),
            (LoggingLevel::Info, "debug log"),
            (LoggingLevel::Warning, "debug warn"),
            (LoggingLevel::Error, "debug error"),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn a_flood_of_console_lines_is_sent_in_part_and_the_rest_counted() -> Result<()> {
    let (host, recorder) = recording_host(Vec::new()).await?;
    set_level(&host, LoggingLevel::Info).await?;
    let started = Instant::now();
    let response = host.execute("for (let i = 0; i < 5000; i++) console.log('line ' + i); return 1;").await?;
    let elapsed = started.elapsed();
    expect_result(&response);
    let logs = recorder.logs_until(|data| data.as_str().is_some_and(|text| text.contains("were not sent"))).await;
    let (notice, lines) = logs.split_last().context("no log notification arrived")?;
    assert_eq!(notice.0, LoggingLevel::Warning);
    let notice = notice.2.as_str().unwrap_or_default();
    let dropped: usize = notice.split_whitespace().next().and_then(|count| count.parse().ok()).context(notice.to_owned())?;
    assert_eq!(lines.len() + dropped, 5000, "every line is sent or counted: {notice}");
    // At most 100 a second, after a queue of 100, while the run went on.
    let bound = 100 * (elapsed.as_secs() as usize + 2) + 100;
    assert!(lines.len() <= bound, "{} log notifications in {elapsed:?}", lines.len());
    let sent: Vec<usize> = lines.iter().filter_map(|(_, _, data)| data.as_str()?.strip_prefix("line ")?.parse().ok()).collect();
    assert_eq!(sent.len(), lines.len(), "every notification is a console line");
    assert!(sent.windows(2).all(|pair| pair[0] < pair[1]), "lines arrive in order");
    Ok(())
}

#[tokio::test]
async fn a_skill_called_as_a_tool_reports_its_progress_and_console() -> Result<()> {
    let data_dir = tempfile::tempdir()?;
    let (host, recorder) = recording_host(vec!["--data-dir".into(), data_dir.path().display().to_string()]).await?;
    let skill = json!({
        "name": "progress-demo",
        "code": "await mcp.call(\"test\", \"slow\", { ms: 100 });\nconsole.warn(\"skill says\", input.n);\nprogress(5, 10, \"half\");\nreturn { n: input.n };",
        "description": "Calls the test server once and reports.",
        "inputSchema": { "type": "object", "properties": { "n": { "type": "number" } }, "required": ["n"] },
        "servers": ["test"],
    });
    let saved = host.call("save_skill", skill).await?;
    assert_ne!(saved.is_error, Some(true), "{saved:?}");
    set_level(&host, LoggingLevel::Warning).await?;
    recorder.take_progress();
    let called = host.call("skill_progress-demo", json!({ "n": 2 })).await?;
    assert_ne!(called.is_error, Some(true), "{called:?}");
    let progress = recorder.progress_until(|last| last.progress == 5.0).await;
    assert_increasing(&progress);
    let last = progress.last().context("no progress notification arrived")?;
    assert_eq!((last.total, last.message.as_deref()), (Some(10.0), Some("half")));
    if let Some(first) = progress.first().filter(|first| first.progress == 1.0) {
        assert_eq!(first.message.as_deref(), Some("1 tool call (test.slow)"));
    }
    let logs = recorder.logs_until(|data| data == "skill says 2").await;
    assert_eq!(logs, vec![(LoggingLevel::Warning, "skill_progress-demo".to_owned(), json!("skill says 2"))]);
    Ok(())
}

/// A host spoken to in raw JSON-RPC lines, to send requests rmcp would not.
struct RawHost {
    _child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    _home: tempfile::TempDir,
}

impl RawHost {
    async fn start() -> Result<RawHost> {
        let home = tempfile::tempdir()?;
        let config = home.path().join("mcp.json");
        std::fs::write(&config, serde_json::to_vec(&json!({ "mcpServers": test_servers() }))?)?;
        let mut child = tokio::process::Command::new(host_binary())
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--cache-dir")
            .arg(shared_cache_dir())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let mut host = RawHost { _child: child, stdin, stdout, _home: home };
        let initialize = json!({ "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "raw", "version": "1" } });
        host.request(1, "initialize", initialize).await?;
        host.send(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })).await?;
        Ok(host)
    }

    async fn send(&mut self, message: Value) -> Result<()> {
        let mut line = serde_json::to_vec(&message)?;
        line.push(b'\n');
        self.stdin.write_all(&line).await?;
        Ok(self.stdin.flush().await?)
    }

    /// Sends request `id` and returns the messages up to and with its response.
    async fn request(&mut self, id: u64, method: &str, params: Value) -> Result<Vec<Value>> {
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })).await?;
        let mut messages = Vec::new();
        loop {
            let line = tokio::time::timeout(PATIENCE, self.stdout.next_line()).await?.context("reading the host")?.context("the host closed")?;
            let message: Value = serde_json::from_str(&line)?;
            let done = message["id"] == json!(id) && message.get("method").is_none();
            messages.push(message);
            if done {
                return Ok(messages);
            }
        }
    }
}

#[tokio::test]
async fn progress_is_sent_only_with_a_token_and_its_final_state_before_the_response() -> Result<()> {
    let mut host = RawHost::start().await?;
    let code = "await mcp.call('test', 'slow', { ms: 100 }); progress(1, 3); progress(2, 3); progress(3, 3, 'all done'); return 1;";
    let call = |meta: Option<Value>| {
        let mut params = json!({ "name": "execute_code", "arguments": { "code": code } });
        if let Some(meta) = meta {
            params["_meta"] = meta;
        }
        params
    };
    let progress_of = |messages: &[Value]| -> Vec<Value> {
        messages.iter().filter(|message| message["method"] == "notifications/progress").map(|message| message["params"].clone()).collect()
    };

    let untracked = host.request(2, "tools/call", call(None)).await?;
    assert_eq!(untracked.last().map(|response| &response["result"]["isError"]), Some(&json!(false)), "{untracked:?}");
    assert_eq!(progress_of(&untracked), Vec::<Value>::new());

    let tracked = host.request(3, "tools/call", call(Some(json!({ "progressToken": "run-3" })))).await?;
    assert_eq!(tracked.last().map(|response| &response["result"]["isError"]), Some(&json!(false)), "{tracked:?}");
    let progress = progress_of(&tracked);
    assert!(progress.iter().all(|params| params["progressToken"] == "run-3"), "{progress:?}");
    let values: Vec<f64> = progress.iter().filter_map(|params| params["progress"].as_f64()).collect();
    assert!(values.windows(2).all(|pair| pair[0] < pair[1]), "{values:?}");
    assert_eq!(
        progress.last(),
        Some(&json!({ "progressToken": "run-3", "progress": 3.0, "total": 3.0, "message": "all done" })),
        "the final state comes before the response: {progress:?}"
    );
    Ok(())
}

#[tokio::test]
async fn an_imported_skills_tool_calls_count_in_its_callers_progress_and_its_console_is_sent_once() -> Result<()> {
    let data_dir = tempfile::tempdir()?;
    let (host, recorder) = recording_host(vec!["--data-dir".into(), data_dir.path().display().to_string()]).await?;
    let skill = json!({
        "name": "two-calls",
        "code": "await mcp.call(\"test\", \"slow\", { ms: 100 });\nawait mcp.call(\"test\", \"slow\", { ms: 100 });\nconsole.warn(\"inside\");\nreturn 2;",
        "description": "Calls the test server twice.",
        "inputSchema": { "type": "object" },
        "servers": ["test"],
    });
    assert_ne!(host.call("save_skill", skill).await?.is_error, Some(true));
    set_level(&host, LoggingLevel::Warning).await?;
    recorder.take_progress();
    let code = "import { twoCalls } from \"skills/two-calls\";\nawait twoCalls({});\nawait mcp.call(\"test\", \"slow\", { ms: 100 });\nreturn \"done\";";
    assert_eq!(expect_result(&host.execute(code).await?), &json!("done"));
    let progress = recorder.progress_until(|last| last.progress == 3.0).await;
    assert_increasing(&progress);
    assert_eq!(progress.last().map(|last| last.progress), Some(3.0), "the skill's two calls and the program's one: {progress:?}");
    let logs = recorder.logs_until(|data| data.as_str().is_some_and(|text| text.contains("inside"))).await;
    let inside: Vec<_> = logs.iter().filter(|(_, _, data)| data.as_str().is_some_and(|text| text.contains("inside"))).collect();
    assert_eq!(inside.len(), 1, "the skill's console line is sent once, through its caller: {logs:?}");
    Ok(())
}
