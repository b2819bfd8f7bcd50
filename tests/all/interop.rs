//! Other MCP clients than rmcp's: the Python `mcp` SDK, and a raw JSON-RPC
//! client that speaks the older 2025-06-18 protocol and checks that stdout
//! carries nothing but protocol messages.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::util::{host_binary, shared_cache_dir, tests_dir};

#[test]
fn the_python_sdk_client_works() -> Result<()> {
    let python = tests_dir().join(".venv/bin/python");
    let output = Command::new(&python)
        .arg(tests_dir().join("python/client_interop.py"))
        .arg(host_binary())
        .arg(shared_cache_dir())
        .output()
        .with_context(|| format!("run {} (make setup installs it)", python.display()))?;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let seen: Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(seen["server"], json!("mcp-code-runtime"));
    let tools: Vec<&str> = seen["tools"].as_array().context("tool names")?.iter().filter_map(Value::as_str).collect();
    let core: Vec<&str> = tools.iter().copied().filter(|name| !name.starts_with("skill_")).collect();
    assert_eq!(core, ["delete_skill", "describe_tools", "execute_code", "list_mcp_servers", "runtime_stats", "save_skill", "search_tools"]);
    assert!(tools.contains(&"skill_knowledge-graph-report"), "the built-in skills are tools: {tools:?}");
    assert_eq!(seen["ok"]["isError"], json!(false));
    assert_eq!(seen["ok"]["structured"]["result"], json!(6));
    assert_eq!(seen["ok"]["structured"]["logs"], json!([{"level": "info", "message": "sum"}]));
    assert!(seen["ok"]["text"].as_str().unwrap().starts_with("6\n"), "{seen}");
    assert_eq!(seen["failed"], json!({"isError": true, "kind": "runtime_error"}));
    assert_eq!(
        seen["resources"],
        json!(["mcp-code-runtime://types/runtime.d.ts", "mcp-code-runtime://types/skills.d.ts", "mcp-code-runtime://skills/docs.md"])
    );
    Ok(())
}

#[test]
fn an_older_protocol_client_works_and_stdout_is_only_protocol() -> Result<()> {
    let mut host = Command::new(host_binary())
        .arg("serve")
        .arg("--cache-dir")
        .arg(shared_cache_dir())
        .env("RUST_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = host.stdin.take().context("stdin")?;
    let mut stdout = BufReader::new(host.stdout.take().context("stdout")?);
    let mut send = |message: Value| writeln!(stdin, "{message}");
    send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}))?;
    let initialized = read_message(&mut stdout)?;
    assert_eq!(initialized["result"]["protocolVersion"], json!("2025-06-18"), "{initialized}");
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "execute_code", "arguments": {"code": "console.log('to the result, not stdout'); return [1, 2];"}}}))?;
    let called = read_message(&mut stdout)?;
    assert_eq!(called["id"], json!(2));
    assert_eq!(called["result"]["structuredContent"]["result"], json!([1, 2]), "{called}");
    send(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "execute_code", "arguments": {"timeout": 5}}}))?;
    let invalid = read_message(&mut stdout)?;
    assert_eq!(invalid["result"]["isError"], json!(true), "missing code is a tool error: {invalid}");
    assert!(invalid["result"]["content"][0]["text"].as_str().unwrap().contains("missing field `code`"), "{invalid}");
    drop(send);
    drop(stdin);
    let mut rest = String::new();
    while stdout.read_line(&mut rest)? > 0 {}
    assert!(rest.trim().is_empty(), "stdout carried more than protocol messages: {rest}");
    assert!(host.wait()?.success());
    Ok(())
}

/// The next line of stdout, which must be one JSON-RPC message.
fn read_message(stdout: &mut impl BufRead) -> Result<Value> {
    let mut line = String::new();
    stdout.read_line(&mut line)?;
    let message: Value = serde_json::from_str(&line).with_context(|| format!("stdout line is not JSON: {line:?}"))?;
    assert_eq!(message["jsonrpc"], json!("2.0"), "{message}");
    Ok(message)
}
