//! `events`: timers, cancellation, and the wait the guest's event loop blocks
//! on. The wait ends at the run's deadline with a [`DeadlineExceeded`] trap,
//! and when the run is cancelled with a [`RunCancelled`] trap, so time spent
//! waiting on tools and timers counts against the deadline (waiting for a
//! human to approve a call does not: it moves the deadline).

use std::time::Duration;

use crate::sandbox::bindings::mcp::code_runtime::events::{Completion, Host};
use crate::sandbox::limits::{DeadlineExceeded, RunCancelled};
use crate::sandbox::operations::Interrupted;
use crate::sandbox::state::HostState;

impl Host for HostState {
    fn start_timer(&mut self, delay_ms: u32) -> wasmtime::Result<u32> {
        Ok(self.operations.start_timer(Duration::from_millis(delay_ms.into()))?)
    }

    fn cancel(&mut self, id: u32) {
        self.operations.cancel(id);
    }

    async fn wait_next(&mut self) -> wasmtime::Result<Option<Completion>> {
        loop {
            // A wait for an approval moves the deadline later meanwhile.
            let deadline = self.deadline.instant();
            match self.operations.next(tokio::time::Instant::from_std(deadline), self.cancelled.cancelled()).await {
                Ok(next) => return Ok(next.map(|(id, outcome)| Completion { id, outcome })),
                Err(Interrupted::Deadline) if self.deadline.instant() > deadline => continue,
                Err(Interrupted::Deadline) => return Err(DeadlineExceeded.into()),
                Err(Interrupted::Cancelled) => return Err(RunCancelled.into()),
            }
        }
    }
}
