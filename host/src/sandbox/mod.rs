//! The WebAssembly sandbox: runs programs in the guest runtime under limits.
//!
//! [`Sandbox::new`] does the expensive work once: one `Engine` (fuel, epoch
//! interruption, pooling allocator), the `Linker` with WASI and our WIT
//! imports, the compiled guest from the artifact cache, and an `InstancePre`.
//! [`Sandbox::run`] does the cheap work per run: a fresh `Store` and instance,
//! so nothing a program does survives it.
//!
//! It knows nothing about MCP: requests to downstream tools go through the
//! [`ToolAccess`] each [`Job`] carries, and the program's cache and session
//! through the [`StateAccess`] that access gives.
//!
//! # Security
//! A program reaches only what the WIT world imports. WASI is linked because
//! the guest's standard library needs clocks and randomness, but its context
//! has no files, environment, arguments, stdio or network. Every run has a
//! wall-clock deadline, a fuel budget and a memory cap; a run that spins yields
//! to the executor at every epoch tick, so it never starves other requests.

mod artifact;
mod bindings;
mod fuel;
mod host;
mod limits;
mod operations;
mod state;
#[cfg(test)]
mod wasi_surface;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use wasmtime::component::Linker;
use wasmtime::{Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap, UpdateDeadline};

use crate::config::Limits;
use crate::outcome::{ErrorKind, LogLine, MAX_RESULT_DEPTH, RunError, RunOutcome, RunStats, json_depth};
use crate::{heap, transpile};
use bindings::{ScriptError, SandboxPre};
use limits::{Deadline, DeadlineExceeded, EpochTicker, RunCancelled, TooManyPending};
use state::HostState;

pub use artifact::{ArtifactError, CacheDir, CacheError, GUEST_HASH, artifact_path};
pub use fuel::FuelPool;
pub use bindings::{Failure, FailureKind, StateError, StateErrorKind};
pub use host::state::{NoState, StateAccess, StateFuture};
pub use host::tools::{ToolAccess, ToolFuture};

/// Core instances, tables and memories one guest instance needs at most (the
/// component holds a few core modules besides the main one).
const CORE_INSTANCES_PER_RUN: u32 = 16;
const MEMORIES_PER_RUN: u32 = 2;
/// The extra pool slots beyond concurrent runs (the snapshot at build time).
const SPARE_INSTANCES: u32 = 1;
/// Memory of a pool slot kept mapped between runs and reset in place (only its
/// dirty pages, where the kernel offers `PAGEMAP_SCAN`): it covers what a
/// small run dirties of the snapshot's heap (under 1 MiB), so such a run does
/// not fault its pages in again. Every slot a burst of concurrent runs used
/// keeps up to this much resident afterwards, so it is no larger.
const KEEP_RESIDENT_BYTES: usize = 1 << 20;
/// The native stack of a run's WebAssembly. QuickJS's parser takes about 3 KiB
/// of it per level of nesting, so this fits the deepest program the host
/// accepts ([`transpile::MAX_NESTING`]); only the pages a run touches are used.
/// The guest's own C stack (linked by `build.rs`) is twice as large, so deep
/// JavaScript recursion always ends here, with a clean stack-overflow trap.
const MAX_WASM_STACK_BYTES: usize = 2 << 20;
/// Room on a run's stack for the host functions the guest calls.
const HOST_STACK_BYTES: usize = 1 << 20;
/// Programs up to this size are transpiled on the calling worker thread (it
/// takes well under a millisecond); larger ones on a blocking thread.
const INLINE_TRANSPILE_BYTES: usize = 64 << 10;
/// How long past its deadline a run may take to stop before it is dropped.
const STOP_GRACE: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot configure the WebAssembly engine: {0}")]
    Engine(wasmtime::Error),
    #[error("cannot link the guest runtime: {0}")]
    Link(wasmtime::Error),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("cannot start the epoch ticker thread: {0}")]
    Ticker(std::io::Error),
}

/// What a run executes.
pub enum Program {
    /// TypeScript (or JavaScript) source: the body of an async function.
    Source(String),
    /// A skill: a module compiled by [`Sandbox::compile_module`], whose default
    /// export is called with `input` (the JSON text of an object).
    Skill { bytecode: Arc<[u8]>, input: String },
}

