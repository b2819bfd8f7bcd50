//! The MCP handler: the tool list and one small function per tool.
//!
//! `tools/list` and `tools/call` are implemented by hand rather than with
//! `#[tool_router]` because `notify_change` changes the tool list at run time,
//! and because arguments that do not parse must give a tool error result.

use std::{
    io::Write,
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use rmcp::{
    ErrorData as McpError, Peer, RoleServer, ServerHandler,
    handler::server::tool::schema_for_input,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, CancelledNotificationParam,
        ContentBlock, Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
        ServerConfig, Tool, ToolAnnotations,
    },
    service::{NotificationContext, RequestContext},
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// The most bytes `big` returns, so a huge request is an error, not an abort.
const MAX_BIG_BYTES: usize = 64 * 1024 * 1024;

/// A 1x1 red PNG, base64.
const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==";

/// What a tool returns: a result, or the text of a tool error result.
type Outcome = Result<CallToolResult, String>;

/// Only validated: `echo` replies with the arguments as received.
#[derive(Deserialize, JsonSchema)]
#[expect(dead_code, reason = "the fields are only validated, never read")]
struct EchoArgs {
    /// Any text.
    message: String,
    /// Any object, echoed back as is.
    extra: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize, JsonSchema)]
struct SlowArgs {
    /// How long to sleep, in milliseconds.
    ms: u64,
}

