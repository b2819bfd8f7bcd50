//! What one run of a program produced: the value, the console, the error and
//! the resources used. This is the `structuredContent` of an `execute_code`
//! response, and [`RunOutcome::to_text`] is its compact `content` rendering.
//! The response carries the stats of a [`StatsLevel`] (lean by default) and,
//! when the result was cut to the token budget, what was cut ([`Truncated`]).
//!
//! It owns the response format only; nothing here runs code, counts tokens or
//! keeps results.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How deeply a run's result may nest arrays and objects. JSON parsers and
/// printers (serde_json's included) recurse per level, so deeper values are
/// refused before any of them sees one, with a message that says how to fix it.
pub const MAX_RESULT_DEPTH: usize = 128;

/// The deepest nesting of arrays and objects in `json`, a JSON text, found
/// without recursion (brackets inside strings do not count).
pub fn json_depth(json: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in json.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The result of one run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunOutcome {
    pub ok: bool,
    /// The program's return value (`null` when it failed or returned nothing).
    pub result: Value,
    pub logs: Vec<LogLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    /// Present when the result was over the token budget: `result` is then
    /// `null` and this says what it was and where to read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncated>,
    /// Declared as any object: its fields depend on the [`StatsLevel`], and
    /// its full schema would cost every client's tool list (see README).
    #[schemars(with = "serde_json::Map<String, Value>")]
    pub stats: RunStats,
}

/// A result cut to the token budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Truncated {
    /// The head and the tail of the result's JSON text.
    pub preview: String,
    /// The size of the whole result's JSON text.
    pub bytes: u64,
    /// Its cl100k tokens (estimated past the budget).
    pub tokens: u64,
    /// The resource holding the whole result; absent when it was too large to keep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// How to read the rest, in words.
    pub hint: String,
}

/// How many stats a response carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatsLevel {
    /// The duration and the number of tool calls.
    #[default]
    Lean,
    /// Everything: fuel, memory and tool use by server too.
    Full,
}

/// One console line, in the order the program wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Log,
    Warn,
    Error,
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RunError {
    pub kind: ErrorKind,
    pub message: String,
    /// 1-based line in the submitted source, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column in the submitted source, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The JavaScript stack, when the error carried one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
}

/// The kinds of failure. New kinds may be added; existing ones never change name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The source does not parse.
    SyntaxError,
    /// The program threw, or its promise rejected.
    RuntimeError,
    /// The wall-clock deadline passed.
    Timeout,
    /// The CPU budget (fuel) ran out.
    FuelExhausted,
    /// The program needed more memory than its cap.
    MemoryLimit,
    /// The result was larger than allowed.
    OutputLimit,
    /// The request itself was unusable (too large, bad arguments).
    InvalidInput,
    /// A downstream tool failed and the program did not catch it.
    ToolError,
    /// The program reached for a server or tool it was not granted.
    CapabilityDenied,
    /// The program exceeded a per-run tool limit.
    ToolLimit,
    /// A server or tool the program named does not exist, and it did not catch that.
    NotFound,
    /// A tool call ran past its own time limit, and the program did not catch that.
    ToolTimeout,
    /// A downstream server could not be reached, crashed or broke the protocol,
    /// and the program did not catch that.
    TransportError,
    /// A tool call's arguments were unusable, and the program did not catch that.
    InvalidArguments,
    /// The client cancelled the run.
    Cancelled,
    /// A tool call needed a human's approval, which was not given, and the
    /// program did not catch that.
    ApprovalDenied,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::SyntaxError => "syntax_error",
            ErrorKind::RuntimeError => "runtime_error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::FuelExhausted => "fuel_exhausted",
            ErrorKind::MemoryLimit => "memory_limit",
            ErrorKind::OutputLimit => "output_limit",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::ToolError => "tool_error",
            ErrorKind::CapabilityDenied => "capability_denied",
            ErrorKind::ToolLimit => "tool_limit",
            ErrorKind::NotFound => "not_found",
            ErrorKind::ToolTimeout => "tool_timeout",
            ErrorKind::TransportError => "transport_error",
            ErrorKind::InvalidArguments => "invalid_arguments",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::ApprovalDenied => "approval_denied",
        }
    }

    /// Every kind, in the order they were introduced.
    pub const ALL: [ErrorKind; 16] = [
        ErrorKind::SyntaxError,
        ErrorKind::RuntimeError,
        ErrorKind::Timeout,
        ErrorKind::FuelExhausted,
        ErrorKind::MemoryLimit,
        ErrorKind::OutputLimit,
        ErrorKind::InvalidInput,
        ErrorKind::ToolError,
        ErrorKind::CapabilityDenied,
        ErrorKind::ToolLimit,
        ErrorKind::NotFound,
        ErrorKind::ToolTimeout,
        ErrorKind::TransportError,
        ErrorKind::InvalidArguments,
        ErrorKind::Cancelled,
        ErrorKind::ApprovalDenied,
    ];

    /// The kind named `name` (`capability_denied`).
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// Resources one run used. A response carries them at a [`StatsLevel`]
/// ([`RunStats::at_level`]): lean stats leave fuel, memory and the tool use
/// by server out (zero or empty fields are not serialized).
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunStats {
    /// Wall-clock time of the run, including time spent waiting on tools.
    pub duration_ms: f64,
    /// Tool calls over all servers, as responses report them; absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub calls: u32,
    /// Fuel consumed (roughly, WebAssembly instructions executed).
    #[serde(skip_serializing_if = "is_zero")]
    pub fuel_used: u64,
    /// The largest linear memory the run had, in bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub memory_peak_bytes: u64,
    /// Tool use by server; absent when the run called no tools.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tool_calls: BTreeMap<String, ServerUsage>,
    /// The approval decisions of the run; absent when nothing was asked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<crate::policy::ApprovalRecord>,
    /// The run's calls of cacheable tools, answered from the cache or not;
    /// absent when it made none.
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: CacheUse,
}

