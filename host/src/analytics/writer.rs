//! The writer: one thread that owns the host's connection to the store.
//! Runs reach it through a bounded channel; it counts their tokens (with a
//! tokenizer it lets go when idle, see [`TokenCounter`]), saves
//! them in batches (one transaction each, with pruning to the retention
//! settings) and answers queries in turn, so a query sees every run recorded
//! before it was asked.
//!
//! A batch is what arrives within [`BATCH_WAIT`] of its first run (at most
//! [`BATCH`] runs; a query or a stop ends it at once), so a busy host pays
//! for one transaction per batch rather than per run. A host killed in that
//! window loses those runs from the record, never the database's consistency.
//!
//! Recording never waits: when the channel is full (the disk is slow, or
//! thousands of runs end at once) the run is dropped and counted, and a run
//! that cannot be written (a disk error) is counted too; both are reported
//! as `unrecorded`. A database found damaged when the writer starts (see
//! `Analytics::open`) is not written to at all: every run is unrecorded and
//! every query answers with the damage. Nothing here runs on the async
//! workers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tiktoken_rs::{CoreBPE, cl100k_base};

use super::capture::{Entry, FinishedRun, unix_ms};
use crate::config::AnalyticsSettings;
use crate::store::{Retention, RunRow, Store, StoreError};

/// How many runs wait for the writer at most.
pub const QUEUE: usize = 1024;
/// Most runs saved in one transaction.
const BATCH: usize = 256;
/// How long the first run of a batch waits for others.
const BATCH_WAIT: Duration = Duration::from_millis(50);
/// How long the writer keeps its tokenizer with no run to count.
const TOKENIZER_IDLE: Duration = Duration::from_secs(10);

/// A query, run on the writer's connection, or told why there is none.
pub type Query = Box<dyn FnOnce(Result<&mut dyn Store, &StoreError>) + Send>;

pub enum Message {
    Run(Box<FinishedRun>),
    Query(Query),
    /// Save what came before, then end the thread.
    Stop,
}

/// Runs that were not recorded, since the host started.
#[derive(Debug, Default)]
pub struct Unrecorded {
    /// The queue was full.
    pub dropped: AtomicU64,
    /// Saving failed.
    pub failed: AtomicU64,
}

impl Unrecorded {
    pub fn total(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }
}

/// The writer's loop, until [`Message::Stop`] or every sender is gone;
/// `damage` is why the store must not be written to, if it must not.
pub fn run(mut store: Box<dyn Store>, damage: Option<StoreError>, receiver: Receiver<Message>, settings: AnalyticsSettings, unrecorded: Arc<Unrecorded>) {
    let mut warned = false;
    let mut counter = TokenCounter::new(TOKENIZER_IDLE);
    while let Some(first) = counter.next(&receiver) {
        let (batch, queries, stop) = gather(first, &receiver, &mut counter);
        let saved = match &damage {
            _ if batch.is_empty() => Ok(()),
            Some(_) => Err(None),
            None => store.save_runs(&batch, &retention(&settings)).map_err(Some),
        };
        if let Err(error) = saved {
            unrecorded.failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
            if let Some(error) = error.filter(|_| !std::mem::replace(&mut warned, true)) {
                tracing::error!(%error, "runs cannot be recorded; the host goes on without recording them");
            }
        }
        for query in queries {
            match &damage {
                Some(error) => query(Err(error)),
                None => query(Ok(store.as_mut())),
            }
        }
        if stop {
            return;
        }
    }
}

