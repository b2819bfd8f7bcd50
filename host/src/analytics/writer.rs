//! The writer: one thread that owns the host's connection to the store.
//! Runs reach it through a bounded channel; it counts their tokens, saves
//! them in batches (one transaction each, with pruning to the retention
//! settings) and answers queries in turn, so a query sees every run recorded
//! before it was asked.
//!
//! Recording never waits: when the channel is full (the disk is slow, or
//! thousands of runs end at once) the run is dropped and counted, and a run
//! that cannot be written (a disk error) is counted too; both are reported
//! as `unrecorded`. Nothing here runs on the async workers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::SystemTime;

use super::capture::{Entry, FinishedRun, unix_ms};
use crate::config::AnalyticsSettings;
use crate::store::{Retention, RunRow, Store};

/// How many runs wait for the writer at most.
pub const QUEUE: usize = 1024;
/// Most runs saved in one transaction.
const BATCH: usize = 64;

/// A query, run on the writer's connection.
pub type Query = Box<dyn FnOnce(&mut dyn Store) + Send>;

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

/// The writer's loop: until [`Message::Stop`] or every sender is gone.
pub fn run(mut store: Box<dyn Store>, receiver: Receiver<Message>, settings: AnalyticsSettings, unrecorded: Arc<Unrecorded>) {
    let mut warned = false;
    loop {
        let Ok(first) = receiver.recv() else { return };
        let mut batch = Vec::new();
        let mut queries = Vec::new();
        let mut stop = false;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Run(run) => batch.push(row(*run)),
                Message::Query(query) => queries.push(query),
                Message::Stop => stop = true,
            }
            if !stop && batch.len() < BATCH {
                next = match receiver.try_recv() {
                    Ok(message) => Some(message),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
                };
            }
        }
        if !batch.is_empty()
            && let Err(error) = store.save_runs(&batch, &retention(&settings))
        {
            unrecorded.failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
            if !std::mem::replace(&mut warned, true) {
                tracing::error!(%error, "runs cannot be recorded; the host goes on without recording them");
            }
        }
        for query in queries {
            query(store.as_mut());
        }
        if stop {
            return;
        }
    }
}

fn retention(settings: &AnalyticsSettings) -> Retention {
    let now = unix_ms(SystemTime::now());
    Retention { oldest_ms: now.saturating_sub(settings.max_age.as_millis() as i64), max_runs: settings.max_runs, max_calls: settings.max_calls }
}

/// A finished run as a row, its tokens counted.
fn row(run: FinishedRun) -> RunRow {
    RunRow {
        started_at_ms: run.started_at_ms,
        skill: match run.entry {
            Entry::Code => None,
            Entry::Skill(name) => Some(name),
        },
        session: None,
        duration_ms: run.duration_ms,
        error_kind: run.error_kind.map(str::to_owned),
        fuel: run.fuel,
        memory_peak_bytes: run.memory_peak_bytes,
        tool_calls: run.tool_calls,
        tokens_consumed: run.consumed.tokens(),
        tokens_returned: run.returned.tokens(),
        skills: run.skills.into_iter().collect(),
        calls: run.calls,
    }
}
