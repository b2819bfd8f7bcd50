//! The sandbox core through the real binary: values, TypeScript, console,
//! errors with positions, and every limit, each followed by a call that still
//! works.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;

use crate::util::{Host, HostOptions, expect_error, expect_result};

#[tokio::test]
async fn returns_json_values() -> Result<()> {
    let host = Host::start().await?;
    assert_eq!(expect_result(&host.execute("return 2 + 2;").await?), &json!(4));
    assert_eq!(expect_result(&host.execute("return { a: [1, 'x', null], b: true };").await?), &json!({"a": [1, "x", null], "b": true}));
    assert_eq!(expect_result(&host.execute("const x = 1;").await?), &json!(null), "no return is null");
    assert_eq!(expect_result(&host.execute("return undefined;").await?), &json!(null));
    assert_eq!(expect_result(&host.execute("return () => 1;").await?), &json!(null), "a function is null");
    assert_eq!(
        expect_result(&host.execute("return { m: new Map([['k', 1]]), s: new Set([1, 2]) };").await?),
        &json!({"m": {"k": 1}, "s": [1, 2]})
    );
    Ok(())
}

#[tokio::test]
async fn values_json_cannot_hold_are_clear_errors() -> Result<()> {
    let host = Host::start().await?;
    let bigint = host.execute("return 10n ** 20n;").await?;
    assert!(expect_error(&bigint, "runtime_error")["message"].as_str().unwrap().contains("BigInt"), "{bigint}");
    let cycle = host.execute("const a: any = {}; a.self = a; return a;").await?;
    assert!(expect_error(&cycle, "runtime_error")["message"].as_str().unwrap().contains("circular"), "{cycle}");
    Ok(())
}

#[tokio::test]
async fn typescript_is_stripped() -> Result<()> {
    let host = Host::start().await?;
    let code = r#"
interface Task { id: number; title: string; done?: boolean }
type Pair<T> = [T, T];
function first<T>(items: readonly T[]): T | undefined { return items[0]; }
const levels = ["low", "high"] as const;
const config = { retries: 3 } satisfies Record<string, number>;
class Counter { private count: number = 0; inc(this: Counter): number { return ++this.count; } }
const tasks: Task[] = [{ id: 1, title: "a" }, { id: 2, title: "b", done: true }];
const pair: Pair<string> = [levels[0], levels[1]];
const counter = new Counter();
counter.inc();
return { first: first<Task>(tasks)!.title, pair, retries: config.retries, count: counter.inc(), open: tasks.filter((t): t is Task => !t.done).length };
"#;
    assert_eq!(
        expect_result(&host.execute(code).await?),
        &json!({"first": "a", "pair": ["low", "high"], "retries": 3, "count": 2, "open": 1})
    );
    let with_enum = host.execute("enum Color { Red, Green }\nreturn Color.Green;").await?;
    assert_eq!(expect_result(&with_enum), &json!(1));
    Ok(())
}

#[tokio::test]
async fn console_is_captured_with_levels_in_order() -> Result<()> {
    let host = Host::start().await?;
    let response = host
        .execute("console.log('a', 1, {x: [1]}); console.info('b'); console.warn('c'); console.error('d'); console.debug('e'); return 0;")
        .await?;
    expect_result(&response);
    assert_eq!(
        response["logs"],
        json!([
            {"level": "log", "message": "a 1 {\"x\": [1]}"},
            {"level": "info", "message": "b"},
            {"level": "warn", "message": "c"},
            {"level": "error", "message": "d"},
            {"level": "debug", "message": "e"},
        ])
    );
    Ok(())
}

#[tokio::test]
async fn logs_are_truncated_with_a_marker() -> Result<()> {
    let host = Host::start_with(HostOptions { runtime: json!({"limits": {"maxLogBytes": 1000}}), ..Default::default() }).await?;
    let response = host.execute("for (let i = 0; i < 1000; i++) console.log('line ' + i); return 'done';").await?;
    assert_eq!(expect_result(&response), &json!("done"));
    let logs = response["logs"].as_array().unwrap();
    assert!(logs.len() < 200, "{} lines kept", logs.len());
    assert!(logs.last().unwrap()["message"].as_str().unwrap().contains("truncated"), "{:?}", logs.last());
    Ok(())
}

