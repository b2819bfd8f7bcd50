//! The programs' cache as saved between hosts (`codeRuntime.cache.persist`):
//! the backend-neutral half. The cache itself lives in memory
//! (`crate::state::cache`); a host saves its entries when it stops and loads
//! them when it starts.

use super::StoreError;

/// One saved entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRow {
    pub key: String,
    /// The JSON text of the value.
    pub value: String,
    /// When it expires, in Unix milliseconds.
    pub expires_at_ms: i64,
}

/// The saved cache.
pub trait CacheStore {
    /// Replaces the saved entries with `rows` (least recently used first),
    /// in one transaction.
    fn save_cache(&mut self, rows: &[CacheRow]) -> Result<(), StoreError>;

    /// The saved entries that expire after `now_ms`, in the order saved.
    fn load_cache(&mut self, now_ms: i64) -> Result<Vec<CacheRow>, StoreError>;
}
