//! What a run records as it goes, for the analytics: its downstream calls
//! (for the audit log), the skills it ran and a bounded sample of the tool
//! results it read (for the token count). The runtime fills a [`RunLog`];
//! when the run ends, [`RunLog::finish`] turns it into a [`FinishedRun`] for
//! the writer.
//!
//! The hot path stays small: a call costs the arguments' xxh3, a lock, a
//! push and a copy of at most what is left of [`SAMPLE_BYTES`]; nothing is
//! tokenized or written here. A log that is [`RunLog::off`] does nothing.
//! Per run at most [`MAX_AUDITED_CALLS`] calls are audited (a program that
//! loops over refused calls could make more); the run's `tool_calls` still
//! counts every admitted call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use xxhash_rust::xxh3::xxh3_64;

use super::tokens::Sample;
use crate::outcome::RunOutcome;
use crate::store::CallRow;

/// Most calls audited per run.
pub const MAX_AUDITED_CALLS: usize = 10_000;
/// Most bytes of tool results kept per run for counting tokens, and of what
/// the run returned; the rest is estimated (see `tokens`).
pub const SAMPLE_BYTES: usize = 64 * 1024;
/// The audit outcome of a call that succeeded.
pub const OK: &str = "ok";
/// The audit outcome of a call its run stopped waiting for.
pub const CANCELLED: &str = "cancelled";

/// How a run was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `execute_code`, on the session it names, if it names one.
    Code { session: Option<String> },
    /// A skill called as a tool.
    Skill(String),
}

/// One run's record, filled while it runs; shared by the skills it calls.
#[derive(Default)]
pub struct RunLog {
    captured: Option<Mutex<Captured>>,
}

struct Captured {
    started_at: SystemTime,
    calls: Vec<CallRow>,
    skills: BTreeMap<String, u64>,
    consumed: Sample,
}

/// A call under way: when and what it was asked. Dropped before it ends
/// (the run was cancelled or timed out while it waited), it is audited as
/// [`CANCELLED`].
pub struct PendingCall {
    log: Arc<RunLog>,
    /// `None` once ended.
    row: Option<CallRow>,
    started: Instant,
}

/// A run as the writer receives it: the rows but for the token counts,
/// which the writer makes of the samples.
pub struct FinishedRun {
    pub started_at_ms: i64,
    pub entry: Entry,
    pub duration_ms: f64,
    pub error_kind: Option<&'static str>,
    pub fuel: u64,
    pub memory_peak_bytes: u64,
    pub tool_calls: u64,
    pub skills: BTreeMap<String, u64>,
    pub calls: Vec<CallRow>,
    pub consumed: Sample,
    pub returned: Sample,
}

impl RunLog {
    /// A log that records nothing (analytics off, or a run nobody records).
    pub fn off() -> Arc<RunLog> {
        Arc::new(RunLog::default())
    }

    /// A log of a run starting now.
    pub fn recording() -> Arc<RunLog> {
        let captured = Captured {
            started_at: SystemTime::now(),
            calls: Vec::new(),
            skills: BTreeMap::new(),
            consumed: Sample::default(),
        };
        Arc::new(RunLog { captured: Some(Mutex::new(captured)) })
    }

    /// Notes a call of `tool` on `server` with `arguments` (JSON text) as it
    /// starts; `None` when the log is off.
    pub fn call_started(self: &Arc<Self>, server: &str, tool: &str, arguments: &str) -> Option<PendingCall> {
        self.captured.as_ref()?;
        let row = CallRow {
            at_ms: unix_ms(SystemTime::now()),
            server: server.to_owned(),
            tool: tool.to_owned(),
            arguments_digest: xxh3_64(arguments.as_bytes()),
            outcome: String::new(),
            duration_ms: 0.0,
            bytes_out: arguments.len() as u64,
            bytes_in: 0,
        };
        Some(PendingCall { log: Arc::clone(self), row: Some(row), started: Instant::now() })
    }

    fn call_ended(&self, mut row: CallRow, outcome: &str, result: Option<&str>) {
        let Some(captured) = &self.captured else { return };
        let mut captured = captured.lock().expect("run log lock");
        if let Some(result) = result {
            captured.consumed.add(result, SAMPLE_BYTES);
            row.bytes_in = result.len() as u64;
        }
        if captured.calls.len() < MAX_AUDITED_CALLS {
            row.outcome = outcome.to_owned();
            captured.calls.push(row);
        }
    }

    /// Notes that the skill `name` ran (as the tool called, or imported).
    pub fn skill(&self, name: &str) {
        let Some(captured) = &self.captured else { return };
        *captured.lock().expect("run log lock").skills.entry(name.to_owned()).or_default() += 1;
    }

    /// The record of the run that ended with `outcome`; `None` when off.
    pub fn finish(&self, entry: Entry, outcome: &RunOutcome) -> Option<FinishedRun> {
        let mut captured = self.captured.as_ref()?.lock().expect("run log lock");
        let stats = &outcome.stats;
        let mut returned = Sample::default();
        returned.add_json(&outcome.result, SAMPLE_BYTES);
        if !outcome.logs.is_empty() {
            returned.add_json(&outcome.logs, SAMPLE_BYTES);
        }
        Some(FinishedRun {
            started_at_ms: unix_ms(captured.started_at),
            entry,
            duration_ms: stats.duration_ms,
            error_kind: outcome.error.as_ref().map(|error| error.kind.as_str()),
            fuel: stats.fuel_used,
            memory_peak_bytes: stats.memory_peak_bytes,
            tool_calls: stats.tool_calls.values().map(|usage| u64::from(usage.calls)).sum(),
            skills: std::mem::take(&mut captured.skills),
            calls: std::mem::take(&mut captured.calls),
            consumed: std::mem::take(&mut captured.consumed),
            returned,
        })
    }
}

impl FinishedRun {
    /// Renames each audited call's tool to what `name` says it is (a
    /// program may use a camelCase alias), asking once per server and tool.
    pub fn name_tools(&mut self, name: impl Fn(&str, &str) -> Option<String>) {
        let mut named: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
        for call in &mut self.calls {
            let key = (call.server.clone(), call.tool.clone());
            let found = named.entry(key).or_insert_with(|| name(&call.server, &call.tool));
            if let Some(found) = found {
                call.tool.clone_from(found);
            }
        }
    }
}

impl PendingCall {
    /// Notes how the call ended: with the `result` text the program
    /// received, or refused or failed with a failure kind's name.
    pub fn end(mut self, ended: Result<&str, &'static str>) {
        match ended {
            Ok(result) => self.finish(OK, Some(result)),
            Err(kind) => self.finish(kind, None),
        }
    }

    fn finish(&mut self, outcome: &str, result: Option<&str>) {
        let Some(mut row) = self.row.take() else { return };
        row.duration_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        self.log.call_ended(row, outcome, result);
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        self.finish(CANCELLED, None);
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |since| since.as_millis() as i64)
}
