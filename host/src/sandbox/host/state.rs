//! `state`: the program's cache and sessions. The sandbox only forwards each
//! call to the run's [`StateAccess`] (which its [`ToolAccess`] gives), where
//! the rules, the bounds and the storage are; it keeps nothing itself.
//!
//! [`ToolAccess`]: super::tools::ToolAccess

use std::future::Future;
use std::pin::Pin;

use crate::sandbox::bindings::mcp::code_runtime::state::Host;
use crate::sandbox::bindings::{StateError, StateErrorKind};
use crate::sandbox::state::HostState;

/// A state call that queries the database, to await.
pub type StateFuture<T> = Pin<Box<dyn Future<Output = Result<T, StateError>> + Send>>;

/// The cache and sessions one run may use. Values are JSON text; each
/// method checks what the program handed in and refuses with a
/// [`StateError`] whose message says what to change.
pub trait StateAccess: Send + Sync {
    fn cache_get(&self, key: &str) -> Result<Option<String>, StateError>;
    fn cache_set(&self, key: &str, value: &str, ttl_ms: Option<f64>) -> Result<(), StateError>;
    fn cache_invalidate(&self, pattern: Option<&str>) -> Result<u32, StateError>;
    /// The cache's size, bounds and counters, as a JSON object.
    fn cache_stats(&self) -> String;
    fn session_get(&self) -> Result<Option<String>, StateError>;
    fn session_set(&self, data: &str) -> Result<(), StateError>;
    fn session_update(&self, partial: &str) -> Result<(), StateError>;
    fn sessions_create(&self, kind: &str, data: &str) -> StateFuture<String>;
    fn sessions_get(&self, id: &str) -> StateFuture<Option<String>>;
    fn sessions_destroy(&self, id: &str) -> StateFuture<bool>;
}

/// What a run without state sees (the snapshot, and compiling skills):
/// every call is refused.
pub struct NoState;

impl NoState {
    fn refusal() -> StateError {
        StateError { kind: StateErrorKind::Unavailable, message: "there is no cache or session while the runtime is initialized".into() }
    }

    fn refused<T: Send + 'static>() -> StateFuture<T> {
        Box::pin(async { Err(NoState::refusal()) })
    }
}

impl StateAccess for NoState {
    fn cache_get(&self, _: &str) -> Result<Option<String>, StateError> {
        Err(Self::refusal())
    }

    fn cache_set(&self, _: &str, _: &str, _: Option<f64>) -> Result<(), StateError> {
        Err(Self::refusal())
    }

    fn cache_invalidate(&self, _: Option<&str>) -> Result<u32, StateError> {
        Err(Self::refusal())
    }

    fn cache_stats(&self) -> String {
        "{}".into()
    }

    fn session_get(&self) -> Result<Option<String>, StateError> {
        Err(Self::refusal())
    }

    fn session_set(&self, _: &str) -> Result<(), StateError> {
        Err(Self::refusal())
    }

    fn session_update(&self, _: &str) -> Result<(), StateError> {
        Err(Self::refusal())
    }

    fn sessions_create(&self, _: &str, _: &str) -> StateFuture<String> {
        Self::refused()
    }

    fn sessions_get(&self, _: &str) -> StateFuture<Option<String>> {
        Self::refused()
    }

    fn sessions_destroy(&self, _: &str) -> StateFuture<bool> {
        Self::refused()
    }
}

impl Host for HostState {
    fn cache_get(&mut self, key: String) -> Result<Option<String>, StateError> {
        self.tools.state().cache_get(&key)
    }

    fn cache_set(&mut self, key: String, value_json: String, ttl_ms: Option<f64>) -> Result<(), StateError> {
        self.tools.state().cache_set(&key, &value_json, ttl_ms)
    }

    fn cache_invalidate(&mut self, pattern: Option<String>) -> Result<u32, StateError> {
        self.tools.state().cache_invalidate(pattern.as_deref())
    }

    fn cache_stats(&mut self) -> String {
        self.tools.state().cache_stats()
    }

    fn session_get(&mut self) -> Result<Option<String>, StateError> {
        self.tools.state().session_get()
    }

    fn session_set(&mut self, data_json: String) -> Result<(), StateError> {
        self.tools.state().session_set(&data_json)
    }

    fn session_update(&mut self, partial_json: String) -> Result<(), StateError> {
        self.tools.state().session_update(&partial_json)
    }

    async fn sessions_create(&mut self, kind: String, data_json: String) -> Result<String, StateError> {
        let created = self.tools.state().sessions_create(&kind, &data_json);
        created.await
    }

    async fn sessions_get(&mut self, id: String) -> Result<Option<String>, StateError> {
        let found = self.tools.state().sessions_get(&id);
        found.await
    }

    async fn sessions_destroy(&mut self, id: String) -> Result<bool, StateError> {
        let destroyed = self.tools.state().sessions_destroy(&id);
        destroyed.await
    }
}
