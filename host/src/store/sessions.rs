//! What the sessions keep, as rows, and what is asked of them: the
//! backend-neutral half of the session store. The rules (ids, sizes, idle
//! expiry, how a run's changes merge) are `crate::state::sessions`'; a
//! backend only stores rows and changes one inside a transaction.
//!
//! Times are Unix milliseconds. A session last used before `fresh_since_ms`
//! has expired: backends treat it as absent and may delete it.

use super::StoreError;

/// One session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    /// What the session is for (`custom`, `chrome`...), as its creator said.
    pub kind: String,
    /// Its data: the JSON text of an object.
    pub data: String,
    pub created_at_ms: i64,
    pub last_used_ms: i64,
}

/// What [`SessionStore::change_session`] does with the row it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionChange {
    /// Writes nothing.
    Keep,
    /// Writes this row (creating or replacing the session).
    Write(SessionRow),
}

/// The sessions' storage.
pub trait SessionStore {
    /// The session `id` unless it is absent or expired.
    fn session(&mut self, id: &str, fresh_since_ms: i64) -> Result<Option<SessionRow>, StoreError>;

    /// Reads session `id` (`None` when absent or expired), hands it to
    /// `change` and writes what it returns, all in one transaction that
    /// holds the write lock from the read on: no other writer comes between.
    fn change_session(
        &mut self,
        id: &str,
        fresh_since_ms: i64,
        change: &mut dyn FnMut(Option<SessionRow>) -> SessionChange,
    ) -> Result<(), StoreError>;

    /// Deletes session `id`; whether a live one was there.
    fn delete_session(&mut self, id: &str, fresh_since_ms: i64) -> Result<bool, StoreError>;

    /// Deletes the expired sessions and counts the rest.
    fn count_sessions(&mut self, fresh_since_ms: i64) -> Result<u64, StoreError>;
}
