//! The bridge through the real binary: programs calling real downstream MCP
//! servers (the in-repo fault server and npm servers), with capabilities,
//! limits, failures and process hygiene checked.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::util::{Host, HostOptions, expect_error, expect_result, npm_server, process_exists, test_server_binary, wait_for_exit};

fn test_server(args: &[&str]) -> Value {
    json!({ "command": test_server_binary(), "args": args })
}

async fn host_with_test_server(runtime: Value) -> Result<Host> {
    Host::start_with(HostOptions { servers: json!({ "test": test_server(&[]) }), runtime, ..Default::default() }).await
}

#[tokio::test]
async fn both_import_forms_and_mcp_call_reach_tools() -> Result<()> {
    let host = host_with_test_server(Value::Null).await?;
    let code = r#"
import * as test from "mcp://test";
import { echo } from "mcp://test";
const dynamic = await import("mcp://test");
return {
  namespace: await test.echo({ message: "a" }),
  named: await echo({ message: "b" }),
  dynamic: await dynamic.echo({ message: "c" }),
  call: await mcp.call("test", "echo", { message: "d" }),
  camel: [await test.getTimeZone(), await test.getUserName()],
  exact: [await test["get-time-zone"](), await test.get_user_name()],
  structured: await test.structured({ value: [1, 2] }),
};
"#;
    let response = host.execute_with(json!({ "code": code, "stats": "full" })).await?;
    assert_eq!(
        expect_result(&response),
        &json!({
            "namespace": {"message": "a"}, "named": {"message": "b"}, "dynamic": {"message": "c"},
            "call": {"message": "d"}, "camel": ["UTC", "tester"], "exact": ["UTC", "tester"],
            "structured": {"value": [1, 2], "kind": "structured"},
        })
    );
    assert_eq!(response["stats"]["toolCalls"]["test"]["calls"], json!(9));
    Ok(())
}

#[tokio::test]
async fn servers_are_globals_as_the_seed_programs_expect() -> Result<()> {
    let servers = json!({ "test-server": test_server(&[]), "console": test_server(&[]) });
    let host = Host::start_with(HostOptions { servers, ..Default::default() }).await?;
    let code = r#"
const servers = await listMCPServers();
return {
  listed: servers.length > 0,
  compact: await testserver.echo({ message: "a" }),
  camel: await testServer.getUserName(),
  exact: await testServer.get_user_name(),
  consoleKept: typeof console.log,
};
"#;
    let response = host.execute(code).await?;
    assert_eq!(
        expect_result(&response),
        &json!({"listed": true, "compact": {"message": "a"}, "camel": "tester", "exact": "tester", "consoleKept": "function"})
    );
    let scoped_code = "let denied; try { await testServer.echo({ message: 'a' }); } catch (e) { denied = e.kind; } return [denied, typeof console.log];";
    let scoped = host.execute_with(json!({"code": scoped_code, "mcpServers": ["console"]})).await?;
    assert_eq!(
        expect_result(&scoped),
        &json!(["capability_denied", "function"]),
        "a server outside the grant is named, and refused by the host; no global is bound over another"
    );
    Ok(())
}

#[tokio::test]
async fn parallel_calls_overlap() -> Result<()> {
    let host = host_with_test_server(Value::Null).await?;
    expect_result(&host.execute("await mcp.call('test', 'echo', {message: 'warm'});").await?);
    let code = r#"
const started = Date.now();
const results = await Promise.all(Array.from({ length: 10 }, () => mcp.call("test", "slow", { ms: 100 })));
return { elapsed: Date.now() - started, results };
"#;
    let response = host.execute(code).await?;
    let result = expect_result(&response);
    assert_eq!(result["results"], json!(vec![json!({"slept": 100}); 10]));
    let elapsed = result["elapsed"].as_u64().unwrap();
    assert!((100..300).contains(&elapsed), "10 parallel 100 ms calls took {elapsed} ms");
    Ok(())
}

