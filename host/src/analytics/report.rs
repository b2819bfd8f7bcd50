//! A report: the totals of a window as JSON (`runtime_stats`, `stats
//! --json`) and as a table for a terminal (`stats`).

use std::fmt::Write as _;

use serde::Serialize;

use super::Window;
use crate::store::Summary;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `all`, or the window asked for (`24h`).
    pub window: String,
    /// Successful runs over all runs, 0 to 1; 0 without runs.
    pub success_rate: f64,
    #[serde(flatten)]
    pub summary: Summary,
    /// Runs this host did not record (its writer was behind, or the disk
    /// failed); only a running host knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unrecorded: Option<u64>,
}

impl Report {
    pub fn new(window: Window, summary: Summary, unrecorded: Option<u64>) -> Report {
        let success_rate = if summary.runs == 0 { 0.0 } else { summary.ok as f64 / summary.runs as f64 };
        Report { window: window.to_string(), success_rate, summary, unrecorded }
    }

    /// The report as lines of text, for a terminal or a model.
    pub fn table(&self) -> String {
        let summary = &self.summary;
        let mut text = String::new();
        let _ = writeln!(text, "window            {}", self.window);
        let _ = writeln!(text, "runs              {} ({} ok, {:.1}% success)", summary.runs, summary.ok, self.success_rate * 100.0);
        let _ = writeln!(text, "duration          p50 {} ms, p95 {} ms", round(summary.p50_ms), round(summary.p95_ms));
        let _ = writeln!(text, "tool calls        {}", summary.tool_calls);
        if summary.sessions > 0 {
            let _ = writeln!(text, "sessions          {}", summary.sessions);
        }
        let tokens = &summary.tokens;
        let _ = writeln!(text, "tokens saved      {} ({} read by programs, {} returned)", tokens.saved, tokens.consumed, tokens.returned);
        if let Some(unrecorded) = self.unrecorded.filter(|count| *count > 0) {
            let _ = writeln!(text, "unrecorded runs   {unrecorded}");
        }
        section(&mut text, "errors", summary.errors.iter().map(|(kind, count)| format!("{kind:<24} {count:>8}")));
        section(&mut text, "top skills", summary.top_skills.iter().map(|used| format!("{:<40} {:>8}", used.skill, used.calls)));
        section(
            &mut text,
            "top tools                                   calls   failed    avg ms",
            summary.top_tools.iter().map(|used| {
                format!("{:<40} {:>8} {:>8} {:>9}", format!("{}.{}", used.server, used.tool), used.calls, used.failed, round(used.avg_ms))
            }),
        );
        section(
            &mut text,
            "slowest servers                             calls   failed    avg ms    max ms",
            summary.servers.iter().map(|used| {
                format!("{:<40} {:>8} {:>8} {:>9} {:>9}", used.server, used.calls, used.failed, round(used.avg_ms), round(used.max_ms))
            }),
        );
        text
    }
}

fn section(text: &mut String, title: &str, lines: impl Iterator<Item = String>) {
    let lines: Vec<String> = lines.collect();
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(text, "\n{title}");
    for line in lines {
        let _ = writeln!(text, "  {line}");
    }
}

/// Milliseconds to one decimal.
fn round(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}
