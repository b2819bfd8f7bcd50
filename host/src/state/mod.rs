//! State that outlives a run: the programs' cache ([`ProgramCache`], in
//! memory, shared by every run of the host and, with `cache.persist`, saved
//! when the host stops and loaded when it starts) and the sessions
//! ([`Sessions`], in the host's database).
//!
//! - [`cache`]: the bounded LRU cache with times to live (also the bridge's
//!   cache of tool calls);
//! - [`program_cache`]: the programs' `cache` and its rules;
//! - [`sessions`]: the sessions and how concurrent runs merge;
//! - `db`: the database, opened when first needed.
//!
//! It knows nothing of the sandbox or MCP: the runtime hands programs what
//! is here through the sandbox's `StateAccess`.

pub mod cache;
mod db;
pub mod program_cache;
pub mod sessions;

use std::sync::Arc;
use std::time::SystemTime;

use crate::config::RuntimeSettings;
use crate::store::CacheRow;
use db::Db;
pub use db::DbError;
pub use program_cache::{CacheError, ProgramCache};
pub use sessions::{RunSession, SessionError, Sessions};

/// The state of one host.
pub struct State {
    cache: ProgramCache,
    sessions: Sessions,
    db: Arc<Db>,
    persist: bool,
}

impl State {
    pub fn new(settings: &RuntimeSettings) -> Arc<State> {
        let db = Db::new(settings.data_dir.clone());
        Arc::new(State {
            cache: ProgramCache::new(&settings.cache),
            sessions: Sessions::new(Arc::clone(&db), settings.sessions),
            db,
            persist: settings.cache.persist,
        })
    }

    pub fn cache(&self) -> &ProgramCache {
        &self.cache
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Loads the saved cache (with `cache.persist`): what runs set since the
    /// host started wins. Returns how many entries it took.
    pub async fn load_cache(&self) -> Result<usize, DbError> {
        if !self.persist {
            return Ok(0);
        }
        let now = unix_ms();
        let rows = self.db.run(move |store| store.load_cache(now)).await?;
        Ok(self.cache.restore(rows, now))
    }

    /// Saves the cache (with `cache.persist`), replacing what was saved.
    pub async fn save_cache(&self) -> Result<(), DbError> {
        if !self.persist {
            return Ok(());
        }
        let rows: Vec<CacheRow> = self.cache.snapshot(unix_ms());
        self.db.run(move |store| store.save_cache(&rows)).await
    }
}

/// Now, in Unix milliseconds.
pub fn unix_ms() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}
