//! `events`: timers, cancellation, and the wait the guest's event loop blocks
//! on. The wait ends at the run's deadline with a [`DeadlineExceeded`] trap, so
//! time spent waiting on tools and timers counts against the deadline.

use std::time::Duration;

use crate::sandbox::bindings::mcp::code_runtime::events::{Completion, Host};
use crate::sandbox::limits::DeadlineExceeded;
use crate::sandbox::state::HostState;

impl Host for HostState {
    fn start_timer(&mut self, delay_ms: u32) -> wasmtime::Result<u32> {
        // tokio's timers tick every millisecond: a zero delay would wait for
        // the next tick instead of completing at the next turn of the loop.
        let due = (delay_ms > 0).then(|| tokio::time::Instant::now() + Duration::from_millis(delay_ms.into()));
        let timer = self.operations.start(async move {
            if let Some(due) = due {
                tokio::time::sleep_until(due).await;
            }
            Ok("null".into())
        });
        Ok(timer?)
    }

    fn cancel(&mut self, id: u32) {
        self.operations.cancel(id);
    }

    async fn wait_next(&mut self) -> wasmtime::Result<Option<Completion>> {
        if self.operations.is_idle() {
            return Ok(None);
        }
        let deadline = tokio::time::Instant::from_std(self.deadline);
        match tokio::time::timeout_at(deadline, self.operations.next()).await {
            Ok(next) => Ok(next.map(|(id, outcome)| Completion { id, outcome })),
            Err(_) => Err(DeadlineExceeded.into()),
        }
    }
}
