//! `codeRuntime.cache`, `codeRuntime.sessions` and the caching keys of
//! `codeRuntime.servers.<name>` (`cacheTools`, `cacheReadOnly`,
//! `cacheTtlMs`): their types, built-in defaults and checks.

use std::collections::BTreeMap;
use std::num::NonZeroU64;
use std::time::Duration;

use super::raw::{RawCache, RawServerRules, RawSessions};
use crate::policy::Pattern;

const DEFAULT_CACHE_ENTRIES: usize = 10_000;
const DEFAULT_CACHE_BYTES: usize = 32 * 1024 * 1024;
const DEFAULT_CACHE_VALUE_BYTES: usize = 1024 * 1024;
const DEFAULT_TOOL_CACHE_TTL_MS: u64 = 60_000;
const DEFAULT_SESSION_IDLE_MS: u64 = 60 * 60 * 1000;
const DEFAULT_SESSION_BYTES: usize = 1024 * 1024;
const DEFAULT_MAX_SESSIONS: u64 = 10_000;

/// `codeRuntime.cache`: the programs' cache, and the bounds of the cache of
/// tool calls (a cache of its own, with the same bounds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    pub max_entries: usize,
    /// Bytes of keys and values over all entries.
    pub max_bytes: usize,
    /// Bytes of one entry's key and value.
    pub max_value_bytes: usize,
    /// Whether the programs' cache is saved when the host stops and loaded
    /// when it starts.
    pub persist: bool,
    /// The servers whose tool calls are cached, by name.
    pub servers: BTreeMap<String, ToolCaching>,
}

/// Which tool calls of one server are cached, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCaching {
    /// `cacheTools`: the tools whose results are cached.
    pub tools: Vec<Pattern>,
    /// `cacheReadOnly`: also the tools annotated `readOnlyHint: true`.
    pub read_only: bool,
    pub ttl: Duration,
}

impl ToolCaching {
    /// Whether calls of `tool` (read-only by its annotations or not) are cached.
    pub fn caches(&self, tool: &str, read_only: bool) -> bool {
        (self.read_only && read_only) || self.tools.iter().any(|pattern| pattern.matches(tool))
    }
}

/// `codeRuntime.sessions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// A session not used for this long is deleted.
    pub idle_timeout: Duration,
    /// Bytes of one session's data (its JSON text).
    pub max_bytes: usize,
    /// The most sessions kept at once.
    pub max_sessions: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            max_entries: DEFAULT_CACHE_ENTRIES,
            max_bytes: DEFAULT_CACHE_BYTES,
            max_value_bytes: DEFAULT_CACHE_VALUE_BYTES,
            persist: false,
            servers: BTreeMap::new(),
        }
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_millis(DEFAULT_SESSION_IDLE_MS),
            max_bytes: DEFAULT_SESSION_BYTES,
            max_sessions: DEFAULT_MAX_SESSIONS,
        }
    }
}

/// `codeRuntime.cache` with defaults filled in, and the servers whose rules
/// cache tools; or why it is unusable.
pub(super) fn cache(raw: &RawCache, servers: &BTreeMap<String, RawServerRules>) -> Result<CacheSettings, String> {
    let defaults = CacheSettings::default();
    let max_bytes = raw.max_bytes.map_or(defaults.max_bytes, usize::from);
    let max_value_bytes = raw.max_value_bytes.map_or(defaults.max_value_bytes.min(max_bytes), usize::from);
    if max_value_bytes > max_bytes {
        return Err(format!("codeRuntime.cache.maxValueBytes is {max_value_bytes}, above codeRuntime.cache.maxBytes ({max_bytes})"));
    }
    Ok(CacheSettings {
        max_entries: raw.max_entries.map_or(defaults.max_entries, usize::from),
        max_bytes,
        max_value_bytes,
        persist: raw.persist.unwrap_or(defaults.persist),
        servers: servers.iter().filter_map(|(name, rules)| tool_caching(rules).map(|caching| (name.clone(), caching))).collect(),
    })
}