#[tokio::test]
async fn tool_errors_throw_and_can_be_caught() -> Result<()> {
    let host = host_with_test_server(Value::Null).await?;
    let caught = host
        .execute("try { await mcp.call('test', 'fail', {message: 'boom'}); } catch (e) { return [e.name, e.kind, e.server, e.tool, e.message, e instanceof McpError]; }")
        .await?;
    assert_eq!(expect_result(&caught), &json!(["McpToolError", "tool_error", "test", "fail", "boom", true]));
    let uncaught = host.execute("await mcp.call('test', 'fail', {message: 'boom'});\nreturn 1;").await?;
    let error = expect_error(&uncaught, "tool_error");
    assert_eq!(error["message"], json!("McpToolError: boom"));
    assert_eq!(error["line"], json!(1));
    let unknown_tool = host.execute("await mcp.call('test', 'nope', {});").await?;
    assert!(expect_error(&unknown_tool, "not_found")["message"].as_str().unwrap().contains("its tools: echo"), "{unknown_tool}");
    Ok(())
}

#[tokio::test]
async fn a_crash_mid_call_is_an_error_and_the_next_call_restarts_the_server() -> Result<()> {
    let host = host_with_test_server(Value::Null).await?;
    assert_eq!(expect_result(&host.execute("return await mcp.call('test', 'counter', {});").await?), &json!({"count": 1}));
    let crashed = host.execute("try { await mcp.call('test', 'crash', {}); } catch (e) { return [e.name, e.kind]; }").await?;
    assert_eq!(expect_result(&crashed), &json!(["McpTransportError", "transport_error"]));
    let restarted = host.execute("return await mcp.call('test', 'counter', {});").await?;
    assert_eq!(expect_result(&restarted), &json!({"count": 1}), "a new process counts from 1");
    Ok(())
}

#[tokio::test]
async fn a_hanging_tool_times_out_within_the_call_limit() -> Result<()> {
    let host = host_with_test_server(json!({"limits": {"toolCallTimeoutMs": 400}})).await?;
    let started = Instant::now();
    let response = host
        .execute("try { await mcp.call('test', 'hang', {}); } catch (e) { return [e.name, e.kind]; }")
        .await?;
    assert_eq!(expect_result(&response), &json!(["McpTimeoutError", "timeout"]));
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(expect_result(&host.execute("return await mcp.call('test', 'echo', {message: 'ok'});").await?), &json!({"message": "ok"}));
    Ok(())
}

#[tokio::test]
async fn the_run_deadline_includes_time_waiting_on_tools() -> Result<()> {
    let host = host_with_test_server(Value::Null).await?;
    let response = host.execute_with(json!({"code": "await mcp.call('test', 'slow', {ms: 5000});", "timeout": 300})).await?;
    expect_error(&response, "timeout");
    assert!(response["stats"]["durationMs"].as_f64().unwrap() < 2000.0, "{response}");
    Ok(())
}

