//! The state's backend: the host's database, opened the first time a
//! session or the saved cache needs it (a host whose programs use neither
//! never opens it), and used on blocking threads, one query at a time.
//!
//! Without a data folder, or when the database cannot be opened (corrupt,
//! newer than this binary), the state is kept in memory for the life of the
//! host ([`MemoryStore`]), with one warning in the log.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::store::{self, MemoryStore, StateStore, StoreError};

/// The lazily opened backend.
pub struct Db {
    data_dir: Option<PathBuf>,
    backend: OnceLock<Mutex<Box<dyn StateStore>>>,
}

/// The database failed (the query, or the blocking thread it ran on).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the host's database failed: {0}")]
pub struct DbError(pub String);

impl From<StoreError> for DbError {
    fn from(error: StoreError) -> Self {
        DbError(error.to_string())
    }
}

impl Db {
    pub fn new(data_dir: Option<PathBuf>) -> Arc<Db> {
        Arc::new(Db { data_dir, backend: OnceLock::new() })
    }

    /// Runs `work` on the backend on a blocking thread.
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&mut dyn StateStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, DbError> {
        let db = Arc::clone(self);
        let ran = tokio::task::spawn_blocking(move || {
            let mut backend = db.backend().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            work(backend.as_mut())
        });
        ran.await.map_err(|error| DbError(format!("the query stopped: {error}")))?.map_err(DbError::from)
    }

    fn backend(&self) -> &Mutex<Box<dyn StateStore>> {
        self.backend.get_or_init(|| Mutex::new(self.open()))
    }

    fn open(&self) -> Box<dyn StateStore> {
        let Some(data_dir) = &self.data_dir else {
            tracing::warn!("there is no data folder (no HOME): sessions are kept in memory until the host stops; pass --data-dir to keep them");
            return Box::new(MemoryStore::default());
        };
        match store::open(data_dir) {
            Ok(database) => Box::new(database),
            Err(error) => {
                tracing::warn!("sessions are kept in memory until the host stops, because the database cannot be used: {error}");
                Box::new(MemoryStore::default())
            }
        }
    }
}
