//! The edge between the state and the sandbox: a run's cache and session
//! ([`crate::state`]) as the sandbox's [`StateAccess`], with every refusal
//! mapped to the WIT [`StateError`] the program sees (and the JavaScript
//! error it throws: `invalid` a TypeError, `out-of-range` a RangeError).
//!
//! A run started with a `sessionId` has that session; a skill it calls has
//! the same cache and no session (it borrows nothing of its caller's).

use std::sync::Arc;

use crate::sandbox::{StateAccess, StateError, StateErrorKind, StateFuture};
use crate::state::{CacheError, RunSession, SessionError, State};

/// The state one run may use.
pub struct RunState {
    state: Arc<State>,
    session: Option<Arc<RunSession>>,
}

impl RunState {
    pub fn new(state: Arc<State>, session: Option<Arc<RunSession>>) -> Self {
        RunState { state, session }
    }

    /// The state of a skill the run calls: the cache, and no session.
    pub fn for_skill(&self) -> RunState {
        RunState::new(Arc::clone(&self.state), None)
    }

    fn session(&self) -> Result<&RunSession, StateError> {
        self.session.as_deref().ok_or_else(|| StateError {
            kind: StateErrorKind::NoSession,
            message: "this run has no session: pass `sessionId` to execute_code to have one (or use sessions.create and sessions.get)".into(),
        })
    }

    /// Runs `work` on the sessions, off the run's own state.
    fn sessions<T: Send + 'static, F>(&self, work: impl FnOnce(Arc<State>) -> F) -> StateFuture<T>
    where
        F: Future<Output = Result<T, SessionError>> + Send + 'static,
    {
        let work = work(Arc::clone(&self.state));
        Box::pin(async move { work.await.map_err(|error| session_error(&error)) })
    }
}

impl StateAccess for RunState {
    fn cache_get(&self, key: &str) -> Result<Option<String>, StateError> {
        let found = self.state.cache().get(key).map_err(|error| cache_error(&error))?;
        Ok(found.map(|value| value.to_string()))
    }

    fn cache_set(&self, key: &str, value: &str, ttl_ms: Option<f64>) -> Result<(), StateError> {
        self.state.cache().set(key, value, ttl_ms).map_err(|error| cache_error(&error))
    }

    fn cache_invalidate(&self, pattern: Option<&str>) -> Result<u32, StateError> {
        let dropped = self.state.cache().invalidate(pattern).map_err(|error| cache_error(&error))?;
        Ok(u32::try_from(dropped).unwrap_or(u32::MAX))
    }

    fn cache_stats(&self) -> String {
        serde_json::to_string(&self.state.cache().stats()).unwrap_or_else(|_| "{}".into())
    }

    fn session_get(&self) -> Result<Option<String>, StateError> {
        Ok(self.session()?.get())
    }

    fn session_set(&self, data: &str) -> Result<(), StateError> {
        self.session()?.set(data).map_err(|error| session_error(&error))
    }

    fn session_update(&self, partial: &str) -> Result<(), StateError> {
        self.session()?.update(partial).map_err(|error| session_error(&error))
    }

    fn sessions_create(&self, kind: &str, data: &str) -> StateFuture<String> {
        let (kind, data) = (kind.to_owned(), data.to_owned());
        self.sessions(|state| async move { state.sessions().create(&kind, &data).await })
    }

    fn sessions_get(&self, id: &str) -> StateFuture<Option<String>> {
        let id = id.to_owned();
        self.sessions(|state| async move { state.sessions().get(&id).await })
    }

    fn sessions_destroy(&self, id: &str) -> StateFuture<bool> {
        let own = self.session.clone().filter(|session| session.id() == id);
        let id = id.to_owned();
        self.sessions(|state| async move {
            let destroyed = state.sessions().destroy(&id).await?;
            if let Some(own) = own {
                own.reset();
            }
            Ok(destroyed)
        })
    }
}

fn cache_error(error: &CacheError) -> StateError {
    let kind = match error {
        CacheError::EmptyKey => StateErrorKind::Invalid,
        CacheError::TooLong { .. } | CacheError::BadTtl { .. } | CacheError::TooLarge { .. } => StateErrorKind::OutOfRange,
    };
    StateError { kind, message: error.to_string() }
}

fn session_error(error: &SessionError) -> StateError {
    let kind = match error {
        SessionError::BadName { .. } | SessionError::NotAnObject { .. } => StateErrorKind::Invalid,
        SessionError::TooLarge { .. } | SessionError::TooMany { .. } => StateErrorKind::OutOfRange,
        SessionError::Unavailable(_) => StateErrorKind::Unavailable,
    };
    StateError { kind, message: error.to_string() }
}