/// A server's caching rules; `None` when it caches nothing.
fn tool_caching(rules: &RawServerRules) -> Option<ToolCaching> {
    let read_only = rules.cache_read_only.unwrap_or(false);
    if rules.cache_tools.is_empty() && !read_only {
        return None;
    }
    Some(ToolCaching {
        tools: rules.cache_tools.iter().cloned().map(Pattern::new).collect(),
        read_only,
        ttl: Duration::from_millis(rules.cache_ttl_ms.map_or(DEFAULT_TOOL_CACHE_TTL_MS, NonZeroU64::get)),
    })
}

/// `codeRuntime.sessions` with defaults filled in.
pub(super) fn sessions(raw: &RawSessions) -> SessionSettings {
    let defaults = SessionSettings::default();
    SessionSettings {
        idle_timeout: raw.idle_timeout_ms.map_or(defaults.idle_timeout, |ms| Duration::from_millis(ms.get())),
        max_bytes: raw.max_bytes.map_or(defaults.max_bytes, usize::from),
        max_sessions: raw.max_sessions.map_or(defaults.max_sessions, NonZeroU64::get),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{Config, ConfigError};

    fn load(text: &str) -> Result<Config, ConfigError> {
        crate::config::load(text, Path::new("config.json"), &|name| (name == "HOME").then(|| "/home/u".to_owned()))
    }

    fn load_ok(text: &str) -> Config {
        load(text).expect("config should load")
    }

    fn load_err(text: &str) -> ConfigError {
        load(text).expect_err("config should be rejected")
    }

    #[test]
    fn the_cache_and_sessions_have_defaults_and_read_their_keys() {
        let defaults = load_ok(r#"{"mcpServers": {}}"#).runtime;
        assert_eq!(defaults.cache, CacheSettings::default());
        assert_eq!(defaults.sessions, SessionSettings::default());
        let set = load_ok(
            r#"{"mcpServers": {"fs": {"command": "x"}}, "codeRuntime": {
                "cache": {"maxEntries": 5, "maxBytes": 1000, "maxValueBytes": 100, "persist": true},
                "sessions": {"idleTimeoutMs": 2000, "maxBytes": 300, "maxSessions": 7},
                "servers": {"fs": {"cacheTools": ["read_*"], "cacheReadOnly": true, "cacheTtlMs": 5000, "denyTools": ["rm"]}}}}"#,
        )
        .runtime;
        let caching = ToolCaching { tools: vec![Pattern::new("read_*")], read_only: true, ttl: Duration::from_secs(5) };
        let servers = BTreeMap::from([("fs".to_owned(), caching)]);
        assert_eq!(set.cache, CacheSettings { max_entries: 5, max_bytes: 1000, max_value_bytes: 100, persist: true, servers });
        assert_eq!(set.sessions, SessionSettings { idle_timeout: Duration::from_secs(2), max_bytes: 300, max_sessions: 7 });
    }

    #[test]
    fn a_small_cache_lowers_the_default_value_bound_and_an_explicit_one_above_it_is_an_error() {
        let small = load_ok(r#"{"mcpServers": {}, "codeRuntime": {"cache": {"maxBytes": 1000}}}"#).runtime.cache;
        assert_eq!(small.max_value_bytes, 1000);
        let error = load_err(r#"{"codeRuntime": {"cache": {"maxBytes": 10, "maxValueBytes": 11}}}"#).to_string();
        assert!(error.contains("maxValueBytes is 11, above codeRuntime.cache.maxBytes (10)"), "{error}");
        let zero = load_err(r#"{"codeRuntime": {"sessions": {"maxBytes": 0}}}"#).to_string();
        assert!(zero.contains("nonzero") || zero.contains("zero"), "{zero}");
    }

    #[test]
    fn a_server_caches_the_tools_its_patterns_name_and_with_cache_read_only_the_read_only_ones() {
        let caching = ToolCaching { tools: vec![Pattern::new("get_*")], read_only: false, ttl: Duration::from_secs(1) };
        assert!(caching.caches("get_user", false));
        assert!(!caching.caches("list", true));
        assert!(ToolCaching { read_only: true, ..caching }.caches("list", true));
        let plain = load_ok(r#"{"mcpServers": {"fs": {"command": "x"}}, "codeRuntime": {"servers": {"fs": {"denyTools": ["rm"]}}}}"#);
        assert!(plain.runtime.cache.servers.is_empty(), "a server without caching keys caches nothing");
    }
}
