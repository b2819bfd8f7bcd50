//! A bounded cache of values by key, with a time to live per entry and
//! least-recently-used eviction: the programs' `cache` and the bridge's
//! cache of read-only tool calls are each one.
//!
//! Bounds: at most `max_entries` entries and `max_bytes` bytes (the bytes of
//! the keys and the values' weights); setting an entry first evicts the
//! least recently used ones until it fits. An entry heavier than
//! `max_value_bytes` is refused, so no single value can empty the cache.
//! Expired entries count as absent: they are dropped when they are read,
//! when the stats are taken, and as the least recently used.
//!
//! Every operation takes the time as an argument (`now`), so tests drive it.
//! It knows nothing of JSON, tools or runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

/// What an entry weighs against the cache's byte bound.
pub trait Weighted: Clone {
    fn weight(&self) -> usize;
}

impl Weighted for Arc<str> {
    fn weight(&self) -> usize {
        self.len()
    }
}

/// The bounds of one cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    pub max_entries: usize,
    pub max_bytes: usize,
    /// The heaviest entry (key and value) the cache takes.
    pub max_value_bytes: usize,
}

/// An entry the cache does not take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the entry is {bytes} bytes (key and value), more than the {max} a cache entry may have")]
pub struct TooHeavy {
    pub bytes: usize,
    pub max: usize,
}

/// What a cache holds and has done since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheStats {
    pub entries: usize,
    pub bytes: usize,
    pub max_entries: usize,
    pub max_bytes: usize,
    pub hits: u64,
    pub misses: u64,
    /// Entries dropped to make room.
    pub evictions: u64,
    /// Entries dropped because their time was up.
    pub expirations: u64,
}

/// One entry as [`Cache::snapshot`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept<V> {
    pub key: String,
    pub value: V,
    /// How long it has left to live.
    pub ttl: Duration,
}

/// A thread-safe bounded cache (see the module documentation).
pub struct Cache<V: Weighted = Arc<str>> {
    limits: CacheLimits,
    inner: Mutex<Lru<V>>,
}

struct Entry<V> {
    value: V,
    expires: Instant,
    /// Its place in the recency order.
    tick: u64,
    bytes: usize,
}

struct Lru<V> {
    entries: HashMap<Arc<str>, Entry<V>>,
    /// Keys by the tick of their last use: the first is the least recently used.
    order: BTreeMap<u64, Arc<str>>,
    next_tick: u64,
    bytes: usize,
    stats: CacheStats,
}

impl<V: Weighted> Cache<V> {
    pub fn new(limits: CacheLimits) -> Self {
        let lru = Lru { entries: HashMap::new(), order: BTreeMap::new(), next_tick: 0, bytes: 0, stats: CacheStats::default() };
        Cache { limits, inner: Mutex::new(lru) }
    }

    pub fn limits(&self) -> CacheLimits {
        self.limits
    }

    /// The value of `key` unless it is absent or expired; a hit makes it the
    /// most recently used.
    pub fn get(&self, key: &str, now: Instant) -> Option<V> {
        let mut lru = self.lock();
        let found = match lru.entries.get(key) {
            Some(entry) if entry.expires <= now => {
                lru.remove(key);
                lru.stats.expirations += 1;
                None
            }
            Some(entry) => Some((entry.tick, entry.value.clone())),
            None => None,
        };
        let Some((tick, value)) = found else {
            lru.stats.misses += 1;
            return None;
        };
        lru.touch(key, tick);
        lru.stats.hits += 1;
        Some(value)
    }

    /// Sets `key` to `value` for `ttl` (replacing what it held), evicting the
    /// least recently used entries until it fits.
    pub fn set(&self, key: &str, value: V, ttl: Duration, now: Instant) -> Result<(), TooHeavy> {
        let bytes = key.len() + value.weight();
        let max = self.limits.max_value_bytes.min(self.limits.max_bytes);
        if bytes > max || self.limits.max_entries == 0 {
            return Err(TooHeavy { bytes, max });
        }
        let mut lru = self.lock();
        lru.remove(key);
        while lru.entries.len() >= self.limits.max_entries || lru.bytes + bytes > self.limits.max_bytes {
            if !lru.evict_oldest(now) {
                break;
            }
        }
        let expires = now.checked_add(ttl).unwrap_or(now + Duration::from_secs(u32::MAX.into()));
        let key: Arc<str> = key.into();
        let tick = lru.tick();
        lru.order.insert(tick, Arc::clone(&key));
        lru.bytes += bytes;
        lru.entries.insert(key, Entry { value, expires, tick, bytes });
        Ok(())
    }

