//! Analytics and audit: every run the host serves is recorded (when, how
//! long, how it ended, fuel, memory, its tool calls, the skills it ran and
//! the tokens it kept out of the model's context), every downstream call is
//! in an audit log (server, tool, the arguments' xxh3 digest, outcome,
//! duration, bytes), and both are summed up for `runtime_stats`, `stats`
//! and the dashboard.
//!
//! - [`capture`]: what a run records as it goes (the runtime fills it);
//! - [`writer`]: the thread that counts tokens and writes to the [`store`];
//! - [`tokens`]: bounded token counting;
//! - [`window`]: the time a report covers;
//! - [`report`]: the totals as JSON and as a table;
//! - [`dashboard`]: the totals and the runs over time as one HTML page.
//!
//! The database is the [`store`]'s, in the data folder. A host whose data
//! folder is unknown (no home) or whose config turns analytics off records
//! nothing. A database that cannot be opened (not a database, a damaged
//! header or schema, a newer schema) is an error at start: `serve` refuses
//! to start rather than go on with an audit log that silently stopped (see
//! [`Analytics::open`]). Damage deeper in the file is found by the check the
//! writer runs as it starts (it reads every page, too slow for start-up):
//! the host then serves on, logs the error, records nothing and answers
//! `runtime_stats` with the damage; `doctor` runs the same check.
//!
//! It must not slow runs: recording is a bounded copy and a `try_send`
//! (see [`writer`] for what happens when the writer falls behind).
//!
//! [`store`]: crate::store

pub mod capture;
pub mod dashboard;
pub mod report;
pub mod tokens;
pub mod window;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::config::AnalyticsSettings;
use crate::store::{self, AnalyticsStore, RunPoint, Store, StoreError};
pub use capture::{Entry, FinishedRun, RunLog};
pub use report::Report;
pub use window::{Window, WindowError};
use writer::{Message, Unrecorded};

/// How many skills, tools and servers a report names.
pub const TOP: usize = 10;
/// How long closing waits for the writer to save what is queued.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the analytics writer has stopped")]
    Stopped,
    /// The check at start found the database damaged: nothing is recorded.
    #[error("runs are not recorded: {0}")]
    Damaged(String),
}

/// The whole database checked, on the writer's thread as it starts (the
/// check reads every page: too slow for the start-up path); what is found
/// is logged, and returned so the writer leaves the database alone.
fn check(store: &mut store::SqliteStore) -> Option<StoreError> {
    let damage = store.check().err()?;
    tracing::error!(error = %damage, "the analytics database is damaged: runs are not recorded until it is moved aside");
    Some(damage)
}

/// The host's recorder: a handle on the writer thread.
pub struct Analytics {
    sender: SyncSender<Message>,
    unrecorded: Arc<Unrecorded>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The writer's thread, to unpark it for a query or a stop.
    thread: std::thread::Thread,
    path: PathBuf,
}

impl Analytics {
    /// Opens the database in `data_dir` and starts the writer; `None` when
    /// analytics are off or there is no data folder (with a warning).
    ///
    /// # Errors
    ///
    /// The store's, when the database cannot be used: it is corrupt, newer
    /// than this binary, or cannot be created.
    pub fn open(settings: &AnalyticsSettings, data_dir: Option<&Path>) -> Result<Option<Analytics>, StoreError> {
        if !settings.enabled {
            return Ok(None);
        }
        let Some(data_dir) = data_dir else {
            tracing::warn!("there is no data folder (no HOME): runs are not recorded; pass --data-dir to record them");
            return Ok(None);
        };
        let mut store = store::open(data_dir)?;
        let (sender, receiver) = sync_channel(writer::QUEUE);
        let unrecorded = Arc::new(Unrecorded::default());
        let counters = Arc::clone(&unrecorded);
        let settings = *settings;
        let writer = std::thread::Builder::new()
            .name("analytics-writer".into())
            .spawn(move || {
                let damage = check(&mut store);
                writer::run(Box::new(store), damage, receiver, settings, counters);
            })
            .map_err(|error| StoreError::Database { path: data_dir.to_owned(), message: format!("cannot start the writer thread: {error}") })?;
        let thread = writer.thread().clone();
        Ok(Some(Analytics { sender, unrecorded, writer: Mutex::new(Some(writer)), thread, path: data_dir.join(store::DATABASE_FILE) }))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hands a finished run to the writer, or drops it when the writer is
    /// behind; never waits.
    pub fn record(&self, run: FinishedRun) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.sender.try_send(Message::Run(Box::new(run))) {
            let dropped = self.unrecorded.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if dropped == 0 {
                tracing::warn!("the analytics writer is behind: runs are dropped from the record (counted as unrecorded)");
            }
        }
    }