/// One program to run.
pub struct Job {
    pub program: Program,
    /// The requested wall-clock limit; capped by the configured maximum.
    pub timeout: Option<Duration>,
    /// The downstream tools this run may reach.
    pub tools: Arc<dyn ToolAccess>,
    /// Cancelling it stops the run at once (`cancelled`).
    pub cancel: CancellationToken,
    /// Told what the run does as it happens (console lines, tool calls).
    pub observer: Option<Arc<dyn RunObserver>>,
    /// The CPU budget this run draws from: its own, or its caller's for a
    /// skill called from a program.
    pub fuel: Arc<FuelPool>,
    /// A skill called from a run, which holds a run slot already: it takes a
    /// skill slot, at once or not at all.
    pub nested: bool,
    /// The time the run waited for approvals, which moves its deadline.
    pub paused: Arc<crate::policy::PausedTime>,
}

/// Watches a run as it goes, for a client that shows progress: `run` on a
/// terminal streams console lines and counts tool calls; an MCP client gets
/// progress and log notifications. Called on the run's own task (which
/// also polls its tool calls): implementations must return at once.
pub trait RunObserver: Send + Sync {
    /// The program wrote a console line (already capped like the run's log).
    fn console_line(&self, line: &LogLine);
    /// The program started a call of `tool` on `server` that its grant allowed.
    fn tool_call_started(&self, server: &str, tool: &str);
    /// A call started as [`RunObserver::tool_call_started`] says ended, well
    /// (`ok`) or with a failure; a call the program cancelled never ends.
    fn tool_call_finished(&self, server: &str, tool: &str, ok: bool);
    /// The program reported its progress: `current` out of `total` when
    /// known (both finite), with a message of at most
    /// [`MAX_PROGRESS_MESSAGE_BYTES`].
    fn progress(&self, current: f64, total: Option<f64>, message: Option<&str>);
}

/// The longest progress message of a program the host passes on, in bytes.
pub const MAX_PROGRESS_MESSAGE_BYTES: usize = 1024;

/// Where the time of one run goes, phase by phase (for benchmarks). The
/// runtime's own initialization is not a phase: it ran once, before the
/// snapshot was taken.
#[derive(Debug, Clone, Copy)]
pub struct PhaseTimings {
    /// TypeScript to JavaScript in the host.
    pub transpile: Duration,
    /// A fresh store and instance from the `InstancePre`.
    pub instantiate: Duration,
    /// The guest compiling the JavaScript to bytecode and running it.
    pub execute: Duration,
}

/// The engine and the compiled guest, shared by every run.
pub struct Sandbox {
    engine: Engine,
    pre: SandboxPre<HostState>,
    ticker: EpochTicker,
    run_slots: Semaphore,
    /// Instances for skills called from runs, which hold run slots already.
    skill_slots: Semaphore,
    limits: Limits,
}

impl Sandbox {
    /// Builds the engine and loads (or builds and caches) the compiled guest.
    pub async fn new(limits: Limits, cache_dir: &Path) -> Result<Self, SandboxError> {
        let config = engine_config(&limits);
        let engine = Engine::new(&config).map_err(SandboxError::Engine)?;
        let linker = linker(&engine).map_err(SandboxError::Link)?;
        let component = artifact::load_or_build(&engine, &config, cache_dir).await?;
        // Building (Cranelift) or reading the artifact freed far more than
        // the host keeps: give it back rather than hold it for life.
        heap::trim();
        let instance_pre = linker.instantiate_pre(&component).map_err(SandboxError::Link)?;
        let pre = SandboxPre::new(instance_pre).map_err(SandboxError::Link)?;
        let ticker = EpochTicker::start(engine.clone()).map_err(SandboxError::Ticker)?;
        let run_slots = Semaphore::new(limits.max_concurrent_runs as usize);
        let skill_slots = Semaphore::new(limits.max_concurrent_runs as usize);
        Ok(Sandbox { engine, pre, ticker, run_slots, skill_slots, limits })
    }

