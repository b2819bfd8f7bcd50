//! Host-side bounds through the real binary: tool argument and result sizes,
//! the bytes-received budget, describe and search floods, host CPU that must
//! not stall other requests, and declaration files of colliding server names.
//! Each test also checks what the downstream server saw, or that the host
//! still answers afterwards.

use std::time::{Duration, Instant};

use anyhow::Result;
use rmcp::model::{ReadResourceRequestParams, ResourceContents};
use serde_json::{Value, json};

use crate::util::{Host, HostOptions, expect_error, expect_result, test_server_binary, write_types};

fn test_server() -> Value {
    json!({ "command": test_server_binary() })
}

async fn host_with_limits(limits: Value) -> Result<Host> {
    let runtime = json!({ "limits": limits });
    Host::start_with(HostOptions { servers: json!({ "test": test_server() }), runtime, ..Default::default() }).await
}

/// How many times the test server's `counter` ran, counting this call.
async fn counter_calls(host: &Host) -> Result<Value> {
    let response = host.execute("return (await mcp.call('test', 'counter', {})).count;").await?;
    Ok(expect_result(&response).clone())
}

fn text_of(result: &rmcp::model::CallToolResult) -> String {
    result.content.iter().filter_map(|block| block.as_text()).map(|text| text.text.clone()).collect()
}

#[tokio::test]
async fn tool_arguments_are_capped_per_call_and_per_run_before_they_are_sent() -> Result<()> {
    let host = host_with_limits(json!({ "maxToolArgumentBytes": 1000, "maxToolBytesSent": 2500 })).await?;
    let code = r#"
const kinds = [];
const attempt = async (pad) => {
  try { await mcp.call('test', 'counter', { pad }); kinds.push('sent'); } catch (e) { kinds.push(e.kind); }
};
await attempt('x'.repeat(2000));                 // over the per-call cap
for (let i = 0; i < 3; i++) await attempt('y'.repeat(880)); // the third passes the run's total
return kinds;
"#;
    let response = host.execute_with(json!({ "code": code, "stats": "full" })).await?;
    assert_eq!(expect_result(&response), &json!(["tool_limit", "sent", "sent", "tool_limit"]));
    assert_eq!(response["stats"]["toolCalls"]["test"]["calls"], json!(2), "{response}");
    assert_eq!(counter_calls(&host).await?, json!(3), "only the two admitted calls reached the server before this one");
    Ok(())
}

#[tokio::test]
async fn a_spent_receive_budget_refuses_calls_before_they_reach_the_server() -> Result<()> {
    let host = host_with_limits(json!({ "maxToolBytesReceived": 10000 })).await?;
    let code = r#"
const kinds = [];
for (const [tool, args] of [['big', { bytes: 20000 }], ['counter', {}]]) {
  try { await mcp.call('test', tool, args); kinds.push('ok'); } catch (e) { kinds.push([e.kind, e.message]); }
}
return kinds;
"#;
    let response = host.execute(code).await?;
    let kinds = expect_result(&response);
    assert_eq!(kinds[0][0], json!("tool_limit"), "{kinds}");
    assert!(kinds[0][1].as_str().unwrap().contains("10000 bytes"), "{kinds}");
    assert_eq!(kinds[1][0], json!("tool_limit"), "refused at admission: {kinds}");
    assert_eq!(counter_calls(&host).await?, json!(1), "the refused call never reached the server");
    Ok(())
}

#[tokio::test]
async fn a_result_larger_than_the_guest_can_hold_is_refused_not_delivered() -> Result<()> {
    let host = host_with_limits(json!({ "memoryMb": 16, "maxToolBytesReceived": 200_000_000u64 })).await?;
    let code = "try { await mcp.call('test', 'big', { bytes: 20000000 }); return 'delivered'; } catch (e) { return [e.kind, e.message]; }";
    let response = host.execute(code).await?;
    let refused = expect_result(&response);
    assert_eq!(refused[0], json!("tool_limit"), "{refused}");
    assert!(refused[1].as_str().unwrap().contains("more than the program could receive"), "{refused}");
    assert_eq!(counter_calls(&host).await?, json!(1), "the host and the server still answer");
    Ok(())
}

#[tokio::test]
async fn describe_floods_are_refused_and_repeated_names_described_once() -> Result<()> {
    let host = host_with_limits(json!({})).await?;
    let started = Instant::now();
    let code = r#"
let flood;
try { await mcp.describe(Array(200000).fill("test")); flood = 'described'; } catch (e) { flood = [e.kind, e.message]; }
const once = await mcp.describe("test");
const repeated = await mcp.describe(Array(200).fill("test"));
return { flood, same: once === repeated };
"#;
    let response = host.execute_with(json!({ "code": code, "timeout": 60000 })).await?;
    let result = expect_result(&response);
    assert_eq!(result["flood"][0], json!("invalid_arguments"), "{result}");
    assert!(result["flood"][1].as_str().unwrap().contains("256"), "{result}");
    assert_eq!(result["same"], json!(true), "{result}");
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());

    let names: Vec<String> = vec!["test".into(); 300];
    let described = host.call("describe_tools", json!({ "names": names })).await?;
    assert_eq!(described.is_error, Some(true));
    assert!(text_of(&described).contains("over the limit of 256"), "{}", text_of(&described));
    Ok(())
}

