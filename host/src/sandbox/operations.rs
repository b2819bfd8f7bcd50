//! The host operations one run has pending: its timers and its tool requests.
//!
//! Timers are entries of one queue ordered by due time, then by the order they
//! were set, so timers of equal delay fire in the order the program set them.
//! A timer costs no task, and clearing one removes its entry at once, so a
//! program that sets and clears timers in a loop holds no host memory for them.
//!
//! Tool requests (calls, listings, searches) each run as a task of the run's
//! `JoinSet`, so they start at once and proceed while the program computes. A
//! request that panics completes with a failure instead of never completing.
//!
//! Everything is bounded: at most [`MAX_PENDING_OPERATIONS`] timers, tasks and
//! undelivered completions together, counting tasks that were cancelled but
//! not reaped yet. Dropping the run's state drops the queue and aborts every
//! task.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;

use tokio::task::{AbortHandle, Id as TaskId, JoinError, JoinSet};
use tokio::time::Instant;

use super::bindings::{Failure, FailureKind};
use super::limits::{MAX_PENDING_OPERATIONS, TooManyPending};

/// What a host operation completes with: JSON text, or a failure.
pub type OperationResult = Result<String, Failure>;

/// A completed operation: its id and its result.
pub type Completion = (u32, OperationResult);

/// Why waiting for the next completion stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupted {
    /// The run's deadline passed.
    Deadline,
    /// The run was cancelled (by its client).
    Cancelled,
}

/// The completion of a timer: `null`.
const TIMER_FIRED: &str = "null";

#[derive(Default)]
pub struct Operations {
    next_id: u32,
    /// Pending timers by (due time, id); ids grow, so equal due times keep
    /// the order the timers were set in.
    timers: BTreeMap<(Instant, u32), ()>,
    /// The due time of each pending timer, to clear it by id.
    timer_due: HashMap<u32, Instant>,
    tasks: JoinSet<Completion>,
    /// The abort handle of each pending task, by operation id.
    task_handles: HashMap<u32, AbortHandle>,
    /// The operation id of each task, to report a task that panicked.
    task_ids: HashMap<TaskId, u32>,
    /// Completions taken from the tasks but not delivered yet.
    ready: VecDeque<Completion>,
    /// The ids in `ready` that were not cancelled since.
    ready_ids: HashSet<u32>,
}

impl Operations {
    /// Starts a timer due after `delay` and returns its id.
    pub fn start_timer(&mut self, delay: std::time::Duration) -> Result<u32, TooManyPending> {
        self.admit()?;
        let id = self.next_id();
        let due = Instant::now() + delay;
        self.timers.insert((due, id), ());
        self.timer_due.insert(id, due);
        Ok(id)
    }

    /// Starts `work` as a task and returns the id its completion will carry.
    pub fn start(&mut self, work: impl Future<Output = OperationResult> + Send + 'static) -> Result<u32, TooManyPending> {
        self.reap_finished();
        self.admit()?;
        let id = self.next_id();
        let handle = self.tasks.spawn(async move { (id, work.await) });
        self.task_ids.insert(handle.id(), id);
        self.task_handles.insert(id, handle);
        Ok(id)
    }

    /// Cancels operation `id`; its completion is never delivered.
    pub fn cancel(&mut self, id: u32) {
        if let Some(due) = self.timer_due.remove(&id) {
            self.timers.remove(&(due, id));
        } else if let Some(handle) = self.task_handles.remove(&id) {
            handle.abort();
        } else {
            self.ready_ids.remove(&id);
        }
    }

    /// True when nothing is pending: no timer, no task, no completion.
    pub fn is_idle(&self) -> bool {
        self.timers.is_empty() && self.task_handles.is_empty() && self.ready_ids.is_empty()
    }

    /// The next completion: a completed task or a due timer, whichever comes
    /// first; `Ok(None)` when nothing is pending. Stops at `deadline`, or when
    /// `cancelled` completes.
    pub async fn next(
        &mut self,
        deadline: Instant,
        cancelled: impl Future<Output = ()>,
    ) -> Result<Option<Completion>, Interrupted> {
        tokio::pin!(cancelled);
        loop {
            if let Some(completion) = self.next_ready().or_else(|| self.due_timer(Instant::now())) {
                return Ok(Some(completion));
            }
            if self.is_idle() {
                return Ok(None);
            }
            let next_timer = self.timers.keys().next().map(|(due, _)| *due);
            tokio::select! {
                biased;
                () = &mut cancelled => return Err(Interrupted::Cancelled),
                () = tokio::time::sleep_until(deadline) => return Err(Interrupted::Deadline),
                Some(joined) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => self.take(joined),
                () = sleep_until_some(next_timer) => {}
            }
        }
    }

