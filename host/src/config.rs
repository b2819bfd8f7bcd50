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
//! # Accepted forms
//!
//! `mcpServers` is either an object mapping names to entries (Claude Code and
//! Claude Desktop) or an array of entries that carry a `name`. An entry is a
//! stdio server (`command`, `args`, `env`, `cwd`; `"type": "stdio"` optional)
//! or a Streamable HTTP server (`url`, `headers`; `"type": "http"` or
//! `"streamable-http"`, optional when there is a `url` and no `command`).
//! Entries with `"disabled": true` are skipped entirely. Servers keep file
//! order. Other top-level keys are ignored, so a larger client config file
//! can be pointed at directly.
//!
//! `${VAR}` and `${VAR:-default}` are expanded from the environment in
//! `command`, `args`, `env` values, `cwd`, `url`, header values and
//! `codeRuntime.cacheDir`. As in the shell, the default is used when the
//! variable is unset or empty. An unset variable without a default expands to
//! the empty string and adds a warning. Nothing else is special: `$$` and a
//! bare `$VAR` stay as they are.
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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

use crate::policy::{Pattern, Policy, ServerRules};

// Built-in defaults (see config/README.md).
const DEFAULT_TIMEOUT_MS: u64 = 30_000;
const DEFAULT_MAX_TIMEOUT_MS: u64 = 300_000;
/// About 10 s of CPU on the reference machine (2 cores, 2026): a tight
/// JavaScript loop burns roughly 13 billion fuel units a second.
const DEFAULT_FUEL: u64 = 130_000_000_000;
const DEFAULT_MEMORY_MB: u32 = 64;
const DEFAULT_MAX_CODE_BYTES: usize = 1024 * 1024;
const DEFAULT_MAX_RESULT_BYTES: usize = 1024 * 1024;
const DEFAULT_MAX_LOG_BYTES: usize = 256 * 1024;
const DEFAULT_MAX_TOOL_CALLS: u32 = 1000;
const DEFAULT_TOOL_CALL_TIMEOUT_MS: u64 = 60_000;
const DEFAULT_MAX_TOOL_BYTES_RECEIVED: u64 = 32 * 1024 * 1024;
const DEFAULT_MAX_CONCURRENT_RUNS: u32 = 64;
const DEFAULT_STARTUP_TIMEOUT_MS: u64 = 30_000;

/// A wasm32 guest cannot address more than 4 GiB of linear memory.
const MAX_MEMORY_MB: u32 = 4096;
const BYTES_PER_MB: usize = 1024 * 1024;
const CACHE_DIR_NAME: &str = "mcp-code-runtime";

/// Everything read from one config file.
#[derive(Debug, Clone)]
pub struct Config {
    /// Enabled servers, in file order, with unique non-empty names.
    pub servers: Vec<ServerConfig>,
    pub runtime: RuntimeSettings,
    /// Problems that did not stop loading (unknown keys, unset variables, ...).
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
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
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
    /// Tool calls per run, over all servers.
    pub max_tool_calls: u32,
    pub tool_call_timeout: Duration,
    /// Bytes of tool results per run, over all servers.
    pub max_tool_bytes_received: u64,
    pub max_concurrent_runs: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            default_timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            max_timeout: Duration::from_millis(DEFAULT_MAX_TIMEOUT_MS),
            fuel: DEFAULT_FUEL,
            memory_bytes: megabytes(DEFAULT_MEMORY_MB),
            max_code_bytes: DEFAULT_MAX_CODE_BYTES,
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
            max_log_bytes: DEFAULT_MAX_LOG_BYTES,
            max_tool_calls: DEFAULT_MAX_TOOL_CALLS,
            tool_call_timeout: Duration::from_millis(DEFAULT_TOOL_CALL_TIMEOUT_MS),
            max_tool_bytes_received: DEFAULT_MAX_TOOL_BYTES_RECEIVED,
            max_concurrent_runs: DEFAULT_MAX_CONCURRENT_RUNS,
        }
    }
}

impl Default for RuntimeSettings {
    /// The defaults; `cache_dir` is derived from the process environment.
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            policy: Policy::default(),
            start_servers: StartServers::default(),
            startup_timeout: Duration::from_millis(DEFAULT_STARTUP_TIMEOUT_MS),
            cache_dir: default_cache_dir(&process_env),
        }
    }
}

impl Default for Config {
    /// No servers, default settings.
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            runtime: RuntimeSettings::default(),
            warnings: Vec::new(),
            source: None,
        }
    }
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
    /// [`ConfigError::Invalid`] for well-typed but unusable settings.
    pub fn from_json(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        load(text, origin, &process_env)
    }

    pub fn server(&self, name: &str) -> Option<&ServerConfig> {
        self.servers.iter().find(|server| server.name == name)
    }
}

type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn load(text: &str, origin: &Path, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut warnings = Vec::new();
    let raw = parse(text, origin, &mut warnings)?;
    let mut loader = Loader {
        origin,
        env,
        warnings,
    };
    if raw.mcp_servers.is_none() {
        loader.warn("there is no `mcpServers` key, so no servers are configured".to_owned());
    }
    let servers = loader.servers(raw.mcp_servers.unwrap_or_default())?;
    let runtime = loader.runtime(raw.code_runtime.unwrap_or_default(), &servers)?;
    Ok(Config {
        servers,
        runtime,
        warnings: loader.warnings,
        source: Some(origin.to_path_buf()),
    })
}

/// Deserializes the file, adding a warning for each unknown key below the top level.
fn parse(text: &str, origin: &Path, warnings: &mut Vec<String>) -> Result<RawFile, ConfigError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_ignored::deserialize(&mut deserializer, |path| {
        let segments = path_segments(&path);
        if segments.len() > 1 {
            warnings.push(format!("unknown key `{}` is ignored", segments.concat()));
        }
    })
    .and_then(|raw| deserializer.end().map(|()| raw))
    .map_err(|error| parse_error(origin, text, &error))
}