    /// Runs one program to its end, whatever it does.
    pub async fn run(&self, job: Job) -> RunOutcome {
        let started = Instant::now();
        let timeout = match self.timeout(job.timeout) {
            Ok(timeout) => timeout,
            Err(error) => return RunOutcome::rejected(error),
        };
        let program = match job.program {
            Program::Source(source) => match self.transpile(source, timeout).await {
                Ok(body) => Executable::Body(body),
                Err(error) => return RunOutcome::rejected(error),
            },
            Program::Skill { bytecode, input } => Executable::Module { bytecode, input },
        };
        let _slot = match self.slot(job.nested).await {
            Ok(slot) => slot,
            Err(error) => return RunOutcome::rejected(error),
        };
        let _ticking = self.ticker.activate();
        let deadline = Deadline::new(Instant::now() + timeout, job.paused);
        let mut store = self.store(deadline.clone(), job.cancel.clone(), Arc::clone(&job.tools), job.fuel);
        store.data_mut().observer = job.observer.clone();
        let names = (job.tools.server_names(), job.tools.skill_names());
        // The run's tool requests go on while the program computes (see `operations`).
        let requests = store.data().operations.driver();
        let executed = tokio::select! {
            executed = self.execute(&mut store, &program, &names) => executed,
            () = deadline.passed(STOP_GRACE) => Err(DeadlineExceeded.into()),
            () = stopped_after_cancel(&job.cancel) => Err(RunCancelled.into()),
            () = requests.drive() => unreachable!("the driver never resolves"),
        };
        sync_fuel(&mut store);
        let state = store.into_data();
        let stats = RunStats {
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            fuel_used: if job.nested { state.fuel.burnt() } else { state.fuel.pool().used() },
            memory_peak_bytes: state.limiter.peak as u64,
            ..RunStats::default()
        };
        let memory_refused = state.limiter.refused;
        if state.limiter.peak > heap::LARGE_RUN_BYTES {
            // The run's store is gone: what its large memory cost the host's
            // heap is free now.
            heap::trim();
        }
        let logs = state.console.into_lines();
        match self.settle(executed, memory_refused, timeout) {
            Ok(result) => RunOutcome::success(result, logs, stats),
            Err(error) => RunOutcome::failure(error, logs, stats),
        }
    }