/// The batch that starts with `first`: its runs as rows, the queries that
/// came with them, and whether to stop after.
///
/// Between messages the writer parks rather than waits on the channel, so a
/// run handed over meanwhile costs its sender no wake-up of this thread (one
/// per batch instead of one per run); whoever sends a query or a stop
/// unparks it (see `Analytics::wake_writer`).
fn gather(first: Message, receiver: &Receiver<Message>, counter: &mut TokenCounter) -> (Vec<RunRow>, Vec<Query>, bool) {
    let deadline = Instant::now() + BATCH_WAIT;
    let (mut batch, mut queries) = (Vec::new(), Vec::new());
    let mut next = Some(first);
    while let Some(message) = next.take() {
        match message {
            Message::Run(run) => batch.push(row(*run, counter.tokenizer())),
            Message::Query(query) => queries.push(query),
            Message::Stop => return (batch, queries, true),
        }
        if queries.is_empty() && batch.len() < BATCH {
            next = next_before(deadline, receiver);
        }
    }
    (batch, queries, false)
}

/// The next message, if one comes before `deadline` (parked meanwhile);
/// `None` when the time is up or every sender is gone.
fn next_before(deadline: Instant, receiver: &Receiver<Message>) -> Option<Message> {
    loop {
        match receiver.try_recv() {
            Ok(message) => return Some(message),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        std::thread::park_timeout(left);
    }
}

fn retention(settings: &AnalyticsSettings) -> Retention {
    let now = unix_ms(SystemTime::now());
    Retention { oldest_ms: now.saturating_sub(settings.max_age.as_millis() as i64), max_runs: settings.max_runs, max_calls: settings.max_calls }
}

/// The tokenizer the writer counts with (cl100k: some 20 MB), loaded for
/// the first run and let go once no run came for [`TOKENIZER_IDLE`], so an
/// idle host does not hold it.
struct TokenCounter {
    tokenizer: Option<CoreBPE>,
    /// How long it is kept with no run to count.
    idle: Duration,
}

impl TokenCounter {
    fn new(idle: Duration) -> Self {
        TokenCounter { tokenizer: None, idle }
    }

    fn tokenizer(&mut self) -> &CoreBPE {
        self.tokenizer.get_or_insert_with(|| cl100k_base().expect("the embedded cl100k tables load"))
    }

    /// The next message, letting the tokenizer go while none comes; `None`
    /// once every sender is gone.
    fn next(&mut self, receiver: &Receiver<Message>) -> Option<Message> {
        if self.tokenizer.is_some() {
            match receiver.recv_timeout(self.idle) {
                Ok(message) => return Some(message),
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {
                    self.tokenizer = None;
                    crate::heap::trim();
                }
            }
        }
        receiver.recv().ok()
    }
}

/// A finished run as a row, its tokens counted.
fn row(run: FinishedRun, tokenizer: &CoreBPE) -> RunRow {
    let (skill, session) = match run.entry {
        Entry::Code { session } => (None, session),
        Entry::Skill(name) => (Some(name), None),
    };
    RunRow {
        started_at_ms: run.started_at_ms,
        skill,
        session,
        duration_ms: run.duration_ms,
        error_kind: run.error_kind.map(str::to_owned),
        fuel: run.fuel,
        memory_peak_bytes: run.memory_peak_bytes,
        tool_calls: run.tool_calls,
        tokens_consumed: run.consumed.tokens(tokenizer),
        tokens_returned: run.returned.tokens(tokenizer),
        skills: run.skills.into_iter().collect(),
        calls: run.calls,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::sync_channel;

    use super::*;

    #[test]
    fn the_tokenizer_is_let_go_when_no_run_comes_and_loaded_again_for_the_next() {
        let (sender, receiver) = sync_channel(1);
        let mut counter = TokenCounter::new(Duration::from_millis(20));
        assert_eq!(counter.tokenizer().encode_with_special_tokens("hello world").len(), 2);
        let later = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            sender.send(Message::Stop).unwrap();
        });
        assert!(matches!(counter.next(&receiver), Some(Message::Stop)));
        assert!(counter.tokenizer.is_none(), "let go while the writer waited");
        assert_eq!(counter.tokenizer().encode_with_special_tokens("hello world").len(), 2);
        later.join().unwrap();
    }
}
