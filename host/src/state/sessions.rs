//! Sessions: named JSON objects that outlive runs, kept in the host's
//! database, so a program can pick up where an earlier one stopped (the
//! plan's `SessionManager`).
//!
//! # A run's session
//!
//! `execute_code` with a `sessionId` runs with that session: [`Sessions::begin`]
//! reads it when the run starts, the run's `session.get/set/update` work on
//! its own copy in memory ([`RunSession`]), and [`Sessions::finish`] writes
//! the run's changes when it ends, in one transaction. A session that does
//! not exist (or expired) starts empty: `session.get()` is `null` until the
//! run sets it, and it is created when the run ends.
//!
//! # Concurrent runs: last writer wins, per top-level key
//!
//! A session's data is an object. What a run writes at its end is only what
//! it changed, key by key: the top-level keys it set to a new value, and
//! those it removed (present when it started, absent from its final data).
//! They are applied to the session as stored at that moment, so two runs on
//! one session that change different keys both keep their changes, and for
//! a key both change the run that ends last wins. A run never sees another
//! run's changes made after it started. A run that fails (an error, a
//! timeout, a cancellation) writes nothing; only its use is noted (the
//! session's idle time starts again).
//!
//! # Bounds
//!
//! Session ids are 1 to 128 characters of `A-Z a-z 0-9 _ . : -`; a session's
//! data is at most `sessions.maxBytes` of JSON (refused when set, and when
//! merged at the end); at most `sessions.maxSessions` sessions exist at once;
//! a session unused for `sessions.idleTimeoutMs` is deleted.
//!
//! `sessions.create/get/destroy` reach any session by id and act at once,
//! each in its own transaction. It knows nothing of the sandbox or MCP.

use std::io::Read;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::db::{Db, DbError};
use super::unix_ms as now_ms;
use crate::config::SessionSettings;
use crate::store::{SessionChange, SessionRow};

/// The type of a session a run creates by naming it in `sessionId`.
pub const DEFAULT_KIND: &str = "custom";
/// The longest session id.
pub const MAX_ID_CHARS: usize = 128;
/// The longest session type.
pub const MAX_KIND_CHARS: usize = 64;

type Object = Map<String, Value>;