    /// The totals of `window`, including every run recorded before.
    pub async fn report(&self, window: Window) -> Result<Report, AnalyticsError> {
        let now = capture::unix_ms(SystemTime::now());
        let summary = self.query(move |store| store.summary(window.since_ms(now), TOP)).await?;
        Ok(Report::new(window, summary, Some(self.unrecorded.total())))
    }

    /// Runs `query` on the writer's connection, after what is queued.
    async fn query<T: Send + 'static>(
        &self,
        query: impl FnOnce(&mut dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, AnalyticsError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let message = Message::Query(Box::new(move |store| {
            let answered = match store {
                Ok(store) => query(store).map_err(AnalyticsError::Store),
                Err(damage) => Err(AnalyticsError::Damaged(damage.to_string())),
            };
            let _ = reply.send(answered);
        }));
        if !self.send_now(message).await {
            return Err(AnalyticsError::Stopped);
        }
        answer.await.map_err(|_| AnalyticsError::Stopped)?
    }

    /// Sends `message` (waiting for room in the queue, off the async
    /// workers) and wakes the writer for it: the writer parks between the runs
    /// of a batch, and a query or a stop must not wait for the batch to end.
    /// False when the writer has stopped.
    async fn send_now(&self, message: Message) -> bool {
        let sender = self.sender.clone();
        let sent = tokio::task::spawn_blocking(move || sender.send(message).is_ok()).await.unwrap_or(false);
        self.thread.unpark();
        sent
    }

    /// Saves what is queued and stops the writer, waiting at most a few seconds.
    pub async fn close(&self) {
        let Some(writer) = self.writer.lock().expect("writer lock").take() else { return };
        let closing = async {
            if self.send_now(Message::Stop).await {
                let _ = tokio::task::spawn_blocking(move || writer.join()).await;
            }
        };
        if tokio::time::timeout(CLOSE_WAIT, closing).await.is_err() {
            tracing::warn!("the analytics writer did not finish saving in time");
        }
    }
}

/// The report of `window` and its runs over time, read from the database
/// in `data_dir` (for the `stats` command, in a process of its own); an
/// empty report when nothing was recorded yet.
pub fn read(data_dir: &Path, window: Window) -> Result<(Report, Vec<RunPoint>), StoreError> {
    let Some(mut store) = store::open_existing(data_dir)? else {
        return Ok((Report::new(window, store::Summary::default(), None), Vec::new()));
    };
    let since = window.since_ms(capture::unix_ms(SystemTime::now()));
    let summary = store.summary(since, TOP)?;
    let points = store.run_points(since)?;
    Ok((Report::new(window, summary, None), points))
}

/// The newest `limit` audited calls of `window`, from the database in `data_dir`.
pub fn read_audit(data_dir: &Path, window: Window, limit: usize) -> Result<Vec<store::AuditEntry>, StoreError> {
    let Some(mut store) = store::open_existing(data_dir)? else { return Ok(Vec::new()) };
    store.audit(window.since_ms(capture::unix_ms(SystemTime::now())), limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{RunOutcome, RunStats};

    fn finished() -> FinishedRun {
        let outcome = RunOutcome { ok: true, result: serde_json::json!(1), logs: Vec::new(), error: None, truncated: None, stats: RunStats::default() };
        RunLog::recording().finish(Entry::Code { session: None }, &outcome).expect("a recording log")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_drops_runs_and_counts_them_without_waiting() {
        let data = tempfile::tempdir().unwrap();
        let analytics = Arc::new(Analytics::open(&AnalyticsSettings::default(), Some(data.path())).unwrap().expect("analytics are on"));
        // Hold the writer in a query until the queue has been overfilled.
        let (started, writer_busy) = std::sync::mpsc::channel::<()>();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let holding = Arc::clone(&analytics);
        let held = tokio::spawn(async move {
            holding
                .query(move |_| {
                    started.send(()).unwrap();
                    released.recv().unwrap();
                    Ok(())
                })
                .await
        });
        writer_busy.recv_timeout(Duration::from_secs(60)).expect("the writer takes the query");
        let overflow = 5;
        let started = std::time::Instant::now();
        for _ in 0..writer::QUEUE + overflow {
            analytics.record(finished());
        }
        assert!(started.elapsed() < Duration::from_secs(10), "recording never waits for the writer");
        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        let report = analytics.report(Window::ALL).await.unwrap();
        assert_eq!((report.summary.runs, report.unrecorded), (writer::QUEUE as u64, Some(overflow as u64)));
        analytics.close().await;
    }
}