/// `mcpServers`, `.everything`, `.command` / `[2]`: a key path as written in the file.
fn path_segments(path: &serde_ignored::Path<'_>) -> Vec<String> {
    use serde_ignored::Path as P;
    match path {
        P::Root => Vec::new(),
        P::Seq { parent, index } => with_segment(parent, format!("[{index}]")),
        P::Map { parent, key } => {
            let separator = if matches!(parent, P::Root) { "" } else { "." };
            with_segment(parent, format!("{separator}{key}"))
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            path_segments(parent)
        }
    }
}

fn with_segment(parent: &serde_ignored::Path<'_>, segment: String) -> Vec<String> {
    let mut segments = path_segments(parent);
    segments.push(segment);
    segments
}

fn parse_error(origin: &Path, text: &str, error: &serde_json::Error) -> ConfigError {
    let (line, column) = (error.line(), error.column());
    let full = error.to_string();
    let bare = full
        .strip_suffix(&format!(" at line {line} column {column}"))
        .unwrap_or(&full);
    let message = match source_excerpt(text, line) {
        Some(excerpt) => format!("{bare}, in `{excerpt}`"),
        None => bare.to_owned(),
    };
    ConfigError::Parse {
        path: origin.to_path_buf(),
        line,
        column,
        message,
    }
}

/// The trimmed text of 1-based `line`, shortened to stay readable in one line.
fn source_excerpt(text: &str, line: usize) -> Option<String> {
    const MAX_CHARS: usize = 60;
    let source = text.lines().nth(line.checked_sub(1)?)?.trim();
    if source.is_empty() {
        return None;
    }
    match source.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => Some(format!("{}…", &source[..cut])),
        None => Some(source.to_owned()),
    }
}

// ---------------------------------------------------------------------------
// The file as written. Field names are the JSON keys (camelCase).

#[derive(Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "a config object with `mcpServers` and optionally `codeRuntime`"
)]
struct RawFile {
    mcp_servers: Option<RawServers>,
    code_runtime: Option<RawRuntime>,
}

/// `mcpServers` in either form, in file order.
enum RawServers {
    /// `{"name": {...}}`
    Named(Vec<(String, RawServer)>),
    /// `[{"name": "...", ...}]`
    Listed(Vec<RawServer>),
}

impl Default for RawServers {
    fn default() -> Self {
        Self::Named(Vec::new())
    }
}

impl<'de> Deserialize<'de> for RawServers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawServersVisitor)
    }
}

struct RawServersVisitor;

impl<'de> Visitor<'de> for RawServersVisitor {
    type Value = RawServers;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of servers by name, or an array of servers with `name`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawServers, A::Error> {
        let mut servers = Vec::new();
        while let Some(entry) = map.next_entry()? {
            servers.push(entry);
        }
        Ok(RawServers::Named(servers))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawServers, A::Error> {
        let mut servers = Vec::new();
        while let Some(server) = seq.next_element()? {
            servers.push(server);
        }
        Ok(RawServers::Listed(servers))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a server entry object")]
struct RawServer {
    #[serde(rename = "type")]
    kind: Option<TransportKind>,
    name: Option<String>,
    command: Option<String>,
    args: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
    cwd: Option<String>,
    url: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    disabled: bool,
}

#[derive(Debug, Clone, Copy, Deserialize)]
enum TransportKind {
    #[serde(rename = "stdio")]
    Stdio,
    #[serde(rename = "http", alias = "streamable-http")]
    Http,
}

#[derive(Default, Deserialize)]
#[serde(
    default,
    rename_all = "camelCase",
    expecting = "the `codeRuntime` settings object"
)]
struct RawRuntime {
    limits: RawLimits,
    servers: BTreeMap<String, RawServerRules>,
    start_servers: StartServers,
    startup_timeout_ms: Option<NonZeroU64>,
    cache_dir: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(
    default,
    rename_all = "camelCase",
    expecting = "the `codeRuntime.limits` object"
)]
struct RawLimits {
    timeout_ms: Option<NonZeroU64>,
    max_timeout_ms: Option<NonZeroU64>,
    fuel: Option<NonZeroU64>,
    memory_mb: Option<NonZeroU32>,
    max_code_bytes: Option<NonZeroUsize>,
    max_result_bytes: Option<NonZeroUsize>,
    max_log_bytes: Option<usize>,
    max_tool_calls: Option<u32>,
    tool_call_timeout_ms: Option<NonZeroU64>,
    max_tool_bytes_received: Option<u64>,
    max_concurrent_runs: Option<NonZeroU32>,
}

#[derive(Default, Deserialize)]
#[serde(
    default,
    rename_all = "camelCase",
    expecting = "a server policy object"
)]
struct RawServerRules {
    allow_tools: Vec<String>,
    deny_tools: Vec<String>,
    max_calls_per_run: Option<u32>,
}

// ---------------------------------------------------------------------------
// From the file as written to `Config`.

/// Validation state: where errors point, how variables expand, what to warn about.
struct Loader<'a> {
    origin: &'a Path,
    env: EnvLookup<'a>,
    warnings: Vec<String>,
}

