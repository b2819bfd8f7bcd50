//! A backend that keeps sessions and the saved cache in memory, for a host
//! without a database (no data folder, or one whose database cannot be
//! opened): they last as long as the host. The analytics have no memory
//! backend; such a host records no runs.

use std::collections::HashMap;

use super::StoreError;
use super::cache::{CacheRow, CacheStore};
use super::sessions::{SessionChange, SessionRow, SessionStore};

#[derive(Default)]
pub struct MemoryStore {
    sessions: HashMap<String, SessionRow>,
    cache: Vec<CacheRow>,
}

impl MemoryStore {
    /// The live session `id`, with the expired one dropped.
    fn live(&mut self, id: &str, fresh_since_ms: i64) -> Option<&SessionRow> {
        if self.sessions.get(id).is_some_and(|row| row.last_used_ms < fresh_since_ms) {
            self.sessions.remove(id);
        }
        self.sessions.get(id)
    }
}

impl SessionStore for MemoryStore {
    fn session(&mut self, id: &str, fresh_since_ms: i64) -> Result<Option<SessionRow>, StoreError> {
        Ok(self.live(id, fresh_since_ms).cloned())
    }

    fn change_session(
        &mut self,
        id: &str,
        fresh_since_ms: i64,
        change: &mut dyn FnMut(Option<SessionRow>) -> SessionChange,
    ) -> Result<(), StoreError> {
        let current = self.live(id, fresh_since_ms).cloned();
        if let SessionChange::Write(row) = change(current) {
            self.sessions.insert(row.id.clone(), row);
        }
        Ok(())
    }

    fn delete_session(&mut self, id: &str, fresh_since_ms: i64) -> Result<bool, StoreError> {
        Ok(self.sessions.remove(id).is_some_and(|row| row.last_used_ms >= fresh_since_ms))
    }

    fn count_sessions(&mut self, fresh_since_ms: i64) -> Result<u64, StoreError> {
        self.sessions.retain(|_, row| row.last_used_ms >= fresh_since_ms);
        Ok(self.sessions.len() as u64)
    }
}

impl CacheStore for MemoryStore {
    fn save_cache(&mut self, rows: &[CacheRow]) -> Result<(), StoreError> {
        self.cache = rows.to_vec();
        Ok(())
    }

    fn load_cache(&mut self, now_ms: i64) -> Result<Vec<CacheRow>, StoreError> {
        Ok(self.cache.iter().filter(|row| row.expires_at_ms > now_ms).cloned().collect())
    }
}