/// Why a session operation was refused or failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SessionError {
    #[error("a session {what} must be 1 to {max} characters of A-Z a-z 0-9 _ . : - (got {got})")]
    BadName { what: &'static str, max: usize, got: String },
    #[error("{what} must be an object (a JSON object), not {got}")]
    NotAnObject { what: &'static str, got: &'static str },
    #[error("{what} is {bytes} bytes of JSON, more than the {max} a session may hold (codeRuntime.sessions.maxBytes)")]
    TooLarge { what: &'static str, bytes: usize, max: usize },
    #[error("there are {max} sessions already (codeRuntime.sessions.maxSessions): destroy some, or wait for idle ones to expire")]
    TooMany { max: u64 },
    #[error(transparent)]
    Unavailable(#[from] DbError),
}

/// The sessions of a host.
pub struct Sessions {
    db: Arc<Db>,
    settings: SessionSettings,
}

impl Sessions {
    pub fn new(db: Arc<Db>, settings: SessionSettings) -> Self {
        Sessions { db, settings }
    }

    /// Starts a run on session `id`: reads what it holds now.
    pub async fn begin(&self, id: &str) -> Result<RunSession, SessionError> {
        check_name("id", id, MAX_ID_CHARS)?;
        let (key, fresh_since) = (id.to_owned(), self.fresh_since());
        let row = self.db.run(move |store| store.session(&key, fresh_since)).await?;
        let snapshot = row.map(|row| parse_object("the stored session", &row.data)).transpose()?;
        Ok(RunSession::new(id, snapshot, self.settings.max_bytes))
    }

    /// Ends a run on its session: writes its changes when it `succeeded`
    /// (see the module documentation), notes its use in any case.
    pub async fn finish(&self, session: &RunSession, succeeded: bool) -> Result<(), SessionError> {
        let changes = if succeeded { session.changes() } else { Changes::default() };
        if changes.create && self.count().await? >= self.settings.max_sessions {
            return Err(SessionError::TooMany { max: self.settings.max_sessions });
        }
        let (id, fresh_since, now, max) = (session.id.clone(), self.fresh_since(), now_ms(), self.settings.max_bytes);
        let merged = self
            .db
            .run(move |store| {
                let mut merged = Ok(());
                store.change_session(&id, fresh_since, &mut |current| match changes.apply(&id, current, now, max) {
                    Ok(change) => change,
                    Err(error) => {
                        merged = Err(error);
                        SessionChange::Keep
                    }
                })?;
                Ok(merged)
            })
            .await?;
        merged
    }

    /// Creates a session of type `kind` holding `data` (an object's JSON);
    /// returns its id, a random UUID.
    pub async fn create(&self, kind: &str, data: &str) -> Result<String, SessionError> {
        check_name("type", kind, MAX_KIND_CHARS)?;
        check_size("the data", data, self.settings.max_bytes)?;
        parse_object("the data", data)?;
        if self.count().await? >= self.settings.max_sessions {
            return Err(SessionError::TooMany { max: self.settings.max_sessions });
        }
        let id = random_uuid()?;
        let now = now_ms();
        let row = SessionRow { id: id.clone(), kind: kind.to_owned(), data: data.to_owned(), created_at_ms: now, last_used_ms: now };
        let fresh_since = self.fresh_since();
        self.db.run(move |store| store.change_session(&row.id.clone(), fresh_since, &mut |_| SessionChange::Write(row.clone()))).await?;
        Ok(id)
    }

    /// Session `id` as `{id, type, data, createdAt, lastAccessed}` (JSON),
    /// noting its use; `None` when there is none (or it expired).
    pub async fn get(&self, id: &str) -> Result<Option<String>, SessionError> {
        check_name("id", id, MAX_ID_CHARS)?;
        let (key, fresh_since, now) = (id.to_owned(), self.fresh_since(), now_ms());
        let found = self
            .db
            .run(move |store| {
                let mut found = None;
                store.change_session(&key, fresh_since, &mut |current| {
                    let Some(row) = current else { return SessionChange::Keep };
                    let touched = SessionRow { last_used_ms: now, ..row };
                    found = Some(touched.clone());
                    SessionChange::Write(touched)
                })?;
                Ok(found)
            })
            .await?;
        Ok(found.map(|row| describe(&row)))
    }

    /// Deletes session `id`; whether there was one.
    pub async fn destroy(&self, id: &str) -> Result<bool, SessionError> {
        check_name("id", id, MAX_ID_CHARS)?;
        let (key, fresh_since) = (id.to_owned(), self.fresh_since());
        Ok(self.db.run(move |store| store.delete_session(&key, fresh_since)).await?)
    }

    /// The live sessions (deleting the expired ones).
    async fn count(&self) -> Result<u64, SessionError> {
        let fresh_since = self.fresh_since();
        Ok(self.db.run(move |store| store.count_sessions(fresh_since)).await?)
    }

    /// Sessions last used before this have expired.
    fn fresh_since(&self) -> i64 {
        now_ms().saturating_sub(i64::try_from(self.settings.idle_timeout.as_millis()).unwrap_or(i64::MAX))
    }
}

/// The session of one run: what it read at its start, and its copy.
pub struct RunSession {
    id: String,
    max_bytes: usize,
    held: Mutex<Held>,
}

/// What a run holds of its session.
#[derive(Default)]
struct Held {
    /// The data when the run started; `None` when there was no session.
    snapshot: Option<Object>,
    /// The run's copy, and its JSON text; `None` while it holds nothing.
    data: Option<Object>,
    text: Option<String>,
}

impl RunSession {
    fn new(id: &str, snapshot: Option<Object>, max_bytes: usize) -> Self {
        let text = snapshot.as_ref().map(|data| Value::Object(data.clone()).to_string());
        let held = Held { data: snapshot.clone(), snapshot, text };
        RunSession { id: id.to_owned(), max_bytes, held: Mutex::new(held) }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The data's JSON text; `None` while the session holds nothing.
    pub fn get(&self) -> Option<String> {
        self.lock().text.clone()
    }

    /// Replaces the data with `data`, an object's JSON text.
    pub fn set(&self, data: &str) -> Result<(), SessionError> {
        check_size("the data", data, self.max_bytes)?;
        let object = parse_object("the data", data)?;
        let mut held = self.lock();
        held.data = Some(object);
        held.text = Some(data.to_owned());
        Ok(())
    }

    /// Sets the top-level keys of `partial`, an object's JSON text.
    pub fn update(&self, partial: &str) -> Result<(), SessionError> {
        check_size("the update", partial, self.max_bytes)?;
        let partial = parse_object("the update", partial)?;
        let mut held = self.lock();
        let mut data = held.data.clone().unwrap_or_default();
        data.extend(partial);
        let data = Value::Object(data);
        let text = data.to_string();
        check_size("the updated data", &text, self.max_bytes)?;
        let Value::Object(data) = data else { unreachable!("built as an object") };
        held.data = Some(data);
        held.text = Some(text);
        Ok(())
    }

    /// Forgets everything (its session was destroyed): the run goes on as
    /// if it had started without one.
    pub fn reset(&self) {
        *self.lock() = Held::default();
    }

    /// What the run changed, key by key.
    fn changes(&self) -> Changes {
        let held = self.lock();
        let Some(data) = &held.data else { return Changes::default() };
        let empty = Object::new();
        let before = held.snapshot.as_ref().unwrap_or(&empty);
        let set = data.iter().filter(|(key, value)| before.get(*key) != Some(*value)).map(|(key, value)| (key.clone(), value.clone())).collect();
        let removed = before.keys().filter(|key| !data.contains_key(*key)).cloned().collect();
        Changes { create: held.snapshot.is_none(), set, removed }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A run's changes to its session.
#[derive(Debug, Default)]
struct Changes {
    /// The session did not exist when the run started, and the run set it:
    /// it exists when the run ends, even empty.
    create: bool,
    set: Vec<(String, Value)>,
    removed: Vec<String>,
}

impl Changes {
    /// The row to write over `current` (the session as stored now).
    fn apply(&self, id: &str, current: Option<SessionRow>, now: i64, max_bytes: usize) -> Result<SessionChange, SessionError> {
        let Some(row) = current.or_else(|| self.create.then(|| new_row(id, now))) else {
            return Ok(SessionChange::Keep);
        };
        if self.set.is_empty() && self.removed.is_empty() {
            return Ok(SessionChange::Write(SessionRow { last_used_ms: now, ..row }));
        }
        let mut data = parse_object("the stored session", &row.data)?;
        for key in &self.removed {
            data.shift_remove(key);
        }
        data.extend(self.set.iter().cloned());
        let text = Value::Object(data).to_string();
        check_size("the merged session", &text, max_bytes)?;
        Ok(SessionChange::Write(SessionRow { data: text, last_used_ms: now, ..row }))
    }
}

fn new_row(id: &str, now: i64) -> SessionRow {
    SessionRow { id: id.to_owned(), kind: DEFAULT_KIND.to_owned(), data: "{}".to_owned(), created_at_ms: now, last_used_ms: now }
}

/// `{id, type, data, createdAt, lastAccessed}`, as programs see a session.
fn describe(row: &SessionRow) -> String {
    format!(
        r#"{{"id":{},"type":{},"data":{},"createdAt":{},"lastAccessed":{}}}"#,
        Value::from(row.id.as_str()),
        Value::from(row.kind.as_str()),
        row.data,
        row.created_at_ms,
        row.last_used_ms
    )
}

fn check_name(what: &'static str, name: &str, max: usize) -> Result<(), SessionError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-');
    if !name.is_empty() && name.len() <= max && name.chars().all(allowed) {
        return Ok(());
    }
    let shown: String = name.chars().take(max + 1).collect();
    Err(SessionError::BadName { what, max, got: Value::from(shown).to_string() })
}

fn check_size(what: &'static str, json: &str, max: usize) -> Result<(), SessionError> {
    if json.len() > max {
        return Err(SessionError::TooLarge { what, bytes: json.len(), max });
    }
    Ok(())
}

fn parse_object(what: &'static str, json: &str) -> Result<Object, SessionError> {
    match serde_json::from_str(json) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(Value::Array(_)) => Err(SessionError::NotAnObject { what, got: "an array" }),
        Ok(Value::Null) => Err(SessionError::NotAnObject { what, got: "null" }),
        Ok(_) => Err(SessionError::NotAnObject { what, got: "a primitive value" }),
        Err(_) => Err(SessionError::NotAnObject { what, got: "unreadable JSON" }),
    }
}

/// A random (version 4) UUID, from the system's random source.
fn random_uuid() -> Result<String, SessionError> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|error| DbError(format!("cannot read /dev/urandom for a session id: {error}")))?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn sessions(folder: &std::path::Path) -> Sessions {
        let settings = SessionSettings { idle_timeout: Duration::from_secs(3600), max_bytes: 200, max_sessions: 3 };
        Sessions::new(Db::new(Some(folder.to_owned())), settings)
    }

    async fn stored(sessions: &Sessions, id: &str) -> Value {
        sessions.begin(id).await.unwrap().get().map_or(Value::Null, |text| serde_json::from_str(&text).unwrap())
    }

    #[tokio::test]
    async fn a_new_session_is_empty_until_set_and_exists_once_the_run_ends() {
        let scratch = tempfile::tempdir().unwrap();
        let sessions = sessions(scratch.path());
        let run = sessions.begin("task-1").await.unwrap();
        assert_eq!(run.get(), None);
        run.update(r#"{"step": 1}"#).unwrap();
        run.update(r#"{"done": false}"#).unwrap();
        assert_eq!(run.get().as_deref(), Some(r#"{"step":1,"done":false}"#));
        assert_eq!(stored(&sessions, "task-1").await, Value::Null, "nothing is written before the end");
        sessions.finish(&run, true).await.unwrap();
        assert_eq!(stored(&sessions, "task-1").await, serde_json::json!({"step": 1, "done": false}));
    }

    #[tokio::test]
    async fn concurrent_runs_keep_each_others_keys_and_the_last_to_end_wins_a_shared_one() {
        let scratch = tempfile::tempdir().unwrap();
        let sessions = sessions(scratch.path());
        let setup = sessions.begin("s").await.unwrap();
        setup.set(r#"{"keep": 0, "gone": 1, "shared": "start"}"#).unwrap();
        sessions.finish(&setup, true).await.unwrap();
        let (first, second) = (sessions.begin("s").await.unwrap(), sessions.begin("s").await.unwrap());
        first.update(r#"{"a": 1, "shared": "first"}"#).unwrap();
        second.set(r#"{"keep": 0, "b": 2, "shared": "second"}"#).unwrap();
        sessions.finish(&second, true).await.unwrap();
        sessions.finish(&first, true).await.unwrap();
        assert_eq!(stored(&sessions, "s").await, serde_json::json!({"keep": 0, "shared": "first", "b": 2, "a": 1}));
    }

    #[tokio::test]
    async fn a_failed_run_writes_nothing() {
        let scratch = tempfile::tempdir().unwrap();
        let sessions = sessions(scratch.path());
        let run = sessions.begin("s").await.unwrap();
        run.set(r#"{"a": 1}"#).unwrap();
        sessions.finish(&run, false).await.unwrap();
        assert_eq!(stored(&sessions, "s").await, Value::Null);
    }

    #[tokio::test]
    async fn limits_refuse_bad_ids_data_that_is_not_an_object_oversized_data_and_too_many_sessions() {
        let scratch = tempfile::tempdir().unwrap();
        let sessions = sessions(scratch.path());
        for id in ["", "a b", &"x".repeat(129)] {
            assert!(matches!(sessions.begin(id).await, Err(SessionError::BadName { .. })), "{id:?}");
        }
        let run = sessions.begin("s").await.unwrap();
        assert!(matches!(run.set("[1]"), Err(SessionError::NotAnObject { got: "an array", .. })));
        let big = format!(r#"{{"x": "{}"}}"#, "y".repeat(200));
        assert!(matches!(run.set(&big), Err(SessionError::TooLarge { .. })));
        run.set(&format!(r#"{{"x": "{}"}}"#, "y".repeat(150))).unwrap();
        let error = run.update(&format!(r#"{{"z": "{}"}}"#, "y".repeat(60))).unwrap_err();
        assert!(matches!(error, SessionError::TooLarge { what: "the updated data", .. }), "{error}");
        assert!(run.get().unwrap().len() < 200, "a refused update changes nothing");
        for _ in 0..3 {
            sessions.create("chrome", "{}").await.unwrap();
        }
        assert!(matches!(sessions.create("chrome", "{}").await, Err(SessionError::TooMany { max: 3 })));
        assert!(matches!(sessions.finish(&run, true).await, Err(SessionError::TooMany { max: 3 })));
    }

    #[tokio::test]
    async fn created_sessions_are_described_and_destroyed_by_id() {
        let scratch = tempfile::tempdir().unwrap();
        let sessions = sessions(scratch.path());
        let id = sessions.create("chrome", r#"{"pageIndex": 0}"#).await.unwrap();
        assert_eq!(id.len(), 36);
        let described: Value = serde_json::from_str(&sessions.get(&id).await.unwrap().unwrap()).unwrap();
        assert_eq!((&described["id"], &described["type"], &described["data"]), (&Value::from(id.as_str()), &Value::from("chrome"), &serde_json::json!({"pageIndex": 0})));
        assert!(described["lastAccessed"].as_i64() >= described["createdAt"].as_i64());
        assert!(sessions.destroy(&id).await.unwrap());
        assert!(!sessions.destroy(&id).await.unwrap());
        assert_eq!(sessions.get(&id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_idle_session_expires() {
        let scratch = tempfile::tempdir().unwrap();
        let settings = SessionSettings { idle_timeout: Duration::from_millis(50), max_bytes: 200, max_sessions: 3 };
        let sessions = Sessions::new(Db::new(Some(scratch.path().to_owned())), settings);
        let id = sessions.create("custom", r#"{"a": 1}"#).await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(sessions.get(&id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn without_a_data_folder_sessions_live_in_memory() {
        let settings = SessionSettings { idle_timeout: Duration::from_secs(60), max_bytes: 200, max_sessions: 3 };
        let sessions = Sessions::new(Db::new(None), settings);
        let run = sessions.begin("s").await.unwrap();
        run.set(r#"{"a": 1}"#).unwrap();
        sessions.finish(&run, true).await.unwrap();
        assert_eq!(stored(&sessions, "s").await, serde_json::json!({"a": 1}));
    }
}
