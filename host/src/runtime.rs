//! The runtime: the sandbox and the bridge, shared by every request.
//!
//! The sandbox is built in the background as soon as the runtime starts, so
//! the MCP handshake is answered at once even when the guest must first be
//! compiled (a cold cache); the first run waits for it.
//!
//! Each run gets its capabilities from the bridge, narrowed to the servers
//! the request names, and a grant the sandbox reaches through [`access`]
//! (the one place bridge errors become the sandbox's WIT failures). The grant
//! is revoked when the run ends, and its warnings about results that drift
//! from their tools' output schemas end the run's logs.
//!
//! Skills run here too ([`skill_runs`]): called as tools, each with the grant
//! of the servers it declares; called from a run, with what its caller's
//! grant gives it. The runtime holds the skill [`Library`] and saves and
//! deletes skills, compiling a new one before it is offered.
//!
//! It also keeps what responses cut to the token budget ([`results`]), and
//! hands every run it serves to the [`Analytics`] when the host records them.
//! It holds the host's [`State`] (the programs' cache and the sessions): a
//! run gets the cache, and the session its request names, read when it
//! starts and saved when it ends ([`state`]); the cache is loaded at start
//! and saved at shutdown when the config says so.
//! A run served runs in a `run` tracing span that notes how it ended (`ok`,
//! `error.kind`); its tool calls run in `tool_call` spans (see [`access`]).

mod access;
pub mod results;
pub mod skill_runs;
pub mod state;

use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::OnceCell;
use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::analytics::{Analytics, Entry, RunLog};
use crate::bridge::{Bridge, RunGrant, ServerStatus};
use crate::config::Config;
use crate::outcome::{ErrorKind, LogLevel, LogLine, RunError, RunOutcome};
use crate::policy::Approver;
use crate::sandbox::{Job, Program, RunObserver, Sandbox};
use crate::skills::{Library, SaveRequest, Skill, SkillError, SkillFolders};
use crate::state::{RunSession, SessionError, State};
use access::RevokeOnDrop;
use skill_runs::{CompiledSkills, RunContext, check_input};
use state::RunState;

pub use access::GrantAccess;

/// One `execute_code` request.
#[derive(Clone, Default)]
pub struct ExecuteRequest {
    pub code: String,
    pub timeout: Option<Duration>,
    /// The servers the code may call; all configured ones when `None`.
    pub servers: Option<Vec<String>>,
    /// Cancelled when the client cancels the request: the run stops at once.
    pub cancel: tokio_util::sync::CancellationToken,
    /// Told of console lines and tool calls as the run goes.
    pub observer: Option<Arc<dyn RunObserver>>,
    /// Asks a human about the calls the policy wants approved; without one
    /// they are denied.
    pub approver: Option<Arc<dyn Approver>>,
    /// The session the run reads at its start and saves at its end.
    pub session_id: Option<String>,
}

/// One call of a skill as a tool.
#[derive(Clone, Default)]
pub struct SkillRequest {
    pub name: String,
    pub input: Value,
    pub cancel: tokio_util::sync::CancellationToken,
    pub observer: Option<Arc<dyn RunObserver>>,
    pub approver: Option<Arc<dyn Approver>>,
}

pub struct Runtime {
    config: Config,
    bridge: Bridge,
    sandbox: OnceCell<Result<Sandbox, String>>,
    skills: Library,
    compiled: CompiledSkills,
    /// Results and consoles that responses cut, kept for reading.
    results: results::ResultStore,
    /// Where runs are recorded; `None` when they are not.
    analytics: Option<Analytics>,
    /// The programs' cache and the sessions.
    state: Arc<State>,
    /// Itself, for the skill calls of its runs (which must not keep it alive).
    this: Weak<Runtime>,
}

impl Runtime {
    /// Creates the runtime and starts building its sandbox in the background,
    /// then compiling the skills that are not in the cache yet.
    pub fn start(config: Config) -> Arc<Self> {
        Runtime::start_recording(config, None)
    }