    /// Compiles a skill's module (JavaScript) to bytecode under the file name
    /// `file`, in a run that reaches nothing, under the default limits.
    pub async fn compile_module(&self, file: &str, javascript: &str) -> Result<Vec<u8>, RunError> {
        let _slot = self.slot(false).await?;
        let _ticking = self.ticker.activate();
        let deadline = Deadline::new(Instant::now() + self.limits.default_timeout, Arc::default());
        let fuel = FuelPool::new(self.limits.fuel);
        let mut store = self.store(deadline, CancellationToken::new(), Arc::new(artifact::NoTools), fuel);
        let compiled = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            instance.call_compile_module(&mut store, file, javascript).await
        };
        let compiled = tokio::time::timeout(self.limits.default_timeout + STOP_GRACE, compiled)
            .await
            .unwrap_or_else(|_| Err(DeadlineExceeded.into()));
        let memory_refused = store.data().limiter.refused;
        match compiled {
            Ok(Ok(bytecode)) => Ok(bytecode),
            Ok(Err(error)) => Err(script_failure(error)),
            Err(trap) => Err(self.trap_failure(&trap, memory_refused, self.limits.default_timeout)),
        }
    }

    /// A run slot, or for a skill called from a run (which holds one already)
    /// a skill slot: taken at once or refused, so that runs waiting for their
    /// skills can never hold every slot.
    async fn slot(&self, nested: bool) -> Result<tokio::sync::SemaphorePermit<'_>, RunError> {
        if nested {
            return self.skill_slots.try_acquire().map_err(|_| {
                RunError::new(
                    ErrorKind::ToolLimit,
                    format!("more than {} skills are running at once", self.limits.max_concurrent_runs),
                )
            });
        }
        self.run_slots
            .acquire()
            .await
            .map_err(|_| RunError::new(ErrorKind::RuntimeError, "the sandbox is shutting down"))
    }

    async fn transpile(&self, source: String, timeout: Duration) -> Result<String, RunError> {
        if source.len() > self.limits.max_code_bytes {
            return Err(RunError::new(
                ErrorKind::InvalidInput,
                format!("the code is {} bytes, over the limit of {} bytes", source.len(), self.limits.max_code_bytes),
            ));
        }
        transpile_within(source, timeout).await
    }

    /// Runs `source` like [`Sandbox::run`] and reports how long each phase took.
    pub async fn time_phases(&self, source: &str, tools: Arc<dyn ToolAccess>) -> Result<PhaseTimings, String> {
        let started = Instant::now();
        let body = transpile::to_javascript(source).map_err(|error| error.to_string())?;
        let transpiled = Instant::now();
        let _slot = self.run_slots.acquire().await.map_err(|error| error.to_string())?;
        let _ticking = self.ticker.activate();
        let (servers, skills) = (tools.server_names(), tools.skill_names());
        let fuel = FuelPool::new(self.limits.fuel);
        let deadline = Deadline::new(Instant::now() + self.limits.default_timeout, Arc::default());
        let mut store = self.store(deadline, CancellationToken::new(), tools, fuel);
        let instance = self.pre.instantiate_async(&mut store).await.map_err(|error| error.to_string())?;
        let instantiated = Instant::now();
        instance.call_run(&mut store, &body, &servers, &skills).await.map_err(|error| error.to_string())?.map_err(|error| error.message)?;
        Ok(PhaseTimings {
            transpile: transpiled - started,
            instantiate: instantiated - transpiled,
            execute: instantiated.elapsed(),
        })
    }

    /// The time limit of a run that asks for `requested`: the default when
    /// it asks for none, capped by the configured maximum.
    pub fn timeout(&self, requested: Option<Duration>) -> Result<Duration, RunError> {
        match requested {
            None => Ok(self.limits.default_timeout),
            Some(timeout) if timeout.is_zero() => {
                Err(RunError::new(ErrorKind::InvalidInput, "timeout must be at least 1 ms"))
            }
            Some(timeout) => Ok(timeout.min(self.limits.max_timeout)),
        }
    }

    fn store(&self, deadline: Deadline, cancelled: CancellationToken, tools: Arc<dyn ToolAccess>, fuel: Arc<FuelPool>) -> Store<HostState> {
        let state = HostState::new(self.limits.memory_bytes, self.limits.max_log_bytes, deadline, cancelled, tools, fuel);
        let initial_fuel = state.fuel.initial();
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_fuel(initial_fuel).expect("fuel is enabled on the engine");
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut context| {
            sync_fuel(&mut context);
            let state = context.data();
            if state.deadline.has_passed() {
                Err(DeadlineExceeded.into())
            } else if state.cancelled.is_cancelled() {
                Err(RunCancelled.into())
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }

    async fn execute(
        &self,
        store: &mut Store<HostState>,
        program: &Executable,
        (servers, skills): &(Vec<String>, Vec<String>),
    ) -> wasmtime::Result<Result<String, ScriptError>> {
        let instance = self.pre.instantiate_async(&mut *store).await?;
        match program {
            Executable::Body(body) => instance.call_run(&mut *store, body, servers, skills).await,
            Executable::Module { bytecode, input } => {
                instance.call_run_module(&mut *store, bytecode, input, servers, skills).await
            }
        }
    }

    /// The program's value, or why it has none.
    fn settle(
        &self,
        executed: wasmtime::Result<Result<String, ScriptError>>,
        memory_refused: bool,
        timeout: Duration,
    ) -> Result<serde_json::Value, RunError> {
        match executed {
            Ok(Ok(json)) => self.result_value(&json),
            Ok(Err(error)) if memory_refused && is_out_of_memory(&error) => Err(self.memory_error()),
            Ok(Err(error)) => Err(script_failure(error)),
            Err(trap) => Err(self.trap_failure(&trap, memory_refused, timeout)),
        }
    }

    fn result_value(&self, json: &str) -> Result<serde_json::Value, RunError> {
        if json.len() > self.limits.max_result_bytes {
            return Err(RunError::new(
                ErrorKind::OutputLimit,
                format!(
                    "the result is {} bytes of JSON, over the limit of {} bytes: return a smaller summary",
                    json.len(),
                    self.limits.max_result_bytes
                ),
            ));
        }
        let depth = json_depth(json);
        if depth > MAX_RESULT_DEPTH {
            return Err(RunError::new(
                ErrorKind::OutputLimit,
                format!(
                    "the result nests arrays and objects {depth} levels deep, over the limit of {MAX_RESULT_DEPTH}: \
                     return a flatter value (or JSON.stringify the deep part)"
                ),
            ));
        }
        serde_json::from_str(json)
            .map_err(|error| RunError::new(ErrorKind::RuntimeError, format!("the result is not valid JSON: {error}")))
    }

    fn memory_error(&self) -> RunError {
        RunError::new(
            ErrorKind::MemoryLimit,
            format!("the program needed more memory than its cap of {} MiB", self.limits.memory_bytes >> 20),
        )
    }

    fn trap_failure(&self, trap: &wasmtime::Error, memory_refused: bool, timeout: Duration) -> RunError {
        if trap.is::<DeadlineExceeded>() {
            return RunError::new(
                ErrorKind::Timeout,
                format!("the program did not finish within its time limit of {} ms", timeout.as_millis()),
            );
        }
        if trap.is::<RunCancelled>() {
            return RunError::new(ErrorKind::Cancelled, "the run was cancelled by its client");
        }
        if let Some(too_many) = trap.downcast_ref::<TooManyPending>() {
            return RunError::new(ErrorKind::RuntimeError, format!("RangeError: {too_many}"));
        }
        match trap.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => RunError::new(
                ErrorKind::FuelExhausted,
                format!("the program used up its CPU budget of {} fuel units", self.limits.fuel),
            ),
            _ if memory_refused => self.memory_error(),
            Some(Trap::StackOverflow) => RunError::new(
                ErrorKind::RuntimeError,
                "RangeError: stack overflow (the program recursed too deeply)",
            ),
            _ => RunError::new(ErrorKind::RuntimeError, format!("the sandbox stopped the program: {trap:#}")),
        }
    }
}

