//! Output that respects the model's context, through the real binary: a lean
//! default response (full stats on request), results and logs cut to the token
//! budget with a preview and a pageable `mcp-code-runtime://results/` resource
//! that reassembles byte for byte, kept results that expire or are evicted,
//! and downstream results that drift from their `outputSchema` reported as
//! warnings in the logs.

use std::time::Duration;

use anyhow::{Context, Result};
use rmcp::model::{CallToolResult, ContentBlock, ReadResourceRequestParams, ReadResourceResult, ResourceContents};
use serde_json::{Value, json};

use crate::util::{Host, HostOptions, expect_result, test_server_binary};

const RESULTS: &str = "mcp-code-runtime://results/";
/// The default `maxResultTokens`.
const BUDGET: usize = 4000;

async fn host_with(runtime: Value) -> Result<Host> {
    let servers = json!({ "test": { "command": test_server_binary() } });
    Host::start_with(HostOptions { servers, runtime, ..Default::default() }).await
}

fn tokens(text: &str) -> usize {
    tiktoken_rs::cl100k_base_singleton().encode_with_special_tokens(text).len()
}

/// What Claude Code passes the model (`JSON.stringify(structuredContent)`)
/// and what other clients pass (the text content), in tokens.
fn response_tokens(result: &CallToolResult) -> (usize, usize) {
    let structured = serde_json::to_string(result.structured_content.as_ref().expect("structured content")).unwrap();
    (tokens(&structured), tokens(&text_of(result)))
}

fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|block| block.as_text()).map(|text| text.text.clone()).collect::<Vec<_>>().join("\n")
}

fn links_of(result: &CallToolResult) -> Vec<rmcp::model::Resource> {
    result.content.iter().filter_map(ContentBlock::as_resource_link).cloned().collect()
}

async fn execute(host: &Host, arguments: Value) -> Result<(CallToolResult, Value)> {
    let result = host.call("execute_code", arguments).await?;
    let structured = result.structured_content.clone().context("execute_code returns structured content")?;
    Ok((result, structured))
}

/// A deterministic result of about `rows` × 55 bytes of JSON, with
/// multi-byte characters so pages end inside them unless cut with care.
fn rows_program(rows: usize) -> String {
    format!("const rows = []; for (let i = 0; i < {rows}; i++) rows.push({{ id: i, name: `row ${{i}} é`, tags: ['😀', 'x'.repeat(i % 7)] }}); return rows;")
}

/// The JSON text of what [`rows_program`] returns.
fn rows_json(rows: usize) -> String {
    let rows: Vec<Value> = (0..rows).map(|i| json!({ "id": i, "name": format!("row {i} é"), "tags": ["😀", "x".repeat(i % 7)] })).collect();
    serde_json::to_string(&rows).unwrap()
}

async fn read(host: &Host, uri: &str) -> Result<ReadResourceResult, rmcp::ServiceError> {
    host.client.read_resource(ReadResourceRequestParams::new(uri)).await
}

/// Reads `uri` page by page (`limit` bytes each), following each page's
/// next offset, and returns the pages' text joined.
async fn read_all_pages(host: &Host, uri: &str, limit: usize) -> Result<String> {
    let (mut whole, mut offset, mut pages) = (String::new(), 0u64, 0);
    loop {
        let page_uri = format!("{uri}?offset={offset}&limit={limit}");
        let read = read(host, &page_uri).await?;
        let ResourceContents::TextResourceContents { text, meta, uri: answered, .. } = &read.contents[0] else { panic!("text contents") };
        assert_eq!(answered, &page_uri);
        assert!(text.len() <= limit, "a page of {} bytes for a limit of {limit}", text.len());
        let meta = serde_json::to_value(meta.as_ref().context("a page has _meta")?)?;
        assert_eq!(meta["offset"], json!(offset), "{meta}");
        whole.push_str(text);
        pages += 1;
        match meta["nextOffset"].as_u64() {
            Some(next) => {
                assert_eq!(next, offset + text.len() as u64, "pages are contiguous: {meta}");
                let ResourceContents::TextResourceContents { uri: next_uri, text: note, .. } = &read.contents[1] else { panic!("a note") };
                assert_eq!(next_uri, &format!("{uri}?offset={next}&limit={limit}"), "the note names the next page");
                assert!(note.contains(&meta["totalBytes"].to_string()), "{note}");
                offset = next;
            }
            None => {
                assert_eq!(meta["totalBytes"], json!(whole.len()), "the last page ends at the total: {meta}");
                assert_eq!(read.contents.len(), 1, "no note after the last page");
                break;
            }
        }
        assert!(pages < 10_000, "paging does not end");
    }
    Ok(whole)
}