#[tokio::test]
async fn top_level_await_and_timers_work() -> Result<()> {
    let host = Host::start().await?;
    let code = r#"
const started = Date.now();
const order: string[] = [];
setTimeout(() => order.push("late"), 60);
await new Promise((resolve) => setTimeout(resolve, 30));
order.push("awaited");
await new Promise((resolve) => setTimeout(resolve, 50));
const handle = setTimeout(() => order.push("cancelled"), 10);
clearTimeout(handle);
await new Promise((resolve) => setTimeout(resolve, 20));
return { order, waited: Date.now() - started >= 90 };
"#;
    assert_eq!(expect_result(&host.execute(code).await?), &json!({"order": ["awaited", "late"], "waited": true}));
    Ok(())
}

#[tokio::test]
async fn syntax_error_points_at_the_line() -> Result<()> {
    let host = Host::start().await?;
    let response = host.execute("const a = 1;\nconst b = 2;\nconst c = ;\nreturn a;").await?;
    let error = expect_error(&response, "syntax_error");
    assert_eq!((error["line"].clone(), error["column"].clone()), (json!(3), json!(11)), "{response}");
    Ok(())
}

#[tokio::test]
async fn thrown_error_has_message_stack_and_line() -> Result<()> {
    let host = Host::start().await?;
    let code = "function inner(): never {\n  throw new TypeError('bad input');\n}\nfunction outer() { inner(); }\nouter();";
    let response = host.execute(code).await?;
    let error = expect_error(&response, "runtime_error");
    assert_eq!(error["message"], json!("TypeError: bad input"));
    assert_eq!(error["line"], json!(2), "{response}");
    let stack = error["stack"].as_str().unwrap();
    assert!(stack.contains("inner") && stack.contains("outer"), "{stack}");
    let rejected = host.execute("await Promise.reject(new Error('nope'));").await?;
    assert_eq!(expect_error(&rejected, "runtime_error")["message"], json!("Error: nope"));
    let thrown_string = host.execute("throw 'plain';").await?;
    assert!(expect_error(&thrown_string, "runtime_error")["message"].as_str().unwrap().contains("plain"));
    Ok(())
}

#[tokio::test]
async fn endless_loop_is_stopped_by_the_deadline() -> Result<()> {
    let host = Host::start().await?;
    let started = Instant::now();
    let response = host.execute_with(json!({"code": "while (true) {}", "timeout": 300})).await?;
    expect_error(&response, "timeout");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(expect_result(&host.execute("return 'still here';").await?), &json!("still here"));
    Ok(())
}

#[tokio::test]
async fn waiting_forever_is_stopped_by_the_deadline() -> Result<()> {
    let host = Host::start().await?;
    let response = host.execute_with(json!({"code": "await new Promise(r => setTimeout(r, 60000));", "timeout": 200})).await?;
    expect_error(&response, "timeout");
    let stalled = host.execute("await new Promise(() => {});").await?;
    assert!(expect_error(&stalled, "runtime_error")["message"].as_str().unwrap().contains("never finish"), "{stalled}");
    Ok(())
}

#[tokio::test]
async fn endless_loop_is_stopped_by_fuel() -> Result<()> {
    let host = Host::start_with(HostOptions { args: vec!["--fuel".into(), "50000000".into()], ..Default::default() }).await?;
    let response = host.execute_with(json!({"code": "let i = 0; while (true) { i++; }", "timeout": 60000, "stats": "full"})).await?;
    expect_error(&response, "fuel_exhausted");
    assert!(response["stats"]["fuelUsed"].as_u64().unwrap() >= 50_000_000);
    assert_eq!(expect_result(&host.execute("return 1;").await?), &json!(1));
    Ok(())
}