/// How a run's calls of cacheable tools fared in the cache of tool calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CacheUse {
    /// Answered from the cache, without calling the server.
    pub hits: u32,
    /// Sent to the server (and their results kept).
    pub misses: u32,
}

/// Tool use of one server during one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerUsage {
    pub calls: u32,
    pub failed: u32,
    /// Total time the calls took, in milliseconds.
    pub latency_ms: f64,
    /// Bytes of arguments sent.
    pub bytes_out: u64,
    /// Bytes of results received.
    pub bytes_in: u64,
}

impl RunError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        RunError { kind, message: message.into(), line: None, column: None, stack: None }
    }

    pub fn at(mut self, line: u32, column: u32) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
}

fn is_zero<N: Default + PartialEq>(number: &N) -> bool {
    *number == N::default()
}

impl RunStats {
    /// The stats a response of `level` carries: the duration (to 0.1 ms) and
    /// the number of tool calls, and for [`StatsLevel::Full`] the rest.
    pub fn at_level(&self, level: StatsLevel) -> RunStats {
        let shown = RunStats {
            duration_ms: (self.duration_ms * 10.0).round() / 10.0,
            calls: self.tool_calls.values().map(|usage| usage.calls).sum(),
            ..RunStats::default()
        };
        match level {
            StatsLevel::Lean => shown,
            StatsLevel::Full => RunStats { duration_ms: shown.duration_ms, calls: shown.calls, ..self.clone() },
        }
    }
}

impl RunOutcome {
    pub fn success(result: Value, logs: Vec<LogLine>, stats: RunStats) -> Self {
        RunOutcome { ok: true, result, logs, error: None, truncated: None, stats }
    }

    pub fn failure(error: RunError, logs: Vec<LogLine>, stats: RunStats) -> Self {
        RunOutcome { ok: false, result: Value::Null, logs, error: Some(error), truncated: None, stats }
    }

    /// A failure before anything ran.
    pub fn rejected(error: RunError) -> Self {
        Self::failure(error, Vec::new(), RunStats::default())
    }

    /// The compact text a model reads: the result (or error, or the preview
    /// of a cut result), then the console, then what was cut and how to read
    /// it, then one line of the stats the outcome carries.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        match (&self.error, &self.truncated) {
            (Some(error), _) => write_error(&mut text, error),
            (None, Some(truncated)) => text.push_str(&truncated.preview),
            (None, None) => text.push_str(&self.result.to_string()),
        }
        if !self.logs.is_empty() {
            text.push_str("\n--- console ---");
            for line in &self.logs {
                let _ = write!(text, "\n{line}");
            }
        }
        if let Some(truncated) = &self.truncated {
            let _ = write!(text, "\n--- result cut: {}", truncated.hint);
        }
        write_stats(&mut text, &self.stats);
        text
    }
}

/// `--- 12.3 ms, 2 tool calls, fuel 1234, memory 1.1 MiB`, leaving out what
/// the stats leave out.
fn write_stats(text: &mut String, stats: &RunStats) {
    let _ = write!(text, "\n--- {:.1} ms", stats.duration_ms);
    match stats.calls {
        0 => {}
        1 => text.push_str(", 1 tool call"),
        calls => {
            let _ = write!(text, ", {calls} tool calls");
        }
    }
    if stats.fuel_used > 0 {
        let _ = write!(text, ", fuel {}, memory {:.1} MiB", stats.fuel_used, stats.memory_peak_bytes as f64 / (1024.0 * 1024.0));
    }
}

/// `[warn] careful`: a console line as text shows it.
impl std::fmt::Display for LogLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", level_name(self.level), self.message)
    }
}

