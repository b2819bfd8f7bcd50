//! Progress of a run as the client sees it while it goes: MCP
//! `notifications/progress` when the request carries a `progressToken`, and
//! the program's console lines as `notifications/message` (MCP logging) once
//! the client has set a level with `logging/setLevel`. Owns the session's
//! logging level; knows nothing of how a run executes (the sandbox calls the
//! [`RunObserver`] it is given).
//!
//! # Progress values
//! MCP wants each progress value above the one before. Until the program
//! reports progress itself, the value is the count of tool calls it has
//! completed, with no total and a message naming the last one
//! (`3 tool calls (memory.read_graph)`). From the program's first
//! `progress(current, total?, message?)` on, its own values are sent instead
//! (the two scales do not mix): a report whose `current` is not above the
//! last value sent is not sent.
//!
//! # Bounds
//! The observer is called on the run's own thread (and on the tasks of its
//! tool calls) and never waits: progress goes into a latest-value cell (a
//! `watch` channel) that a task sends at most once per [`PROGRESS_INTERVAL`],
//! the latest value winning; log lines go into a queue of [`LOG_QUEUE`] that a
//! task sends at most [`LOGS_PER_SECOND`] a second. Lines that find the queue
//! full are dropped and counted, and one warning says how many at the end
//! (the run's `logs` keep them all). [`Reporter::finish`] sends the final
//! state before the response goes out.
//!
//! MCP logging is deprecated by SEP-2577 in rmcp's model (hence the allowed
//! lint), but it is what clients implement today.

#![allow(deprecated, reason = "MCP logging, deprecated by SEP-2577, is what today's clients show")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::{Peer, RequestContext};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::outcome::{LogLevel, LogLine};
use crate::sandbox::RunObserver;

/// At most one progress notification per run this often (the final one
/// excepted).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);
/// At most this many log notifications per run a second.
pub const LOGS_PER_SECOND: u32 = 100;
/// Console lines waiting to be sent; lines beyond are dropped and counted.
pub const LOG_QUEUE: usize = 100;
/// How long the end of a run waits for its last notifications to be sent.
const FINISH_LIMIT: Duration = Duration::from_secs(5);

/// The session's logging level, as the client set it (none until it does).
#[derive(Clone, Default)]
pub struct Reporting {
    /// The lowest [`severity`] sent; 0 while the client has set no level.
    level: Arc<AtomicU8>,
}

impl Reporting {
    /// `logging/setLevel`: console lines at `level` or above are sent from now on.
    pub fn set_level(&self, level: LoggingLevel) {
        self.level.store(severity(level), Ordering::Relaxed);
    }

    /// Starts reporting a run of the tool `logger` to the client of
    /// `context`: progress when the request carries a token, console lines
    /// when the client has set a logging level; otherwise nothing.
    pub fn start(&self, context: &RequestContext<RoleServer>, logger: &str) -> Reporter {
        let finished = CancellationToken::new();
        let mut tasks = Vec::new();
        let progress = context.meta.get_progress_token().map(|token| {
            let (updates, receiver) = watch::channel(RunProgress::default());
            tasks.push(tokio::spawn(send_progress(context.peer.clone(), token, receiver, finished.clone())));
            updates
        });
        let logs = (self.level.load(Ordering::Relaxed) != 0).then(|| {
            let (lines, receiver) = mpsc::channel(LOG_QUEUE);
            let dropped = Arc::new(AtomicU64::new(0));
            let sender = LogSender { peer: context.peer.clone(), logger: logger.to_owned(), level: Arc::clone(&self.level) };
            tasks.push(tokio::spawn(send_logs(sender, receiver, Arc::clone(&dropped), finished.clone())));
            LogQueue { level: Arc::clone(&self.level), lines, dropped }
        });
        let observer = (progress.is_some() || logs.is_some()).then(|| Arc::new(ClientObserver { progress, logs }));
        Reporter { observer, tasks, finished: finished.drop_guard() }
    }
}

/// The reports of one run: its observer, and the tasks that send.
pub struct Reporter {
    observer: Option<Arc<ClientObserver>>,
    tasks: Vec<JoinHandle<()>>,
    /// Tells the tasks to send their last notifications and stop (also when
    /// the reporter is dropped).
    finished: DropGuard,
}

impl Reporter {
    /// The observer to give the run, if anything is reported.
    pub fn observer(&self) -> Option<Arc<dyn RunObserver>> {
        self.observer.clone().map(|observer| observer as Arc<dyn RunObserver>)
    }