    /// Drops the entries whose key `matches` says so; returns how many.
    pub fn invalidate(&self, matches: impl Fn(&str) -> bool) -> usize {
        let mut lru = self.lock();
        let doomed: Vec<Arc<str>> = lru.entries.keys().filter(|key| matches(key)).cloned().collect();
        for key in &doomed {
            lru.remove(key);
        }
        doomed.len()
    }

    /// Drops every entry; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut lru = self.lock();
        let count = lru.entries.len();
        lru.entries.clear();
        lru.order.clear();
        lru.bytes = 0;
        count
    }

    /// What the cache holds (expired entries dropped first) and has done.
    pub fn stats(&self, now: Instant) -> CacheStats {
        let mut lru = self.lock();
        lru.drop_expired(now);
        CacheStats { entries: lru.entries.len(), bytes: lru.bytes, max_entries: self.limits.max_entries, max_bytes: self.limits.max_bytes, ..lru.stats }
    }

    /// The live entries, least recently used first (the order in which
    /// [`Cache::restore`] gives them back their recency).
    pub fn snapshot(&self, now: Instant) -> Vec<Kept<V>> {
        let mut lru = self.lock();
        lru.drop_expired(now);
        let lru = &*lru;
        lru.order
            .values()
            .filter_map(|key| lru.entries.get(key).map(|entry| Kept { key: key.to_string(), value: entry.value.clone(), ttl: entry.expires - now }))
            .collect()
    }

    /// Sets the entries of a snapshot that the cache does not hold already
    /// (what was set since wins), within the bounds; returns how many it took.
    pub fn restore(&self, kept: Vec<Kept<V>>, now: Instant) -> usize {
        let mut restored = 0;
        for entry in kept {
            if self.lock().entries.contains_key(entry.key.as_str()) {
                continue;
            }
            restored += usize::from(self.set(&entry.key, entry.value, entry.ttl, now).is_ok());
        }
        restored
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru<V>> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<V> Lru<V> {
    fn tick(&mut self) -> u64 {
        self.next_tick += 1;
        self.next_tick
    }

    /// Makes `key` (used at `tick`) the most recently used.
    fn touch(&mut self, key: &str, tick: u64) {
        let Some(shared) = self.order.remove(&tick) else { return };
        let now = self.tick();
        self.order.insert(now, shared);
        if let Some(entry) = self.entries.get_mut(key) {
            entry.tick = now;
        }
    }

    fn remove(&mut self, key: &str) -> Option<Entry<V>> {
        let entry = self.entries.remove(key)?;
        self.order.remove(&entry.tick);
        self.bytes -= entry.bytes;
        Some(entry)
    }

    /// Drops the least recently used entry (counted as expired when its
    /// time was up); false when the cache is empty.
    fn evict_oldest(&mut self, now: Instant) -> bool {
        let Some((_, key)) = self.order.pop_first() else { return false };
        if let Some(entry) = self.entries.remove(&key) {
            self.bytes -= entry.bytes;
            if entry.expires <= now {
                self.stats.expirations += 1;
            } else {
                self.stats.evictions += 1;
            }
        }
        true
    }

    fn drop_expired(&mut self, now: Instant) {
        let expired: Vec<Arc<str>> = self.entries.iter().filter(|(_, entry)| entry.expires <= now).map(|(key, _)| Arc::clone(key)).collect();
        for key in expired {
            self.remove(&key);
            self.stats.expirations += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn cache(max_entries: usize, max_bytes: usize) -> Cache {
        Cache::new(CacheLimits { max_entries, max_bytes, max_value_bytes: max_bytes })
    }

    fn value(text: &str) -> Arc<str> {
        text.into()
    }

    fn keys(cache: &Cache, now: Instant) -> Vec<String> {
        cache.snapshot(now).into_iter().map(|kept| kept.key).collect()
    }

    #[test]
    fn a_value_is_read_until_its_time_is_up() {
        let (cache, start) = (cache(10, 1000), Instant::now());
        cache.set("k", value("1"), Duration::from_millis(100), start).unwrap();
        assert_eq!(cache.get("k", start + Duration::from_millis(99)).as_deref(), Some("1"));
        assert_eq!(cache.get("k", start + Duration::from_millis(100)), None);
        let stats = cache.stats(start);
        assert_eq!((stats.hits, stats.misses, stats.expirations, stats.entries, stats.bytes), (1, 1, 1, 0, 0));
    }

    #[test]
    fn the_least_recently_used_entry_goes_first_when_the_entries_are_full() {
        let (cache, now) = (cache(3, 1000), Instant::now());
        for key in ["a", "b", "c"] {
            cache.set(key, value(key), MINUTE, now).unwrap();
        }
        assert!(cache.get("a", now).is_some(), "a becomes the most recently used");
        cache.set("d", value("d"), MINUTE, now).unwrap();
        assert_eq!(keys(&cache, now), ["c", "a", "d"]);
        assert_eq!(cache.stats(now).evictions, 1);
    }

    #[test]
    fn entries_are_evicted_until_the_new_one_fits_in_the_bytes() {
        let (cache, now) = (cache(100, 10), Instant::now());
        cache.set("a", value("1234"), MINUTE, now).unwrap();
        cache.set("b", value("1234"), MINUTE, now).unwrap();
        assert_eq!(cache.stats(now).bytes, 10);
        cache.set("c", value("12345678"), MINUTE, now).unwrap();
        assert_eq!(keys(&cache, now), ["c"]);
        let stats = cache.stats(now);
        assert_eq!((stats.bytes, stats.evictions), (9, 2));
    }

    #[test]
    fn replacing_a_key_frees_its_old_bytes() {
        let (cache, now) = (cache(100, 10), Instant::now());
        cache.set("a", value("12345678"), MINUTE, now).unwrap();
        cache.set("a", value("123456789"), MINUTE, now).unwrap();
        let stats = cache.stats(now);
        assert_eq!((stats.entries, stats.bytes, stats.evictions), (1, 10, 0));
    }

    #[test]
    fn an_entry_heavier_than_a_value_may_be_is_refused_and_evicts_nothing() {
        let cache = Cache::new(CacheLimits { max_entries: 10, max_bytes: 100, max_value_bytes: 8 });
        let now = Instant::now();
        cache.set("a", value("1"), MINUTE, now).unwrap();
        assert_eq!(cache.set("b", value("12345678"), MINUTE, now), Err(TooHeavy { bytes: 9, max: 8 }));
        assert_eq!(keys(&cache, now), ["a"]);
    }

    #[test]
    fn invalidation_drops_what_matches_and_counts_it() {
        let (cache, now) = (cache(10, 1000), Instant::now());
        for key in ["user:1", "user:2", "team:1"] {
            cache.set(key, value("x"), MINUTE, now).unwrap();
        }
        assert_eq!(cache.invalidate(|key| key.starts_with("user:")), 2);
        assert_eq!(keys(&cache, now), ["team:1"]);
        assert_eq!(cache.clear(), 1);
        assert_eq!(cache.stats(now).bytes, 0);
    }

    #[test]
    fn a_snapshot_restores_with_its_recency_and_without_overwriting_newer_entries() {
        let (cache, now) = (cache(10, 1000), Instant::now());
        cache.set("a", value("old a"), MINUTE, now).unwrap();
        cache.set("b", value("b"), Duration::from_millis(10), now).unwrap();
        cache.set("c", value("c"), MINUTE, now).unwrap();
        let later = now + Duration::from_secs(1);
        let snapshot = cache.snapshot(later);
        assert_eq!(snapshot.iter().map(|kept| kept.key.as_str()).collect::<Vec<_>>(), ["a", "c"], "b expired");
        assert_eq!(snapshot[0].ttl, MINUTE - Duration::from_secs(1));
        let fresh = self::cache(10, 1000);
        fresh.set("a", value("new a"), MINUTE, later).unwrap();
        assert_eq!(fresh.restore(snapshot, later), 1);
        assert_eq!(fresh.get("a", later).as_deref(), Some("new a"));
        assert_eq!(keys(&fresh, later), ["c", "a"]);
    }

    #[test]
    fn a_huge_ttl_does_not_overflow() {
        let (cache, now) = (cache(10, 1000), Instant::now());
        cache.set("k", value("v"), Duration::MAX, now).unwrap();
        assert!(cache.get("k", now + Duration::from_secs(86_400 * 365)).is_some());
    }
}
