//! Discovery through the real binary: `search_tools`, `describe_tools`, the
//! declaration resources, the same from inside the sandbox, the `types`
//! command against real servers, and the size of the host's own `tools/list`.

use std::process::Command;

use anyhow::{Context, Result};
use rmcp::model::{ReadResourceRequestParams, ResourceContents};
use serde_json::{Value, json};

use crate::util::{Host, HostOptions, expect_result, npm_server, test_server_binary, tests_dir, write_types};

/// The three npm servers with their golden declarations, plus the fault server.
fn real_servers(files: &std::path::Path) -> Value {
    json!({
        "everything": { "command": "node", "args": [npm_server("@modelcontextprotocol/server-everything", "dist/index.js"), "stdio"] },
        "memory": { "command": "node", "args": [npm_server("@modelcontextprotocol/server-memory", "dist/index.js")], "env": { "MEMORY_FILE_PATH": files.join("memory.jsonl") } },
        "filesystem": { "command": "node", "args": [npm_server("@modelcontextprotocol/server-filesystem", "dist/index.js"), files] },
    })
}

async fn host_with_real_servers(files: &std::path::Path) -> Result<Host> {
    let mut servers = real_servers(files);
    servers["test"] = json!({ "command": test_server_binary() });
    Host::start_with(HostOptions { servers, ..Default::default() }).await
}

fn text_of(result: &rmcp::model::CallToolResult) -> String {
    result.content.iter().filter_map(|block| block.as_text()).map(|text| text.text.clone()).collect()
}

#[tokio::test]
async fn search_tools_ranks_by_relevance_at_each_detail() -> Result<()> {
    let files = tempfile::tempdir()?;
    let host = host_with_real_servers(files.path()).await?;
    let summary = host.call("search_tools", json!({"query": "read a text file", "limit": 3})).await?;
    let tools = summary.structured_content.clone().unwrap()["tools"].clone();
    assert_eq!(tools.as_array().unwrap().len(), 3);
    assert!(tools[0]["name"].as_str().unwrap().starts_with("filesystem.read"), "{tools}");
    assert!(tools[0]["summary"].is_string(), "{tools}");
    let names = host.call("search_tools", json!({"query": "add observations to an entity", "detail": "name"})).await?;
    let first = &names.structured_content.clone().unwrap()["tools"][0];
    assert_eq!(first, &json!({"name": "memory.add_observations"}));
    let full = host.call("search_tools", json!({"query": "sum of two numbers", "detail": "full", "limit": 1})).await?;
    let declaration = full.structured_content.clone().unwrap()["tools"][0]["declaration"].as_str().unwrap().to_owned();
    assert!(declaration.contains("declare module \"mcp://everything\"") && declaration.contains("getSum"), "{declaration}");
    assert!(text_of(&full).contains("getSum"));
    Ok(())
}

#[tokio::test]
async fn describe_tools_returns_declarations() -> Result<()> {
    let files = tempfile::tempdir()?;
    let host = host_with_real_servers(files.path()).await?;
    let described = host.call("describe_tools", json!({"names": ["filesystem.read_text_file", "test.echo", "nope.x"]})).await?;
    assert_eq!(described.is_error, Some(false));
    let text = text_of(&described);
    assert!(text.contains("export function readTextFile(args: ReadTextFileArgs)"), "{text}");
    assert!(text.contains("declare module \"mcp://test\""), "{text}");
    assert!(text.contains("Not found: nope.x"), "{text}");
    let whole = text_of(&host.call("describe_tools", json!({"names": ["memory"]})).await?);
    assert!(whole.contains("createEntities") && whole.contains("readGraph"), "{whole}");
    let unknown = host.call("describe_tools", json!({"names": ["nope"]})).await?;
    assert_eq!(unknown.is_error, Some(true));
    Ok(())
}

#[tokio::test]
async fn declarations_are_resources() -> Result<()> {
    let files = tempfile::tempdir()?;
    let host = host_with_real_servers(files.path()).await?;
    let resources = host.client.list_all_resources().await?;
    let uris: Vec<&str> = resources.iter().map(|resource| resource.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "mcp-code-runtime://types/runtime.d.ts",
            "mcp-code-runtime://types/skills.d.ts",
            "mcp-code-runtime://skills/docs.md",
            "mcp-code-runtime://types/everything.d.ts",
            "mcp-code-runtime://types/memory.d.ts",
            "mcp-code-runtime://types/filesystem.d.ts",
            "mcp-code-runtime://types/test.d.ts",
        ]
    );
    for (uri, expected) in [("mcp-code-runtime://types/runtime.d.ts", "McpError"), ("mcp-code-runtime://types/memory.d.ts", "createEntities")] {
        let read = host.client.read_resource(ReadResourceRequestParams::new(uri)).await?;
        let ResourceContents::TextResourceContents { text, .. } = &read.contents[0] else { panic!("text contents for {uri}") };
        assert!(text.contains(expected), "{uri}: {text}");
    }
    assert!(host.client.read_resource(ReadResourceRequestParams::new("mcp-code-runtime://types/nope.d.ts")).await.is_err());
    Ok(())
}

