//! The config file as written: the serde model, with field names as the JSON
//! keys (camelCase), and the parse step that reports wrong JSON and wrong types
//! with line and column and turns unknown keys into warnings.
//!
//! Nothing here interprets values: no defaults, no `${VAR}`s, no checks beyond
//! the types serde enforces.

use std::collections::BTreeMap;
use std::fmt;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::Path;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

use super::{ConfigError, StartServers};
use crate::outcome::StatsLevel;

#[derive(Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "a config object with `mcpServers` and optionally `codeRuntime`"
)]
pub(super) struct RawFile {
    pub mcp_servers: Option<RawServers>,
    pub code_runtime: Option<RawRuntime>,
}

/// `mcpServers` in either form, in file order.
pub(super) enum RawServers {
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
pub(super) struct RawServer {
    #[serde(rename = "type")]
    pub kind: Option<TransportKind>,
    pub name: Option<String>,
    pub command: Option<String>,
    pub args: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, String>>,
    pub cwd: Option<String>,
    pub inherit_env: Option<bool>,
    pub url: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub disabled: bool,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub(super) enum TransportKind {
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
pub(super) struct RawRuntime {
    pub limits: RawLimits,
    pub servers: BTreeMap<String, RawServerRules>,
    pub start_servers: StartServers,
    pub startup_timeout_ms: Option<NonZeroU64>,
    pub cache_dir: Option<String>,
    pub skills: RawSkills,
    pub ask_destructive: bool,
    pub stats_level: StatsLevel,
    pub result_store: RawResultStore,
    pub analytics: RawAnalytics,
    pub cache: RawCache,
    pub sessions: RawSessions,
}

#[derive(Default, Deserialize)]
#[serde(
    default,
    rename_all = "camelCase",
    expecting = "the `codeRuntime.cache` object"
)]
pub(super) struct RawCache {
    pub max_entries: Option<NonZeroUsize>,
    pub max_bytes: Option<NonZeroUsize>,
    pub max_value_bytes: Option<NonZeroUsize>,
    pub persist: Option<bool>,
}

#[derive(Default, Deserialize)]
#[serde(
    default,
    rename_all = "camelCase",
    expecting = "the `codeRuntime.sessions` object"
)]
pub(super) struct RawSessions {
    pub idle_timeout_ms: Option<NonZeroU64>,
    pub max_bytes: Option<NonZeroUsize>,
    pub max_sessions: Option<NonZeroU64>,
}

#[derive(Default, Deserialize)]
#[serde(
    default,
    rename_all = "camelCase",
    expecting = "the `codeRuntime.analytics` object"
)]
pub(super) struct RawAnalytics {
    pub enabled: Option<bool>,
    pub max_age_days: Option<NonZeroU32>,
    pub max_runs: Option<NonZeroU64>,
    pub max_calls: Option<NonZeroU64>,
}

#[derive(Default, Deserialize)]
#[serde(
    default,
    rename_all = "camelCase",
    expecting = "the `codeRuntime.resultStore` object"
)]
pub(super) struct RawResultStore {
    pub max_bytes: Option<usize>,
    pub ttl_ms: Option<NonZeroU64>,
}

#[derive(Default, Deserialize)]
#[serde(
    default,
    rename_all = "camelCase",
    expecting = "the `codeRuntime.skills` object"
)]
pub(super) struct RawSkills {
    pub expose: Option<RawExposure>,
    pub directory: Option<String>,
}

/// `"all"`, `"none"`, or a list of skill names.
#[derive(Deserialize)]
#[serde(untagged, expecting = "\"all\", \"none\" or a list of skill names")]
pub(super) enum RawExposure {
    Keyword(ExposureKeyword),
    Names(Vec<String>),
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum ExposureKeyword {
    All,
    None,
}

#[derive(Default, Deserialize)]
#[serde(
    default,
    rename_all = "camelCase",
    expecting = "the `codeRuntime.limits` object"
)]
pub(super) struct RawLimits {
    pub timeout_ms: Option<NonZeroU64>,
    pub max_timeout_ms: Option<NonZeroU64>,
    pub fuel: Option<NonZeroU64>,
    pub memory_mb: Option<NonZeroU32>,
    pub max_code_bytes: Option<NonZeroUsize>,
    pub max_result_bytes: Option<NonZeroUsize>,
    pub max_log_bytes: Option<usize>,
    pub max_result_tokens: Option<NonZeroUsize>,
    pub max_tool_calls: Option<u32>,
    pub tool_call_timeout_ms: Option<NonZeroU64>,
    pub approval_timeout_ms: Option<NonZeroU64>,
    pub max_tool_bytes_received: Option<u64>,
    pub max_tool_argument_bytes: Option<u64>,
    pub max_tool_bytes_sent: Option<u64>,
    pub max_concurrent_runs: Option<NonZeroU32>,
}

#[derive(Default, Deserialize)]
#[serde(
    default,
    rename_all = "camelCase",
    expecting = "a server policy object"
)]
pub(super) struct RawServerRules {
    pub allow_tools: Vec<String>,
    pub deny_tools: Vec<String>,
    pub ask_tools: Vec<String>,
    pub ask_destructive: Option<bool>,
    pub max_calls_per_run: Option<u32>,
    pub cache_tools: Vec<String>,
    pub cache_read_only: Option<bool>,
    pub cache_ttl_ms: Option<NonZeroU64>,
}

/// Deserializes the file, adding a warning for each unknown key below the top level.
pub(super) fn parse(
    text: &str,
    origin: &Path,
    warnings: &mut Vec<String>,
) -> Result<RawFile, ConfigError> {
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
