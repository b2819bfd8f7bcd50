//! The SQLite store: opening, migrations, refusals, and the analytics' rows
//! and totals.

use std::path::Path;

use super::*;
use crate::store::{AnalyticsStore, CallRow, Retention, RunRow, StoreError};

const KEEP_ALL: Retention = Retention { oldest_ms: i64::MIN, max_runs: u64::MAX >> 1, max_calls: u64::MAX >> 1 };

fn run(started_at_ms: i64, duration_ms: f64, error_kind: Option<&str>) -> RunRow {
    RunRow {
        started_at_ms,
        skill: None,
        session: None,
        duration_ms,
        error_kind: error_kind.map(str::to_owned),
        fuel: 10,
        memory_peak_bytes: 20,
        tool_calls: 0,
        tokens_consumed: 0,
        tokens_returned: 0,
        skills: Vec::new(),
        calls: Vec::new(),
    }
}

fn call(server: &str, tool: &str, outcome: &str, duration_ms: f64) -> CallRow {
    CallRow {
        at_ms: 1_000,
        server: server.into(),
        tool: tool.into(),
        arguments_digest: u64::MAX - 1,
        outcome: outcome.into(),
        duration_ms,
        bytes_out: 3,
        bytes_in: 7,
    }
}

fn database(folder: &Path) -> std::path::PathBuf {
    folder.join("data").join(crate::store::DATABASE_FILE)
}

#[test]
fn a_new_file_is_created_private_in_wal_mode_at_the_current_schema() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = tempfile::tempdir().unwrap();
    let path = database(scratch.path());
    let store = SqliteStore::open(&path).unwrap();
    let mode: String = store.connection.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
    let version: u32 = store.connection.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
    assert_eq!((mode.as_str(), version), ("wal", SCHEMA_VERSION));
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
}

#[test]
fn runs_survive_reopening() {
    let scratch = tempfile::tempdir().unwrap();
    let path = database(scratch.path());
    SqliteStore::open(&path).unwrap().save_runs(&[run(1, 5.0, None)], &KEEP_ALL).unwrap();
    let summary = SqliteStore::open(&path).unwrap().summary(None, 10).unwrap();
    assert_eq!((summary.runs, summary.ok), (1, 1));
}

