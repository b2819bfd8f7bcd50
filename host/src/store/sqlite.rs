//! The SQLite backend: opening the file (its folder, mode, pragmas), checking
//! it and migrating its schema. The analytics' queries are in [`analytics`],
//! the sessions' and the saved cache's in [`state`].

mod analytics;
mod migrations;
mod state;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use super::{BUSY_TIMEOUT, StoreError};
use migrations::MIGRATIONS;

/// The schema version this binary writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// One connection to the database file.
pub struct SqliteStore {
    connection: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens `path`, creating the file (and its folder) when missing, and
    /// brings its schema up to [`SCHEMA_VERSION`]. What this reads (the
    /// header and the schema) is checked; the rest of the file is checked by
    /// [`SqliteStore::check`].
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(folder) = path.parent() {
            create_folder(folder)?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags).map_err(|error| classify(path, &error))?;
        let mut store = SqliteStore { connection, path: path.to_owned() };
        store.configure()?;
        store.migrate()?;
        restrict_mode(path);
        Ok(store)
    }

    fn configure(&self) -> Result<(), StoreError> {
        self.connection.busy_timeout(BUSY_TIMEOUT).map_err(|error| self.error(&error))?;
        let mode: String =
            self.connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(|error| self.error(&error))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database { path: self.path.clone(), message: format!("cannot use WAL mode (the journal stays {mode})") });
        }
        self.connection
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(|error| self.error(&error))
    }

    /// Applies the migrations the file lacks, each in a transaction that
    /// also sets its version (another host may be migrating the same file:
    /// the version is read again once the write lock is held).
    fn migrate(&mut self) -> Result<(), StoreError> {
        loop {
            let transaction =
                self.connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|error| classify(&self.path, &error))?;
            let version: u32 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(|error| classify(&self.path, &error))?;
            if version > SCHEMA_VERSION {
                return Err(StoreError::NewerSchema { path: self.path.clone(), found: version, supported: SCHEMA_VERSION });
            }
            let Some(migration) = MIGRATIONS.get(version as usize) else { return Ok(()) };
            transaction.execute_batch(migration).map_err(|error| classify(&self.path, &error))?;
            transaction.pragma_update(None, "user_version", version + 1).map_err(|error| classify(&self.path, &error))?;
            transaction.commit().map_err(|error| classify(&self.path, &error))?;
        }
    }

    fn error(&self, error: &rusqlite::Error) -> StoreError {
        classify(&self.path, error)
    }
}

impl SqliteStore {
    /// SQLite's quick check: every page and its structure, without comparing
    /// indexes to their tables (about 100 ms for 100,000 runs, so it is not
    /// part of [`SqliteStore::open`]: see `analytics`).
    pub fn check(&mut self) -> Result<(), StoreError> {
        let verdict: String = self.connection.query_row("PRAGMA quick_check(1)", [], |row| row.get(0)).map_err(|error| self.error(&error))?;
        if verdict == "ok" {
            return Ok(());
        }
        Err(StoreError::Corrupt { path: self.path.clone(), detail: verdict })
    }
}

/// A SQLite error as a [`StoreError`]: corruption and files that are not
/// databases are [`StoreError::Corrupt`].
fn classify(path: &Path, error: &rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt { path: path.to_owned(), detail: error.to_string() },
        _ => StoreError::Database { path: path.to_owned(), message: error.to_string() },
    }
}

fn create_folder(folder: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    if folder.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(folder).map_err(|source| StoreError::Folder { path: folder.to_owned(), source })
}

/// Makes the database readable by its owner only (it says which tools were
/// used when); a failure is left to the folder's own mode.
fn restrict_mode(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(error) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        tracing::debug!(%error, path = %path.display(), "cannot make the database private");
    }
}

#[cfg(test)]
mod tests;
