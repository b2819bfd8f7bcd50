//! Runs a fuzz input where the host runs it: on a thread with the stack of a
//! tokio worker (2 MiB), so recursion that would overflow a worker's stack in
//! the host aborts the fuzzer too, and a panic stays a panic.

/// The stack size of a tokio worker thread (tokio's default).
const TOKIO_WORKER_STACK_BYTES: usize = 2 << 20;

pub fn on_worker_stack(work: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(TOKIO_WORKER_STACK_BYTES)
        .spawn(work)
        .expect("spawn a fuzz worker thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}