#[derive(Deserialize, JsonSchema)]
struct FailArgs {
    /// The error text (default "failed on purpose").
    message: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
struct BigArgs {
    /// The exact length of the returned text, in bytes.
    bytes: usize,
}

#[derive(Deserialize, JsonSchema)]
struct StructuredArgs {
    /// Any JSON value (default 42).
    value: Option<Value>,
}

/// What `typed` declares it returns: `{value: integer}`. It returns `{value}`
/// with the value it is given, so a non-integer drifts from this schema.
#[derive(JsonSchema)]
#[expect(dead_code, reason = "only its schema is used")]
struct TypedOutput {
    value: i64,
}

/// The most bytes one `stderr_flood` line or `giant_line` may have.
const MAX_FLOOD_BYTES: usize = 1024 * 1024 * 1024;
/// Floods and giant lines are written in chunks of this size.
const CHUNK_BYTES: usize = 1024 * 1024;

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct StderrFloodArgs {
    /// Length of the one huge line (default 1 MiB).
    line_bytes: Option<usize>,
    /// Short lines written after it (default 10,000).
    lines: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
struct GiantLineArgs {
    /// Length of the line written to stdout, in bytes.
    bytes: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct NotifyChangeArgs {
    /// Make the next `tools/list` fail.
    fail_next_list: Option<bool>,
}

/// The arguments of the tools that take none.
#[derive(JsonSchema)]
struct NoArgs {}

/// The server state: the name it reports and what the tools remember.
pub struct TestServer {
    name: String,
    counter_calls: AtomicU64,
    tools_changed: AtomicBool,
    fail_next_list: AtomicBool,
    /// The request ids named by the `notifications/cancelled` received.
    cancelled: Mutex<Vec<Value>>,
}

impl TestServer {
    pub fn new(name: String) -> Self {
        Self {
            name,
            counter_calls: AtomicU64::new(0),
            tools_changed: AtomicBool::new(false),
            fail_next_list: AtomicBool::new(false),
            cancelled: Mutex::new(Vec::new()),
        }
    }

    fn tools_changed(&self) -> bool {
        self.tools_changed.load(Ordering::SeqCst)
    }

    fn tools(&self) -> Vec<Tool> {
        let mut tools = vec![
            tool::<EchoArgs>("echo", "Returns the JSON of its arguments as text."),
            tool::<SlowArgs>(
                "slow",
                "Sleeps `ms` milliseconds, then returns {\"slept\": ms}.",
            ),
            tool::<FailArgs>("fail", "Returns a tool error result with `message`."),
            tool::<NoArgs>("crash", "Exits the server process without answering."),
            tool::<NoArgs>("hang", "Never answers."),
            tool::<BigArgs>("big", "Returns one text block of exactly `bytes` bytes."),
            tool::<StructuredArgs>("structured", "Returns structuredContent {value, kind}."),
            tool::<StructuredArgs>("typed", "Returns structuredContent {value}; declares value an integer.")
                .with_output_schema::<TypedOutput>(),
            tool::<NoArgs>("image", "Returns a 1x1 PNG image block and a text block."),
            tool::<NoArgs>(
                "counter",
                "Returns {\"count\": n}, n counting calls to counter.",
            )
            .annotate(ToolAnnotations::new().read_only(true)),
            tool::<NotifyChangeArgs>(
                "notify_change",
                "Sends tools/list_changed and adds added_later.",
            ),
            tool::<NoArgs>("get_env", "Returns this process's environment."),
            tool::<StderrFloodArgs>(
                "stderr_flood",
                "Writes a huge line, a non-UTF-8 line and many lines to stderr.",
            ),
            tool::<GiantLineArgs>(
                "giant_line",
                "Writes a line of `bytes` bytes to stdout, then never answers.",
            ),
            tool::<NoArgs>(
                "cancellations",
                "Returns the notifications/cancelled received.",
            ),
            tool::<NoArgs>("get-time-zone", "Returns \"UTC\"."),
            tool::<NoArgs>("get_user_name", "Returns \"tester\"."),
        ];
        if self.tools_changed() {
            tools.push(tool::<NoArgs>("added_later", "Returns \"added later\"."));
        }
        tools
    }

    fn counter(&self) -> CallToolResult {
        let count = self.counter_calls.fetch_add(1, Ordering::SeqCst) + 1;
        json_text(&json!({ "count": count }))
    }

    async fn notify_change(&self, args: &Value, peer: &Peer<RoleServer>) -> Outcome {
        let NotifyChangeArgs { fail_next_list } = parse(args)?;
        self.fail_next_list
            .store(fail_next_list.unwrap_or(false), Ordering::SeqCst);
        self.tools_changed.store(true, Ordering::SeqCst);
        peer.notify_tool_list_changed()
            .await
            .map_err(|error| format!("cannot send notifications/tools/list_changed: {error}"))?;
        Ok(text("tool list changed: added_later is now listed"))
    }

    fn cancellations(&self) -> CallToolResult {
        let ids = self.cancelled.lock().expect("cancellations lock").clone();
        json_text(&json!({ "count": ids.len(), "ids": ids }))
    }
}

impl ServerHandler for TestServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(&self.name, env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        if self.fail_next_list.swap(false, Ordering::SeqCst) {
            return Err(McpError::internal_error(
                "tools/list fails on purpose",
                None,
            ));
        }
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn on_cancelled(
        &self,
        notification: CancelledNotificationParam,
        _context: NotificationContext<RoleServer>,
    ) {
        let id = serde_json::to_value(&notification.request_id).unwrap_or(Value::Null);
        self.cancelled.lock().expect("cancellations lock").push(id);
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let args = Value::Object(request.arguments.unwrap_or_default());
        let outcome = match request.name.as_ref() {
            "echo" => echo(&args),
            "slow" => slow(&args).await,
            "fail" => fail(&args),
            "crash" => crash(),
            "hang" => hang().await,
            "big" => big(&args),
            "structured" => structured(&args),
            "typed" => typed(&args),
            "image" => Ok(image()),
            "counter" => Ok(self.counter()),
            "notify_change" => self.notify_change(&args, &context.peer).await,
            "get_env" => Ok(get_env()),
            "stderr_flood" => stderr_flood(&args).await,
            "giant_line" => giant_line(&args).await,
            "cancellations" => Ok(self.cancellations()),
            "added_later" if self.tools_changed() => Ok(text("added later")),
            "get-time-zone" => Ok(text("UTC")),
            "get_user_name" => Ok(text("tester")),
            name => {
                return Err(McpError::invalid_params(
                    format!("tool not found: {name}"),
                    None,
                ));
            }
        };
        let result = outcome
            .unwrap_or_else(|message| CallToolResult::error(vec![ContentBlock::text(message)]));
        Ok(result.into())
    }
}

/// A tool whose input schema is that of `Args`. The schema comes from a type in
/// this file, not from input: a non-object schema is a bug here, hence the panic.
fn tool<Args: JsonSchema + 'static>(name: &'static str, description: &'static str) -> Tool {
    Tool::new(
        name,
        description,
        schema_for_input::<Args>().unwrap_or_else(|error| panic!("{name}: {error}")),
    )
}

/// Reads a tool's arguments as `T`; a mismatch is the text of a tool error.
fn parse<'a, T: Deserialize<'a>>(args: &'a Value) -> Result<T, String> {
    T::deserialize(args).map_err(|error| format!("invalid arguments: {error}"))
}

fn text(text: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(text)])
}