impl Loader<'_> {
    fn invalid(&self, message: String) -> ConfigError {
        ConfigError::Invalid {
            path: self.origin.to_path_buf(),
            message,
        }
    }

    fn warn(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// Expands `${VAR}`s, warning (as `context`) about unset variables.
    fn expand(&mut self, text: &str, context: &str) -> String {
        let expansion = expand_variables(text, self.env);
        for name in expansion.unset {
            self.warn(format!(
                "{context}: environment variable `{name}` is not set; \
                 `${{{name}}}` expands to an empty string"
            ));
        }
        expansion.text
    }

    fn servers(&mut self, raw: RawServers) -> Result<Vec<ServerConfig>, ConfigError> {
        let mut servers: Vec<ServerConfig> = Vec::new();
        for (name, raw) in self.named_entries(raw)? {
            if raw.disabled {
                continue;
            }
            if servers.iter().any(|server| server.name == name) {
                return Err(self.invalid(format!("two servers are named `{name}`")));
            }
            let transport = self.transport(&name, raw)?;
            servers.push(ServerConfig { name, transport });
        }
        Ok(servers)
    }

    /// Pairs each entry with its name: the object key, or the entry's `name`.
    fn named_entries(&mut self, raw: RawServers) -> Result<Vec<(String, RawServer)>, ConfigError> {
        let named = match raw {
            RawServers::Named(entries) => {
                for (key, entry) in &entries {
                    if entry.name.as_ref().is_some_and(|name| name != key) {
                        self.warn(format!(
                            "mcpServers.{key}: `name` is ignored; the key `{key}` names the server"
                        ));
                    }
                }
                entries
            }
            RawServers::Listed(entries) => entries
                .into_iter()
                .enumerate()
                .map(|(index, entry)| match entry.name.clone() {
                    Some(name) => Ok((name, entry)),
                    None => Err(self.invalid(format!("mcpServers[{index}] has no `name`"))),
                })
                .collect::<Result<_, _>>()?,
        };
        match named.iter().find(|(name, _)| name.is_empty()) {
            Some(_) => Err(self.invalid("a server in mcpServers has an empty name".to_owned())),
            None => Ok(named),
        }
    }

    fn transport(&mut self, name: &str, raw: RawServer) -> Result<Transport, ConfigError> {
        let kind = match (raw.kind, &raw.command, &raw.url) {
            (Some(kind), _, _) => kind,
            (None, Some(_), None) => TransportKind::Stdio,
            (None, None, Some(_)) => TransportKind::Http,
            (None, Some(_), Some(_)) => {
                return Err(self.invalid(format!(
                    "server `{name}` has both `command` and `url`; \
                     add \"type\": \"stdio\" or \"type\": \"http\""
                )));
            }
            (None, None, None) => {
                return Err(self.invalid(format!(
                    "server `{name}` needs `command` (a stdio server) or `url` (an http server)"
                )));
            }
        };
        match kind {
            TransportKind::Stdio => self.stdio(name, raw),
            TransportKind::Http => self.http(name, raw),
        }
    }

    fn stdio(&mut self, name: &str, raw: RawServer) -> Result<Transport, ConfigError> {
        let context = format!("server `{name}`");
        let unused = [
            ("url", raw.url.is_some()),
            ("headers", raw.headers.is_some()),
        ];
        self.warn_unused_keys(&context, "a stdio server", &unused);
        let Some(command) = raw.command else {
            return Err(self.invalid(format!("{context} is a stdio server but has no `command`")));
        };
        let command = self.required(&command, &context, "command")?;
        let args = raw
            .args
            .unwrap_or_default()
            .iter()
            .map(|arg| self.expand(arg, &context))
            .collect();
        let env = raw
            .env
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| (key, self.expand(&value, &context)))
            .collect();
        let cwd = match raw.cwd {
            Some(cwd) => Some(PathBuf::from(self.required(&cwd, &context, "cwd")?)),
            None => None,
        };
        Ok(Transport::Stdio {
            command,
            args,
            env,
            cwd,
        })
    }

    fn http(&mut self, name: &str, raw: RawServer) -> Result<Transport, ConfigError> {
        let context = format!("server `{name}`");
        let unused = [
            ("command", raw.command.is_some()),
            ("args", raw.args.is_some()),
            ("env", raw.env.is_some()),
            ("cwd", raw.cwd.is_some()),
        ];
        self.warn_unused_keys(&context, "an http server", &unused);
        let Some(url) = raw.url else {
            return Err(self.invalid(format!("{context} is an http server but has no `url`")));
        };
        let url = self.required(&url, &context, "url")?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(self.invalid(format!(
                "{context}: `url` must start with http:// or https://, not `{url}`"
            )));
        }
        let headers = raw
            .headers
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| (key, self.expand(&value, &context)))
            .collect();
        Ok(Transport::Http { url, headers })
    }

    /// Expands `value` of `key`, which must not end up empty.
    fn required(&mut self, value: &str, context: &str, key: &str) -> Result<String, ConfigError> {
        let expanded = self.expand(value, context);
        if expanded.is_empty() {
            return Err(self.invalid(format!("{context}: `{key}` is empty")));
        }
        Ok(expanded)
    }

    /// Warns about the `keys` (name, present) that `kind` ("a stdio server") does not use.
    fn warn_unused_keys(&mut self, context: &str, kind: &str, keys: &[(&str, bool)]) {
        for (key, present) in keys {
            if *present {
                self.warn(format!("{context}: `{key}` is ignored for {kind}"));
            }
        }
    }

    fn runtime(
        &mut self,
        raw: RawRuntime,
        servers: &[ServerConfig],
    ) -> Result<RuntimeSettings, ConfigError> {
        let cache_dir = match raw.cache_dir {
            Some(dir) => PathBuf::from(self.required(&dir, "codeRuntime.cacheDir", "cacheDir")?),
            None => default_cache_dir(self.env),
        };
        Ok(RuntimeSettings {
            limits: self.limits(&raw.limits)?,
            policy: self.policy(raw.servers, servers),
            start_servers: raw.start_servers,
            startup_timeout: millis(
                raw.startup_timeout_ms
                    .map_or(DEFAULT_STARTUP_TIMEOUT_MS, NonZeroU64::get),
            ),
            cache_dir,
        })
    }

    fn limits(&self, raw: &RawLimits) -> Result<Limits, ConfigError> {
        let defaults = Limits::default();
        let max_timeout_ms = raw
            .max_timeout_ms
            .map_or(DEFAULT_MAX_TIMEOUT_MS, NonZeroU64::get);
        let timeout_ms = self.within_cap(
            ("timeoutMs", raw.timeout_ms, DEFAULT_TIMEOUT_MS),
            ("maxTimeoutMs", max_timeout_ms),
        )?;
        let fuel = raw.fuel.map_or(DEFAULT_FUEL, NonZeroU64::get);
        Ok(Limits {
            default_timeout: millis(timeout_ms),
            max_timeout: millis(max_timeout_ms),
            fuel,
            memory_bytes: self.memory_bytes(raw.memory_mb)?,
            max_code_bytes: raw
                .max_code_bytes
                .map_or(defaults.max_code_bytes, NonZeroUsize::get),
            max_result_bytes: raw
                .max_result_bytes
                .map_or(defaults.max_result_bytes, NonZeroUsize::get),
            max_log_bytes: raw.max_log_bytes.unwrap_or(defaults.max_log_bytes),
            max_tool_calls: raw.max_tool_calls.unwrap_or(defaults.max_tool_calls),
            tool_call_timeout: raw
                .tool_call_timeout_ms
                .map_or(defaults.tool_call_timeout, |ms| millis(ms.get())),
            max_tool_bytes_received: raw
                .max_tool_bytes_received
                .unwrap_or(defaults.max_tool_bytes_received),
            max_concurrent_runs: raw
                .max_concurrent_runs
                .map_or(defaults.max_concurrent_runs, NonZeroU32::get),
        })
    }

    /// A limit with a cap (`timeoutMs` and `maxTimeoutMs`): a value set above
    /// the cap is an error, the built-in default is lowered to the cap.
    fn within_cap(
        &self,
        (key, explicit, default): (&str, Option<NonZeroU64>, u64),
        (cap_key, cap): (&str, u64),
    ) -> Result<u64, ConfigError> {
        match explicit.map(NonZeroU64::get) {
            Some(value) if value > cap => Err(self.invalid(format!(
                "codeRuntime.limits.{key} is {value}, above codeRuntime.limits.{cap_key} ({cap})"
            ))),
            Some(value) => Ok(value),
            None => Ok(default.min(cap)),
        }
    }

    fn memory_bytes(&self, memory_mb: Option<NonZeroU32>) -> Result<usize, ConfigError> {
        let mb = memory_mb.map_or(DEFAULT_MEMORY_MB, NonZeroU32::get);
        if mb > MAX_MEMORY_MB {
            return Err(self.invalid(format!(
                "codeRuntime.limits.memoryMb is {mb}, but a wasm32 guest can address \
                 at most {MAX_MEMORY_MB} MB"
            )));
        }
        Ok(megabytes(mb))
    }

    fn policy(
        &mut self,
        raw: BTreeMap<String, RawServerRules>,
        servers: &[ServerConfig],
    ) -> Policy {
        let configured: BTreeSet<&str> =
            servers.iter().map(|server| server.name.as_str()).collect();
        let mut rules = BTreeMap::new();
        for (name, raw_rules) in raw {
            if !configured.contains(name.as_str()) {
                self.warn(format!(
                    "codeRuntime.servers.{name}: there is no enabled server `{name}` \
                     in mcpServers, so these rules apply to nothing"
                ));
            }
            rules.insert(name, server_rules(raw_rules));
        }
        Policy::new(rules)
    }
}

