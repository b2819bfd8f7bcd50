//! The queries of the state that outlives runs, on SQLite: the sessions and
//! the saved cache. A change of a session is an `IMMEDIATE` transaction: it
//! takes the write lock before it reads, so two hosts changing one session
//! never interleave.

use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use super::SqliteStore;
use crate::store::StoreError;
use crate::store::cache::{CacheRow, CacheStore};
use crate::store::sessions::{SessionChange, SessionRow, SessionStore};

const SELECT_SESSION: &str = "SELECT id, kind, data, created_at, last_used FROM sessions WHERE id = ?1 AND last_used >= ?2";

fn session_row(row: &Row) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow { id: row.get(0)?, kind: row.get(1)?, data: row.get(2)?, created_at_ms: row.get(3)?, last_used_ms: row.get(4)? })
}

impl SessionStore for SqliteStore {
    fn session(&mut self, id: &str, fresh_since_ms: i64) -> Result<Option<SessionRow>, StoreError> {
        let mut statement = self.connection.prepare_cached(SELECT_SESSION).map_err(|error| self.error(&error))?;
        statement.query_row(params![id, fresh_since_ms], session_row).optional().map_err(|error| self.error(&error))
    }

    fn change_session(
        &mut self,
        id: &str,
        fresh_since_ms: i64,
        change: &mut dyn FnMut(Option<SessionRow>) -> SessionChange,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let fail = |error: rusqlite::Error| super::classify(&path, &error);
        let transaction = self.connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(fail)?;
        let current = transaction.prepare_cached(SELECT_SESSION).and_then(|mut read| read.query_row(params![id, fresh_since_ms], session_row).optional()).map_err(fail)?;
        if let SessionChange::Write(row) = change(current) {
            transaction
                .prepare_cached("INSERT OR REPLACE INTO sessions (id, kind, data, created_at, last_used) VALUES (?1, ?2, ?3, ?4, ?5)")
                .and_then(|mut write| write.execute(params![row.id, row.kind, row.data, row.created_at_ms, row.last_used_ms]))
                .map_err(fail)?;
        }
        transaction.commit().map_err(fail)
    }

    fn delete_session(&mut self, id: &str, fresh_since_ms: i64) -> Result<bool, StoreError> {
        let path = self.path.clone();
        let fail = |error: rusqlite::Error| super::classify(&path, &error);
        let transaction = self.connection.transaction().map_err(fail)?;
        let live = transaction.execute("DELETE FROM sessions WHERE id = ?1 AND last_used >= ?2", params![id, fresh_since_ms]).map_err(fail)?;
        transaction.execute("DELETE FROM sessions WHERE id = ?1", params![id]).map_err(fail)?;
        transaction.commit().map_err(fail)?;
        Ok(live > 0)
    }

    fn count_sessions(&mut self, fresh_since_ms: i64) -> Result<u64, StoreError> {
        let path = self.path.clone();
        let fail = |error: rusqlite::Error| super::classify(&path, &error);
        let transaction = self.connection.transaction().map_err(fail)?;
        transaction.execute("DELETE FROM sessions WHERE last_used < ?1", params![fresh_since_ms]).map_err(fail)?;
        let count: u64 = transaction.query_row("SELECT COUNT(*) FROM sessions", [], |row| row.get(0)).map_err(fail)?;
        transaction.commit().map_err(fail)?;
        Ok(count)
    }
}

impl CacheStore for SqliteStore {
    fn save_cache(&mut self, rows: &[CacheRow]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let fail = |error: rusqlite::Error| super::classify(&path, &error);
        let transaction = self.connection.transaction().map_err(fail)?;
        transaction.execute("DELETE FROM cache_entries", []).map_err(fail)?;
        {
            let mut insert =
                transaction.prepare_cached("INSERT OR REPLACE INTO cache_entries (key, value, expires_at) VALUES (?1, ?2, ?3)").map_err(fail)?;
            for row in rows {
                insert.execute(params![row.key, row.value, row.expires_at_ms]).map_err(fail)?;
            }
        }
        transaction.commit().map_err(fail)
    }

    fn load_cache(&mut self, now_ms: i64) -> Result<Vec<CacheRow>, StoreError> {
        let query = "SELECT key, value, expires_at FROM cache_entries WHERE expires_at > ?1 ORDER BY position";
        let mut statement = self.connection.prepare_cached(query).map_err(|error| self.error(&error))?;
        let rows = statement
            .query_map(params![now_ms], |row| Ok(CacheRow { key: row.get(0)?, value: row.get(1)?, expires_at_ms: row.get(2)? }))
            .and_then(Iterator::collect)
            .map_err(|error| self.error(&error));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let scratch = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&scratch.path().join(crate::store::DATABASE_FILE)).unwrap();
        (scratch, store)
    }

    fn row(id: &str, data: &str, last_used_ms: i64) -> SessionRow {
        SessionRow { id: id.into(), kind: "custom".into(), data: data.into(), created_at_ms: 1, last_used_ms }
    }

    #[test]
    fn a_session_is_written_read_and_expires() {
        let (_scratch, mut store) = store();
        store.change_session("s", 0, &mut |current| {
            assert_eq!(current, None);
            SessionChange::Write(row("s", "{}", 100))
        })
        .unwrap();
        assert_eq!(store.session("s", 100).unwrap(), Some(row("s", "{}", 100)));
        assert_eq!(store.session("s", 101).unwrap(), None, "used before the cutoff: expired");
        store.change_session("s", 101, &mut |current| {
            assert_eq!(current, None, "an expired session is absent to a change too");
            SessionChange::Keep
        })
        .unwrap();
        assert_eq!(store.count_sessions(101).unwrap(), 0);
        assert_eq!(store.session("s", 0).unwrap(), None, "counting deleted it");
    }

    #[test]
    fn deleting_says_whether_a_live_session_was_there() {
        let (_scratch, mut store) = store();
        store.change_session("s", 0, &mut |_| SessionChange::Write(row("s", "{}", 100))).unwrap();
        assert!(!store.delete_session("s", 200).unwrap(), "expired");
        assert_eq!(store.session("s", 0).unwrap(), None, "deleted all the same");
        store.change_session("s", 0, &mut |_| SessionChange::Write(row("s", "{}", 100))).unwrap();
        assert!(store.delete_session("s", 100).unwrap());
    }

    #[test]
    fn a_saved_cache_replaces_the_last_and_loads_in_order_without_the_expired() {
        let (_scratch, mut store) = store();
        let entry = |key: &str, expires_at_ms| CacheRow { key: key.into(), value: "1".into(), expires_at_ms };
        store.save_cache(&[entry("old", 500)]).unwrap();
        store.save_cache(&[entry("b", 500), entry("a", 100), entry("c", 900)]).unwrap();
        assert_eq!(store.load_cache(100).unwrap(), [entry("b", 500), entry("c", 900)]);
    }
}