fn write_error(text: &mut String, error: &RunError) {
    let _ = write!(text, "error ({}): {}", error.kind.as_str(), error.message);
    if let (Some(line), Some(column)) = (error.line, error.column) {
        let _ = write!(text, " at line {line}, column {column}");
    }
    if let Some(stack) = error.stack.as_deref().filter(|stack| !stack.trim().is_empty()) {
        let _ = write!(text, "\n{}", stack.trim_end());
    }
}

pub fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Log => "log",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn success_serializes_in_the_documented_shape() {
        let outcome = RunOutcome::success(
            json!({"n": 1}),
            vec![LogLine { level: LogLevel::Warn, message: "careful".into() }],
            RunStats { duration_ms: 1.5, fuel_used: 10, memory_peak_bytes: 2048, ..Default::default() },
        );
        let value = serde_json::to_value(&outcome).unwrap();
        assert_eq!(
            value,
            json!({"ok": true, "result": {"n": 1}, "logs": [{"level": "warn", "message": "careful"}],
                   "stats": {"durationMs": 1.5, "fuelUsed": 10, "memoryPeakBytes": 2048}})
        );
    }

    #[test]
    fn kind_names_match_their_serialized_form_and_cover_every_tool_failure() {
        for kind in ErrorKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
            assert_eq!(ErrorKind::from_name(kind.as_str()), Some(kind));
        }
        for failure in conventions::FAILURE_KINDS {
            assert!(ErrorKind::from_name(failure.run_kind).is_some(), "{failure:?} has no run kind");
        }
    }

    #[test]
    fn json_depth_counts_brackets_outside_strings() {
        assert_eq!(json_depth("1"), 0);
        assert_eq!(json_depth(r#"{"a": [1, {"b": "[[[{{"}]}"#), 3);
        assert_eq!(json_depth(r#"["\\\"[", []]"#), 2);
        assert_eq!(json_depth(&format!("{}{}", "[".repeat(5000), "]".repeat(5000))), 5000);
    }

    #[test]
    fn lean_stats_keep_the_duration_and_the_call_count_and_full_stats_keep_everything() {
        let mut stats = RunStats { duration_ms: 12.345, fuel_used: 10, memory_peak_bytes: 3 << 19, ..Default::default() };
        stats.tool_calls.insert("a".into(), ServerUsage { calls: 2, failed: 1, ..Default::default() });
        stats.tool_calls.insert("b".into(), ServerUsage { calls: 1, ..Default::default() });
        let lean = stats.at_level(StatsLevel::Lean);
        assert_eq!(serde_json::to_value(&lean).unwrap(), json!({"durationMs": 12.3, "calls": 3}));
        let full = stats.at_level(StatsLevel::Full);
        let full_json = serde_json::to_value(&full).unwrap();
        assert_eq!((&full_json["calls"], &full_json["fuelUsed"], &full_json["memoryPeakBytes"]), (&json!(3), &json!(10), &json!(3 << 19)));
        assert_eq!(full_json["toolCalls"]["a"], json!({"calls": 2, "failed": 1, "latencyMs": 0.0, "bytesOut": 0, "bytesIn": 0}));
        assert_eq!(RunOutcome::success(json!(1), Vec::new(), lean).to_text(), "1\n--- 12.3 ms, 3 tool calls");
        assert_eq!(RunOutcome::success(json!(1), Vec::new(), full).to_text(), "1\n--- 12.3 ms, 3 tool calls, fuel 10, memory 1.5 MiB");
        let none = RunStats { duration_ms: 1.0, ..Default::default() }.at_level(StatsLevel::Lean);
        assert_eq!(serde_json::to_value(&none).unwrap(), json!({"durationMs": 1.0}), "no calls, no `calls`");
    }

    #[test]
    fn a_cut_result_shows_its_preview_and_how_to_read_the_rest() {
        let mut outcome = RunOutcome::success(Value::Null, vec![LogLine { level: LogLevel::Log, message: "hi".into() }], RunStats::default());
        outcome.truncated = Some(Truncated {
            preview: "[1,2 … 9]".into(),
            bytes: 100,
            tokens: 40,
            uri: Some("mcp-code-runtime://results/x".into()),
            hint: "read it".into(),
        });
        assert_eq!(outcome.to_text(), "[1,2 … 9]\n--- console ---\n[log] hi\n--- result cut: read it\n--- 0.0 ms");
        let value = serde_json::to_value(&outcome).unwrap();
        assert_eq!(value["result"], Value::Null);
        assert_eq!(value["truncated"]["uri"], json!("mcp-code-runtime://results/x"));
    }

    #[test]
    fn failure_text_names_kind_and_position() {
        let error = RunError::new(ErrorKind::SyntaxError, "Unexpected token").at(2, 11);
        let text = RunOutcome::rejected(error).to_text();
        assert!(text.starts_with("error (syntax_error): Unexpected token at line 2, column 11"), "{text}");
    }
}