fn json_text(value: &Value) -> CallToolResult {
    text(value.to_string())
}

fn echo(args: &Value) -> Outcome {
    parse::<EchoArgs>(args)?;
    Ok(json_text(args))
}

async fn slow(args: &Value) -> Outcome {
    let SlowArgs { ms } = parse(args)?;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(json_text(&json!({ "slept": ms })))
}

fn fail(args: &Value) -> Outcome {
    let FailArgs { message } = parse(args)?;
    Err(message.unwrap_or_else(|| "failed on purpose".to_owned()))
}

fn crash() -> Outcome {
    eprintln!("test-server: crashing on purpose");
    std::process::exit(1)
}

async fn hang() -> Outcome {
    std::future::pending().await
}

fn big(args: &Value) -> Outcome {
    let BigArgs { bytes } = parse(args)?;
    if bytes > MAX_BIG_BYTES {
        return Err(format!("bytes must be at most {MAX_BIG_BYTES}"));
    }
    Ok(text("x".repeat(bytes)))
}

fn structured(args: &Value) -> Outcome {
    let StructuredArgs { value } = parse(args)?;
    let content = json!({ "value": value.unwrap_or(json!(42)), "kind": "structured" });
    Ok(CallToolResult::structured(content))
}

fn typed(args: &Value) -> Outcome {
    let StructuredArgs { value } = parse(args)?;
    Ok(CallToolResult::structured(json!({ "value": value.unwrap_or(json!(42)) })))
}

fn image() -> CallToolResult {
    CallToolResult::success(vec![
        ContentBlock::image(PNG_BASE64, "image/png"),
        ContentBlock::text("an image"),
    ])
}

fn get_env() -> CallToolResult {
    let env: serde_json::Map<String, Value> = std::env::vars_os()
        .map(|(key, value)| {
            let value = Value::String(value.to_string_lossy().into_owned());
            (key.to_string_lossy().into_owned(), value)
        })
        .collect();
    json_text(&Value::Object(env))
}

async fn stderr_flood(args: &Value) -> Outcome {
    let StderrFloodArgs { line_bytes, lines } = parse(args)?;
    let line_bytes = line_bytes.unwrap_or(CHUNK_BYTES);
    if line_bytes > MAX_FLOOD_BYTES {
        return Err(format!("lineBytes must be at most {MAX_FLOOD_BYTES}"));
    }
    flood_stderr(line_bytes, lines.unwrap_or(10_000))
        .map_err(|error| format!("stderr: {error}"))?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    eprintln!("test-server: the flood is over");
    Ok(json_text(&json!({ "written": true })))
}

/// One line of `line_bytes` bytes, one that is not UTF-8, then `lines` short ones.
fn flood_stderr(line_bytes: usize, lines: u32) -> std::io::Result<()> {
    let mut stderr = std::io::stderr().lock();
    write_line_of_x(&mut stderr, line_bytes)?;
    stderr.write_all(b"not UTF-8: \xff\xfe\xc3\n")?;
    for line in 0..lines {
        writeln!(stderr, "flood line {line}")?;
    }
    Ok(())
}

async fn giant_line(args: &Value) -> Outcome {
    let GiantLineArgs { bytes } = parse(args)?;
    if bytes > MAX_FLOOD_BYTES {
        return Err(format!("bytes must be at most {MAX_FLOOD_BYTES}"));
    }
    let written =
        tokio::task::spawn_blocking(move || write_line_of_x(&mut std::io::stdout().lock(), bytes))
            .await;
    match written {
        Ok(Ok(())) => std::future::pending().await,
        Ok(Err(error)) => Err(format!("stdout: {error}")),
        Err(error) => Err(format!("the writer failed: {error}")),
    }
}

/// Writes `bytes` bytes of `x` and a newline, in chunks.
fn write_line_of_x(out: &mut impl Write, bytes: usize) -> std::io::Result<()> {
    let chunk = vec![b'x'; CHUNK_BYTES.min(bytes)];
    let mut left = bytes;
    while left > 0 {
        let now = left.min(chunk.len());
        out.write_all(&chunk[..now])?;
        left -= now;
    }
    out.write_all(b"\n")?;
    out.flush()
}