#[test]
fn a_newer_schema_is_refused_and_left_as_it_is() {
    let scratch = tempfile::tempdir().unwrap();
    let path = database(scratch.path());
    drop(SqliteStore::open(&path).unwrap());
    let newer = SCHEMA_VERSION + 1;
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", newer).unwrap();
    let before = std::fs::read(&path).unwrap();
    let error = SqliteStore::open(&path).err().expect("a newer schema is refused");
    assert!(matches!(error, StoreError::NewerSchema { found, supported, .. } if found == newer && supported == SCHEMA_VERSION), "{error}");
    assert!(error.to_string().contains("newer"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file is not changed");
}

#[test]
fn a_file_that_is_not_a_database_is_corrupt_and_left_as_it_is() {
    let scratch = tempfile::tempdir().unwrap();
    let path = database(scratch.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let garbage: Vec<u8> = (0..8192u32).map(|index| (index * 7 % 251) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let error = SqliteStore::open(&path).err().expect("garbage is refused");
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("corrupt") && error.to_string().contains("move it aside"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "the file is not replaced");
}

#[test]
fn a_damaged_page_is_found_by_the_check() {
    let scratch = tempfile::tempdir().unwrap();
    let path = database(scratch.path());
    let mut store = SqliteStore::open(&path).unwrap();
    let runs: Vec<RunRow> = (0..2000).map(|index| RunRow { calls: vec![call("s", "t", "ok", 1.0)], ..run(index, 1.0, None) }).collect();
    store.save_runs(&runs, &KEEP_ALL).unwrap();
    store.connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    drop(store);
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 16 * 4096, "the file has many pages: {}", bytes.len());
    // Page 10's b-tree header (pages are 4096 bytes; page 1 holds the file header).
    bytes[9 * 4096..9 * 4096 + 64].fill(0xA5);
    std::fs::write(&path, &bytes).unwrap();
    let mut opened = SqliteStore::open(&path).expect("the header and schema are whole");
    let error = opened.check().expect_err("a damaged page is found");
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
}

#[test]
fn the_summary_counts_what_was_saved() {
    let scratch = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&database(scratch.path())).unwrap();
    let mut runs: Vec<RunRow> = (1..=20).map(|index| run(index, index as f64, None)).collect();
    runs[0].error_kind = Some("timeout".into());
    runs[1].error_kind = Some("timeout".into());
    runs[2].error_kind = Some("tool_error".into());
    runs[3] = RunRow { tokens_consumed: 1000, tokens_returned: 10, tool_calls: 3, ..runs[3].clone() };
    runs[4] = RunRow { tokens_consumed: 5, tokens_returned: 50, ..runs[4].clone() };
    runs[5].skills = vec![("b".into(), 1), ("a".into(), 2)];
    runs[6].skills = vec![("b".into(), 3)];
    runs[7].session = Some("one".into());
    runs[8].session = Some("one".into());
    runs[9].session = Some("two".into());
    runs[3].calls = vec![call("slow", "x", "ok", 90.0), call("fast", "y", "tool_error", 1.0), call("fast", "y", "ok", 3.0)];
    store.save_runs(&runs, &KEEP_ALL).unwrap();
    let summary = store.summary(None, 10).unwrap();
    assert_eq!((summary.runs, summary.ok, summary.tool_calls, summary.sessions), (20, 17, 3, 2));
    assert_eq!((summary.p50_ms, summary.p95_ms), (10.0, 19.0));
    assert_eq!(summary.errors, [("timeout".to_owned(), 2), ("tool_error".to_owned(), 1)].into());
    assert_eq!(summary.tokens, crate::store::Tokens { consumed: 1005, returned: 60, saved: 990 });
    let skills: Vec<(&str, u64)> = summary.top_skills.iter().map(|used| (used.skill.as_str(), used.calls)).collect();
    assert_eq!(skills, [("b", 4), ("a", 2)]);
    let tools: Vec<(&str, &str, u64, u64, f64)> =
        summary.top_tools.iter().map(|used| (used.server.as_str(), used.tool.as_str(), used.calls, used.failed, used.avg_ms)).collect();
    assert_eq!(tools, [("fast", "y", 2, 1, 2.0), ("slow", "x", 1, 0, 90.0)]);
    let servers: Vec<(&str, f64, f64)> = summary.servers.iter().map(|used| (used.server.as_str(), used.avg_ms, used.max_ms)).collect();
    assert_eq!(servers, [("slow", 90.0, 90.0), ("fast", 2.0, 3.0)]);
    let recent = store.summary(Some(11), 10).unwrap();
    assert_eq!((recent.runs, recent.ok, recent.p50_ms), (10, 10, 15.0));
    let audit = store.audit(None, 2).unwrap();
    let newest: Vec<(&str, &str)> = audit.iter().map(|entry| (entry.tool.as_str(), entry.outcome.as_str())).collect();
    assert_eq!(newest, [("y", "tool_error"), ("y", "ok")]);
    assert_eq!(audit[0].arguments_digest, "fffffffffffffffe");
}

#[test]
fn retention_deletes_the_oldest_runs_and_calls() {
    let scratch = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&database(scratch.path())).unwrap();
    let runs: Vec<RunRow> =
        (1..=6).map(|index| RunRow { calls: vec![call("s", "a", "ok", 1.0), call("s", "b", "ok", 1.0)], ..run(index * 100, 1.0, None) }).collect();
    store.save_runs(&runs, &Retention { oldest_ms: 200, max_runs: 4, max_calls: 5 }).unwrap();
    let points: Vec<i64> = store.run_points(None).unwrap().iter().map(|point| point.started_at_ms).collect();
    assert_eq!(points, [300, 400, 500, 600], "the most runs kept");
    assert_eq!(store.audit(None, 100).unwrap().len(), 5, "the most calls kept");
    store.save_runs(&[], &Retention { oldest_ms: 550, ..KEEP_ALL }).unwrap();
    let points: Vec<i64> = store.run_points(None).unwrap().iter().map(|point| point.started_at_ms).collect();
    assert_eq!(points, [600], "runs older than kept");
    let runs_of_calls: Vec<i64> = store.audit(None, 100).unwrap().iter().map(|entry| entry.run).collect();
    assert_eq!(runs_of_calls.len(), 2, "a deleted run's calls go with it: {runs_of_calls:?}");
}