/// A program ready for the guest.
enum Executable {
    /// The JavaScript body of the program's async function.
    Body(String),
    Module { bytecode: Arc<[u8]>, input: String },
}

/// Charges the run's fuel pool with what the store burnt and refills it to
/// what is left of the pool (see [`fuel`]).
fn sync_fuel(store: &mut impl wasmtime::AsContextMut<Data = HostState>) {
    let mut context = store.as_context_mut();
    let left = context.get_fuel().unwrap_or(0);
    let refill = context.data_mut().fuel.sync(left);
    let _ = context.set_fuel(refill);
}

fn engine_config(limits: &Limits) -> wasmtime::Config {
    // Runs, as many skills called from runs, and the snapshot's instance.
    let runs = 2 * limits.max_concurrent_runs + SPARE_INSTANCES;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(runs)
        .total_core_instances(runs * CORE_INSTANCES_PER_RUN)
        .total_tables(runs * CORE_INSTANCES_PER_RUN)
        .total_memories(runs * MEMORIES_PER_RUN)
        .total_stacks(runs)
        .max_memory_size(limits.memory_bytes)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES)
        .pagemap_scan(Enabled::Auto);
    let mut config = wasmtime::Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(MAX_WASM_STACK_BYTES)
        .async_stack_size(MAX_WASM_STACK_BYTES + HOST_STACK_BYTES)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    link_wasi(&mut linker)?;
    bindings::Sandbox::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(&mut linker, |state| state)?;
    Ok(linker)
}

