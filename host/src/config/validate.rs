//! The built-in defaults and the checks a well-typed config must still pass:
//! limits within their caps, server entries with a name, one transport and
//! what that transport needs.
//!
//! Checks return the message of a [`super::ConfigError::Invalid`]; placing it
//! in the file is the caller's job. Nothing here expands variables.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use super::raw::{RawAnalytics, RawLimits, RawResultStore, RawServer, RawServers, TransportKind};
use super::{AnalyticsSettings, Config, EnvLookup, Limits, ResultStoreSettings, RuntimeSettings, StartServers};
use crate::policy::Policy;

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
const DEFAULT_MAX_RESULT_TOKENS: usize = 4000;
const DEFAULT_RESULT_STORE_BYTES: usize = 64 * 1024 * 1024;
const DEFAULT_RESULT_STORE_TTL_MS: u64 = 60 * 60 * 1000;
const DEFAULT_MAX_TOOL_CALLS: u32 = 1000;
const DEFAULT_ANALYTICS_MAX_AGE_DAYS: u32 = 30;
const DEFAULT_ANALYTICS_MAX_RUNS: u64 = 100_000;
const DEFAULT_ANALYTICS_MAX_CALLS: u64 = 1_000_000;
const SECONDS_PER_DAY: u64 = 24 * 60 * 60;
const DEFAULT_TOOL_CALL_TIMEOUT_MS: u64 = 60_000;
/// Five minutes for a human to answer an approval request.
const DEFAULT_APPROVAL_TIMEOUT_MS: u64 = 5 * 60 * 1000;
const DEFAULT_MAX_TOOL_BYTES_RECEIVED: u64 = 32 * 1024 * 1024;
const DEFAULT_MAX_TOOL_ARGUMENT_BYTES: u64 = 1024 * 1024;
const DEFAULT_MAX_TOOL_BYTES_SENT: u64 = 16 * 1024 * 1024;
const DEFAULT_MAX_CONCURRENT_RUNS: u32 = 64;
pub(super) const DEFAULT_STARTUP_TIMEOUT_MS: u64 = 30_000;

/// A wasm32 guest cannot address more than 4 GiB of linear memory.
const MAX_MEMORY_MB: u32 = 4096;
const BYTES_PER_MB: usize = 1024 * 1024;
const CACHE_DIR_NAME: &str = "mcp-code-runtime";

impl Default for Limits {
    fn default() -> Self {
        Self {
            default_timeout: millis(DEFAULT_TIMEOUT_MS),
            max_timeout: millis(DEFAULT_MAX_TIMEOUT_MS),
            fuel: DEFAULT_FUEL,
            memory_bytes: megabytes(DEFAULT_MEMORY_MB),
            max_code_bytes: DEFAULT_MAX_CODE_BYTES,
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
            max_log_bytes: DEFAULT_MAX_LOG_BYTES,
            max_result_tokens: DEFAULT_MAX_RESULT_TOKENS,
            max_tool_calls: DEFAULT_MAX_TOOL_CALLS,
            tool_call_timeout: millis(DEFAULT_TOOL_CALL_TIMEOUT_MS),
            approval_timeout: millis(DEFAULT_APPROVAL_TIMEOUT_MS),
            max_tool_bytes_received: DEFAULT_MAX_TOOL_BYTES_RECEIVED,
            max_tool_argument_bytes: DEFAULT_MAX_TOOL_ARGUMENT_BYTES,
            max_tool_bytes_sent: DEFAULT_MAX_TOOL_BYTES_SENT,
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
            startup_timeout: millis(DEFAULT_STARTUP_TIMEOUT_MS),
            cache_dir: default_cache_dir(&super::process_env),
            skills: super::SkillSettings::default(),
            data_dir: default_data_dir(&super::process_env),
            stats_level: Default::default(),
            result_store: ResultStoreSettings::default(),
            analytics: AnalyticsSettings::default(),
            cache: Default::default(),
            sessions: Default::default(),
        }
    }
}

impl Default for AnalyticsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_age: days(DEFAULT_ANALYTICS_MAX_AGE_DAYS),
            max_runs: DEFAULT_ANALYTICS_MAX_RUNS,
            max_calls: DEFAULT_ANALYTICS_MAX_CALLS,
        }
    }
}

/// `codeRuntime.analytics` with defaults filled in.
pub(super) fn analytics(raw: &RawAnalytics) -> AnalyticsSettings {
    let defaults = AnalyticsSettings::default();
    AnalyticsSettings {
        enabled: raw.enabled.unwrap_or(defaults.enabled),
        max_age: raw.max_age_days.map_or(defaults.max_age, |count| days(count.get())),
        max_runs: raw.max_runs.map_or(defaults.max_runs, NonZeroU64::get),
        max_calls: raw.max_calls.map_or(defaults.max_calls, NonZeroU64::get),
    }
}

fn days(count: u32) -> Duration {
    Duration::from_secs(u64::from(count) * SECONDS_PER_DAY)
}

