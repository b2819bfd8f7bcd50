//! OpenTelemetry export (`make otel-test`): a host built with the `otel`
//! feature sends its `run` and `tool_call` spans to the OTLP/HTTP endpoint
//! named by `OTEL_EXPORTER_OTLP_ENDPOINT`, here a tiny collector on
//! 127.0.0.1 that keeps every JSON body POSTed to `/v1/traces`. Ignored by
//! `cargo test`: the host binary it needs is not the one `make build` makes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::util::{Host, HostOptions, expect_result, test_server_binary, wait_for_exit};

/// The largest request body the collector reads.
const MAX_BODY: usize = 16 << 20;

/// The bodies POSTed to `/v1/traces`, parsed.
type Received = Arc<Mutex<Vec<Value>>>;

/// Starts the collector; returns its base URL and what it receives.
async fn collector() -> Result<(String, Received)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let received = Received::default();
    let keep = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let keep = Arc::clone(&keep);
            tokio::spawn(async move {
                if let Err(error) = serve_connection(stream, &keep).await {
                    eprintln!("collector: {error:#}");
                }
            });
        }
    });
    Ok((url, received))
}

/// Answers the HTTP/1.1 requests of one connection until it closes.
async fn serve_connection(stream: TcpStream, received: &Received) -> Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut length = None;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).await?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = Some(value.trim().parse::<usize>()?);
            }
        }
        let length = length.context("a request without Content-Length")?;
        if length > MAX_BODY {
            bail!("a body of {length} bytes");
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        if request_line.starts_with("POST /v1/traces ") {
            received.lock().unwrap().push(serde_json::from_slice(&body).context("an OTLP body that is not JSON")?);
        }
        reader.get_mut().write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}").await?;
    }
}

/// Every span received, with its resource's `service.name`.
fn spans(received: &Received) -> Vec<(Option<String>, Value)> {
    let bodies = received.lock().unwrap();
    let mut spans = Vec::new();
    for resource_spans in bodies.iter().flat_map(|body| body["resourceSpans"].as_array().cloned().unwrap_or_default()) {
        let service = attribute(&resource_spans["resource"], "service.name");
        for scope in resource_spans["scopeSpans"].as_array().cloned().unwrap_or_default() {
            for span in scope["spans"].as_array().cloned().unwrap_or_default() {
                spans.push((service.clone(), span));
            }
        }
    }
    spans
}

/// The value of the attribute `key` of `item` (a span or resource), as text.
fn attribute(item: &Value, key: &str) -> Option<String> {
    let found = item["attributes"].as_array()?.iter().find(|attribute| attribute["key"] == json!(key))?;
    // An AnyValue is one field: {"stringValue": ...}, {"boolValue": ...}...
    let value = found["value"].as_object()?.values().next()?;
    Some(value.as_str().map_or_else(|| value.to_string(), str::to_owned))
}

#[tokio::test]
#[ignore = "needs the host built with `--features otel`: run `make otel-test`"]
async fn runs_and_tool_calls_are_exported_as_spans() -> Result<()> {
    let (url, received) = collector().await?;
    let host = Host::start_with(HostOptions {
        servers: json!({"test": {"command": test_server_binary()}}),
        env: vec![("OTEL_EXPORTER_OTLP_ENDPOINT".into(), url)],
        ..HostOptions::default()
    })
    .await?;
    let code = "const echoed = await mcp.call(\"test\", \"echo\", { message: \"traced\" });\n\
                try { await mcp.call(\"test\", \"fail\", {}); } catch {}\n\
                return echoed;";
    let result = expect_result(&host.execute(code).await?).to_string();
    assert!(result.contains("traced"), "the server echoed the call: {result}");
    // The host flushes its spans as it shuts down.
    let pid = host.pid;
    host.client.cancel().await?;
    assert!(wait_for_exit(pid, Duration::from_secs(60)).await, "the host exits once its client is gone");

    let spans = spans(&received);
    let named = |name: &str| spans.iter().filter(|(_, span)| span["name"] == json!(name)).collect::<Vec<_>>();
    let runs = named("run");
    assert_eq!(runs.len(), 1, "one run span: {spans:#?}");
    let (service, run) = runs[0];
    assert_eq!(service.as_deref(), Some("mcp-code-runtime"));
    assert_eq!(attribute(run, "entry").as_deref(), Some("execute_code"));
    assert_eq!(attribute(run, "ok").as_deref(), Some("true"));
    let mut calls: Vec<(Option<String>, Option<String>, Option<String>, Option<String>)> = named("tool_call")
        .into_iter()
        .map(|(_, call)| {
            assert_eq!((&call["traceId"], &call["parentSpanId"]), (&run["traceId"], &run["spanId"]), "a tool call is a child of its run");
            (attribute(call, "server"), attribute(call, "tool"), attribute(call, "ok"), attribute(call, "error.kind"))
        })
        .collect();
    calls.sort();
    let some = |text: &str| Some(text.to_owned());
    assert_eq!(calls, [(some("test"), some("echo"), some("true"), None), (some("test"), some("fail"), some("false"), some("tool_error"))]);
    Ok(())
}