fn server_rules(raw: RawServerRules) -> ServerRules {
    let patterns = |texts: Vec<String>| texts.into_iter().map(Pattern::new).collect();
    ServerRules {
        allow_tools: patterns(raw.allow_tools),
        deny_tools: patterns(raw.deny_tools),
        max_calls_per_run: raw.max_calls_per_run,
    }
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// `mb` MiB in bytes (saturating where `usize` has 32 bits).
fn megabytes(mb: u32) -> usize {
    (mb as usize).saturating_mul(BYTES_PER_MB)
}

/// `$MCP_CODE_RUNTIME_CACHE_DIR`, else `$XDG_CACHE_HOME/mcp-code-runtime`,
/// else `$HOME/.cache/mcp-code-runtime`, else the temp dir (empty variables
/// count as unset).
fn default_cache_dir(env: EnvLookup<'_>) -> PathBuf {
    let dir_from = |name: &str| {
        env(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    dir_from("MCP_CODE_RUNTIME_CACHE_DIR")
        .or_else(|| dir_from("XDG_CACHE_HOME").map(|dir| dir.join(CACHE_DIR_NAME)))
        .or_else(|| dir_from("HOME").map(|dir| dir.join(".cache").join(CACHE_DIR_NAME)))
        .unwrap_or_else(|| std::env::temp_dir().join(CACHE_DIR_NAME))
}

struct Expansion {
    text: String,
    /// Variables that were unset and had no default, in order of appearance.
    unset: Vec<String>,
}

/// Replaces `${NAME}` and `${NAME:-default}`. The default applies when the
/// variable is unset or empty; an unterminated `${` is kept as written.
fn expand_variables(text: &str, env: EnvLookup<'_>) -> Expansion {
    let mut expanded = String::with_capacity(text.len());
    let mut unset = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(length) = rest[start..].find('}') else {
            break;
        };
        let inner = &rest[start + 2..start + length];
        expanded.push_str(&rest[..start]);
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        match (env(name), default) {
            (Some(value), Some(default)) if value.is_empty() => expanded.push_str(default),
            (Some(value), _) => expanded.push_str(&value),
            (None, Some(default)) => expanded.push_str(default),
            (None, None) => unset.push(name.to_owned()),
        }
        rest = &rest[start + length + 1..];
    }
    expanded.push_str(rest);
    Expansion {
        text: expanded,
        unset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Decision;

    const ORIGIN: &str = "config/mcp-servers.json";

    fn load_with_env(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = |name: &str| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        };
        load(text, Path::new(ORIGIN), &env)
    }

    fn load_ok(text: &str) -> Config {
        load_with_env(text, &[("HOME", "/home/u")]).expect("config should load")
    }

    fn load_err(text: &str) -> ConfigError {
        load_with_env(text, &[]).expect_err("config should be rejected")
    }

    fn names(config: &Config) -> Vec<&str> {
        config
            .servers
            .iter()
            .map(|server| server.name.as_str())
            .collect()
    }

    fn stdio(command: &str, args: &[&str]) -> Transport {
        Transport::Stdio {
            command: command.to_owned(),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            env: BTreeMap::new(),
            cwd: None,
        }
    }

    fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn object_form_keeps_file_order_and_all_stdio_fields() {
        let config = load_ok(
            r#"{"mcpServers": {
                "zeta": {"command": "node", "args": ["z.js", "stdio"], "env": {"A": "1"}, "cwd": "/srv"},
                "alpha": {"type": "stdio", "command": "uvx", "args": ["alpha-mcp"]},
                "mid": {"command": "mid"}
            }}"#,
        );
        assert_eq!(names(&config), ["zeta", "alpha", "mid"]);
        assert_eq!(
            config.servers[0].transport,
            Transport::Stdio {
                command: "node".to_owned(),
                args: vec!["z.js".to_owned(), "stdio".to_owned()],
                env: strings(&[("A", "1")]),
                cwd: Some(PathBuf::from("/srv")),
            }
        );
        assert_eq!(config.servers[1].transport, stdio("uvx", &["alpha-mcp"]));
        assert_eq!(config.servers[2].transport, stdio("mid", &[]));
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        assert_eq!(config.source, Some(PathBuf::from(ORIGIN)));
    }

    #[test]
    fn array_form_takes_names_from_entries() {
        let config = load_ok(
            r#"{"mcpServers": [
                {"name": "b", "command": "b-server", "args": ["--x"], "env": {"K": "v"}},
                {"name": "a", "url": "https://a.example/mcp"}
            ]}"#,
        );
        assert_eq!(names(&config), ["b", "a"]);
        assert_eq!(
            config.server("b").map(|s| &s.transport),
            Some(&Transport::Stdio {
                command: "b-server".to_owned(),
                args: vec!["--x".to_owned()],
                env: strings(&[("K", "v")]),
                cwd: None,
            })
        );
        assert!(config.server("c").is_none());
    }

    #[test]
    fn array_entry_without_name_is_invalid() {
        let error =
            load_err(r#"{"mcpServers": [{"name": "a", "command": "x"}, {"command": "y"}]}"#);
        assert_eq!(
            error.to_string(),
            format!("{ORIGIN}: mcpServers[1] has no `name`")
        );
    }

    #[test]
    fn http_entries_with_type_alias_or_url_only() {
        let config = load_ok(
            r#"{"mcpServers": {
                "typed": {"type": "http", "url": "https://h.example/mcp", "headers": {"Authorization": "Bearer t"}},
                "alias": {"type": "streamable-http", "url": "http://localhost:3000/mcp"},
                "bare": {"url": "https://bare.example/mcp"}
            }}"#,
        );
        assert_eq!(
            config.servers[0].transport,
            Transport::Http {
                url: "https://h.example/mcp".to_owned(),
                headers: strings(&[("Authorization", "Bearer t")]),
            }
        );
        assert_eq!(
            config.servers[1].transport,
            Transport::Http {
                url: "http://localhost:3000/mcp".to_owned(),
                headers: BTreeMap::new()
            }
        );
        assert!(matches!(
            config.servers[2].transport,
            Transport::Http { .. }
        ));
    }

    #[test]
    fn http_entry_without_url_is_invalid() {
        let error = load_err(r#"{"mcpServers": {"h": {"type": "http", "headers": {}}}}"#);
        assert_eq!(
            error.to_string(),
            format!("{ORIGIN}: server `h` is an http server but has no `url`")
        );
    }

    #[test]
    fn http_url_needs_an_http_scheme() {
        let error = load_err(r#"{"mcpServers": {"h": {"url": "ftp://x"}}}"#);
        assert!(matches!(error, ConfigError::Invalid { .. }));
        assert!(
            error
                .to_string()
                .contains("must start with http:// or https://"),
            "{error}"
        );
    }

    #[test]
    fn unsupported_transport_type_is_a_parse_error() {
        let error =
            load_err("{\"mcpServers\": {\"s\": {\"type\": \"sse\", \"url\": \"https://x\"}}}");
        let ConfigError::Parse { line, message, .. } = &error else {
            panic!("expected a parse error, got {error:?}");
        };
        assert_eq!(*line, 1);
        assert!(message.contains("unknown variant `sse`"), "{message}");
    }

    #[test]
    fn keys_of_the_other_transport_are_warned_about() {
        let config = load_ok(
            r#"{"mcpServers": {"s": {"type": "stdio", "command": "x", "url": "https://u"},
                               "h": {"type": "http", "url": "https://u", "args": []}}}"#,
        );
        assert_eq!(
            config.warnings,
            [
                "server `s`: `url` is ignored for a stdio server",
                "server `h`: `args` is ignored for an http server",
            ]
        );
    }

    #[test]
    fn disabled_entries_are_skipped_even_when_incomplete() {
        let config = load_ok(
            r#"{"mcpServers": {
                "off": {"command": "x", "disabled": true},
                "broken-but-off": {"disabled": true},
                "on": {"command": "y", "disabled": false}
            }}"#,
        );
        assert_eq!(names(&config), ["on"]);
        assert!(config.server("off").is_none());
    }

    #[test]
    fn disabled_server_does_not_clash_with_an_enabled_namesake() {
        let config = load_ok(
            r#"{"mcpServers": [{"name": "a", "command": "old", "disabled": true}, {"name": "a", "command": "new"}]}"#,
        );
        assert_eq!(
            config.servers,
            [ServerConfig {
                name: "a".to_owned(),
                transport: stdio("new", &[])
            }]
        );
    }

    #[test]
    fn variables_expand_in_every_expandable_field() {
        let text = r#"{"mcpServers": {
            "s": {"command": "${BIN}/node", "args": ["${ROOT}/x.js", "a${ROOT}b${BIN}"],
                  "env": {"TOKEN": "${TOKEN}"}, "cwd": "${ROOT}"},
            "h": {"url": "https://${HOST}/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}}
        }, "codeRuntime": {"cacheDir": "${ROOT}/cache"}}"#;
        let vars = [
            ("BIN", "/usr/bin"),
            ("ROOT", "/r"),
            ("TOKEN", "t0k"),
            ("HOST", "h.example"),
        ];
        let config = load_with_env(text, &vars).expect("config should load");
        assert_eq!(
            config.servers[0].transport,
            Transport::Stdio {
                command: "/usr/bin/node".to_owned(),
                args: vec!["/r/x.js".to_owned(), "a/rb/usr/bin".to_owned()],
                env: strings(&[("TOKEN", "t0k")]),
                cwd: Some(PathBuf::from("/r")),
            }
        );
        assert_eq!(
            config.servers[1].transport,
            Transport::Http {
                url: "https://h.example/mcp".to_owned(),
                headers: strings(&[("Authorization", "Bearer t0k")]),
            }
        );
        assert_eq!(config.runtime.cache_dir, PathBuf::from("/r/cache"));
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        let text = r#"{"mcpServers": {"s": {"command": "node",
            "args": ["${UNSET:-/tmp}", "${EMPTY:-fallback}", "${SET:-unused}", "${UNSET:-}x"]}}}"#;
        let config = load_with_env(text, &[("EMPTY", ""), ("SET", "value")]).expect("loads");
        assert_eq!(
            config.servers[0].transport,
            stdio("node", &["/tmp", "fallback", "value", "x"])
        );
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn unset_variable_without_default_is_empty_and_warned_once() {
        let text =
            r#"{"mcpServers": {"mem": {"command": "node", "args": ["${NOPE}/a", "${NOPE}/b"]}}}"#;
        let config = load_with_env(text, &[]).expect("loads");
        assert_eq!(config.servers[0].transport, stdio("node", &["/a", "/b"]));
        assert_eq!(
            config.warnings,
            [
                "server `mem`: environment variable `NOPE` is not set; `${NOPE}` expands to an empty string"
            ]
        );
    }

    #[test]
    fn set_but_empty_variable_without_default_is_not_warned() {
        let text = r#"{"mcpServers": {"s": {"command": "node", "args": ["${EMPTY}"]}}}"#;
        let config = load_with_env(text, &[("EMPTY", "")]).expect("loads");
        assert_eq!(config.servers[0].transport, stdio("node", &[""]));
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn only_braced_variables_are_special() {
        let env = |name: &str| (name == "X").then(|| "x".to_owned());
        let expand = |text: &str| expand_variables(text, &env).text;
        assert_eq!(expand("$$ $X $${X} ${X}"), "$$ $X $x x");
        assert_eq!(expand("a ${X"), "a ${X");
        assert_eq!(expand("${X}${X:-d}}"), "xx}");
        assert_eq!(expand("no variables"), "no variables");
    }

    #[test]
    fn command_that_expands_to_nothing_is_invalid() {
        let error = load_err(r#"{"mcpServers": {"s": {"command": "${NOPE}"}}}"#);
        assert_eq!(
            error.to_string(),
            format!("{ORIGIN}: server `s`: `command` is empty")
        );
    }

    #[test]
    fn unknown_keys_in_entries_and_code_runtime_are_warnings() {
        let config = load_ok(
            r#"{"otherClientSetting": true,
                "mcpServers": {"s": {"command": "x", "autoApprove": []}},
                "codeRuntime": {
                    "limits": {"timeoutMs": 1000, "timeoutMS": 5},
                    "servers": {"s": {"allowTools": ["*"], "denytools": ["x"]}},
                    "startServer": "eager"
                }}"#,
        );
        assert_eq!(
            config.warnings,
            [
                "unknown key `mcpServers.s.autoApprove` is ignored",
                "unknown key `codeRuntime.limits.timeoutMS` is ignored",
                "unknown key `codeRuntime.servers.s.denytools` is ignored",
                "unknown key `codeRuntime.startServer` is ignored",
            ]
        );
        assert_eq!(
            config.runtime.limits.default_timeout,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn unknown_keys_in_array_entries_name_the_index() {
        let config = load_ok(r#"{"mcpServers": [{"name": "a", "command": "x", "extra": 1}]}"#);
        assert_eq!(
            config.warnings,
            ["unknown key `mcpServers[0].extra` is ignored"]
        );
    }

    #[test]
    fn missing_mcp_servers_is_a_warning() {
        let config = load_ok(r#"{"servers": {}}"#);
        assert!(config.servers.is_empty());
        assert_eq!(
            config.warnings,
            ["there is no `mcpServers` key, so no servers are configured"]
        );
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let error = load_err("{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\",}\n  }\n}");
        let ConfigError::Parse {
            path,
            line,
            column,
            message,
        } = &error
        else {
            panic!("expected a parse error, got {error:?}");
        };
        assert_eq!(path, Path::new(ORIGIN));
        assert_eq!((*line, *column), (3, 26));
        assert!(message.starts_with("trailing comma"), "{message}");
        assert!(
            !message.contains("at line"),
            "position is not repeated: {message}"
        );
    }

    #[test]
    fn type_errors_carry_line_column_and_the_offending_source() {
        let text = "{\n  \"mcpServers\": {\n    \"a\": {\n      \"command\": 5\n    }\n  }\n}";
        let error = load_err(text);
        assert_eq!(
            error.to_string(),
            format!(
                "{ORIGIN}:4:18: invalid type: integer `5`, expected a string, in `\"command\": 5`"
            )
        );
    }

    #[test]
    fn wrong_types_in_code_runtime_are_parse_errors() {
        let cases = [
            r#"{"codeRuntime": {"limits": {"fuel": "lots"}}}"#,
            r#"{"codeRuntime": {"limits": {"timeoutMs": 0}}}"#,
            r#"{"codeRuntime": {"limits": {"maxToolCalls": -1}}}"#,
            r#"{"codeRuntime": {"startServers": "sometimes"}}"#,
            r#"{"codeRuntime": {"servers": {"s": {"allowTools": "get_*"}}}}"#,
            r#"{"codeRuntime": 1}"#,
            r#"{"mcpServers": "none"}"#,
            r#"{"mcpServers": {"s": {"command": "x", "env": {"A": 1}}}}"#,
            "[]",
            "{} trailing",
            "",
        ];
        for text in cases {
            let error = load_err(text);
            assert!(
                matches!(error, ConfigError::Parse { line: 1, .. }),
                "{text}: {error:?}"
            );
        }
    }

    #[test]
    fn entry_without_command_or_url_is_invalid() {
        let error = load_err(r#"{"mcpServers": {"s": {"args": ["x"]}}}"#);
        assert_eq!(
            error.to_string(),
            format!(
                "{ORIGIN}: server `s` needs `command` (a stdio server) or `url` (an http server)"
            )
        );
        let error = load_err(r#"{"mcpServers": {"s": {"type": "stdio", "env": {}}}}"#);
        assert_eq!(
            error.to_string(),
            format!("{ORIGIN}: server `s` is a stdio server but has no `command`")
        );
    }

    #[test]
    fn entry_with_both_command_and_url_needs_a_type() {
        let error = load_err(r#"{"mcpServers": {"s": {"command": "x", "url": "https://u"}}}"#);
        assert!(
            error.to_string().contains("has both `command` and `url`"),
            "{error}"
        );
    }

    #[test]
    fn duplicate_names_are_invalid_in_both_forms() {
        let object = load_err(r#"{"mcpServers": {"a": {"command": "x"}, "a": {"command": "y"}}}"#);
        let array = load_err(
            r#"{"mcpServers": [{"name": "a", "command": "x"}, {"name": "a", "url": "https://u"}]}"#,
        );
        for error in [object, array] {
            assert_eq!(
                error.to_string(),
                format!("{ORIGIN}: two servers are named `a`")
            );
        }
    }

    #[test]
    fn empty_names_are_invalid() {
        let object = load_err(r#"{"mcpServers": {"": {"command": "x"}}}"#);
        let array = load_err(r#"{"mcpServers": [{"name": "", "command": "x"}]}"#);
        for error in [object, array] {
            assert_eq!(
                error.to_string(),
                format!("{ORIGIN}: a server in mcpServers has an empty name")
            );
        }
    }

    #[test]
    fn a_differing_name_in_the_object_form_is_warned_about() {
        let config = load_ok(r#"{"mcpServers": {"key": {"name": "other", "command": "x"}}}"#);
        assert_eq!(names(&config), ["key"]);
        assert_eq!(
            config.warnings,
            ["mcpServers.key: `name` is ignored; the key `key` names the server"]
        );
    }

    #[test]
    fn empty_file_object_gives_the_defaults() {
        let config = load_ok("{\"mcpServers\": {}}");
        assert!(config.servers.is_empty());
        assert!(config.warnings.is_empty());
        assert_eq!(config.runtime.limits, Limits::default());
        assert_eq!(config.runtime.start_servers, StartServers::Lazy);
        assert_eq!(config.runtime.startup_timeout, Duration::from_secs(30));
        assert_eq!(
            config.runtime.cache_dir,
            PathBuf::from("/home/u/.cache/mcp-code-runtime")
        );
        assert_eq!(config.runtime.policy, Policy::default());
    }

    #[test]
    fn default_limits_match_the_documented_values() {
        let limits = Limits::default();
        assert_eq!(limits.default_timeout, Duration::from_secs(30));
        assert_eq!(limits.max_timeout, Duration::from_mins(5));
        assert_eq!(limits.fuel, 130_000_000_000);
        assert_eq!(limits.memory_bytes, 64 * 1024 * 1024);
        assert_eq!(
            (limits.max_code_bytes, limits.max_result_bytes),
            (1_048_576, 1_048_576)
        );
        assert_eq!(limits.max_log_bytes, 262_144);
        assert_eq!(limits.max_tool_calls, 1000);
        assert_eq!(limits.tool_call_timeout, Duration::from_mins(1));
        assert_eq!(limits.max_tool_bytes_received, 33_554_432);
        assert_eq!(limits.max_concurrent_runs, 64);
    }

    #[test]
    fn every_setting_is_read_from_code_runtime() {
        let config = load_ok(
            r#"{"mcpServers": {"tasks": {"command": "x"}}, "codeRuntime": {
                "limits": {"timeoutMs": 1000, "maxTimeoutMs": 2000, "fuel": 5,
                           "memoryMb": 128, "maxCodeBytes": 7, "maxResultBytes": 8, "maxLogBytes": 0,
                           "maxToolCalls": 9, "toolCallTimeoutMs": 10, "maxToolBytesReceived": 11,
                           "maxConcurrentRuns": 12},
                "servers": {"tasks": {"allowTools": ["get_*"], "denyTools": ["get_secret"], "maxCallsPerRun": 50}},
                "startServers": "eager",
                "startupTimeoutMs": 13,
                "cacheDir": "/c"
            }}"#,
        );
        let runtime = &config.runtime;
        assert_eq!(
            runtime.limits,
            Limits {
                default_timeout: Duration::from_secs(1),
                max_timeout: Duration::from_secs(2),
                fuel: 5,
                memory_bytes: 128 * 1024 * 1024,
                max_code_bytes: 7,
                max_result_bytes: 8,
                max_log_bytes: 0,
                max_tool_calls: 9,
                tool_call_timeout: Duration::from_millis(10),
                max_tool_bytes_received: 11,
                max_concurrent_runs: 12,
            }
        );
        assert_eq!(runtime.start_servers, StartServers::Eager);
        assert_eq!(runtime.startup_timeout, Duration::from_millis(13));
        assert_eq!(runtime.cache_dir, PathBuf::from("/c"));
        assert_eq!(runtime.policy.max_calls("tasks"), Some(50));
        assert_eq!(
            runtime.policy.check_tool("tasks", "get_task"),
            Decision::Allow
        );
        assert!(matches!(
            runtime.policy.check_tool("tasks", "get_secret"),
            Decision::Deny { .. }
        ));
        assert!(matches!(
            runtime.policy.check_tool("tasks", "add_task"),
            Decision::Deny { .. }
        ));
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn a_lower_cap_lowers_the_built_in_default() {
        let config =
            load_ok(r#"{"codeRuntime": {"limits": {"maxTimeoutMs": 10000}}}"#);
        assert_eq!(
            config.runtime.limits.default_timeout,
            Duration::from_secs(10)
        );
    }

    #[test]
    fn an_explicit_value_above_its_cap_is_invalid() {
        let error =
            load_err(r#"{"codeRuntime": {"limits": {"timeoutMs": 20000, "maxTimeoutMs": 10000}}}"#);
        assert_eq!(
            error.to_string(),
            format!(
                "{ORIGIN}: codeRuntime.limits.timeoutMs is 20000, above codeRuntime.limits.maxTimeoutMs (10000)"
            )
        );
    }

    #[test]
    fn memory_above_the_wasm32_limit_is_invalid() {
        assert!(load_with_env(r#"{"codeRuntime": {"limits": {"memoryMb": 4096}}}"#, &[]).is_ok());
        let error = load_err(r#"{"codeRuntime": {"limits": {"memoryMb": 4097}}}"#);
        assert!(matches!(error, ConfigError::Invalid { .. }), "{error:?}");
        assert!(error.to_string().contains("memoryMb is 4097"), "{error}");
    }

    #[test]
    fn rules_for_an_unconfigured_server_are_a_warning() {
        let config = load_ok(
            r#"{"mcpServers": {"a": {"command": "x"}, "off": {"command": "y", "disabled": true}},
                "codeRuntime": {"servers": {"a": {"maxCallsPerRun": 1}, "ghost": {}, "off": {}}}}"#,
        );
        assert_eq!(
            config.warnings,
            [
                "codeRuntime.servers.ghost: there is no enabled server `ghost` in mcpServers, so these rules apply to nothing",
                "codeRuntime.servers.off: there is no enabled server `off` in mcpServers, so these rules apply to nothing",
            ]
        );
    }

    #[test]
    fn cache_dir_falls_back_through_the_environment() {
        let dir = |vars: &[(&str, &str)]| {
            let env = |name: &str| {
                vars.iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            };
            default_cache_dir(&env)
        };
        let all = [
            ("MCP_CODE_RUNTIME_CACHE_DIR", "/own"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(dir(&all), PathBuf::from("/own"));
        assert_eq!(dir(&all[1..]), PathBuf::from("/xdg/mcp-code-runtime"));
        assert_eq!(
            dir(&[("XDG_CACHE_HOME", ""), ("HOME", "/home/u")]),
            PathBuf::from("/home/u/.cache/mcp-code-runtime")
        );
        assert_eq!(dir(&[]), std::env::temp_dir().join("mcp-code-runtime"));
    }

    #[test]
    fn from_path_reports_unreadable_files_by_name() {
        let path = Path::new("/nonexistent/mcp-code-runtime/servers.json");
        let error = Config::from_path(path).expect_err("missing file");
        assert!(matches!(error, ConfigError::Read { .. }), "{error:?}");
        assert!(
            error.to_string().starts_with(
                "/nonexistent/mcp-code-runtime/servers.json: cannot read the config file: "
            ),
            "{error}"
        );
    }

    #[test]
    fn from_path_reads_a_file() {
        let path = std::env::temp_dir().join(format!(
            "mcp-code-runtime-config-test-{}.json",
            std::process::id()
        ));
        std::fs::write(
            &path,
            "\u{feff}{\"mcpServers\": {\"a\": {\"command\": \"x\"}}}",
        )
        .expect("write fixture");
        let loaded = Config::from_path(&path);
        std::fs::remove_file(&path).expect("remove fixture");
        let config = loaded.expect("config should load");
        assert_eq!(names(&config), ["a"]);
        assert_eq!(config.source, Some(path));
    }

    #[test]
    fn the_example_config_loads_cleanly() {
        let text = include_str!("../../config/mcp-servers.json");
        let config = load_with_env(text, &[("MCP_CODE_RUNTIME_ROOT", "/repo")]).expect("loads");
        assert_eq!(names(&config), ["everything", "memory", "filesystem"]);
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        let Some(Transport::Stdio {
            command, args, env, ..
        }) = config.server("memory").map(|server| &server.transport)
        else {
            panic!("memory should be a stdio server");
        };
        assert_eq!(command, "node");
        assert_eq!(
            args,
            &["/repo/tests/node_modules/@modelcontextprotocol/server-memory/dist/index.js"]
        );
        assert_eq!(
            env,
            &strings(&[("MEMORY_FILE_PATH", "/tmp/mcp-code-runtime-memory.jsonl")])
        );
        assert!(matches!(
            config
                .runtime
                .policy
                .check_tool("memory", "delete_entities"),
            Decision::Deny { .. }
        ));
    }
}
