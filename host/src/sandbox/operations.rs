//! The host operations one run has pending: its timers and its tool requests.
//!
//! Timers are entries of one queue ordered by due time, then by the order they
//! were set, so timers of equal delay fire in the order the program set them.
//! A timer costs no task, and clearing one removes its entry at once, so a
//! program that sets and clears timers in a loop holds no host memory for them.
//!
//! Tool requests (calls, listings, searches) are futures polled by the run's
//! own task, not tasks of their own: a completion wakes the run directly,
//! with no hand-off between tasks or threads. Each is polled once as it
//! starts, so a call is on its way before the program goes on; then whenever
//! the program waits ([`Operations::next`]) and, while it computes, at each
//! epoch tick, when the run's [`RequestDriver`] is polled beside it (see
//! `Sandbox::run`). A request that panics completes with a failure instead
//! of never completing.
//!
//! Everything is bounded: at most [`MAX_PENDING_OPERATIONS`] timers, requests
//! and undelivered completions together, counting requests that were cancelled
//! but not reaped yet. Dropping the run's state drops the queue and every
//! request.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_util::future::{AbortHandle, Abortable, Aborted};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
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

/// How a request ended: with its result, by a panic, or cancelled.
type Ended = (u32, Result<std::thread::Result<OperationResult>, Aborted>);
type Request = Pin<Box<dyn Future<Output = Ended> + Send>>;

#[derive(Default)]
pub struct Operations {
    next_id: u32,
    /// Pending timers by (due time, id); ids grow, so equal due times keep
    /// the order the timers were set in.
    timers: BTreeMap<(Instant, u32), ()>,
    /// The due time of each pending timer, to clear it by id.
    timer_due: HashMap<u32, Instant>,
    /// The tool requests, shared with the run's [`RequestDriver`].
    requests: Arc<Mutex<Requests>>,
}

/// A run's tool requests: those under way and those completed but not
/// delivered yet.
#[derive(Default)]
struct Requests {
    running: FuturesUnordered<Request>,
    /// The abort handle of each request under way, by operation id.
    handles: HashMap<u32, AbortHandle>,
    /// Completions taken from the requests but not delivered yet.
    ready: VecDeque<Completion>,
    /// The ids in `ready` that were not cancelled since.
    ready_ids: HashSet<u32>,
}

/// Polls a run's tool requests while the program computes: `Sandbox::run`
/// polls [`RequestDriver::drive`] beside the program, in the run's task.
pub struct RequestDriver(Arc<Mutex<Requests>>);

impl RequestDriver {
    /// Moves completed requests to the run's queue as they complete; never
    /// resolves.
    pub async fn drive(&self) {
        std::future::poll_fn(|context| {
            lock(&self.0).poll_running(context);
            Poll::<()>::Pending
        })
        .await;
    }
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

    /// Starts `work` and returns the id its completion will carry. It is
    /// polled once at once, so it starts before the program goes on.
    pub fn start(&mut self, work: impl Future<Output = OperationResult> + Send + 'static) -> Result<u32, TooManyPending> {
        let shared = Arc::clone(&self.requests);
        let mut requests = lock(&shared);
        // Reaps what ended, so cancelled requests stop counting at once.
        requests.poll_running(&mut Context::from_waker(Waker::noop()));
        if self.timers.len() + requests.len() >= MAX_PENDING_OPERATIONS {
            return Err(TooManyPending);
        }
        let id = self.next_id();
        let (handle, registration) = AbortHandle::new_pair();
        let work = Abortable::new(AssertUnwindSafe(work).catch_unwind(), registration).map(move |ended| (id, ended));
        requests.running.push(Box::pin(work));
        requests.handles.insert(id, handle);
        requests.poll_running(&mut Context::from_waker(Waker::noop()));
        Ok(id)
    }

    /// The driver that polls this run's requests while the program computes.
    pub fn driver(&self) -> RequestDriver {
        RequestDriver(Arc::clone(&self.requests))
    }

    /// Cancels operation `id`; its completion is never delivered.
    pub fn cancel(&mut self, id: u32) {
        if let Some(due) = self.timer_due.remove(&id) {
            self.timers.remove(&(due, id));
            return;
        }
        let mut requests = lock(&self.requests);
        if let Some(handle) = requests.handles.remove(&id) {
            handle.abort();
        } else {
            requests.ready_ids.remove(&id);
        }
    }

    /// True when nothing is pending: no timer, no request, no completion.
    pub fn is_idle(&self) -> bool {
        let requests = lock(&self.requests);
        self.timers.is_empty() && requests.handles.is_empty() && requests.ready_ids.is_empty()
    }

