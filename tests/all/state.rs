//! State that outlives a run, through the real binary: the programs' cache
//! (shared by runs, times to live, LRU bounds, refusals of what is too
//! large), the cache of tool calls (hits that never reach the test server,
//! as its `counter` proves, and invalidation by a write), and sessions (a
//! round trip across a restart, two concurrent runs on one session, a
//! failed run that saves nothing, bounds).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{Value, json};

use crate::util::{Host, HostOptions, expect_error, expect_result, test_server_binary, wait_for_exit};

/// A host with the test server as `test`, `runtime` as its `codeRuntime`,
/// keeping its data in `data_dir` when given.
async fn host(runtime: Value, data_dir: Option<&Path>) -> Result<Host> {
    let args = data_dir.map(|dir| vec!["--data-dir".to_owned(), dir.display().to_string()]).unwrap_or_default();
    Host::start_with(HostOptions { servers: json!({ "test": { "command": test_server_binary() } }), runtime, args, ..HostOptions::default() }).await
}

/// Runs `code` in session `session` and returns the response.
async fn in_session(host: &Host, session: &str, code: &str) -> Result<Value> {
    host.execute_with(json!({ "code": code, "sessionId": session })).await
}

/// Stops `host` and waits until its process is gone (it saved what it keeps).
async fn stop(host: Host) -> Result<()> {
    let pid = host.pid;
    host.client.cancel().await?;
    assert!(wait_for_exit(pid, Duration::from_secs(30)).await, "the host did not stop");
    Ok(())
}

// ---- the programs' cache ----------------------------------------------------