fn not_found(error: &rmcp::ServiceError) -> String {
    match error {
        rmcp::ServiceError::McpError(data) => {
            assert_eq!(data.code, rmcp::model::ErrorCode::RESOURCE_NOT_FOUND, "{data:?}");
            data.message.to_string()
        }
        other => panic!("expected resource-not-found, got {other:?}"),
    }
}

#[tokio::test]
async fn a_trivial_response_is_lean_by_default_and_full_on_request() -> Result<()> {
    let host = host_with(Value::Null).await?;
    let code = "const t = await import('mcp://test'); await t.echo({ message: 'hi' }); return 1;";
    let (lean, lean_structured) = execute(&host, json!({ "code": code })).await?;
    let (full, full_structured) = execute(&host, json!({ "code": code, "stats": "full" })).await?;
    let (lean_json, lean_text) = response_tokens(&lean);
    let (full_json, full_text) = response_tokens(&full);
    println!("trivial response, lean: {lean_json} tokens as structuredContent, {lean_text} as text: {lean_structured}");
    println!("trivial response, full: {full_json} tokens as structuredContent, {full_text} as text: {full_structured}");
    // Before lean stats, every response had the full stats without `calls`, and the text its fuel and memory.
    let mut before = full_structured.clone();
    before["stats"].as_object_mut().context("stats")?.remove("calls");
    let before_text = text_of(&full).replace(", 1 tool call", "");
    println!("trivial response, before: {} tokens as structuredContent, {} as text", tokens(&before.to_string()), tokens(&before_text));

    let stats = lean_structured["stats"].as_object().context("stats")?;
    let mut keys: Vec<&str> = stats.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["calls", "durationMs"], "lean stats: {lean_structured}");
    assert_eq!(stats["calls"], json!(1));
    assert_eq!(lean_structured["result"], json!(1));
    assert_eq!(full_structured["stats"]["calls"], json!(1));
    assert_eq!(full_structured["stats"]["toolCalls"]["test"]["calls"], json!(1), "{full_structured}");
    assert!(full_structured["stats"]["fuelUsed"].as_u64().is_some_and(|fuel| fuel > 0), "{full_structured}");
    assert!(full_structured["stats"]["memoryPeakBytes"].as_u64().is_some_and(|bytes| bytes > 0), "{full_structured}");
    assert!(lean_json < full_json && lean_text < full_text, "lean is smaller: {lean_json} < {full_json}, {lean_text} < {full_text}");
    assert!(lean_json <= 30 && lean_text <= 20, "a trivial lean response costs {lean_json} / {lean_text} tokens");
    assert!(text_of(&lean).contains("1 tool call"), "{}", text_of(&lean));
    Ok(())
}

#[tokio::test]
async fn the_configured_stats_level_is_the_default_and_a_call_can_override_it() -> Result<()> {
    let host = host_with(json!({ "statsLevel": "full" })).await?;
    let (_, full) = execute(&host, json!({ "code": "return 2;" })).await?;
    assert!(full["stats"]["fuelUsed"].is_u64(), "full by config: {full}");
    let (_, lean) = execute(&host, json!({ "code": "return 2;", "stats": "lean" })).await?;
    assert!(lean["stats"].get("fuelUsed").is_none() && lean["stats"]["durationMs"].is_f64(), "lean by argument: {lean}");
    // rmcp answers arguments that do not parse with a tool error naming the choices.
    let refused = host.call("execute_code", json!({ "code": "return 2;", "stats": "verbose" })).await?;
    assert!(refused.is_error == Some(true) && refused.structured_content.is_none(), "{refused:?}");
    assert!(text_of(&refused).contains("`lean` or `full`"), "{}", text_of(&refused));
    Ok(())
}

