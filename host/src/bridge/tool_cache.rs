//! The cache of tool calls: results of the tools the configuration marks
//! cacheable (`codeRuntime.servers.<name>.cacheTools`, and with
//! `cacheReadOnly` the tools annotated `readOnlyHint: true`), shared by
//! every run of the host, each kept for the server's `cacheTtlMs`.
//!
//! A call is keyed by its server, its tool and its arguments in canonical
//! form (object keys sorted at every level), so `{a, b}` and `{b, a}` share
//! an entry. Only results that reached the program are kept (never a tool
//! error or a refusal). A call of any other tool of a server that caches is
//! taken as a write: it drops the server's cached results when it starts
//! and again when it ends, and a read that was under way meanwhile keeps
//! nothing (each server has a generation, bumped by every write), so no
//! result older than the last write is ever served.
//!
//! The bounds are `codeRuntime.cache`'s, for a cache of its own: programs
//! cannot read these entries, nor these theirs. A hit still counts as a
//! call in the run's budget and statistics, and its bytes as received; each
//! run's hits and misses are in its full stats (`stats.cache`).
//!
//! It decides what is cached and keeps it; the grant asks it around each call.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::{CacheSettings, ToolCaching};
use crate::outcome::CacheUse;
use crate::state::cache::{Cache, CacheLimits, Weighted};

/// A kept result: the completion the program received, and the bytes of
/// the downstream result it came from (counted as received at every hit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedResult {
    pub completion: Arc<str>,
    pub bytes_in: u64,
}

impl Weighted for CachedResult {
    fn weight(&self) -> usize {
        self.completion.len()
    }
}

/// The host's cache of tool calls.
pub struct ToolCache {
    entries: Cache<CachedResult>,
    servers: BTreeMap<String, ToolCaching>,
    /// Each caching server's writes so far; held while an entry is kept,
    /// so a write and a keep never interleave.
    generations: Mutex<HashMap<String, u64>>,
}

impl ToolCache {
    pub fn new(settings: &CacheSettings) -> Arc<Self> {
        let limits = CacheLimits { max_entries: settings.max_entries, max_bytes: settings.max_bytes, max_value_bytes: settings.max_value_bytes };
        Arc::new(ToolCache { entries: Cache::new(limits), servers: settings.servers.clone(), generations: Mutex::default() })
    }

    fn generations(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.generations.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A write to `server`: its cached results go, and reads under way keep nothing.
    fn invalidate(&self, server: &str) {
        let mut generations = self.generations();
        *generations.entry(server.to_owned()).or_default() += 1;
        let prefix = key_prefix(server);
        self.entries.invalidate(|key| key.starts_with(&prefix));
    }
}

/// A run's use of the host's cache of tool calls; shared with the skills it calls.
#[derive(Clone)]
pub struct RunToolCache {
    cache: Arc<ToolCache>,
    hits: Arc<AtomicU32>,
    misses: Arc<AtomicU32>,
}

/// What a call does with the cache.
pub enum CachePlan {
    /// The server caches nothing: the call only runs.
    Uncached,
    /// The result, from the cache: the call does not run.
    Hit(CachedResult),
    /// Not cached yet: the call runs, and [`CachePlan::finish`] keeps its result.
    Miss(Miss),
    /// A call of a tool that is not cached, of a server that caches: it
    /// invalidated the server's results, and does again when the guard is
    /// dropped (the call ended, or was dropped).
    Write { _guard: WriteGuard },
}

pub struct Miss {
    cache: Arc<ToolCache>,
    server: String,
    key: String,
    generation: u64,
    ttl: Duration,
}

pub struct WriteGuard {
    cache: Arc<ToolCache>,
    server: String,
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        self.cache.invalidate(&self.server);
    }
}

impl RunToolCache {
    pub fn new(cache: Arc<ToolCache>) -> Self {
        RunToolCache { cache, hits: Arc::default(), misses: Arc::default() }
    }

    /// The run's hits and misses so far.
    pub fn usage(&self) -> CacheUse {
        CacheUse { hits: self.hits.load(Ordering::Relaxed), misses: self.misses.load(Ordering::Relaxed) }
    }

