//! The configuration file: which downstream MCP servers to run and how, and
//! the settings of mcp-code-runtime itself.
//!
//! This module owns reading and validating that one JSON file. It reads the
//! file in [`Config::from_path`] and nowhere else; it reads environment
//! variables (for `${VAR}` expansion and the default cache directory) but
//! never writes them; it starts no servers, creates no directories and does no
//! logging: warnings are collected in [`Config::warnings`] for the caller to
//! report. Tool policy decisions belong to [`crate::policy`].
//!
//! One job per file:
//! - [`raw`]: the file as written (the serde model), parse errors with line and
//!   column, and warnings for unknown keys;
//! - [`expand`]: `${VAR}` and `${VAR:-default}` expansion;
//! - [`validate`]: the built-in defaults and the checks of values and entries;
//! - [`mapping`]: from the raw model to the types below, which the runtime, the
//!   sandbox and the bridge read.
//!
//! # Accepted forms
//!
//! `mcpServers` is either an object mapping names to entries (Claude Code and
//! Claude Desktop) or an array of entries that carry a `name`. An entry is a
//! stdio server (`command`, `args`, `env`, `cwd`, `inheritEnv`; `"type":
//! "stdio"` optional) or a Streamable HTTP server (`url`, `headers`; `"type":
//! "http"` or `"streamable-http"`, optional when there is a `url` and no
//! `command`). Entries with `"disabled": true` are skipped entirely. Servers
//! keep file order. Other top-level keys are ignored, so a larger client config
//! file can be pointed at directly.
//!
//! `${VAR}` and `${VAR:-default}` are expanded from the environment in
//! `command`, `args`, `env` values, `cwd`, `url`, header values,
//! `codeRuntime.cacheDir` and `codeRuntime.skills.directory` (see [`expand`]);
//! a relative skills directory is relative to the config file's folder. An unset variable without a default
//! is an error naming the variable and where it is used.
//!
//! Our own settings live under `codeRuntime`; every key is optional. Unknown
//! keys in `codeRuntime` or in a server entry are warnings; wrong types, bad
//! JSON and unusable entries are errors naming the file (and, for what
//! `serde_json` can place, the line and column).
//!
//! # Precedence
//!
//! Built-in defaults < the config file < command-line flags. This module
//! applies the first two; the caller applies flags by overwriting the public
//! fields of [`Limits`] and [`RuntimeSettings`].

mod expand;
mod mapping;
mod raw;
mod state;
mod validate;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::outcome::StatsLevel;
use crate::policy::Policy;

pub use state::{CacheSettings, SessionSettings, ToolCaching};

/// Everything read from one config file.
#[derive(Debug, Clone)]
pub struct Config {
    /// Enabled servers, in file order, with unique non-empty names.
    pub servers: Vec<ServerConfig>,
    pub runtime: RuntimeSettings,
    /// Problems that did not stop loading (unknown keys, unused keys, ...).
    pub warnings: Vec<String>,
    /// The file this came from; `None` for the built-in defaults.
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub name: String,
    pub transport: Transport,
}

/// How to reach a downstream server. All `${VAR}`s are already expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Stdio {
        command: String,
        args: Vec<String>,
        /// Variables set for the child on top of its baseline environment.
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
        /// `inheritEnv`: the child gets the host's whole environment instead of
        /// the baseline (see `crate::bridge`).
        inherit_env: bool,
    },
    Http {
        url: String,
        headers: BTreeMap<String, String>,
    },
}

/// `codeRuntime`, with defaults filled in.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    pub limits: Limits,
    pub policy: Policy,
    pub start_servers: StartServers,
    /// Time limit for a downstream server's `initialize`.
    pub startup_timeout: Duration,
    /// Where compiled artifacts are cached.
    pub cache_dir: PathBuf,
    pub skills: SkillSettings,
    /// Where saved skills (and other data) are kept; `None` without a home.
    /// The command line's `--data-dir` overrides it.
    pub data_dir: Option<PathBuf>,
    /// The stats a response carries when the call does not say.
    pub stats_level: StatsLevel,
    pub result_store: ResultStoreSettings,
    pub analytics: AnalyticsSettings,
    pub cache: CacheSettings,
    pub sessions: SessionSettings,
}