    fn next_id(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    /// Refuses a new operation when the run has its maximum pending, counting
    /// tasks that ended but were not reaped yet: they still hold memory.
    fn admit(&self) -> Result<(), TooManyPending> {
        if self.timers.len() + self.tasks.len() + self.ready.len() >= MAX_PENDING_OPERATIONS {
            return Err(TooManyPending);
        }
        Ok(())
    }

    /// The first completion in `ready` that was not cancelled.
    fn next_ready(&mut self) -> Option<Completion> {
        while let Some(completion) = self.ready.pop_front() {
            if self.ready_ids.remove(&completion.0) {
                return Some(completion);
            }
        }
        None
    }

    /// The earliest timer due at `now`, removed from the queue.
    fn due_timer(&mut self, now: Instant) -> Option<Completion> {
        let (&(due, id), ()) = self.timers.first_key_value()?;
        if due > now {
            return None;
        }
        self.timers.remove(&(due, id));
        self.timer_due.remove(&id);
        Some((id, Ok(TIMER_FIRED.to_owned())))
    }

    /// Moves the tasks that have ended into `ready`, so cancelled tasks stop
    /// counting against the bound as soon as they are gone.
    fn reap_finished(&mut self) {
        while let Some(joined) = self.tasks.try_join_next_with_id() {
            self.take(joined);
        }
    }

    /// Records a joined task: its completion, unless it was cancelled; a
    /// panic becomes a failure of the operation.
    fn take(&mut self, joined: Result<(TaskId, Completion), JoinError>) {
        let completion = match joined {
            Ok((task, completion)) => {
                self.task_ids.remove(&task);
                completion
            }
            Err(error) => {
                let Some(id) = self.task_ids.remove(&error.id()) else { return };
                let message = if error.is_panic() {
                    "the host failed while running this operation (a bug in mcp-code-runtime; see its log)"
                } else {
                    "the operation was cancelled"
                };
                (id, Err(Failure::new(FailureKind::TransportError, message, "", "")))
            }
        };
        if self.task_handles.remove(&completion.0).is_some() {
            self.ready_ids.insert(completion.0);
            self.ready.push_back(completion);
        }
    }
}

/// Sleeps until `due`, or forever when there is none.
async fn sleep_until_some(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn far_deadline() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    async fn next_id(operations: &mut Operations) -> Option<u32> {
        operations.next(far_deadline(), std::future::pending()).await.unwrap().map(|(id, _)| id)
    }

    #[tokio::test]
    async fn cancelled_operations_never_complete() {
        let mut operations = Operations::default();
        let slow = operations
            .start(async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok("slow".into())
            })
            .unwrap();
        let fast = operations.start(async { Ok("fast".into()) }).unwrap();
        operations.cancel(slow);
        assert_eq!(next_id(&mut operations).await, Some(fast));
        assert_eq!(next_id(&mut operations).await, None);
    }

    #[tokio::test]
    async fn timers_of_equal_delay_fire_in_the_order_they_were_set() {
        let mut operations = Operations::default();
        let ids: Vec<u32> = (0..50).map(|_| operations.start_timer(Duration::ZERO).unwrap()).collect();
        let mut fired = Vec::new();
        while let Some(id) = next_id(&mut operations).await {
            fired.push(id);
        }
        assert_eq!(fired, ids);
    }

    #[tokio::test]
    async fn a_shorter_timer_set_later_fires_first() {
        let mut operations = Operations::default();
        let long = operations.start_timer(Duration::from_millis(30)).unwrap();
        let short = operations.start_timer(Duration::from_millis(5)).unwrap();
        assert_eq!(next_id(&mut operations).await, Some(short));
        assert_eq!(next_id(&mut operations).await, Some(long));
    }

    #[tokio::test]
    async fn cleared_timers_hold_nothing_and_never_count_against_the_bound() {
        let mut operations = Operations::default();
        for _ in 0..(MAX_PENDING_OPERATIONS * 3) {
            let id = operations.start_timer(Duration::from_secs(1_000)).unwrap();
            operations.cancel(id);
        }
        assert!(operations.is_idle());
        assert!(operations.timer_due.is_empty());
    }

    #[tokio::test]
    async fn the_bound_counts_timers_and_tasks_together() {
        let mut operations = Operations::default();
        for _ in 0..MAX_PENDING_OPERATIONS / 2 {
            operations.start_timer(Duration::from_secs(1_000)).unwrap();
        }
        for _ in 0..MAX_PENDING_OPERATIONS / 2 {
            operations.start(std::future::pending()).unwrap();
        }
        assert!(operations.start_timer(Duration::ZERO).is_err());
        assert!(operations.start(async { Ok("x".into()) }).is_err());
    }

    #[tokio::test]
    async fn a_panicking_operation_completes_with_a_failure() {
        let mut operations = Operations::default();
        let id = operations.start(async { panic!("a bug") }).unwrap();
        let (completed, result) = operations.next(far_deadline(), std::future::pending()).await.unwrap().unwrap();
        assert_eq!(completed, id);
        assert_eq!(result.unwrap_err().kind, FailureKind::TransportError);
    }

    #[tokio::test]
    async fn waiting_stops_at_the_deadline_and_on_cancellation() {
        let mut operations = Operations::default();
        operations.start(std::future::pending()).unwrap();
        let soon = Instant::now() + Duration::from_millis(10);
        assert_eq!(operations.next(soon, std::future::pending()).await.unwrap_err(), Interrupted::Deadline);
        assert_eq!(operations.next(far_deadline(), async {}).await.unwrap_err(), Interrupted::Cancelled);
    }
}
