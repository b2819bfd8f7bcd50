//! The limits the engine enforces on a run: memory (a `ResourceLimiter` that
//! also records the peak), the wall-clock deadline (epoch interruption), and
//! the epoch ticker that makes both the deadline and fair scheduling work.
//!
//! Fuel, the CPU budget, is set on the store by the caller.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::policy::PausedTime;

use wasmtime::{Engine, ResourceLimiter};

/// How often the epoch advances while runs are active. A running program
/// yields to the async executor at every tick, so this bounds how long one
/// CPU-bound run holds a worker thread, and how late a deadline is noticed.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// How many ticks the ticker goes on after the last run ends before it parks:
/// back-to-back runs then find it awake instead of each paying to wake it.
const IDLE_TICKS_BEFORE_PARKING: u32 = 50;

/// Most table elements a run may have (function references, not data).
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Most operations (timers, tool calls, listings) one run may have pending:
/// each holds host memory, so without a bound a program could exhaust the
/// host's memory within its fuel budget.
pub const MAX_PENDING_OPERATIONS: usize = 10_000;

/// The trap raised when a run starts more operations than it may have pending.
#[derive(Debug, thiserror::Error)]
#[error("the program has more than {MAX_PENDING_OPERATIONS} timers and tool calls pending at once")]
pub struct TooManyPending;

/// The trap raised when a run's client cancels it.
#[derive(Debug, thiserror::Error)]
#[error("the run was cancelled")]
pub struct RunCancelled;

/// The trap raised when a run's wall-clock deadline passes.
#[derive(Debug, thiserror::Error)]
#[error("the run passed its deadline")]
pub struct DeadlineExceeded;

/// How often a wait that reached a paused deadline looks at it again.
const PAUSED_RECHECK: Duration = Duration::from_millis(50);

/// A run's wall-clock deadline, moved later by the time the run (and the
/// skills it called) waited for a human to approve a tool call: that wait is
/// not the program's time.
#[derive(Debug, Clone)]
pub struct Deadline {
    at: Instant,
    paused: Arc<PausedTime>,
}

impl Deadline {
    pub fn new(at: Instant, paused: Arc<PausedTime>) -> Self {
        Deadline { at, paused }
    }

    /// When the run must end, as of now; while it waits for an approval the
    /// deadline stands still, so it is at least [`PAUSED_RECHECK`] away.
    pub fn instant(&self) -> Instant {
        let moved = self.at + self.paused.total();
        if self.paused.is_waiting() { moved.max(Instant::now() + PAUSED_RECHECK) } else { moved }
    }

    pub fn has_passed(&self) -> bool {
        Instant::now() >= self.instant()
    }

    /// Resolves once the deadline, moved as it may be meanwhile, and then
    /// `grace` have passed.
    pub async fn passed(&self, grace: Duration) {
        loop {
            tokio::time::sleep_until((self.instant() + grace).into()).await;
            if Instant::now() >= self.instant() + grace {
                return;
            }
        }
    }
}

/// Caps linear memory at a fixed size and records the largest size reached.
/// Growth past the cap is refused (the guest's allocator then fails) and
/// remembered, so the run can be reported as `memory_limit`.
pub struct MemoryLimiter {
    cap: usize,
    pub peak: usize,
    pub refused: bool,
}

impl MemoryLimiter {
    pub fn new(cap: usize) -> Self {
        MemoryLimiter { cap, peak: 0, refused: false }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.refused = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] while runs are active (and
/// for [`IDLE_TICKS_BEFORE_PARKING`] ticks after), and parks otherwise, so an
/// idle host does not wake up.
pub struct EpochTicker {
    active: Arc<AtomicUsize>,
    thread: Thread,
}

/// Keeps the ticker running while it lives.
pub struct Ticking {
    active: Arc<AtomicUsize>,
}

impl EpochTicker {
    pub fn start(engine: Engine) -> std::io::Result<Self> {
        let active = Arc::new(AtomicUsize::new(0));
        let watched = Arc::clone(&active);
        let handle = thread::Builder::new().name("epoch-ticker".into()).spawn(move || {
            let mut idle_ticks = 0;
            loop {
                if watched.load(Ordering::Acquire) > 0 {
                    idle_ticks = 0;
                } else if idle_ticks >= IDLE_TICKS_BEFORE_PARKING {
                    thread::park();
                    continue;
                } else {
                    idle_ticks += 1;
                }
                thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })?;
        Ok(EpochTicker { active, thread: handle.thread().clone() })
    }

    /// Marks a run as active until the returned guard is dropped.
    pub fn activate(&self) -> Ticking {
        if self.active.fetch_add(1, Ordering::AcqRel) == 0 {
            self.thread.unpark();
        }
        Ticking { active: Arc::clone(&self.active) }
    }
}

impl Drop for Ticking {
    fn drop(&mut self) {
        self.active.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_growth_past_the_cap_is_refused_and_remembered() {
        let mut limiter = MemoryLimiter::new(1 << 20);
        assert!(limiter.memory_growing(0, 65536, None).unwrap());
        assert!(!limiter.memory_growing(65536, 2 << 20, None).unwrap());
        assert_eq!(limiter.peak, 65536);
        assert!(limiter.refused);
    }
}