#[tokio::test]
async fn an_oversized_result_becomes_a_preview_and_a_pageable_resource_that_reassembles_byte_for_byte() -> Result<()> {
    let host = host_with(json!({ "limits": { "maxResultBytes": 4 << 20 } })).await?;
    let rows = 38_000;
    let expected = rows_json(rows);
    assert!(expected.len() > 2 << 20, "the result is over 2 MiB: {}", expected.len());
    let started = std::time::Instant::now();
    let (result, structured) = execute(&host, json!({ "code": rows_program(rows) })).await?;
    println!("a {} byte result answered in {:?}", expected.len(), started.elapsed());

    assert_eq!(structured["ok"], json!(true), "{}", text_of(&result));
    assert_eq!(structured["result"], Value::Null, "the result is not sent whole");
    let truncated = &structured["truncated"];
    let uri = truncated["uri"].as_str().context("truncated.uri")?;
    assert!(uri.starts_with(RESULTS), "{uri}");
    assert_eq!(truncated["bytes"], json!(expected.len()));
    assert!(truncated["tokens"].as_u64().is_some_and(|tokens| tokens > 100_000), "{truncated}");
    let preview = truncated["preview"].as_str().context("truncated.preview")?;
    assert!(preview.starts_with(&expected[..200]) && preview.ends_with(&expected[expected.len() - 200..]), "head and tail: {preview:.300}");
    assert!(tokens(preview) <= BUDGET, "the preview is {} tokens", tokens(preview));
    let hint = truncated["hint"].as_str().context("truncated.hint")?;
    for needed in [uri, "resources/read", "offset=", "limit="] {
        assert!(hint.contains(needed), "the hint says {needed:?}: {hint}");
    }
    let (as_json, as_text) = response_tokens(&result);
    println!("the cut response: {as_json} tokens as structuredContent, {as_text} as text");
    assert!(as_json <= BUDGET + 400 && as_text <= BUDGET + 400, "{as_json} / {as_text} tokens");
    let text = text_of(&result);
    assert!(text.contains(uri) && text.contains("resources/read") && text.contains(&expected[..200]), "{text:.600}");
    let links = links_of(&result);
    assert_eq!(links.len(), 1, "one resource_link: {links:?}");
    assert_eq!((links[0].uri.as_str(), links[0].size), (uri, Some(expected.len() as u64)));
    assert_eq!(links[0].mime_type.as_deref(), Some("application/json"));

    // An odd page size ends pages inside multi-byte characters unless they are cut with care.
    let whole = read_all_pages(&host, uri, 65_537).await?;
    assert!(whole == expected, "the pages reassemble to the result ({} bytes vs {})", whole.len(), expected.len());
    // Without a query, the first page of the default size, which names the next.
    let first = read(&host, uri).await?;
    let ResourceContents::TextResourceContents { text, .. } = &first.contents[0] else { panic!("text contents") };
    assert!(expected.starts_with(text.as_str()) && text.len() < expected.len() && !text.is_empty(), "{}", text.len());
    let error = read(&host, &format!("{uri}?offset={}", expected.len() + 1)).await.expect_err("past the end");
    assert!(format!("{error:?}").contains("offset"), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn a_result_within_budget_is_untouched() -> Result<()> {
    let host = host_with(Value::Null).await?;
    let (result, structured) = execute(&host, json!({ "code": rows_program(100) })).await?;
    assert_eq!(serde_json::to_string(expect_result(&structured))?, rows_json(100));
    assert!(structured.get("truncated").is_none() && links_of(&result).is_empty(), "{structured}");
    Ok(())
}

#[tokio::test]
async fn logs_over_budget_keep_their_head_and_tail_and_the_rest_is_readable() -> Result<()> {
    let host = host_with(Value::Null).await?;
    let code = "for (let i = 0; i < 5000; i++) console.log(`line ${i}`); return 'done';";
    let (result, structured) = execute(&host, json!({ "code": code })).await?;
    assert_eq!(expect_result(&structured), &json!("done"), "a small result stays whole");
    let logs = structured["logs"].as_array().context("logs")?;
    assert!(logs.len() < 5000 && logs.len() > 10, "{} lines kept", logs.len());
    assert_eq!(logs[0]["message"], json!("line 0"));
    assert_eq!(logs[logs.len() - 1]["message"], json!("line 4999"));
    let marker = logs.iter().filter_map(|line| line["message"].as_str()).find(|message| message.contains(RESULTS)).context("a line says where the rest is")?;
    let uri = marker.split_whitespace().find(|word| word.starts_with(RESULTS)).context("the uri")?.trim_end_matches([',', ';', '.', ')']);
    assert!(uri.ends_with("/logs") && marker.contains("resources/read"), "{marker}");
    let kept = serde_json::to_string(&structured["logs"])?;
    assert!(tokens(&kept) <= BUDGET + 200, "the kept lines are {} tokens as JSON", tokens(&kept));
    assert!(links_of(&result).iter().any(|link| link.uri == uri), "a resource_link to the logs");
    let expected: Vec<String> = (0..5000).map(|i| format!("[log] line {i}")).collect();
    assert_eq!(read_all_pages(&host, uri, 10_000).await?, expected.join("\n"));
    Ok(())
}

#[tokio::test]
async fn results_that_expired_or_were_evicted_are_a_clear_resource_not_found() -> Result<()> {
    let rows = 38_000;
    // Room for one kept result: the second evicts the first.
    let host = host_with(json!({ "limits": { "maxResultBytes": 4 << 20 }, "resultStore": { "maxBytes": 3 << 20 } })).await?;
    let (_, first) = execute(&host, json!({ "code": rows_program(rows) })).await?;
    let (_, second) = execute(&host, json!({ "code": rows_program(rows) })).await?;
    let (first, second) = (first["truncated"]["uri"].as_str().context("uri")?, second["truncated"]["uri"].as_str().context("uri")?);
    assert_ne!(first, second, "every run has its own uri");
    let evicted = not_found(&read(&host, first).await.expect_err("the first result was evicted"));
    assert!(evicted.contains(first) && evicted.contains("run the program again"), "{evicted}");
    assert!(read(&host, second).await.is_ok(), "the newest result is kept");
    not_found(&read(&host, &format!("{RESULTS}nope")).await.expect_err("an unknown id"));

    // A result larger than the whole store is not kept, and the response says so.
    let small = host_with(json!({ "limits": { "maxResultBytes": 4 << 20 }, "resultStore": { "maxBytes": 1 << 20 } })).await?;
    let (_, unkept) = execute(&small, json!({ "code": rows_program(rows) })).await?;
    assert!(unkept["truncated"].get("uri").is_none(), "{}", unkept["truncated"]);
    assert!(unkept["truncated"]["hint"].as_str().is_some_and(|hint| hint.contains("resultStore.maxBytes")), "{}", unkept["truncated"]);

    let short = host_with(json!({ "limits": { "maxResultBytes": 4 << 20 }, "resultStore": { "ttlMs": 300 } })).await?;
    let (_, kept) = execute(&short, json!({ "code": rows_program(rows) })).await?;
    let uri = kept["truncated"]["uri"].as_str().context("uri")?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let expired = not_found(&read(&short, uri).await.expect_err("the result expired"));
    assert!(expired.contains("run the program again"), "{expired}");
    Ok(())
}

#[tokio::test]
async fn a_downstream_result_that_drifts_from_its_output_schema_is_a_warning_in_the_logs() -> Result<()> {
    let host = host_with(Value::Null).await?;
    let code = r#"
const t = await import("mcp://test");
const good = await t.typed({ value: 7 });
const drifted = await t.typed({ value: "seven" });
return { good, drifted };
"#;
    let (_, structured) = execute(&host, json!({ "code": code })).await?;
    assert_eq!(expect_result(&structured), &json!({ "good": { "value": 7 }, "drifted": { "value": "seven" } }), "never thrown");
    let warnings: Vec<&Value> = structured["logs"].as_array().context("logs")?.iter().filter(|line| line["level"] == json!("warn")).collect();
    assert_eq!(warnings.len(), 1, "one drifted call, one warning: {warnings:?}");
    let message = warnings[0]["message"].as_str().unwrap_or_default();
    for needed in ["test.typed", "outputSchema", "\"seven\"", "/value"] {
        assert!(message.contains(needed), "the warning says {needed:?}: {message}");
    }

    // Warnings are bounded: many drifted calls give a bounded number of lines.
    let many = "const t = await import('mcp://test'); for (let i = 0; i < 60; i++) await t.typed({ value: `v${i}` }); return 1;";
    let (_, structured) = execute(&host, json!({ "code": many })).await?;
    let lines = structured["logs"].as_array().context("logs")?;
    assert!(lines.len() <= 21 && lines.len() >= 2, "{} warning lines", lines.len());
    assert!(lines.last().and_then(|line| line["message"].as_str()).is_some_and(|last| last.contains("more")), "{lines:?}");
    Ok(())
}
