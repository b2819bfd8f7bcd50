//! The programs' `cache`: JSON values under string keys, each for a time to
//! live (60 s unless the program says), shared by every run of the host and
//! bounded like any [`Cache`]. Invalidation takes a glob pattern (`*`
//! matches any characters; a pattern without one names a single key), or
//! none to drop everything.
//!
//! Everything a program hands in is bounded before it is kept: keys and
//! patterns ([`MAX_KEY_BYTES`]), times to live ([`MAX_TTL`]) and entries
//! (`cache.maxValueBytes`). Values are kept as the JSON text the guest made.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cache::{Cache, CacheLimits, CacheStats, Kept};
use crate::config::CacheSettings;
use crate::policy::Pattern;
use crate::store::CacheRow;

/// The longest key, and the longest invalidation pattern, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// How long an entry lives when the program does not say.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// The longest time to live a program may ask for: 30 days.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Why the cache refused a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CacheError {
    #[error("a cache key must not be empty")]
    EmptyKey,
    #[error("the {what} is {bytes} bytes, more than the {max} it may have")]
    TooLong { what: &'static str, bytes: usize, max: usize },
    #[error("ttlMs must be a number of milliseconds from 1 to {} (30 days), not {got}", MAX_TTL.as_millis())]
    BadTtl { got: f64 },
    #[error("the entry is {bytes} bytes (key and JSON value), more than the {max} one entry may have (codeRuntime.cache.maxValueBytes)")]
    TooLarge { bytes: usize, max: usize },
}

/// The programs' cache of a host.
pub struct ProgramCache {
    entries: Cache,
}

impl ProgramCache {
    pub fn new(settings: &CacheSettings) -> Self {
        let limits = CacheLimits { max_entries: settings.max_entries, max_bytes: settings.max_bytes, max_value_bytes: settings.max_value_bytes };
        ProgramCache { entries: Cache::new(limits) }
    }

    /// The JSON text under `key`, unless absent or expired.
    pub fn get(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        check_key("key", key)?;
        Ok(self.entries.get(key, Instant::now()))
    }

    /// Keeps `value` (JSON text) under `key` for `ttl_ms` (default 60 s).
    pub fn set(&self, key: &str, value: &str, ttl_ms: Option<f64>) -> Result<(), CacheError> {
        check_key("key", key)?;
        let ttl = ttl(ttl_ms)?;
        let max = self.entries.limits().max_value_bytes;
        if key.len() + value.len() > max {
            return Err(CacheError::TooLarge { bytes: key.len() + value.len(), max });
        }
        self.entries.set(key, value.into(), ttl, Instant::now()).map_err(|heavy| CacheError::TooLarge { bytes: heavy.bytes, max: heavy.max })
    }

    /// Drops the entries whose keys match `pattern`, or all; returns how many.
    pub fn invalidate(&self, pattern: Option<&str>) -> Result<usize, CacheError> {
        let Some(pattern) = pattern else { return Ok(self.entries.clear()) };
        if pattern.len() > MAX_KEY_BYTES {
            return Err(CacheError::TooLong { what: "pattern", bytes: pattern.len(), max: MAX_KEY_BYTES });
        }
        let pattern = Pattern::new(pattern);
        Ok(self.entries.invalidate(|key| pattern.matches(key)))
    }

    pub fn stats(&self) -> CacheStats {
        self.entries.stats(Instant::now())
    }

    /// The live entries as saved rows (least recently used first).
    pub fn snapshot(&self, now_ms: i64) -> Vec<CacheRow> {
        let rows = self.entries.snapshot(Instant::now()).into_iter();
        rows.map(|kept| CacheRow {
            key: kept.key,
            value: kept.value.to_string(),
            expires_at_ms: now_ms.saturating_add(i64::try_from(kept.ttl.as_millis()).unwrap_or(i64::MAX)),
        })
        .collect()
    }

    /// Takes back saved rows that did not expire by `now_ms` and whose keys
    /// were not set since; returns how many.
    pub fn restore(&self, rows: Vec<CacheRow>, now_ms: i64) -> usize {
        let kept = rows.into_iter().filter_map(|row| {
            let left = u64::try_from(row.expires_at_ms.saturating_sub(now_ms)).ok().filter(|left| *left > 0)?;
            Some(Kept { key: row.key, value: row.value.into(), ttl: Duration::from_millis(left).min(MAX_TTL) })
        });
        self.entries.restore(kept.collect(), Instant::now())
    }
}

fn check_key(what: &'static str, key: &str) -> Result<(), CacheError> {
    if key.is_empty() {
        return Err(CacheError::EmptyKey);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(CacheError::TooLong { what, bytes: key.len(), max: MAX_KEY_BYTES });
    }
    Ok(())
}

fn ttl(ttl_ms: Option<f64>) -> Result<Duration, CacheError> {
    let Some(ms) = ttl_ms else { return Ok(DEFAULT_TTL) };
    if !(ms >= 1.0 && ms <= MAX_TTL.as_millis() as f64) {
        return Err(CacheError::BadTtl { got: ms });
    }
    Ok(Duration::from_millis(ms as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> ProgramCache {
        ProgramCache::new(&CacheSettings { max_entries: 10, max_bytes: 1000, max_value_bytes: 100, ..CacheSettings::default() })
    }

    #[test]
    fn keys_patterns_times_and_entries_are_bounded() {
        let cache = cache();
        assert_eq!(cache.set("", "1", None), Err(CacheError::EmptyKey));
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(matches!(cache.get(&long), Err(CacheError::TooLong { what: "key", .. })));
        assert!(matches!(cache.invalidate(Some(&long)), Err(CacheError::TooLong { what: "pattern", .. })));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 31.0 * 86_400_000.0] {
            assert!(matches!(cache.set("k", "1", Some(bad)), Err(CacheError::BadTtl { .. })), "{bad}");
        }
        assert_eq!(cache.set("k", &"x".repeat(100), None), Err(CacheError::TooLarge { bytes: 101, max: 100 }));
        assert_eq!(cache.stats().entries, 0, "nothing refused was kept");
    }

    #[test]
    fn a_glob_pattern_invalidates_the_keys_it_matches() {
        let cache = cache();
        for key in ["user:1:name", "user:2:name", "team:1", "user"] {
            cache.set(key, "1", None).unwrap();
        }
        assert_eq!(cache.invalidate(Some("user:*:name")), Ok(2));
        assert_eq!(cache.invalidate(Some("user")), Ok(1), "without `*` a pattern is one key");
        assert_eq!(cache.invalidate(None), Ok(1));
    }

    #[test]
    fn saved_rows_come_back_with_what_is_left_of_their_time() {
        let cache = cache();
        cache.set("a", "[1]", Some(10_000.0)).unwrap();
        let rows = cache.snapshot(1_000_000);
        assert_eq!(rows.len(), 1);
        assert!((1_009_000..=1_010_000).contains(&rows[0].expires_at_ms), "{rows:?}");
        let restored = self::cache();
        let expired = CacheRow { key: "b".into(), value: "2".into(), expires_at_ms: 1_000_000 };
        assert_eq!(restored.restore(vec![rows[0].clone(), expired], 1_000_000), 1);
        assert_eq!(restored.get("a").unwrap().as_deref(), Some("[1]"));
    }
}