#[tokio::test]
async fn search_queries_are_capped() -> Result<()> {
    let host = host_with_limits(json!({})).await?;
    let long = "echo ".repeat(400);
    let searched = host.call("search_tools", json!({ "query": long, "limit": 5 })).await?;
    assert_eq!(searched.is_error, Some(true));
    assert!(text_of(&searched).contains("1000 characters"), "{}", text_of(&searched));
    let fine = host.call("search_tools", json!({ "query": "echo", "limit": 100000 })).await?;
    assert_eq!(fine.structured_content.unwrap()["tools"][0]["name"], json!("test.echo"));
    let code = "try { await mcp.search('echo '.repeat(400)); } catch (e) { return e.kind; }";
    assert_eq!(expect_result(&host.execute(code).await?), &json!("invalid_arguments"));
    Ok(())
}

#[tokio::test]
async fn huge_searches_neither_outlive_their_runs_nor_stall_the_host() -> Result<()> {
    let host = host_with_limits(json!({})).await?;
    let timeout_ms = 2000;
    let flood = json!({
        // 300,000 distinct words: the old ranking deduplicated them quadratically.
        "code": "const query = Array.from({ length: 300000 }, (_, i) => 'word' + i.toString(36)).join(' ');\n\
                 for (;;) { try { await mcp.search(query); } catch (e) {} }",
        "timeout": timeout_ms,
    });
    let started = Instant::now();
    let runs = async {
        let (first, second) = tokio::join!(host.execute_with(flood.clone()), host.execute_with(flood.clone()));
        (first, second, started.elapsed())
    };
    let trivial = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let asked = Instant::now();
        let response = host.execute("return 1;").await;
        (response, asked.elapsed())
    };
    let bound = Duration::from_secs(60);
    let ((first, second, both_ended), (trivial, trivial_took)) =
        tokio::time::timeout(bound, async { tokio::join!(runs, trivial) }).await.map_err(|_| anyhow::anyhow!("the host stalled for {bound:?}"))?;
    expect_error(&first?, "timeout");
    expect_error(&second?, "timeout");
    assert_eq!(expect_result(&trivial?), &json!(1));
    assert!(trivial_took < Duration::from_secs(5), "a trivial run took {trivial_took:?} beside the searches");
    assert!(both_ended < Duration::from_millis(timeout_ms) + Duration::from_secs(8), "the runs took {both_ended:?}");
    Ok(())
}

#[tokio::test]
async fn colliding_server_names_get_distinct_declaration_files_and_resources() -> Result<()> {
    let servers = json!({ "runtime": test_server(), "a.b": test_server(), "a_b": test_server() });
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("mcp.json");
    std::fs::write(&config, serde_json::to_vec(&json!({ "mcpServers": servers }))?)?;
    let out = dir.path().join("types");
    write_types(&config, &out)?;
    let read = |file: &str| std::fs::read_to_string(out.join(file)).unwrap_or_else(|error| panic!("{file}: {error}"));
    assert!(read("runtime.d.ts").contains("McpError"), "the runtime API is not overwritten by server `runtime`");
    for (file, module) in [("runtime.72756e74696d65.d.ts", "runtime"), ("a_b.612e62.d.ts", "a.b"), ("a_b.d.ts", "a_b")] {
        assert!(read(file).contains(&format!("declare module \"mcp://{module}\"")), "{file}");
    }
    let mut files: Vec<String> = std::fs::read_dir(&out)?.map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned())).collect::<Result<_, _>>()?;
    files.sort();
    assert_eq!(
        files,
        ["a_b.612e62.d.ts", "a_b.d.ts", "index.d.ts", "runtime.72756e74696d65.d.ts", "runtime.d.ts", "skills.d.ts", "tsconfig.json"],
        "runtime, skills, index, the tsconfig and one file per server"
    );

    let host = Host::start_with(HostOptions { servers, ..Default::default() }).await?;
    let resources = host.client.list_all_resources().await?;
    let uris: Vec<String> = resources.iter().map(|resource| resource.uri.clone()).collect();
    let expected: Vec<String> = ["runtime.d.ts", "runtime.72756e74696d65.d.ts", "a_b.612e62.d.ts", "a_b.d.ts"]
        .iter()
        .map(|file| format!("mcp-code-runtime://types/{file}"))
        .collect();
    let mut sorted_uris: Vec<String> = uris.iter().filter(|uri| !uri.contains("skills")).cloned().collect();
    sorted_uris.sort();
    let mut sorted_expected = expected.clone();
    sorted_expected.sort();
    assert_eq!(sorted_uris, sorted_expected);
    for (uri, wanted) in expected.iter().zip(["McpError", "mcp://runtime", "mcp://a.b", "mcp://a_b"]) {
        let read = host.client.read_resource(ReadResourceRequestParams::new(uri.as_str())).await?;
        let ResourceContents::TextResourceContents { text, .. } = &read.contents[0] else { panic!("text contents for {uri}") };
        assert!(text.contains(wanted), "{uri}: {text}");
    }
    Ok(())
}