#[tokio::test]
async fn capabilities_are_enforced_by_the_host() -> Result<()> {
    let servers = json!({ "test": test_server(&[]), "other": test_server(&["--name", "other"]) });
    let runtime = json!({ "servers": { "test": { "denyTools": ["fail", "crash"] } } });
    let host = Host::start_with(HostOptions { servers, runtime, ..Default::default() }).await?;

    let hidden = host
        .execute_with(json!({"code": "await mcp.call('other', 'echo', {message: 'x'});", "mcpServers": ["test"]}))
        .await?;
    assert!(expect_error(&hidden, "capability_denied")["message"].as_str().unwrap().contains("not available to this run"), "{hidden}");

    let denied_tool = host.execute("try { await mcp.call('test', 'fail', {}); } catch (e) { return [e.name, e.kind, e.message]; }").await?;
    let denied = expect_result(&denied_tool);
    assert_eq!(denied[0], json!("CapabilityDeniedError"));
    assert!(denied[2].as_str().unwrap().contains("denyTools"), "{denied}");
    let uncaught = host.execute("await mcp.call('test', 'crash', {});").await?;
    expect_error(&uncaught, "capability_denied");

    let listed = host.execute("return (await mcp.tools('test')).map((t) => t.name);").await?;
    let names = expect_result(&listed).as_array().unwrap().clone();
    assert!(names.contains(&json!("echo")) && !names.contains(&json!("fail")), "denied tools are hidden: {names:?}");

    let unknown = host.execute("await mcp.call('nope', 'echo', {});").await?;
    let message = expect_error(&unknown, "not_found")["message"].as_str().unwrap().to_owned();
    assert!(message.contains("known servers: test, other"), "{message}");
    let import_unknown = host.execute("await import('mcp://nope');").await?;
    expect_error(&import_unknown, "not_found");

    let bad_request = host.execute_with(json!({"code": "return 1;", "mcpServers": ["nope"]})).await?;
    let message = expect_error(&bad_request, "invalid_input")["message"].as_str().unwrap().to_owned();
    assert!(message.contains("nope") && message.contains("test"), "{message}");

    let after_denials = host.execute("return await mcp.call('test', 'echo', {message: 'still'});").await?;
    assert_eq!(expect_result(&after_denials), &json!({"message": "still"}));
    Ok(())
}

#[tokio::test]
async fn per_run_limits_on_calls_and_bytes() -> Result<()> {
    let runtime = json!({
        "limits": { "maxToolCalls": 3, "maxToolBytesReceived": 10000 },
        "servers": { "test": { "maxCallsPerRun": 2 } }
    });
    let host = host_with_test_server(runtime).await?;
    let per_server = host
        .execute("await mcp.call('test', 'echo', {message: '1'}); await mcp.call('test', 'echo', {message: '2'}); try { await mcp.call('test', 'echo', {message: '3'}); } catch (e) { return [e.name, e.kind]; }")
        .await?;
    assert_eq!(expect_result(&per_server), &json!(["ToolLimitError", "tool_limit"]));
    let bytes = host.execute("await mcp.call('test', 'big', {bytes: 20000});").await?;
    expect_error(&bytes, "tool_limit");
    Ok(())
}

#[tokio::test]
async fn the_total_call_limit_ends_a_loop() -> Result<()> {
    let host = host_with_test_server(json!({"limits": {"maxToolCalls": 5}})).await?;
    let code = "for (let i = 0; ; i++) await mcp.call('test', 'echo', {message: String(i)});";
    let response = host.execute_with(json!({ "code": code, "stats": "full" })).await?;
    let error = expect_error(&response, "tool_limit");
    assert!(error["message"].as_str().unwrap().contains("5 tool calls"), "{response}");
    assert_eq!(response["stats"]["toolCalls"]["test"]["calls"], json!(5));
    Ok(())
}