    /// [`Runtime::start`], recording every run in `analytics`.
    pub fn start_recording(config: Config, analytics: Option<Analytics>) -> Arc<Self> {
        let folders = SkillFolders { directory: config.runtime.skills.directory.clone(), data_dir: config.runtime.data_dir.clone() };
        let (skills, problems) = Library::load(folders);
        for problem in problems {
            tracing::warn!("a skill is left out: {problem}");
        }
        let runtime = Arc::new_cyclic(|this| Runtime {
            bridge: Bridge::new(&config),
            compiled: CompiledSkills::new(&config.runtime.cache_dir),
            results: results::ResultStore::new(config.runtime.result_store),
            state: State::new(&config.runtime),
            analytics,
            config,
            sandbox: OnceCell::new(),
            skills,
            this: this.clone(),
        });
        let warming = Arc::clone(&runtime);
        tokio::spawn(async move {
            if let Err(error) = warming.state.load_cache().await {
                tracing::warn!("the saved cache is not loaded: {error}");
            }
            if let Err(error) = warming.sandbox().await {
                tracing::error!(%error, "the sandbox cannot start; every run will fail");
                return;
            }
            for problem in warming.compile_skills().await {
                tracing::warn!("a skill does not compile: {problem}");
            }
            // Building the sandbox and compiling skills freed more than the host keeps.
            crate::heap::trim();
        });
        runtime
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The skills offered now.
    pub fn skills(&self) -> &Library {
        &self.skills
    }

    /// Every skill, described as a tool for discovery.
    pub fn skill_infos(&self) -> Vec<crate::typegen::ToolInfo> {
        self.skills.current().iter().map(|skill| skill.tool_info()).collect()
    }

    /// Compiles every skill not compiled yet; returns those that fail.
    pub async fn compile_skills(&self) -> Vec<SkillError> {
        let Ok(sandbox) = self.sandbox().await else { return Vec::new() };
        let mut problems = Vec::new();
        for skill in self.skills.current().iter() {
            if let Err(problem) = self.compiled.bytecode(sandbox, skill).await {
                problems.push(problem);
            }
        }
        problems
    }

    pub fn bridge(&self) -> &Bridge {
        &self.bridge
    }

    pub fn results(&self) -> &results::ResultStore {
        &self.results
    }

    /// Where runs are recorded, when they are.
    pub fn analytics(&self) -> Option<&Analytics> {
        self.analytics.as_ref()
    }

    /// A log for a run starting now: recording when the host records runs.
    fn run_log(&self) -> Arc<RunLog> {
        if self.analytics.is_some() { RunLog::recording() } else { RunLog::off() }
    }

    /// Hands the run that `log` recorded to the analytics, its tools named
    /// by their names where the program used aliases.
    fn record(&self, log: &RunLog, entry: Entry, outcome: &RunOutcome) {
        if let (Some(analytics), Some(mut run)) = (&self.analytics, log.finish(entry, outcome)) {
            run.name_tools(|server, tool| self.bridge.tool_name(server, tool));
            analytics.record(run);
        }
    }

    /// Waits until the sandbox is ready (or has failed to start).
    pub async fn sandbox(&self) -> Result<&Sandbox, &str> {
        let cache_dir: PathBuf = self.config.runtime.cache_dir.clone();
        let limits = self.config.runtime.limits.clone();
        self.sandbox
            .get_or_init(|| async move { Sandbox::new(limits, &cache_dir).await.map_err(|error| error.to_string()) })
            .await
            .as_ref()
            .map_err(String::as_str)
    }

    /// Runs one program and reports what it did.
    pub async fn execute(&self, request: ExecuteRequest) -> RunOutcome {
        let log = self.run_log();
        let entry = Entry::Code { session: request.session_id.clone() };
        let span = tracing::debug_span!("run", entry = "execute_code", ok = Empty, error.kind = Empty);
        let outcome = self.execute_logged(request, &log).instrument(span.clone()).await;
        note_outcome(&span, outcome.ok, outcome.error.as_ref().map(|error| error.kind.as_str()));
        self.record(&log, entry, &outcome);
        outcome
    }

    async fn execute_logged(&self, request: ExecuteRequest, log: &Arc<RunLog>) -> RunOutcome {
        let mut capabilities = self.bridge.capabilities();
        if let Some(servers) = &request.servers {
            capabilities = match capabilities.narrow(servers) {
                Ok(narrowed) => narrowed,
                Err(unknown) => return RunOutcome::rejected(RunError::new(ErrorKind::InvalidInput, unknown.to_string())),
            };
        }
        let grant = Arc::new(self.bridge.grant(capabilities).with_approver(request.approver));
        let sandbox = match self.ready_sandbox().await {
            Ok(sandbox) => sandbox,
            Err(error) => return RunOutcome::rejected(error),
        };
        let timeout = match sandbox.timeout(request.timeout) {
            Ok(timeout) => timeout,
            Err(error) => return RunOutcome::rejected(error),
        };
        let session = match self.begin_session(request.session_id.as_deref()).await {
            Ok(session) => session,
            Err(error) => return RunOutcome::rejected(error),
        };
        let context = RunContext::new(Instant::now() + timeout, grant.paused(), request.cancel, self.config.runtime.limits.fuel)
            .logged(Arc::clone(log))
            .observed(request.observer)
            .stateful(RunState::new(Arc::clone(&self.state), session.clone()));
        let outcome = self.run_granted(sandbox, Program::Source(request.code), grant, context).await;
        self.end_session(session.as_deref(), outcome).await
    }

    /// The session a run names, read as the run starts.
    async fn begin_session(&self, id: Option<&str>) -> Result<Option<Arc<RunSession>>, RunError> {
        let Some(id) = id else { return Ok(None) };
        match self.state.sessions().begin(id).await {
            Ok(session) => Ok(Some(Arc::new(session))),
            Err(error @ SessionError::Unavailable(_)) => Err(RunError::new(ErrorKind::RuntimeError, format!("the session cannot be read: {error}"))),
            Err(error) => Err(RunError::new(ErrorKind::InvalidInput, format!("sessionId: {error}"))),
        }
    }

    /// Saves what a run changed in its session (see `state::sessions`): a
    /// run whose changes cannot be saved fails, saying why.
    async fn end_session(&self, session: Option<&RunSession>, outcome: RunOutcome) -> RunOutcome {
        let Some(session) = session else { return outcome };
        match self.state.sessions().finish(session, outcome.ok).await {
            Ok(()) => outcome,
            Err(error) if outcome.ok => {
                let message = format!("the program ended, but its changes to session `{}` were not saved: {error}", session.id());
                RunOutcome { ok: false, result: Value::Null, error: Some(RunError::new(ErrorKind::RuntimeError, message)), truncated: None, ..outcome }
            }
            Err(error) => {
                tracing::warn!(session = session.id(), "the use of a session is not noted: {error}");
                outcome
            }
        }
    }

    /// Calls a skill as a tool: it may use the servers it declares, under
    /// the configured policy, within the default limits of a run.
    pub async fn call_skill(&self, request: SkillRequest) -> RunOutcome {
        let log = self.run_log();
        let name = request.name.clone();
        let span = tracing::debug_span!("run", entry = "skill", skill = %name, ok = Empty, error.kind = Empty);
        let outcome = self.call_skill_logged(request, &log).instrument(span.clone()).await;
        note_outcome(&span, outcome.ok, outcome.error.as_ref().map(|error| error.kind.as_str()));
        self.record(&log, Entry::Skill(name), &outcome);
        outcome
    }

    async fn call_skill_logged(&self, request: SkillRequest, log: &Arc<RunLog>) -> RunOutcome {
        let Some(skill) = self.skills.current().get(&request.name).cloned() else {
            return RunOutcome::rejected(RunError::new(ErrorKind::NotFound, format!("no skill is named `{}`", request.name)));
        };
        let capabilities = self.bridge.capabilities().for_skill(&skill.meta.servers);
        let grant = Arc::new(self.bridge.grant(capabilities).with_approver(request.approver));
        let limits = &self.config.runtime.limits;
        let context = RunContext::new(Instant::now() + limits.default_timeout, grant.paused(), request.cancel, limits.fuel)
            .logged(Arc::clone(log))
            .observed(request.observer)
            .stateful(RunState::new(Arc::clone(&self.state), None));
        log.skill(skill.name());
        self.run_skill(&skill, request.input, grant, context).await
    }

    /// Runs `skill` with `input` under `grant`, within what `context` leaves,
    /// watched by its observer.
    pub async fn run_skill(
        &self,
        skill: &Skill,
        input: Value,
        grant: Arc<RunGrant>,
        context: RunContext,
    ) -> RunOutcome {
        if let Err(error) = check_input(skill, &input) {
            return RunOutcome::rejected(error);
        }
        let sandbox = match self.ready_sandbox().await {
            Ok(sandbox) => sandbox,
            Err(error) => return RunOutcome::rejected(error),
        };
        let bytecode = match self.compiled.bytecode(sandbox, skill).await {
            Ok(bytecode) => bytecode,
            Err(error) => return RunOutcome::rejected(RunError::new(ErrorKind::RuntimeError, error.to_string())),
        };
        let program = Program::Skill { bytecode, input: input.to_string() };
        self.run_granted(sandbox, program, grant, context).await
    }

    /// Runs `program` in the sandbox with `grant`, revoked when it ends.
    async fn run_granted(
        &self,
        sandbox: &Sandbox,
        program: Program,
        grant: Arc<RunGrant>,
        context: RunContext,
    ) -> RunOutcome {
        let _revoke = RevokeOnDrop(Arc::clone(&grant));
        let job = Job {
            program,
            timeout: Some(context.time_left()),
            cancel: context.cancel.clone(),
            observer: context.observer.clone(),
            fuel: Arc::clone(&context.fuel),
            nested: context.is_nested(),
            paused: Arc::clone(&context.paused),
            tools: Arc::new(GrantAccess::new(Arc::clone(&grant), self.this.clone(), context)),
        };
        let mut outcome = sandbox.run(job).await;
        outcome.stats.tool_calls = grant.usage();
        let drift = grant.take_drift_warnings().into_iter().map(|message| LogLine { level: LogLevel::Warn, message });
        outcome.logs.extend(drift);
        outcome.stats.approvals = grant.approvals();
        outcome.stats.cache = grant.cache_use();
        outcome
    }

    /// Checks and saves a skill, compiles it, and offers it at once.
    pub async fn save_skill(&self, request: SaveRequest) -> Result<Arc<Skill>, SkillError> {
        let prepared = self.skills.prepare(request, &self.bridge.server_names())?;
        if let Ok(sandbox) = self.sandbox().await {
            self.compiled.bytecode(sandbox, &prepared.skill).await.map_err(|error| prepared.locate(error))?;
        }
        self.skills.commit(prepared)
    }

    async fn ready_sandbox(&self) -> Result<&Sandbox, RunError> {
        self.sandbox()
            .await
            .map_err(|error| RunError::new(ErrorKind::RuntimeError, format!("the sandbox is unavailable: {error}")))
    }

    /// The servers, their state and their tools.
    pub async fn server_statuses(&self) -> Vec<ServerStatus> {
        self.bridge.statuses().await
    }

    /// Stops every downstream server, saves the runs not recorded yet and
    /// (when the config says so) the cache.
    pub async fn shutdown(&self) {
        self.bridge.shutdown().await;
        if let Some(analytics) = &self.analytics {
            analytics.close().await;
        }
        if let Err(error) = self.state.save_cache().await {
            tracing::warn!("the cache is not saved: {error}");
        }
    }
}

/// Notes how a run or tool call ended on its tracing span (declared with
/// empty `ok` and `error.kind` fields), for the exported traces.
fn note_outcome(span: &Span, ok: bool, error_kind: Option<&str>) {
    span.record("ok", ok);
    if let Some(kind) = error_kind {
        span.record("error.kind", kind);
    }
}
