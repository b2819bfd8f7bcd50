//! The SQLite schema, as the migrations that build it. Migration `n` (1-based)
//! takes a file from `user_version` `n - 1` to `n`; a released migration is
//! never edited, a new table or column is a new migration at the end.

/// Each migration's SQL, in order.
pub const MIGRATIONS: &[&str] = &[
    // 1: the analytics (runs and the skills they ran) and the audit log.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at INTEGER NOT NULL,
        skill TEXT,
        session TEXT,
        duration_ms REAL NOT NULL,
        error_kind TEXT,
        fuel INTEGER NOT NULL,
        memory_peak INTEGER NOT NULL,
        tool_calls INTEGER NOT NULL,
        tokens_consumed INTEGER NOT NULL,
        tokens_returned INTEGER NOT NULL
    );
    CREATE INDEX runs_started_at ON runs (started_at);
    CREATE TABLE run_skills (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        skill TEXT NOT NULL,
        calls INTEGER NOT NULL,
        PRIMARY KEY (run_id, skill)
    ) WITHOUT ROWID;
    CREATE TABLE calls (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        server TEXT NOT NULL,
        tool TEXT NOT NULL,
        arguments_digest INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        duration_ms REAL NOT NULL,
        bytes_out INTEGER NOT NULL,
        bytes_in INTEGER NOT NULL
    );
    CREATE INDEX calls_run_id ON calls (run_id);
    CREATE INDEX calls_at ON calls (at);",
    // 2: the sessions and the saved cache of programs.
    "CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_last_used ON sessions (last_used);
    CREATE TABLE cache_entries (
        position INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        value TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );",
];