#[tokio::test]
async fn a_changed_tool_list_is_seen() -> Result<()> {
    let host = host_with_test_server(Value::Null).await?;
    let before = host.execute("return (await mcp.tools('test')).some((t) => t.name === 'added_later');").await?;
    assert_eq!(expect_result(&before), &json!(false));
    expect_result(&host.execute("await mcp.call('test', 'notify_change', {}); return 1;").await?);
    let code = "const test = await import('mcp://test'); return await test.addedLater();";
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let after = host.execute(code).await?;
        if after["ok"] == json!(true) {
            assert_eq!(after["result"], json!("added later"));
            return Ok(());
        }
        assert!(Instant::now() < deadline, "the new tool never appeared: {after}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn list_mcp_servers_shows_tools_and_failures() -> Result<()> {
    let servers = json!({ "test": test_server(&[]), "broken": test_server(&["--exit-at-start"]) });
    let host = Host::start_with(HostOptions { servers, ..Default::default() }).await?;
    let listing = host.call("list_mcp_servers", json!({})).await?;
    let structured = listing.structured_content.clone().unwrap();
    let servers = structured["servers"].as_array().unwrap();
    assert_eq!(servers[0]["name"], json!("test"));
    assert_eq!(servers[0]["state"], json!("running"));
    assert!(servers[0]["tools"].as_array().unwrap().iter().any(|tool| tool["name"] == json!("echo")));
    assert_eq!(servers[1]["name"], json!("broken"));
    let state = servers[1]["state"].as_str().unwrap();
    assert!(state.starts_with("failed:"), "{state}");
    let text = listing.content[0].as_text().unwrap().text.clone();
    assert!(text.contains("broken (failed:") && text.contains("  echo: "), "{text}");
    let run = host.execute("await mcp.call('broken', 'echo', {});").await?;
    assert!(expect_error(&run, "transport_error")["message"].as_str().unwrap().contains("not available"), "{run}");
    Ok(())
}

#[tokio::test]
async fn a_knowledge_graph_round_trip_and_a_directory_walk_in_one_program() -> Result<()> {
    let files = tempfile::tempdir()?;
    std::fs::create_dir_all(files.path().join("src/nested"))?;
    std::fs::write(files.path().join("README.md"), "# readme")?;
    std::fs::write(files.path().join("src/main.rs"), "fn main() {}")?;
    std::fs::write(files.path().join("src/nested/lib.rs"), "")?;
    let memory_file = files.path().join("memory.jsonl");
    let root = files.path().canonicalize()?.display().to_string();
    let servers = json!({
        "memory": { "command": "node", "args": [npm_server("@modelcontextprotocol/server-memory", "dist/index.js")], "env": { "MEMORY_FILE_PATH": memory_file } },
        "filesystem": { "command": "node", "args": [npm_server("@modelcontextprotocol/server-filesystem", "dist/index.js"), root] },
    });
    let host = Host::start_with(HostOptions { servers, ..Default::default() }).await?;
    let code = format!(
        r#"
const memory = await import("mcp://memory");
import * as fs from "mcp://filesystem";
const root = {root:?};
async function walk(dir: string): Promise<string[]> {{
  const listing = await fs.listDirectory({{ path: dir }});
  const text: string = typeof listing === "string" ? listing : listing.content;
  const found: string[] = [];
  for (const line of text.split("\n").filter(Boolean)) {{
    const name = line.replace(/^\[(FILE|DIR)\] /, "");
    if (line.startsWith("[DIR]")) found.push(...await walk(`${{dir}}/${{name}}`));
    else found.push(`${{dir}}/${{name}}`.slice(root.length + 1));
  }}
  return found;
}}
const files = (await walk(root)).filter((f) => f.endsWith(".rs") || f.endsWith(".md")).sort();
await memory.createEntities({{ entities: [{{ name: "project", entityType: "repo", observations: files }}] }});
await memory.addObservations({{ observations: [{{ entityName: "project", contents: ["walked"] }}] }});
const graph = await memory.readGraph();
const found = await memory.searchNodes({{ query: "project" }});
return {{ files, observations: graph.entities[0].observations.length, found: found.entities.map((e: any) => e.name) }};
"#
    );
    let response = host.execute(&code).await?;
    assert_eq!(
        expect_result(&response),
        &json!({"files": ["README.md", "src/main.rs", "src/nested/lib.rs"], "observations": 4, "found": ["project"]})
    );
    assert!(std::fs::read_to_string(&memory_file)?.contains("walked"), "the memory server persisted the graph");
    Ok(())
}

#[tokio::test]
async fn a_streamable_http_server_is_reached() -> Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut server = tokio::process::Command::new("node")
        .arg(npm_server("@modelcontextprotocol/server-everything", "dist/index.js"))
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "the HTTP server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let servers = json!({ "web": { "type": "http", "url": format!("http://127.0.0.1:{port}/mcp") } });
    let host = Host::start_with(HostOptions { servers, ..Default::default() }).await?;
    let response = host.execute("const web = await import('mcp://web'); return [await web.echo({message: 'over http'}), await web.getSum({a: 1, b: 2})];").await?;
    let result = expect_result(&response);
    assert!(result[0].as_str().unwrap().contains("over http"), "{result}");
    assert!(result[1].as_str().unwrap().contains('3'), "{result}");
    server.kill().await?;
    Ok(())
}

