//! Running skills: their modules compiled once, and each call run in a
//! sandbox of its own.
//!
//! A skill's module is compiled to QuickJS bytecode by the guest the first
//! time it is needed (or by `skills build`) and kept in memory and in the
//! cache folder, under a name made of the guest build, this host's version
//! and the skill's source, so a new guest or an edited skill is compiled
//! anew and a call parses and compiles nothing.
//!
//! A call gets the grant the caller's grant gives a skill (the servers it
//! declares that its caller may see; see `RunGrant::for_skill`), the rest of
//! its caller's time, its caller's fuel pool and cancellation, so what it
//! spends counts against its caller. Skills called from skills nest at most
//! [`MAX_SKILL_DEPTH`] deep.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use xxhash_rust::xxh3::xxh3_64;

use super::state::RunState;
use crate::analytics::RunLog;
use crate::outcome::{ErrorKind, LogLine, RunError, RunOutcome};
use crate::policy::PausedTime;
use crate::sandbox::{CacheDir, Failure, FailureKind, FuelPool, GUEST_HASH, RunObserver, Sandbox};
use crate::skills::{Skill, SkillError};

/// How deeply skills may call skills.
pub const MAX_SKILL_DEPTH: u32 = 8;
const CHECKSUM_BYTES: usize = 8;

/// The bytecode of skills' modules, by skill name.
pub struct CompiledSkills {
    cache: Option<CacheDir>,
    /// The newest compiled version of each skill: (key, bytecode).
    compiled: Mutex<HashMap<String, (u64, Arc<[u8]>)>>,
}

impl CompiledSkills {
    /// Compiled skills cached in `cache_dir`, when it can be trusted (see
    /// `sandbox::CacheDir`); otherwise in memory only.
    pub fn new(cache_dir: &Path) -> Self {
        let cache = CacheDir::open(cache_dir).ok();
        CompiledSkills { cache, compiled: Mutex::default() }
    }

    /// The bytecode of `skill`'s module: from memory, from the cache folder,
    /// or compiled by the guest now (and cached).
    pub async fn bytecode(&self, sandbox: &Sandbox, skill: &Skill) -> Result<Arc<[u8]>, SkillError> {
        let key = cache_key(skill);
        if let Some((cached_key, bytecode)) = self.compiled.lock().expect("compiled skills lock").get(skill.name()) {
            if *cached_key == key {
                return Ok(Arc::clone(bytecode));
            }
        }
        let file = format!("skill-{key:016x}.qjsbc");
        let bytecode: Arc<[u8]> = match self.read(&file) {
            Some(bytecode) => bytecode.into(),
            None => {
                let javascript = skill.javascript()?;
                let compiled = sandbox
                    .compile_module(&conventions::skill_file(skill.name()), &javascript)
                    .await
                    .map_err(|error| SkillError::Compile {
                        file: skill.file.clone(),
                        message: error.message,
                        line: error.line,
                        column: error.column,
                    })?;
                self.write(&file, &compiled);
                compiled.into()
            }
        };
        self.compiled.lock().expect("compiled skills lock").insert(skill.name().to_owned(), (key, Arc::clone(&bytecode)));
        Ok(bytecode)
    }

    fn read(&self, file: &str) -> Option<Vec<u8>> {
        let contents = self.cache.as_ref()?.read(file).ok()?;
        let (checksum, bytecode) = contents.split_at_checked(CHECKSUM_BYTES)?;
        (checksum == xxh3_64(bytecode).to_le_bytes()).then(|| bytecode.to_vec())
    }

    fn write(&self, file: &str, bytecode: &[u8]) {
        let Some(cache) = &self.cache else { return };
        let mut contents = xxh3_64(bytecode).to_le_bytes().to_vec();
        contents.extend_from_slice(bytecode);
        if let Err(error) = cache.write(file, &contents) {
            tracing::warn!(%error, file, "cannot cache a compiled skill");
        }
    }
}

/// What keys a skill's bytecode: the guest build, this host (its transpiler)
/// and the skill's name and source.
fn cache_key(skill: &Skill) -> u64 {
    let keyed = format!("{}\0{}\0{}\0{}", GUEST_HASH.trim(), env!("CARGO_PKG_VERSION"), skill.name(), skill.source);
    xxh3_64(keyed.as_bytes())
}

/// What a run passes on to the skills it calls: its deadline (moved by the
/// time it waits for approvals), cancellation and fuel pool, how deep in
/// skills it is, and its record for the analytics.
#[derive(Clone)]
pub struct RunContext {
    pub deadline: Instant,
    pub paused: Arc<PausedTime>,
    pub cancel: CancellationToken,
    pub fuel: Arc<FuelPool>,
    /// 0 for a program or a skill called as a tool; 1 for a skill it calls...
    pub depth: u32,
    /// What the run (with its skills) records; off unless [`Self::logged`].
    pub log: Arc<RunLog>,
    /// Who watches the run (and so the tool calls and progress of its skills).
    pub observer: Option<Arc<dyn RunObserver>>,
    /// The cache and session the run may use; none unless [`Self::stateful`].
    pub state: Option<Arc<RunState>>,
}

impl RunContext {
    /// The context of a run of its own, which ends at `deadline` plus the
    /// time it waits for approvals (`paused`).
    pub fn new(deadline: Instant, paused: Arc<PausedTime>, cancel: CancellationToken, fuel: u64) -> Self {
        RunContext { deadline, paused, cancel, fuel: FuelPool::new(fuel), depth: 0, log: RunLog::off(), observer: None, state: None }
    }