impl Default for ResultStoreSettings {
    fn default() -> Self {
        Self { max_bytes: DEFAULT_RESULT_STORE_BYTES, ttl: millis(DEFAULT_RESULT_STORE_TTL_MS) }
    }
}

/// `codeRuntime.resultStore` with defaults filled in.
pub(super) fn result_store(raw: &RawResultStore) -> ResultStoreSettings {
    let defaults = ResultStoreSettings::default();
    ResultStoreSettings {
        max_bytes: raw.max_bytes.unwrap_or(defaults.max_bytes),
        ttl: raw.ttl_ms.map_or(defaults.ttl, |ms| millis(ms.get())),
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

/// `codeRuntime.limits` with defaults filled in, or why it is unusable.
pub(super) fn limits(raw: &RawLimits) -> Result<Limits, String> {
    let defaults = Limits::default();
    let max_timeout_ms = raw
        .max_timeout_ms
        .map_or(DEFAULT_MAX_TIMEOUT_MS, NonZeroU64::get);
    let timeout_ms = within_cap(
        ("timeoutMs", raw.timeout_ms, DEFAULT_TIMEOUT_MS),
        ("maxTimeoutMs", max_timeout_ms),
    )?;
    Ok(Limits {
        default_timeout: millis(timeout_ms),
        max_timeout: millis(max_timeout_ms),
        fuel: raw.fuel.map_or(DEFAULT_FUEL, NonZeroU64::get),
        memory_bytes: memory_bytes(raw.memory_mb)?,
        max_code_bytes: raw
            .max_code_bytes
            .map_or(defaults.max_code_bytes, NonZeroUsize::get),
        max_result_bytes: raw
            .max_result_bytes
            .map_or(defaults.max_result_bytes, NonZeroUsize::get),
        max_log_bytes: raw.max_log_bytes.unwrap_or(defaults.max_log_bytes),
        max_result_tokens: raw
            .max_result_tokens
            .map_or(defaults.max_result_tokens, NonZeroUsize::get),
        max_tool_calls: raw.max_tool_calls.unwrap_or(defaults.max_tool_calls),
        tool_call_timeout: raw
            .tool_call_timeout_ms
            .map_or(defaults.tool_call_timeout, |ms| millis(ms.get())),
        approval_timeout: raw.approval_timeout_ms.map_or(defaults.approval_timeout, |ms| millis(ms.get())),
        max_tool_bytes_received: raw
            .max_tool_bytes_received
            .unwrap_or(defaults.max_tool_bytes_received),
        max_tool_argument_bytes: raw
            .max_tool_argument_bytes
            .unwrap_or(defaults.max_tool_argument_bytes),
        max_tool_bytes_sent: raw
            .max_tool_bytes_sent
            .unwrap_or(defaults.max_tool_bytes_sent),
        max_concurrent_runs: raw
            .max_concurrent_runs
            .map_or(defaults.max_concurrent_runs, NonZeroU32::get),
    })
}

/// A limit with a cap (`timeoutMs` and `maxTimeoutMs`): a value set above
/// the cap is an error, the built-in default is lowered to the cap.
fn within_cap(
    (key, explicit, default): (&str, Option<NonZeroU64>, u64),
    (cap_key, cap): (&str, u64),
) -> Result<u64, String> {
    match explicit.map(NonZeroU64::get) {
        Some(value) if value > cap => Err(format!(
            "codeRuntime.limits.{key} is {value}, above codeRuntime.limits.{cap_key} ({cap})"
        )),
        Some(value) => Ok(value),
        None => Ok(default.min(cap)),
    }
}

fn memory_bytes(memory_mb: Option<NonZeroU32>) -> Result<usize, String> {
    let mb = memory_mb.map_or(DEFAULT_MEMORY_MB, NonZeroU32::get);
    if mb > MAX_MEMORY_MB {
        return Err(format!(
            "codeRuntime.limits.memoryMb is {mb}, but a wasm32 guest can address \
             at most {MAX_MEMORY_MB} MB"
        ));
    }
    Ok(megabytes(mb))
}

pub(super) fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// `mb` MiB in bytes (saturating where `usize` has 32 bits).
fn megabytes(mb: u32) -> usize {
    (mb as usize).saturating_mul(BYTES_PER_MB)
}

/// `$MCP_CODE_RUNTIME_CACHE_DIR`, else `$XDG_CACHE_HOME/mcp-code-runtime`,
/// else `$HOME/.cache/mcp-code-runtime`, else the temp dir (empty variables
/// count as unset).
pub(super) fn default_cache_dir(env: EnvLookup<'_>) -> PathBuf {
    let dir_from = |name: &str| {
        env(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    dir_from("MCP_CODE_RUNTIME_CACHE_DIR")
        .or_else(|| dir_from("XDG_CACHE_HOME").map(|dir| dir.join(CACHE_DIR_NAME)))
        .or_else(|| dir_from("HOME").or_else(account_home).map(|dir| dir.join(".cache").join(CACHE_DIR_NAME)))
        // Never a shared temporary directory: with no home at all there is no
        // cache, and the guest is compiled in memory at every start.
        .unwrap_or_default()
}

/// `$XDG_DATA_HOME/mcp-code-runtime` (when absolute), else
/// `$HOME/.local/share/mcp-code-runtime`, else none (no home, nothing saved).
pub fn default_data_dir(env: EnvLookup<'_>) -> Option<PathBuf> {
    let dir_from = |name: &str| env(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    dir_from("XDG_DATA_HOME")
        .filter(|dir| dir.is_absolute())
        .or_else(|| dir_from("HOME").or_else(account_home).map(|home| home.join(".local").join("share")))
        .map(|base| base.join(CACHE_DIR_NAME))
}

/// The home directory of the user running the host, from the account
/// database, for when `HOME` is not set.
fn account_home() -> Option<PathBuf> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: getpwuid_r writes only into `entry` and `buffer`, whose sizes it
    // is given, and sets `found` to `&entry` or null.
    let status = unsafe { libc::getpwuid_r(libc::getuid(), &mut entry, buffer.as_mut_ptr(), buffer.len(), &mut found) };
    if status != 0 || found.is_null() || entry.pw_dir.is_null() {
        return None;
    }
    // SAFETY: on success `pw_dir` points at a NUL-terminated string in `buffer`.
    let home = unsafe { CStr::from_ptr(entry.pw_dir) };
    (!home.to_bytes().is_empty()).then(|| PathBuf::from(std::ffi::OsStr::from_bytes(home.to_bytes())))
}

/// One enabled entry with its name and where it sits in the file.
pub(super) struct Entry {
    pub name: String,
    /// `mcpServers.name` or `mcpServers[3]`, the prefix of its JSON paths.
    pub at: String,
    pub raw: RawServer,
}

/// The enabled entries with their names: the object key, or the entry's
/// `name`. Names must be present, non-empty and unique among enabled entries.
/// Also returns warnings about `name`s that the object form ignores.
pub(super) fn entries(raw: RawServers) -> Result<(Vec<Entry>, Vec<String>), String> {
    let mut warnings = Vec::new();
    let named: Vec<Entry> = match raw {
        RawServers::Named(entries) => entries
            .into_iter()
            .map(|(key, raw)| {
                if raw.name.as_ref().is_some_and(|name| *name != key) {
                    warnings.push(format!(
                        "mcpServers.{key}: `name` is ignored; the key `{key}` names the server"
                    ));
                }
                Entry {
                    at: format!("mcpServers.{key}"),
                    name: key,
                    raw,
                }
            })
            .collect(),
        RawServers::Listed(entries) => entries
            .into_iter()
            .enumerate()
            .map(|(index, raw)| match raw.name.clone() {
                Some(name) => Ok(Entry {
                    name,
                    at: format!("mcpServers[{index}]"),
                    raw,
                }),
                None => Err(format!("mcpServers[{index}] has no `name`")),
            })
            .collect::<Result<_, _>>()?,
    };
    if named.iter().any(|entry| entry.name.is_empty()) {
        return Err("a server in mcpServers has an empty name".to_owned());
    }
    let enabled: Vec<Entry> = named
        .into_iter()
        .filter(|entry| !entry.raw.disabled)
        .collect();
    for (index, entry) in enabled.iter().enumerate() {
        if enabled[..index]
            .iter()
            .any(|earlier| earlier.name == entry.name)
        {
            return Err(format!("two servers are named `{}`", entry.name));
        }
    }
    Ok((enabled, warnings))
}

/// The transport of entry `name`: its `type`, or what its keys imply.
pub(super) fn transport_kind(name: &str, raw: &RawServer) -> Result<TransportKind, String> {
    match (raw.kind, &raw.command, &raw.url) {
        (Some(kind), _, _) => Ok(kind),
        (None, Some(_), None) => Ok(TransportKind::Stdio),
        (None, None, Some(_)) => Ok(TransportKind::Http),
        (None, Some(_), Some(_)) => Err(format!(
            "server `{name}` has both `command` and `url`; \
             add \"type\": \"stdio\" or \"type\": \"http\""
        )),
        (None, None, None) => Err(format!(
            "server `{name}` needs `command` (a stdio server) or `url` (an http server)"
        )),
    }
}

/// An expanded `url` must be http or https.
pub(super) fn http_url(context: &str, url: &str) -> Result<(), String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(format!(
            "{context}: `url` must start with http:// or https://, not `{url}`"
        ))
    }
}

/// The keys of `present` (name, set) that `kind` ("a stdio server") does not use, as warnings.
pub(super) fn unused_keys(context: &str, kind: &str, present: &[(&str, bool)]) -> Vec<String> {
    present
        .iter()
        .filter(|(_, set)| *set)
        .map(|(key, _)| format!("{context}: `{key}` is ignored for {kind}"))
        .collect()
}
