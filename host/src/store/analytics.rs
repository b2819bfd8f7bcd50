//! What the analytics keep, as rows, and what is asked of them: the
//! backend-neutral half of the analytics store. A backend implements
//! [`AnalyticsStore`] with its own queries.
//!
//! Times are Unix milliseconds. A run's tool use by server and tool is read
//! from its audit rows (one [`CallRow`] per downstream call), so the audit
//! log and the statistics cannot disagree.

use std::collections::BTreeMap;

use serde::Serialize;

use super::StoreError;

/// One finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub started_at_ms: i64,
    /// The skill called as a tool; `None` for `execute_code`.
    pub skill: Option<String>,
    /// The session an `execute_code` run named.
    pub session: Option<String>,
    pub duration_ms: f64,
    /// The error kind's name (`timeout`); `None` when the run succeeded.
    pub error_kind: Option<String>,
    pub fuel: u64,
    pub memory_peak_bytes: u64,
    /// Every tool call the run made, audited or not (see [`RunRow::calls`]).
    pub tool_calls: u64,
    /// cl100k tokens of the tool results the program read.
    pub tokens_consumed: u64,
    /// cl100k tokens of what the run returned (its result and console).
    pub tokens_returned: u64,
    /// The skills that ran in the run (called as the tool, or imported), with
    /// how many times each.
    pub skills: Vec<(String, u64)>,
    /// The run's downstream calls, in order: the audit log.
    pub calls: Vec<CallRow>,
}

/// One downstream call, as audited. Never its arguments: their digest.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRow {
    pub at_ms: i64,
    pub server: String,
    pub tool: String,
    /// xxh3-64 of the arguments' JSON text.
    pub arguments_digest: u64,
    /// `ok`, or the failure kind's name (`tool_error`, `capability_denied`...).
    pub outcome: String,
    pub duration_ms: f64,
    pub bytes_out: u64,
    pub bytes_in: u64,
}

/// How much is kept: older or more than this is deleted as runs are saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Runs (and their calls) started before this are deleted.
    pub oldest_ms: i64,
    pub max_runs: u64,
    pub max_calls: u64,
}

/// A window's totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub runs: u64,
    pub ok: u64,
    /// Nearest-rank percentiles of the runs' durations; 0 without runs.
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// Failed runs by error kind.
    pub errors: BTreeMap<String, u64>,
    pub tool_calls: u64,
    /// How many sessions the runs used.
    pub sessions: u64,
    pub tokens: Tokens,
    /// The most used skills, most used first.
    pub top_skills: Vec<SkillUse>,
    /// The most called tools, most called first.
    pub top_tools: Vec<ToolUse>,
    /// The servers by average call latency, slowest first.
    pub servers: Vec<ServerUse>,
}

/// Tokens kept out of the model's context: what the programs read of tool
/// results, what they returned, and the difference (counted per run, never
/// below zero).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tokens {
    pub consumed: u64,
    pub returned: u64,
    pub saved: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillUse {
    pub skill: String,
    pub calls: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUse {
    pub server: String,
    pub tool: String,
    pub calls: u64,
    pub failed: u64,
    pub avg_ms: f64,
    pub bytes_in: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerUse {
    pub server: String,
    pub calls: u64,
    pub failed: u64,
    pub avg_ms: f64,
    pub max_ms: f64,
}

/// One run, for charts over time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunPoint {
    pub started_at_ms: i64,
    pub duration_ms: f64,
    pub failed: bool,
    pub tokens_saved: u64,
}

/// One audited call and the run it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub run: i64,
    pub at_ms: i64,
    pub server: String,
    pub tool: String,
    /// The arguments' xxh3-64, 16 hex digits.
    pub arguments_digest: String,
    pub outcome: String,
    pub duration_ms: f64,
    pub bytes_out: u64,
    pub bytes_in: u64,
}

/// The analytics' storage. `since_ms` bounds a query to runs (and calls)
/// that started then or later; `None` is everything kept.
pub trait AnalyticsStore {
    /// Saves `runs` with their calls, then deletes what `retention` does not
    /// keep, all in one transaction.
    fn save_runs(&mut self, runs: &[RunRow], retention: &Retention) -> Result<(), StoreError>;

    /// The totals of the runs since `since_ms`, with the `top` most used
    /// skills and tools and the `top` slowest servers.
    fn summary(&mut self, since_ms: Option<i64>, top: usize) -> Result<Summary, StoreError>;

    /// Every run since `since_ms`, oldest first.
    fn run_points(&mut self, since_ms: Option<i64>) -> Result<Vec<RunPoint>, StoreError>;

    /// The newest `limit` audited calls since `since_ms`, oldest first.
    fn audit(&mut self, since_ms: Option<i64>, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}