    /// The context with `state` (its skills get the same cache, no session).
    pub fn stateful(self, state: RunState) -> Self {
        RunContext { state: Some(Arc::new(state)), ..self }
    }

    /// The context watched by `observer`.
    pub fn observed(self, observer: Option<Arc<dyn RunObserver>>) -> Self {
        RunContext { observer, ..self }
    }

    /// The context recording into `log`.
    pub fn logged(self, log: Arc<RunLog>) -> Self {
        RunContext { log, ..self }
    }

    /// What the run has left of its time (at least 1 ms, so that a skill
    /// called at the deadline fails as a timeout).
    pub fn time_left(&self) -> Duration {
        (self.deadline + self.paused.total()).saturating_duration_since(Instant::now()).max(Duration::from_millis(1))
    }

    /// The context of a skill this run calls, or `None` past [`MAX_SKILL_DEPTH`].
    pub fn for_skill(&self) -> Option<RunContext> {
        (self.depth < MAX_SKILL_DEPTH).then(|| RunContext {
            deadline: self.deadline,
            paused: Arc::clone(&self.paused),
            cancel: self.cancel.child_token(),
            fuel: Arc::clone(&self.fuel),
            depth: self.depth + 1,
            log: Arc::clone(&self.log),
            observer: self.observer.clone().map(|caller| Arc::new(SkillObserver(caller)) as Arc<dyn RunObserver>),
            state: self.state.as_ref().map(|state| Arc::new(state.for_skill())),
        })
    }

    /// Whether this is a skill called from a run (which holds a run's slot).
    pub fn is_nested(&self) -> bool {
        self.depth > 0
    }
}

/// Most console lines of a failed skill quoted in its failure's message.
const FAILURE_LOG_LINES: usize = 5;

/// What a caller's observer sees of a skill it imported: its tool calls and
/// progress. Its console lines reach the caller's console (and so the
/// caller's observer) with the completion, prefixed with the skill.
struct SkillObserver(Arc<dyn RunObserver>);

impl RunObserver for SkillObserver {
    fn console_line(&self, _line: &LogLine) {}

    fn tool_call_started(&self, server: &str, tool: &str) {
        self.0.tool_call_started(server, tool);
    }

    fn tool_call_finished(&self, server: &str, tool: &str, ok: bool) {
        self.0.tool_call_finished(server, tool, ok);
    }

    fn progress(&self, current: f64, total: Option<f64>, message: Option<&str>) {
        self.0.progress(current, total, message);
    }
}

/// A finished skill call as the completion of the caller's operation:
/// `{value, logs}` (the prelude writes the skill's console lines into the
/// caller's console, where the caller's cap applies, and resolves with the
/// value), or a failure that keeps the kind of what stopped it and quotes the
/// skill's last console lines.
pub fn completion(name: &str, outcome: RunOutcome) -> Result<String, Failure> {
    let logs: Vec<(u8, &str)> = outcome.logs.iter().map(|line| (line.level as u8, line.message.as_str())).collect();
    let Some(error) = outcome.error else {
        let done = serde_json::json!({ "value": outcome.result, "logs": logs });
        return Ok(done.to_string());
    };
    let position = match (error.line, error.column) {
        (Some(line), Some(column)) => format!(" ({}:{line}:{column})", conventions::skill_file(name)),
        _ => String::new(),
    };
    let mut message = format!("skill `{name}` failed: {}: {}{position}", error.kind.as_str(), error.message);
    if !logs.is_empty() {
        let last: Vec<&str> = logs.iter().rev().take(FAILURE_LOG_LINES).rev().map(|(_, line)| *line).collect();
        message.push_str(&format!("; its last console lines: {}", last.join(" | ")));
    }
    Err(Failure::new(failure_kind(error.kind), message, "", &format!("{}{name}", conventions::SKILLS_DIR)))
}

/// The failure kind a caller sees for a skill that failed with `kind`: the
/// same kind where one exists, else a tool error (the skill, as a tool, failed).
fn failure_kind(kind: ErrorKind) -> FailureKind {
    match kind {
        ErrorKind::CapabilityDenied => FailureKind::CapabilityDenied,
        ErrorKind::Timeout | ErrorKind::ToolTimeout => FailureKind::Timeout,
        ErrorKind::ToolLimit | ErrorKind::FuelExhausted => FailureKind::ToolLimit,
        ErrorKind::NotFound => FailureKind::NotFound,
        ErrorKind::InvalidArguments | ErrorKind::InvalidInput => FailureKind::InvalidArguments,
        ErrorKind::TransportError => FailureKind::TransportError,
        ErrorKind::ApprovalDenied => FailureKind::ApprovalDenied,
        ErrorKind::SyntaxError
        | ErrorKind::RuntimeError
        | ErrorKind::MemoryLimit
        | ErrorKind::OutputLimit
        | ErrorKind::ToolError
        | ErrorKind::Cancelled => FailureKind::ToolError,
    }
}

/// Checks a skill's input against its input schema.
pub fn check_input(skill: &Skill, input: &serde_json::Value) -> Result<(), RunError> {
    skill.check_input(input).map_err(|problems| {
        RunError::new(ErrorKind::InvalidArguments, format!("the input of skill `{}` does not match its schema:\n{problems}", skill.name()))
    })
}
