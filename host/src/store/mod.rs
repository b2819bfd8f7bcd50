//! The host's database: what persists between runs and between hosts: the
//! analytics (a record of every run), the audit log (every downstream call),
//! the sessions and the saved cache.
//!
//! # The seam
//!
//! Callers see traits, one per concern ([`AnalyticsStore`], [`SessionStore`],
//! [`CacheStore`]), gathered by [`Store`] (and by [`StateStore`] for the
//! sessions and the cache alone). The database backend is [`SqliteStore`]:
//! one embedded SQLite file in the data folder
//! (see [`open`]). A shared server backend for hosts on several machines
//! (PostgreSQL) is another type implementing the same traits with its own
//! SQL and migrations, chosen in [`open`] by configuration; nothing above
//! this module changes. A backend value is one connection, used from one
//! thread at a time (the analytics writer thread, or a command such as
//! `stats`); it is `Send` so it can be moved to that thread.
//!
//! # The SQLite file
//!
//! `runtime.db` in the data folder (created `0700`, the file `0600`), in WAL
//! mode with `synchronous = NORMAL`: every write is one transaction, so a host
//! killed at any point (SIGKILL included) leaves the last committed state, and
//! readers in other processes (`stats` while hosts run, several hosts sharing
//! the folder) never block the writer. Lock waits are bounded
//! ([`BUSY_TIMEOUT`]).
//!
//! The schema is versioned in the code (`PRAGMA user_version`, see
//! `sqlite::migrations`): a new concern adds a migration, never edits an old
//! one. Opening migrates an older file forward. A file that is not a SQLite
//! database, whose header or schema is damaged, or whose schema is newer than
//! this binary knows is an error at open ([`StoreError::Corrupt`],
//! [`StoreError::NewerSchema`]); damage deeper in the file is found by
//! [`SqliteStore::check`] (SQLite's quick check, which reads every page:
//! about 100 ms for 100,000 runs, so it is not on the start-up path). A
//! failed open never replaces or changes the file.
//!
//! A host without a database keeps its sessions in a [`MemoryStore`] instead.
//!
//! It must not know the runtime, the sandbox or MCP: its rows are plain data.

mod analytics;
mod cache;
mod memory;
mod sessions;
mod sqlite;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use analytics::{AnalyticsStore, AuditEntry, CallRow, Retention, RunPoint, RunRow, ServerUse, SkillUse, Summary, Tokens, ToolUse};
pub use cache::{CacheRow, CacheStore};
pub use memory::MemoryStore;
pub use sessions::{SessionChange, SessionRow, SessionStore};
pub use sqlite::{SCHEMA_VERSION, SqliteStore};

/// The database's file name in the data folder.
pub const DATABASE_FILE: &str = "runtime.db";
/// How long a write waits for another process holding the database's lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Every concern a backend stores.
pub trait Store: AnalyticsStore + StateStore {}

impl<T: AnalyticsStore + StateStore> Store for T {}

/// The state that outlives runs: sessions and the saved cache.
pub trait StateStore: SessionStore + CacheStore + Send {}

impl<T: SessionStore + CacheStore + Send> StateStore for T {}

/// Why the database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{}: the database is corrupt ({detail}). It was left as it is: move it aside to start a new one, or set \
         `codeRuntime.analytics.enabled` to false to run without it",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "{}: the database has schema version {found}, newer than the {supported} this mcp-code-runtime knows (a newer \
         version wrote it). It was left as it is: run that newer version, move the file aside, or set \
         `codeRuntime.analytics.enabled` to false",
        path.display()
    )]
    NewerSchema { path: PathBuf, found: u32, supported: u32 },
    #[error("{}: cannot create the data folder: {source}", path.display())]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("{}: {message}", path.display())]
    Database { path: PathBuf, message: String },
}

/// Opens (creating and migrating when needed) the database in `data_dir`.
pub fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
    SqliteStore::open(&data_dir.join(DATABASE_FILE))
}

/// Opens the database in `data_dir` if it exists, without creating it (for
/// commands that only read).
pub fn open_existing(data_dir: &Path) -> Result<Option<SqliteStore>, StoreError> {
    let path = data_dir.join(DATABASE_FILE);
    if !path.exists() {
        return Ok(None);
    }
    SqliteStore::open(&path).map(Some)
}