#[tokio::test]
async fn no_child_survives_the_host() -> Result<()> {
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let dir = tempfile::tempdir()?;
        let pid_file = dir.path().join("child.pid");
        let servers = json!({
            "test": test_server(&["--pid-file", pid_file.to_str().unwrap()]),
            "memory": { "command": "node", "args": [npm_server("@modelcontextprotocol/server-memory", "dist/index.js")], "env": { "MEMORY_FILE_PATH": dir.path().join("m.jsonl") } },
        });
        let host = Host::start_with(HostOptions { servers, ..Default::default() }).await?;
        expect_result(&host.execute("await mcp.call('test', 'echo', {message: 'x'}); await mcp.call('memory', 'read_graph', {}); return 1;").await?);
        let mut children = child_pids(host.pid);
        children.push(std::fs::read_to_string(&pid_file)?.trim().parse()?);
        children.sort_unstable();
        children.dedup();
        assert!(children.len() >= 2, "both servers run as children: {children:?}");
        // SAFETY: signalling a process this test started.
        unsafe { libc::kill(host.pid as i32, signal) };
        assert!(wait_for_exit(host.pid, Duration::from_secs(10)).await, "the host exits on signal {signal}");
        for child in children {
            assert!(wait_for_exit(child, Duration::from_secs(10)).await, "child {child} outlived the host (signal {signal})");
        }
    }
    Ok(())
}

#[tokio::test]
async fn servers_start_lazily_or_all_at_once_with_eager() -> Result<()> {
    for eager in [false, true] {
        let dir = tempfile::tempdir()?;
        let pid_file = dir.path().join("child.pid");
        let args = if eager { vec!["--eager".to_owned()] } else { Vec::new() };
        let servers = json!({ "test": test_server(&["--pid-file", pid_file.to_str().unwrap()]) });
        let host = Host::start_with(HostOptions { servers, args, ..Default::default() }).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(pid_file.exists(), eager, "eager = {eager}: the server started before any use");
        expect_result(&host.execute("return await mcp.call('test', 'counter', {});").await?);
        assert!(pid_file.exists());
    }
    Ok(())
}

#[tokio::test]
async fn closing_stdin_stops_the_host_and_its_children() -> Result<()> {
    let host = host_with_test_server(Value::Null).await?;
    expect_result(&host.execute("await mcp.call('test', 'echo', {message: 'x'}); return 1;").await?);
    let children = child_pids(host.pid);
    assert!(!children.is_empty());
    let pid = host.pid;
    host.client.cancel().await?;
    assert!(wait_for_exit(pid, Duration::from_secs(10)).await, "the host exits when its client goes away");
    for child in children {
        assert!(!process_exists(child) || wait_for_exit(child, Duration::from_secs(10)).await, "child {child} outlived the host");
    }
    Ok(())
}

/// The live processes whose parent is `parent`.
fn child_pids(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(parent))
        .collect()
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn search_sees_a_changed_tool_list_despite_its_cached_index() -> Result<()> {
    let host = host_with_test_server(Value::Null).await?;
    let search = "return (await mcp.search('added later', { detail: 'name', limit: 100 })).map((t) => t.name);";
    let before = host.execute(search).await?;
    assert!(!expect_result(&before).as_array().context("names")?.contains(&json!("test.added_later")), "{before}");
    let again = host.execute(search).await?;
    assert_eq!(expect_result(&again), expect_result(&before), "the same tools, the same (cached) ranking");
    expect_result(&host.execute("await mcp.call('test', 'notify_change', {}); return 1;").await?);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let after = host.execute(search).await?;
        if expect_result(&after).as_array().context("names")?.contains(&json!("test.added_later")) {
            return Ok(());
        }
        assert!(Instant::now() < deadline, "search never found the new tool: {after}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