/// Links the WASI interfaces the guest's standard library imports (I/O
/// streams, clocks, randomness, the CLI world's stdio, terminals, environment
/// and exit) and no others: the filesystem, sockets and name lookup are not
/// even linked, so no component could reach them. The context behind them is
/// empty (see [`HostState::new`]).
fn link_wasi(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::p2::bindings::{cli, random};
    use wasmtime_wasi::WasiView;
    use wasmtime_wasi::random::WasiRandom;

    wasmtime_wasi::p2::add_to_linker_proxy_interfaces_async(linker)?;
    cli::exit::add_to_linker::<HostState, WasiCli>(linker, HostState::cli)?;
    cli::environment::add_to_linker::<HostState, WasiCli>(linker, HostState::cli)?;
    cli::terminal_input::add_to_linker::<HostState, WasiCli>(linker, HostState::cli)?;
    cli::terminal_output::add_to_linker::<HostState, WasiCli>(linker, HostState::cli)?;
    cli::terminal_stdin::add_to_linker::<HostState, WasiCli>(linker, HostState::cli)?;
    cli::terminal_stdout::add_to_linker::<HostState, WasiCli>(linker, HostState::cli)?;
    cli::terminal_stderr::add_to_linker::<HostState, WasiCli>(linker, HostState::cli)?;
    random::insecure::add_to_linker::<HostState, WasiRandom>(linker, |state| state.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<HostState, WasiRandom>(linker, |state| state.ctx().ctx.random())?;
    Ok(())
}

/// A guest error as a run error, with its kind and position. An uncaught
/// host failure keeps its kind (the shared conventions name it).
fn script_failure(error: ScriptError) -> RunError {
    let kind = match error.failure {
        _ if error.is_syntax_error => ErrorKind::SyntaxError,
        None => ErrorKind::RuntimeError,
        Some(failure) => {
            let run_kind = conventions::failure_kind(failure as usize).run_kind;
            ErrorKind::from_name(run_kind).expect("every failure kind has a run kind")
        }
    };
    let mut run_error = RunError::new(kind, format!("{}: {}", error.name, error.message));
    if let Some((line, column)) = error.stack.as_deref().and_then(program_position) {
        run_error = run_error.at(line, column);
    }
    run_error.stack = error.stack.filter(|stack| !stack.trim().is_empty());
    run_error
}

/// Turns the program into JavaScript. A large program is transpiled on a
/// blocking thread, so its parse holds up no other run, and the run gives up
/// waiting for it at its deadline.
async fn transpile_within(source: String, timeout: Duration) -> Result<String, RunError> {
    let syntax_error = |error: transpile::SyntaxError| RunError::new(ErrorKind::SyntaxError, error.message).at(error.line, error.column);
    if source.len() <= INLINE_TRANSPILE_BYTES {
        return transpile::to_javascript(&source).map_err(syntax_error);
    }
    let transpiling = tokio::task::spawn_blocking(move || transpile::to_javascript(&source));
    match tokio::time::timeout(timeout, transpiling).await {
        Ok(Ok(transpiled)) => transpiled.map_err(syntax_error),
        Ok(Err(failed)) => Err(RunError::new(ErrorKind::RuntimeError, format!("the host failed to transpile the program: {failed}"))),
        Err(_) => Err(RunError::new(
            ErrorKind::Timeout,
            format!("the program did not finish within its time limit of {} ms (it was still being transpiled)", timeout.as_millis()),
        )),
    }
}

/// QuickJS's error for an allocation the memory cap refused (the shared
/// conventions say which). A program that caught one and later failed for
/// another reason fails for that reason.
fn is_out_of_memory(error: &ScriptError) -> bool {
    conventions::is_out_of_memory(&error.name, &error.message)
}

/// Resolves once `cancel` is cancelled and the run had [`STOP_GRACE`] to stop
/// by itself (it notices at its next epoch tick or wait).
async fn stopped_after_cancel(cancel: &CancellationToken) {
    cancel.cancelled().await;
    tokio::time::sleep(STOP_GRACE).await;
}

/// The position of the first frame of a stack in the user's code, the
/// program (`main.ts:LINE:COLUMN`) or a skill (`skills/<name>.ts:LINE:COLUMN`):
/// where it failed.
fn program_position(stack: &str) -> Option<(u32, u32)> {
    let frame = stack.lines().find(|frame| conventions::is_user_frame(frame))?;
    let file = frame.find(conventions::PROGRAM_FILE).or_else(|| frame.find(conventions::SKILLS_DIR))?;
    let (_, rest) = frame[file..].split_once(".ts:")?;
    let mut numbers = rest.split(|c: char| !c.is_ascii_digit()).filter(|part| !part.is_empty());
    let line = numbers.next()?.parse().ok()?;
    let column = numbers.next()?.parse().ok()?;
    Some((line, column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_position_reads_the_first_frame_in_the_program() {
        let stack = "    at f (main.ts:3:11)\n    at <anonymous> (main.ts:7:1)\n";
        assert_eq!(program_position(stack), Some((3, 11)));
        assert_eq!(program_position("    at native"), None);
        assert_eq!(program_position("    at native\n    at throws (skills/throws.ts:11:9)\n"), Some((11, 9)));
    }

    #[test]
    fn uncaught_denials_keep_their_kind() {
        let error = ScriptError {
            name: "CapabilityDeniedError".into(),
            message: "denied".into(),
            stack: None,
            is_syntax_error: false,
            failure: Some(FailureKind::CapabilityDenied),
        };
        assert_eq!(script_failure(error).kind, ErrorKind::CapabilityDenied);
    }
}