/// `codeRuntime.analytics`: the record of runs and downstream calls kept in
/// the data folder's database, and how much of it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalyticsSettings {
    /// Whether runs are recorded at all.
    pub enabled: bool,
    /// Records older than this are deleted.
    pub max_age: Duration,
    /// The most runs kept; the oldest go first.
    pub max_runs: u64,
    /// The most downstream calls kept in the audit log; the oldest go first.
    pub max_calls: u64,
}

/// `codeRuntime.resultStore`: where results cut to the token budget are
/// kept for reading, in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultStoreSettings {
    /// The most bytes kept over all results; the oldest go first.
    pub max_bytes: usize,
    /// How long a result is kept.
    pub ttl: Duration,
}

/// `codeRuntime.skills`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkillSettings {
    /// Which skills are offered as tools (`skill_<name>`).
    pub expose: SkillExposure,
    /// The user's own skills folder.
    pub directory: Option<PathBuf>,
}

/// Which skills are offered as MCP tools. Every skill stays importable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SkillExposure {
    #[default]
    All,
    None,
    Only(Vec<String>),
}

impl SkillExposure {
    pub fn exposes(&self, skill: &str) -> bool {
        match self {
            SkillExposure::All => true,
            SkillExposure::None => false,
            SkillExposure::Only(names) => names.iter().any(|name| name == skill),
        }
    }
}

/// When downstream servers are started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartServers {
    /// On first use.
    #[default]
    Lazy,
    /// All of them when mcp-code-runtime starts.
    Eager,
}

/// `codeRuntime.limits`: resource caps for runs and tool calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deadline of a run that does not pass `timeout`.
    pub default_timeout: Duration,
    /// Cap for the `timeout` argument of `execute_code`.
    pub max_timeout: Duration,
    /// Fuel (roughly, wasm instructions) of a run that does not ask for more.
    pub fuel: u64,
    /// Linear memory cap per run.
    pub memory_bytes: usize,
    pub max_code_bytes: usize,
    pub max_result_bytes: usize,
    pub max_log_bytes: usize,
    /// cl100k tokens of result and console a response carries; the rest is
    /// cut and kept for reading.
    pub max_result_tokens: usize,
    /// Tool calls per run, over all servers.
    pub max_tool_calls: u32,
    pub tool_call_timeout: Duration,
    /// How long a call waits for a human's approval before it is denied.
    pub approval_timeout: Duration,
    /// Bytes of tool results per run, over all servers.
    pub max_tool_bytes_received: u64,
    /// Bytes of JSON arguments of one tool call.
    pub max_tool_argument_bytes: u64,
    /// Bytes of JSON arguments per run, over all servers.
    pub max_tool_bytes_sent: u64,
    pub max_concurrent_runs: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read the config file: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    /// `${VAR}` without a default names a variable that is not set. `line`
    /// and `column` point at the reference in the file, `at` is the JSON path
    /// of the string, e.g. `mcpServers.fs.args[1]`.
    #[error(
        "{}:{line}:{column}: {at}: environment variable `{name}` is not set and `${{{name}}}` has no default \
         (write `${{{name}:-}}` to allow an empty value)",
        path.display()
    )]
    UnsetVariable {
        path: PathBuf,
        line: usize,
        column: usize,
        at: String,
        name: String,
    },
}

impl Config {
    /// Reads and validates the config file at `path`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Read`] when the file cannot be read, otherwise as
    /// [`Config::from_json`].
    pub fn from_path(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Validates config text; `origin` names it in errors and becomes `source`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Parse`] for bad JSON and wrong types,
    /// [`ConfigError::UnsetVariable`] for a `${VAR}` that cannot be expanded,
    /// [`ConfigError::Invalid`] for well-typed but unusable settings.
    pub fn from_json(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        load(text, origin, &process_env)
    }

    pub fn server(&self, name: &str) -> Option<&ServerConfig> {
        self.servers.iter().find(|server| server.name == name)
    }
}

/// Looks up one environment variable.
type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn load(text: &str, origin: &Path, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut warnings = Vec::new();
    let raw = raw::parse(text, origin, &mut warnings)?;
    mapping::Loader::new(origin, text, env, warnings).config(raw)
}

#[cfg(test)]
mod tests;