    /// Sends the run's final progress and its queued console lines, so they
    /// reach the client before the response (waiting at most [`FINISH_LIMIT`]).
    pub async fn finish(self) {
        self.finished.disarm().cancel();
        for mut task in self.tasks {
            if tokio::time::timeout(FINISH_LIMIT, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

/// What the observer hands to the sending tasks.
struct ClientObserver {
    progress: Option<watch::Sender<RunProgress>>,
    logs: Option<LogQueue>,
}

impl RunObserver for ClientObserver {
    fn console_line(&self, line: &LogLine) {
        if let Some(logs) = &self.logs {
            logs.push(line);
        }
    }

    fn tool_call_started(&self, _server: &str, _tool: &str) {}

    fn tool_call_finished(&self, server: &str, tool: &str, ok: bool) {
        if let Some(progress) = &self.progress {
            progress.send_modify(|progress| {
                progress.calls += 1;
                progress.last_call = if ok { format!("{server}.{tool}") } else { format!("{server}.{tool} failed") };
            });
        }
    }

    fn progress(&self, current: f64, total: Option<f64>, message: Option<&str>) {
        if let Some(progress) = &self.progress {
            progress.send_modify(|progress| {
                progress.reported = Some(Reported { current, total, message: message.map(str::to_owned) });
            });
        }
    }
}

/// How far a run has got.
#[derive(Default)]
struct RunProgress {
    /// Tool calls completed.
    calls: u64,
    /// The last completed call, as `server.tool`.
    last_call: String,
    /// The program's last report.
    reported: Option<Reported>,
}

struct Reported {
    current: f64,
    total: Option<f64>,
    message: Option<String>,
}

impl RunProgress {
    /// The notification for this state, when its value is above `last`, the
    /// last value sent (see the module's doc).
    fn notification(&self, token: &ProgressToken, last: Option<f64>) -> Option<ProgressNotificationParam> {
        let (value, total, message) = match &self.reported {
            Some(reported) => (reported.current, reported.total, reported.message.clone()),
            None if self.calls > 0 => {
                let plural = if self.calls == 1 { "" } else { "s" };
                (self.calls as f64, None, Some(format!("{} tool call{plural} ({})", self.calls, self.last_call)))
            }
            None => return None,
        };
        if last.is_some_and(|last| value <= last) {
            return None;
        }
        let mut notification = ProgressNotificationParam::new(token.clone(), value);
        notification.total = total;
        notification.message = message;
        Some(notification)
    }
}

/// Sends the run's progress as it changes, at most once per
/// [`PROGRESS_INTERVAL`], then the final state once `finished`.
async fn send_progress(peer: Peer<RoleServer>, token: ProgressToken, mut updates: watch::Receiver<RunProgress>, finished: CancellationToken) {
    let mut last = None;
    loop {
        tokio::select! {
            biased;
            () = finished.cancelled() => break,
            changed = updates.changed() => if changed.is_err() { break },
        }
        let notification = updates.borrow_and_update().notification(&token, last);
        if let Some(notification) = notification {
            last = Some(notification.progress);
            if peer.notify_progress(notification).await.is_err() {
                return;
            }
        }
        tokio::select! {
            () = finished.cancelled() => break,
            () = tokio::time::sleep(PROGRESS_INTERVAL) => {}
        }
    }
    let notification = updates.borrow().notification(&token, last);
    if let Some(notification) = notification {
        let _ = peer.notify_progress(notification).await;
    }
}

/// The run's side of the log queue.
struct LogQueue {
    level: Arc<AtomicU8>,
    lines: mpsc::Sender<(LoggingLevel, String)>,
    dropped: Arc<AtomicU64>,
}

impl LogQueue {
    /// Queues `line` when its level is at or above the client's, or counts it
    /// as dropped when the queue is full.
    fn push(&self, line: &LogLine) {
        let level = logging_level(line.level);
        if severity(level) < self.level.load(Ordering::Relaxed) {
            return;
        }
        if self.lines.try_send((level, line.message.clone())).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Sends log notifications of one run's lines.
struct LogSender {
    peer: Peer<RoleServer>,
    logger: String,
    level: Arc<AtomicU8>,
}

impl LogSender {
    async fn send(&self, level: LoggingLevel, message: String) -> bool {
        let notification = LoggingMessageNotificationParam::new(level, Value::String(message)).with_logger(self.logger.clone());
        self.peer.notify_logging_message(notification).await.is_ok()
    }
}

/// Sends queued console lines, at most [`LOGS_PER_SECOND`] a second; once
/// `finished`, what is still queued and a warning with the count of lines
/// dropped.
async fn send_logs(
    sender: LogSender,
    mut lines: mpsc::Receiver<(LoggingLevel, String)>,
    dropped: Arc<AtomicU64>,
    finished: CancellationToken,
) {
    let mut window = tokio::time::Instant::now();
    let mut sent_in_window = 0;
    loop {
        let line = tokio::select! {
            biased;
            () = finished.cancelled() => break,
            line = lines.recv() => line,
        };
        let Some((level, message)) = line else { break };
        if !sender.send(level, message).await {
            return;
        }
        sent_in_window += 1;
        if sent_in_window >= LOGS_PER_SECOND {
            tokio::select! {
                () = finished.cancelled() => break,
                () = tokio::time::sleep_until(window + Duration::from_secs(1)) => {}
            }
            window = tokio::time::Instant::now();
            sent_in_window = 0;
        }
    }
    while let Ok((level, message)) = lines.try_recv() {
        if !sender.send(level, message).await {
            return;
        }
    }
    let dropped = dropped.load(Ordering::Relaxed);
    if dropped > 0 && severity(LoggingLevel::Warning) >= sender.level.load(Ordering::Relaxed) {
        let message = format!(
            "{dropped} console lines were not sent as log messages (more than {LOGS_PER_SECOND} a second); they are in the run's logs"
        );
        sender.send(LoggingLevel::Warning, message).await;
    }
}

/// The MCP level of a console line: `console.log` is `info`.
fn logging_level(level: LogLevel) -> LoggingLevel {
    match level {
        LogLevel::Debug => LoggingLevel::Debug,
        LogLevel::Info | LogLevel::Log => LoggingLevel::Info,
        LogLevel::Warn => LoggingLevel::Warning,
        LogLevel::Error => LoggingLevel::Error,
    }
}

/// The rank of a level, from 1 (debug) up.
fn severity(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 1,
        LoggingLevel::Info => 2,
        LoggingLevel::Notice => 3,
        LoggingLevel::Warning => 4,
        LoggingLevel::Error => 5,
        LoggingLevel::Critical => 6,
        LoggingLevel::Alert => 7,
        LoggingLevel::Emergency => 8,
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::NumberOrString;

    use super::*;

    fn token() -> ProgressToken {
        ProgressToken(NumberOrString::Number(1))
    }

    fn sent(progress: &RunProgress, last: Option<f64>) -> Option<(f64, Option<f64>, Option<String>)> {
        progress.notification(&token(), last).map(|notification| (notification.progress, notification.total, notification.message))
    }

    #[test]
    fn tool_calls_are_counted_until_the_program_reports_then_its_values_are_sent() {
        let mut progress = RunProgress::default();
        assert_eq!(sent(&progress, None), None, "nothing happened yet");
        progress.calls = 1;
        progress.last_call = "memory.read_graph".into();
        assert_eq!(sent(&progress, None), Some((1.0, None, Some("1 tool call (memory.read_graph)".into()))));
        progress.calls = 3;
        progress.last_call = "memory.search failed".into();
        assert_eq!(sent(&progress, Some(1.0)), Some((3.0, None, Some("3 tool calls (memory.search failed)".into()))));
        progress.reported = Some(Reported { current: 7.0, total: Some(10.0), message: Some("page 7".into()) });
        progress.calls = 9;
        assert_eq!(sent(&progress, Some(3.0)), Some((7.0, Some(10.0), Some("page 7".into()))), "the program's scale wins");
    }

    #[test]
    fn a_value_not_above_the_last_one_sent_is_not_sent() {
        let mut progress = RunProgress { calls: 2, ..RunProgress::default() };
        assert_eq!(sent(&progress, Some(2.0)), None);
        progress.reported = Some(Reported { current: 1.0, total: Some(5.0), message: None });
        assert_eq!(sent(&progress, Some(2.0)), None, "the program's first value is below the calls already counted");
        progress.reported = Some(Reported { current: 2.5, total: Some(5.0), message: None });
        assert_eq!(sent(&progress, Some(2.0)), Some((2.5, Some(5.0), None)));
    }

    #[test]
    fn console_levels_map_to_mcp_levels_in_order() {
        assert_eq!(logging_level(LogLevel::Log), LoggingLevel::Info);
        assert_eq!(logging_level(LogLevel::Warn), LoggingLevel::Warning);
        let ranks: Vec<u8> = [LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error].map(|level| severity(logging_level(level))).to_vec();
        assert!(ranks.windows(2).all(|pair| pair[0] < pair[1]), "{ranks:?}");
        assert_eq!(severity(LoggingLevel::Debug), 1, "0 stays for no level set");
    }
}
