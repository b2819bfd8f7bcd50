//! Approvals: a human's yes or no to one tool call the policy asks about.
//!
//! The bridge holds a call that needs approval, asks the run's [`Approver`]
//! (the MCP server implements it with an elicitation to its client), and
//! goes on or refuses by the answer; the rest of the run goes on meanwhile.
//! [`PausedTime`] counts the time a run tree spent waiting for humans, which
//! the sandbox adds to the run's deadline.
//!
//! It only describes the exchange: no I/O here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// What a human is asked about.
#[derive(Debug, Clone)]
pub struct ApprovalRequest {
    pub server: String,
    pub tool: String,
    /// A readable summary of the arguments (bounded in length).
    pub arguments: String,
    /// Why the policy asks (the config key).
    pub reason: String,
}

/// The human's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalDecision {
    /// This call only.
    AllowOnce,
    /// This call and every later call of this tool in the run.
    AllowForRun,
    /// Declined, cancelled, timed out or impossible; `reason` says which.
    Deny { reason: String },
}

/// One decision, as the run's stats report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ApprovalRecord {
    pub server: String,
    pub tool: String,
    /// `allow_once`, `allow_for_run`, `allowed_for_run` (an earlier answer
    /// covered it) or `denied`.
    pub decision: String,
    /// Why it was denied, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Asks a human about a tool call.
pub trait Approver: Send + Sync {
    /// The answer to `request`; never fails: a failure to ask is a `Deny`.
    fn ask(&self, request: ApprovalRequest) -> Pin<Box<dyn Future<Output = ApprovalDecision> + Send>>;
}

/// The time a run and the skills it called spent waiting for approvals:
/// the union of the waits (two at once count once), and whether one is
/// going on now.
#[derive(Debug, Default)]
pub struct PausedTime {
    state: Mutex<Pauses>,
}

#[derive(Debug, Default)]
struct Pauses {
    /// Waits going on now, and since when the first of them started.
    waiting: u32,
    since: Option<Instant>,
    /// Waits that ended.
    total: Duration,
}

impl PausedTime {
    /// Starts a wait, which lasts until the returned guard is dropped.
    pub fn begin(&self) -> PauseGuard<'_> {
        let mut pauses = self.state.lock().expect("pauses lock");
        if pauses.waiting == 0 {
            pauses.since = Some(Instant::now());
        }
        pauses.waiting += 1;
        PauseGuard { paused: self }
    }

    /// Whether a wait is going on now (the deadline stands still).
    pub fn is_waiting(&self) -> bool {
        self.state.lock().expect("pauses lock").waiting > 0
    }

    /// The time waited so far, including a wait going on now.
    pub fn total(&self) -> Duration {
        let pauses = self.state.lock().expect("pauses lock");
        pauses.total + pauses.since.map_or(Duration::ZERO, |since| since.elapsed())
    }
}

/// A wait for approval; ends when dropped.
pub struct PauseGuard<'a> {
    paused: &'a PausedTime,
}

impl Drop for PauseGuard<'_> {
    fn drop(&mut self) {
        let mut pauses = self.paused.state.lock().expect("pauses lock");
        pauses.waiting -= 1;
        if pauses.waiting == 0 {
            let waited = pauses.since.take().map_or(Duration::ZERO, |since| since.elapsed());
            pauses.total += waited;
        }
    }
}

/// At most this many characters of a call's arguments are shown to a human.
pub const MAX_SUMMARY_CHARS: usize = 600;

/// The arguments of a call as a human reads them: compact JSON, cut at
/// [`MAX_SUMMARY_CHARS`] with the size left.
pub fn summarize_arguments(arguments: &str) -> String {
    let compact = serde_json::from_str::<serde_json::Value>(arguments).map_or_else(|_| arguments.to_owned(), |value| value.to_string());
    let count = compact.chars().count();
    if count <= MAX_SUMMARY_CHARS {
        return compact;
    }
    let head: String = compact.chars().take(MAX_SUMMARY_CHARS).collect();
    format!("{head}… ({} more characters)", count - MAX_SUMMARY_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_waits_count_once() {
        let paused = PausedTime::default();
        assert!(!paused.is_waiting());
        let first = paused.begin();
        let second = paused.begin();
        std::thread::sleep(Duration::from_millis(30));
        drop(first);
        assert!(paused.is_waiting(), "one wait goes on");
        drop(second);
        let waited = paused.total();
        assert!(!paused.is_waiting() && waited >= Duration::from_millis(30) && waited < Duration::from_millis(60), "{waited:?}");
    }

    #[test]
    fn long_arguments_are_cut_for_the_human() {
        assert_eq!(summarize_arguments("{ \"a\" : 1 }"), "{\"a\":1}");
        let long = format!("{{\"text\": \"{}\"}}", "x".repeat(2000));
        let summary = summarize_arguments(&long);
        assert!(summary.ends_with("more characters)") && summary.chars().count() < MAX_SUMMARY_CHARS + 40, "{summary}");
    }
}