#[tokio::test]
async fn memory_bomb_hits_the_memory_limit() -> Result<()> {
    let host = Host::start().await?;
    let code = "const chunks = []; while (true) { chunks.push(new Array(100000).fill(1.5)); }";
    let response = host.execute_with(json!({ "code": code, "stats": "full" })).await?;
    expect_error(&response, "memory_limit");
    assert!(response["stats"]["memoryPeakBytes"].as_u64().unwrap() <= 64 << 20);
    let buffers = host.execute("const buffers = []; while (true) { buffers.push(new Uint8Array(1 << 20)); }").await?;
    expect_error(&buffers, "memory_limit");
    assert_eq!(expect_result(&host.execute("return 'alive';").await?), &json!("alive"));
    Ok(())
}

#[tokio::test]
async fn unbounded_recursion_is_an_error_not_a_crash() -> Result<()> {
    let host = Host::start().await?;
    let response = host.execute("function down(n: number): number { return down(n + 1) + 1; }\nreturn down(0);").await?;
    let error = expect_error(&response, "runtime_error");
    assert!(error["message"].as_str().unwrap().to_lowercase().contains("stack"), "{response}");
    assert_eq!(expect_result(&host.execute("return 'alive';").await?), &json!("alive"));
    Ok(())
}

#[tokio::test]
async fn pending_operations_are_bounded() -> Result<()> {
    let host = Host::start().await?;
    let response = host.execute("while (true) setTimeout(() => {}, 1e9);").await?;
    let message = expect_error(&response, "runtime_error")["message"].as_str().unwrap().to_owned();
    assert!(message.contains("pending"), "{message}");
    assert_eq!(expect_result(&host.execute("return 'alive';").await?), &json!("alive"));
    Ok(())
}

#[tokio::test]
async fn oversized_code_is_invalid_input() -> Result<()> {
    let host = Host::start().await?;
    let code = format!("return '{}';", "x".repeat(10 << 20));
    let response = host.execute(&code).await?;
    expect_error(&response, "invalid_input");
    assert_eq!(expect_result(&host.execute("return 1;").await?), &json!(1));
    Ok(())
}

#[tokio::test]
async fn oversized_result_is_an_output_limit() -> Result<()> {
    let host = Host::start().await?;
    let response = host.execute("return 'y'.repeat(2 * 1024 * 1024);").await?;
    expect_error(&response, "output_limit");
    Ok(())
}

#[tokio::test]
async fn globals_do_not_leak_between_runs() -> Result<()> {
    let host = Host::start().await?;
    expect_result(&host.execute("(globalThis as any).leak = 42; Object.prototype.polluted = true; return 1;").await?);
    let response = host.execute("return [typeof (globalThis as any).leak, ({} as any).polluted === undefined];").await?;
    assert_eq!(expect_result(&response), &json!(["undefined", true]));
    Ok(())
}

#[tokio::test]
async fn no_ambient_authority() -> Result<()> {
    let host = Host::start().await?;
    let response = host
        .execute("return [typeof process, typeof Deno, typeof require, typeof fetch, typeof XMLHttpRequest, typeof WebSocket, typeof Javy];")
        .await?;
    assert_eq!(expect_result(&response), &json!(vec!["undefined"; 7]));
    Ok(())
}

#[tokio::test]
async fn a_runaway_run_does_not_delay_the_others() -> Result<()> {
    let host = &Host::start().await?;
    let runaway = host.execute_with(json!({"code": "while (true) {}", "timeout": 8000}));
    let started = Instant::now();
    let others = async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let runs = (0..7).map(|i| async move {
            let response = host.execute(&format!("let s = 0; for (let j = 0; j < 1000; j++) s += j; return s + {i};")).await?;
            anyhow::Ok((expect_result(&response).clone(), started.elapsed()))
        });
        futures::future::join_all(runs).await
    };
    let (runaway, others) = tokio::join!(runaway, others);
    for (i, outcome) in others.into_iter().enumerate() {
        let (value, finished_at) = outcome?;
        assert_eq!(value, json!(499500 + i));
        assert!(finished_at < Duration::from_secs(3), "run {i} finished after {finished_at:?}");
    }
    expect_error(&runaway?, "timeout");
    Ok(())
}