#[tokio::test]
async fn cached_values_are_shared_by_runs_until_their_time_is_up() -> Result<()> {
    let host = host(Value::Null, None).await?;
    let set = host.execute(r#"cache.set("short", {n: 1}, 300); cache.set("long", [1, "two"]); return cache.get("short");"#).await?;
    assert_eq!(expect_result(&set), &json!({"n": 1}));
    let read = host.execute(r#"return { short: await cache.get("short"), long: cache.get("long"), none: cache.get("none") };"#).await?;
    assert_eq!(expect_result(&read), &json!({"short": {"n": 1}, "long": [1, "two"], "none": null}), "another run reads them; `await` works too");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let later = host.execute(r#"return { short: cache.get("short"), long: cache.get("long"), stats: cache.stats() };"#).await?;
    let later = expect_result(&later);
    assert_eq!((&later["short"], &later["long"]), (&Value::Null, &json!([1, "two"])), "the 300 ms entry expired, the 60 s one did not");
    assert_eq!((&later["stats"]["entries"], &later["stats"]["expirations"]), (&json!(1), &json!(1)), "{later:#}");
    assert_eq!((&later["stats"]["hits"], &later["stats"]["misses"]), (&json!(4), &json!(2)), "{later:#}");
    Ok(())
}

#[tokio::test]
async fn the_cache_keeps_to_its_entries_and_bytes_dropping_the_least_recently_used() -> Result<()> {
    let host = host(json!({ "cache": { "maxEntries": 3, "maxBytes": 150, "maxValueBytes": 100 } }), None).await?;
    expect_result(&host.execute(r#"for (const key of ["a", "b", "c"]) cache.set(key, key.toUpperCase());"#).await?);
    let evicted = host.execute(
        r#"cache.get("a"); cache.set("d", "D");
           return { values: ["a", "b", "c", "d"].map((key) => cache.get(key)), evictions: cache.stats().evictions };"#,
    );
    assert_eq!(expect_result(&evicted.await?), &json!({"values": ["A", null, "C", "D"], "evictions": 1}), "b was the least recently used");
    let by_bytes = host.execute(
        r#"cache.invalidate();
           cache.set("x", "x".repeat(80)); cache.set("y", "y".repeat(80));
           const stats = cache.stats();
           return { x: cache.get("x"), y: cache.get("y")?.length, entries: stats.entries, bytes: stats.bytes };"#,
    );
    assert_eq!(expect_result(&by_bytes.await?), &json!({"x": null, "y": 80, "entries": 1, "bytes": 83}), "two entries of 83 bytes do not fit in 150");
    let invalidated = host.execute(
        r#"for (const key of ["user:1:name", "user:2:name", "user:1:mail"]) cache.set(key, 1);
           const dropped = cache.invalidate("user:*:name");
           return { dropped, left: ["user:1:name", "user:2:name", "user:1:mail"].map((key) => cache.get(key)) };"#,
    );
    assert_eq!(expect_result(&invalidated.await?), &json!({"dropped": 2, "left": [null, null, 1]}));
    Ok(())
}

#[tokio::test]
async fn oversized_keys_values_and_sessions_are_refused_with_clear_errors() -> Result<()> {
    let host = host(json!({ "cache": { "maxValueBytes": 200 }, "sessions": { "maxBytes": 100 } }), None).await?;
    let code = r#"
const errors = {};
const attempt = (name, call) => { try { call(); errors[name] = "ok"; } catch (e) { errors[name] = `${e.name}: ${e.message}`; } };
attempt("longKey", () => cache.set("k".repeat(1025), 1));
attempt("bigValue", () => cache.set("k", "x".repeat(300)));
attempt("badTtl", () => cache.set("k", 1, -5));
attempt("longPattern", () => cache.invalidate("*".repeat(2000)));
attempt("emptyKey", () => cache.get(""));
attempt("undefinedValue", () => cache.set("k", undefined));
attempt("bigSession", () => session.set({ x: "y".repeat(200) }));
attempt("arraySession", () => session.update([1]));
attempt("badId", () => sessions.get("no spaces"));
attempt("fits", () => session.set({ x: 1 }));
return { errors, entries: cache.stats().entries, session: session.get() };
"#;
    let response = in_session(&host, "limits", code).await?;
    let result = expect_result(&response);
    let error = |name: &str| result["errors"][name].as_str().unwrap_or_default().to_owned();
    assert_eq!(error("longKey"), "RangeError: cache.set: the key is 1025 bytes, more than the 1024 it may have");
    assert!(error("bigValue").starts_with("RangeError: cache.set: the entry is 303 bytes") && error("bigValue").contains("maxValueBytes"), "{result:#}");
    assert!(error("badTtl").starts_with("RangeError: cache.set: ttlMs must be a number of milliseconds from 1 to"), "{result:#}");
    assert_eq!(error("longPattern"), "RangeError: cache.invalidate: the pattern is 2000 bytes, more than the 1024 it may have");
    assert_eq!(error("emptyKey"), "TypeError: cache.get: a cache key must not be empty");
    assert!(error("undefinedValue").starts_with("TypeError: cache.set:"), "{result:#}");
    assert!(error("bigSession").starts_with("RangeError: session.set: the data is 208 bytes of JSON, more than the 100"), "{result:#}");
    assert_eq!(error("arraySession"), "TypeError: session.update: the update must be an object (a JSON object), not an array");
    assert!(error("badId").starts_with("TypeError: sessions.get: a session id must be 1 to 128 characters"), "{result:#}");
    assert_eq!((error("fits"), &result["entries"], &result["session"]), ("ok".to_owned(), &json!(0), &json!({"x": 1})), "nothing refused was kept");

    let uncaught = host.execute(r#"cache.set("k".repeat(2000), 1);"#).await?;
    let uncaught = expect_error(&uncaught, "runtime_error");
    assert!(uncaught["message"].as_str().unwrap_or_default().contains("cache.set: the key is 2000 bytes"), "{uncaught:#}");
    let sessionless = host.execute("return session.get();").await?;
    let sessionless = expect_error(&sessionless, "runtime_error");
    assert!(sessionless["message"].as_str().unwrap_or_default().contains("pass `sessionId` to execute_code"), "{sessionless:#}");
    let bad_id = host.execute_with(json!({ "code": "return 1;", "sessionId": "has spaces" })).await?;
    assert!(expect_error(&bad_id, "invalid_input")["message"].as_str().unwrap_or_default().contains("sessionId"), "{bad_id:#}");
    Ok(())
}

// ---- the cache of tool calls ------------------------------------------------

#[tokio::test]
async fn cacheable_tool_calls_are_answered_from_the_cache_until_a_write() -> Result<()> {
    let host = host(json!({ "servers": { "test": { "cacheTools": ["counter"] } } }), None).await?;
    let code = r#"
const first = await mcp.call("test", "counter", { a: 1, b: { c: 2, d: 3 } });
const same = await mcp.call("test", "counter", { b: { d: 3, c: 2 }, a: 1 });
const other = await mcp.call("test", "counter", { a: 2 });
return [first.count, same.count, other.count, cache.stats().entries];
"#;
    let response = host.execute_with(json!({ "code": code, "stats": "full" })).await?;
    assert_eq!(expect_result(&response), &json!([1, 1, 2, 0]), "the same arguments in another order hit; programs do not see tool results in their cache");
    assert_eq!(response["stats"]["cache"], json!({"hits": 1, "misses": 2}), "{response:#}");
    assert_eq!(response["stats"]["toolCalls"]["test"]["calls"], json!(3), "a hit is still a call of the run");

    let again = host.execute_with(json!({ "code": r#"return (await mcp.call("test", "counter", { a: 2 })).count;"#, "stats": "full" })).await?;
    assert_eq!((expect_result(&again), &again["stats"]["cache"]), (&json!(2), &json!({"hits": 1, "misses": 0})), "shared by runs: {again:#}");
    let written = host.execute(
        r#"await mcp.call("test", "echo", { message: "a write" });
           return (await mcp.call("test", "counter", { a: 2 })).count;"#,
    );
    assert_eq!(expect_result(&written.await?), &json!(3), "a call of another tool of the server invalidated its cached reads: the server was reached");
    let lean = host.execute(r#"return (await mcp.call("test", "counter", { a: 2 })).count;"#).await?;
    assert_eq!((expect_result(&lean), lean["stats"].get("cache")), (&json!(3), None), "lean stats leave the cache out");
    Ok(())
}

#[tokio::test]
async fn with_cache_read_only_tools_annotated_read_only_are_cached_for_the_servers_ttl() -> Result<()> {
    let host = host(json!({ "servers": { "test": { "cacheReadOnly": true, "cacheTtlMs": 300 } } }), None).await?;
    let count = r#"return (await mcp.call("test", "counter", {})).count;"#;
    assert_eq!(expect_result(&host.execute(count).await?), &json!(1));
    assert_eq!(expect_result(&host.execute(count).await?), &json!(1), "answered from the cache");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(expect_result(&host.execute(count).await?), &json!(2), "expired: the server was reached");
    Ok(())
}

// ---- sessions ---------------------------------------------------------------

#[tokio::test]
async fn sessions_and_the_persisted_cache_survive_a_restart() -> Result<()> {
    let data = tempfile::tempdir()?;
    let runtime = json!({ "cache": { "persist": true } });
    let first = host(runtime.clone(), Some(data.path())).await?;
    let started = in_session(
        &first,
        "task-1",
        r#"session.set({ step: 1, files: ["a.ts"] });
           session.update({ step: 2 });
           cache.set("kept", { across: "restarts" }, 600000);
           return { id: sessions.create("chrome", { pageIndex: 3 }), seen: session.get() };"#,
    )
    .await?;
    let started = expect_result(&started).clone();
    assert_eq!(started["seen"], json!({"step": 2, "files": ["a.ts"]}));
    stop(first).await?;

    let second = host(runtime, Some(data.path())).await?;
    let code = format!(
        r#"const created = sessions.get({id});
           session.update({{ step: 3 }});
           return {{ data: session.get(), chrome: created.data, type: created.type, kept: cache.get("kept") }};"#,
        id = started["id"]
    );
    let resumed = in_session(&second, "task-1", &code).await?;
    assert_eq!(
        expect_result(&resumed),
        &json!({"data": {"step": 3, "files": ["a.ts"]}, "chrome": {"pageIndex": 3}, "type": "chrome", "kept": {"across": "restarts"}})
    );
    let fresh = in_session(&second, "task-2", "return session.get();").await?;
    assert_eq!(expect_result(&fresh), &Value::Null, "another id is another, empty session");
    Ok(())
}

#[tokio::test]
async fn a_failed_run_saves_nothing_of_its_session() -> Result<()> {
    let host = host(Value::Null, None).await?;
    expect_result(&in_session(&host, "s", "session.set({ saved: true });").await?);
    let failed = in_session(&host, "s", r#"session.update({ saved: false, extra: 1 }); throw new Error("stop");"#).await?;
    expect_error(&failed, "runtime_error");
    assert_eq!(expect_result(&in_session(&host, "s", "return session.get();").await?), &json!({"saved": true}));
    Ok(())
}

/// Two runs on one session, each waiting (through the cache) until the
/// other has read the session, so they overlap: each sees only its own
/// changes, keys only one of them changed keep its value, and for the key
/// both changed the run that ended last wins (`b` lingers a second, so the
/// order of their ends, seen by the client, is the order of their saves).
#[tokio::test]
async fn two_concurrent_runs_on_one_session_merge_per_key_and_the_last_to_end_wins() -> Result<()> {
    let host = host(Value::Null, None).await?;
    expect_result(&in_session(&host, "shared", r#"session.set({ untouched: 0, removed: 1, both: "start" });"#).await?);
    let run = |me: &'static str, other: &'static str, change: &'static str, linger_ms: u32| {
        let code = format!(
            r#"{change}
               cache.set("{me}-read", true);
               while (cache.get("{other}-read") === null) await new Promise((resolve) => setTimeout(resolve, 20));
               await new Promise((resolve) => setTimeout(resolve, {linger_ms}));
               return session.get();"#
        );
        let host = &host;
        async move {
            let response = in_session(host, "shared", &code).await;
            (response, Instant::now())
        }
    };
    let ((first, first_ended), (second, second_ended)) = tokio::join!(
        run("a", "b", r#"session.update({ a: 1, both: "a" });"#, 0),
        run("b", "a", r#"session.set({ untouched: 0, b: 2, both: "b" });"#, 1000),
    );
    let (first, second) = (first?, second?);
    assert_eq!(expect_result(&first), &json!({"untouched": 0, "removed": 1, "both": "a", "a": 1}), "a saw only its own changes");
    assert_eq!(expect_result(&second), &json!({"untouched": 0, "b": 2, "both": "b"}), "b saw only its own changes");
    let last = if first_ended > second_ended { "a" } else { "b" };
    let merged = in_session(&host, "shared", "return session.get();").await?;
    let merged = expect_result(&merged);
    assert_eq!((&merged["untouched"], &merged["a"], &merged["b"], &merged["removed"]), (&json!(0), &json!(1), &json!(2), &Value::Null), "{merged:#}");
    assert_eq!(merged["both"], json!(last), "the run that ended last wins the key both changed: {merged:#}");
    Ok(())
}