    /// The next completion: a completed request or a due timer, whichever
    /// comes first; `Ok(None)` when nothing is pending. Stops at `deadline`,
    /// or when `cancelled` completes.
    pub async fn next(
        &mut self,
        deadline: Instant,
        cancelled: impl Future<Output = ()>,
    ) -> Result<Option<Completion>, Interrupted> {
        tokio::pin!(cancelled);
        let requests = Arc::clone(&self.requests);
        loop {
            if let Some(completion) = lock(&requests).next_ready().or_else(|| self.due_timer(Instant::now())) {
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
                () = completed(&requests) => {}
                () = sleep_until_some(next_timer) => {}
            }
        }
    }

    fn next_id(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    /// Refuses a new operation when the run has its maximum pending, counting
    /// requests that ended but were not reaped yet: they still hold memory.
    fn admit(&self) -> Result<(), TooManyPending> {
        if self.timers.len() + lock(&self.requests).len() >= MAX_PENDING_OPERATIONS {
            return Err(TooManyPending);
        }
        Ok(())
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
}

impl Requests {
    /// Requests under way or not reaped, and completions not delivered.
    fn len(&self) -> usize {
        self.running.len() + self.ready.len()
    }

    /// Polls the requests under way, moving those that ended into `ready`.
    fn poll_running(&mut self, context: &mut Context<'_>) {
        while let Poll::Ready(Some(ended)) = self.running.poll_next_unpin(context) {
            self.take(ended);
        }
    }

    /// True when `ready` holds a completion that was not cancelled (those
    /// that were are dropped from its front).
    fn has_ready(&mut self) -> bool {
        while let Some((id, _)) = self.ready.front() {
            if self.ready_ids.contains(id) {
                return true;
            }
            self.ready.pop_front();
        }
        false
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

    /// Records a request that ended: its completion, unless it was
    /// cancelled; a panic becomes a failure of the operation.
    fn take(&mut self, (id, ended): Ended) {
        let result = match ended {
            Ok(Ok(result)) => result,
            Ok(Err(_panic)) => Err(Failure::new(
                FailureKind::TransportError,
                "the host failed while running this operation (a bug in mcp-code-runtime; see its log)",
                "",
                "",
            )),
            Err(Aborted) => return,
        };
        if self.handles.remove(&id).is_some() {
            self.ready_ids.insert(id);
            self.ready.push_back((id, result));
        }
    }
}

/// Resolves once a request has completed (into the queue).
async fn completed(requests: &Mutex<Requests>) {
    std::future::poll_fn(|context| {
        let mut requests = lock(requests);
        requests.poll_running(context);
        if requests.has_ready() { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
}

fn lock(requests: &Mutex<Requests>) -> MutexGuard<'_, Requests> {
    requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
    async fn the_bound_counts_timers_and_requests_together() {
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
    async fn a_request_is_polled_as_it_starts() {
        let mut operations = Operations::default();
        let (sent, mut arrived) = tokio::sync::mpsc::unbounded_channel();
        operations
            .start(async move {
                sent.send("on its way").unwrap();
                std::future::pending().await
            })
            .unwrap();
        assert_eq!(arrived.try_recv().ok(), Some("on its way"), "started before anything waited");
    }

    #[tokio::test]
    async fn the_driver_moves_requests_on_while_nothing_waits() {
        let mut operations = Operations::default();
        let (answer, answered) = tokio::sync::oneshot::channel::<&str>();
        let (next_step, mut stepped) = tokio::sync::mpsc::unbounded_channel();
        let id = operations
            .start(async move {
                let answer = answered.await.unwrap();
                next_step.send(answer).unwrap();
                Ok(answer.to_owned())
            })
            .unwrap();
        answer.send("answered").unwrap();
        let driver = operations.driver();
        let _ = tokio::time::timeout(Duration::from_millis(50), driver.drive()).await;
        assert_eq!(stepped.try_recv().ok(), Some("answered"), "the driver polled the request on");
        let (completed, result) = operations.next(far_deadline(), std::future::pending()).await.unwrap().unwrap();
        assert_eq!((completed, result.unwrap()), (id, "answered".to_owned()));
    }

    #[tokio::test]
    async fn a_cancelled_request_that_completed_is_not_waited_for() {
        let mut operations = Operations::default();
        let done = operations.start(async { Ok("done".into()) }).unwrap();
        operations.cancel(done);
        assert!(operations.is_idle());
        assert_eq!(next_id(&mut operations).await, None);
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