#[tokio::test]
async fn the_sandbox_can_search_and_describe() -> Result<()> {
    let files = tempfile::tempdir()?;
    let host = host_with_real_servers(files.path()).await?;
    let code = r#"
const found = await mcp.search("list a directory", { detail: "name", limit: 2 });
const declaration = await mcp.describe("filesystem.list_directory");
let missing = "";
try { await mcp.describe("nope.tool"); } catch (e) { missing = e.name; }
return { first: found[0].name, count: found.length, typed: declaration.includes("listDirectory(args: ListDirectoryArgs)"), missing };
"#;
    let response = host.execute(code).await?;
    assert_eq!(
        expect_result(&response),
        &json!({"first": "filesystem.list_directory", "count": 2, "typed": true, "missing": "McpNotFoundError"})
    );
    let scoped_code = "return (await mcp.search('read a file', {detail: 'name', limit: 100})).map((t) => t.name).filter((n) => !n.startsWith('skills/')).map((n) => n.split('.')[0]);";
    let scoped = host.execute_with(json!({"code": scoped_code, "mcpServers": ["memory"]})).await?;
    let servers = expect_result(&scoped).as_array().context("names")?;
    assert!(!servers.is_empty() && servers.iter().all(|server| server == "memory"), "search sees only granted servers (and skills): {scoped}");
    Ok(())
}

#[tokio::test]
async fn the_types_command_writes_the_golden_declarations_and_they_compile() -> Result<()> {
    let files = tempfile::tempdir()?;
    let out = tempfile::tempdir()?;
    let config = files.path().join("mcp.json");
    std::fs::write(&config, serde_json::to_vec(&json!({ "mcpServers": real_servers(files.path()) }))?)?;
    write_types(&config, out.path())?;
    for server in ["everything", "memory", "filesystem"] {
        let generated = std::fs::read_to_string(out.path().join(format!("{server}.d.ts")))?;
        let golden = std::fs::read_to_string(tests_dir().join(format!("fixtures/expected/{server}.d.ts")))?;
        assert_eq!(generated, golden, "{server}.d.ts differs from its golden (re-record the fixture if the pinned server changed)");
    }
    let index = std::fs::read_to_string(out.path().join("index.d.ts"))?;
    assert!(index.contains("./runtime.d.ts") && index.contains("./filesystem.d.ts"), "{index}");
    let sample = "import * as fs from \"mcp://filesystem\";\nasync function main(): Promise<number> {\n  const memory = await import(\"mcp://memory\");\n  await memory.createEntities({ entities: [{ name: \"a\", entityType: \"t\", observations: [] }] });\n  const info = await fs.getFileInfo({ path: \"/tmp\" });\n  console.log(info);\n  // @ts-expect-error: path must be a string\n  await fs.readTextFile({ path: 5 });\n  return (await mcp.servers()).length;\n}\nmain();\n";
    std::fs::write(out.path().join("sample.ts"), sample)?;
    let tsconfig = json!({
        "compilerOptions": { "strict": true, "noEmit": true, "target": "es2022", "module": "esnext", "moduleResolution": "bundler", "lib": ["es2022"], "types": [] },
        "files": ["index.d.ts", "sample.ts"]
    });
    std::fs::write(out.path().join("tsconfig.json"), serde_json::to_vec_pretty(&tsconfig)?)?;
    run_tsc(&["-p", out.path().to_str().context("utf-8 path")?])
}

#[tokio::test]
async fn generated_declarations_of_every_fixture_compile_with_the_runtime_api() -> Result<()> {
    run_tsc(&["-p", tests_dir().join("typecheck").to_str().context("utf-8 path")?])
}

fn run_tsc(args: &[&str]) -> Result<()> {
    let tsc = tests_dir().join("node_modules/.bin/tsc");
    let output = Command::new(&tsc).args(args).output().with_context(|| format!("run {}", tsc.display()))?;
    assert!(
        output.status.success(),
        "tsc failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

#[tokio::test]
async fn the_hosts_own_tool_list_stays_small() -> Result<()> {
    let files = tempfile::tempdir()?;
    let host = host_with_real_servers(files.path()).await?;
    let tools = host.client.list_all_tools().await?;
    let (skills, core): (Vec<_>, Vec<_>) = tools.into_iter().partition(|tool| tool.name.starts_with("skill_"));
    let mut names: Vec<&str> = core.iter().map(|tool| tool.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(names, ["delete_skill", "describe_tools", "execute_code", "list_mcp_servers", "runtime_stats", "save_skill", "search_tools"]);
    let tokenizer = tiktoken_rs::cl100k_base()?;
    let listing = serde_json::to_string(&json!({ "tools": core }))?;
    let tokens = tokenizer.encode_with_special_tokens(&listing).len();
    println!("tools/list without skills: {tokens} tokens ({} bytes)", listing.len());
    assert!(tokens < 1500, "the host's own tools are {tokens} tokens");
    assert!(!skills.is_empty(), "the built-in skills are tools");
    for skill in &skills {
        let tokens = tokenizer.encode_with_special_tokens(&serde_json::to_string(skill)?).len();
        println!("{}: {tokens} tokens", skill.name);
        assert!(tokens <= 300, "{} adds {tokens} tokens", skill.name);
    }
    Ok(())
}