    /// What a call of `tool` (read-only by its annotations or not) on
    /// `server` with `arguments` (JSON text) does with the cache.
    pub fn plan(&self, server: &str, tool: &str, read_only: bool, arguments: &str) -> CachePlan {
        let Some(caching) = self.cache.servers.get(server) else { return CachePlan::Uncached };
        if !caching.caches(tool, read_only) {
            self.cache.invalidate(server);
            return CachePlan::Write { _guard: WriteGuard { cache: Arc::clone(&self.cache), server: server.to_owned() } };
        }
        let Some(key) = cache_key(server, tool, arguments).filter(|key| key.len() <= self.cache.entries.limits().max_value_bytes) else {
            return CachePlan::Uncached;
        };
        if let Some(hit) = self.cache.entries.get(&key, Instant::now()) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return CachePlan::Hit(hit);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let generation = self.cache.generations().get(server).copied().unwrap_or_default();
        CachePlan::Miss(Miss { cache: Arc::clone(&self.cache), server: server.to_owned(), key, generation, ttl: caching.ttl })
    }
}

impl CachePlan {
    /// The call ended with `completion` from `bytes_in` bytes of result:
    /// a miss keeps it, unless the server was written to meanwhile.
    pub fn finish(self, completion: &str, bytes_in: u64) {
        let CachePlan::Miss(miss) = self else { return };
        let generations = miss.cache.generations();
        if generations.get(&miss.server).copied().unwrap_or_default() != miss.generation {
            return;
        }
        let result = CachedResult { completion: completion.into(), bytes_in };
        // A result heavier than an entry may be is simply not kept.
        let _ = miss.cache.entries.set(&miss.key, result, miss.ttl, Instant::now());
        drop(generations);
    }
}

fn key_prefix(server: &str) -> String {
    format!("{server}\0")
}

/// `server \0 tool \0 arguments` with the arguments' object keys sorted at
/// every level; `None` when the arguments are not JSON (the call fails).
fn cache_key(server: &str, tool: &str, arguments: &str) -> Option<String> {
    let mut arguments: Value = serde_json::from_str(arguments).ok()?;
    arguments.sort_all_objects();
    Some(format!("{}{tool}\0{arguments}", key_prefix(server)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Pattern;

    fn cache() -> RunToolCache {
        let caching = ToolCaching { tools: vec![Pattern::new("get_*")], read_only: true, ttl: Duration::from_secs(60) };
        let settings = CacheSettings { servers: BTreeMap::from([("s".to_owned(), caching)]), ..CacheSettings::default() };
        RunToolCache::new(ToolCache::new(&settings))
    }

    fn result(text: &str) -> CachedResult {
        CachedResult { completion: text.into(), bytes_in: 7 }
    }

    fn hit(plan: CachePlan) -> Option<CachedResult> {
        match plan {
            CachePlan::Hit(result) => Some(result),
            _ => None,
        }
    }

    #[test]
    fn a_cacheable_call_misses_then_hits_whatever_the_order_of_its_keys() {
        let cache = cache();
        let first = cache.plan("s", "get_user", false, r#"{"id": 1, "opts": {"b": 1, "a": 2}}"#);
        assert!(matches!(first, CachePlan::Miss(_)));
        first.finish("\"ann\"", 7);
        assert_eq!(hit(cache.plan("s", "get_user", false, r#"{"opts": {"a": 2, "b": 1}, "id": 1}"#)), Some(result("\"ann\"")));
        assert!(matches!(cache.plan("s", "get_user", false, r#"{"id": 2}"#), CachePlan::Miss(_)), "other arguments");
        assert!(matches!(cache.plan("s", "list", true, "{}"), CachePlan::Miss(_)), "read-only, with cacheReadOnly");
        assert!(matches!(cache.plan("other", "get_user", false, "{}"), CachePlan::Uncached), "a server that caches nothing");
        assert_eq!(cache.usage(), CacheUse { hits: 1, misses: 3 });
    }

    #[test]
    fn a_write_drops_the_servers_results_and_a_read_under_way_keeps_nothing() {
        let cache = cache();
        cache.plan("s", "get_a", false, "{}").finish("1", 1);
        let under_way = cache.plan("s", "get_b", false, "{}");
        let write = cache.plan("s", "delete", false, "{}");
        assert!(matches!(write, CachePlan::Write { .. }));
        assert!(matches!(cache.plan("s", "get_a", false, "{}"), CachePlan::Miss(_)), "dropped at the write's start");
        under_way.finish("2", 1);
        drop(write);
        assert!(matches!(cache.plan("s", "get_b", false, "{}"), CachePlan::Miss(_)), "the read under way kept nothing");
    }
}
