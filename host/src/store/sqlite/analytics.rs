//! The analytics' queries on SQLite.

use rusqlite::{Connection, Row, params};

use super::SqliteStore;
use crate::store::analytics::{AnalyticsStore, AuditEntry, Retention, RunPoint, RunRow, ServerUse, SkillUse, Summary, Tokens, ToolUse};
use crate::store::StoreError;

/// `since_ms` as a bound every row passes when there is none.
fn lower_bound(since_ms: Option<i64>) -> i64 {
    since_ms.unwrap_or(i64::MIN)
}

impl AnalyticsStore for SqliteStore {
    fn save_runs(&mut self, runs: &[RunRow], retention: &Retention) -> Result<(), StoreError> {
        let path = self.path.clone();
        let fail = |error: rusqlite::Error| super::classify(&path, &error);
        let transaction = self.connection.transaction().map_err(fail)?;
        for run in runs {
            insert_run(&transaction, run).map_err(fail)?;
        }
        prune(&transaction, retention).map_err(fail)?;
        transaction.commit().map_err(fail)
    }

    fn summary(&mut self, since_ms: Option<i64>, top: usize) -> Result<Summary, StoreError> {
        summary(&self.connection, lower_bound(since_ms), top as i64).map_err(|error| self.error(&error))
    }

    fn run_points(&mut self, since_ms: Option<i64>) -> Result<Vec<RunPoint>, StoreError> {
        let query = "SELECT started_at, duration_ms, error_kind IS NOT NULL, MAX(tokens_consumed - tokens_returned, 0)
                     FROM runs WHERE started_at >= ?1 ORDER BY started_at, id";
        let point = |row: &Row| {
            Ok(RunPoint { started_at_ms: row.get(0)?, duration_ms: row.get(1)?, failed: row.get(2)?, tokens_saved: row.get(3)? })
        };
        collect(&self.connection, query, lower_bound(since_ms), point).map_err(|error| self.error(&error))
    }

    fn audit(&mut self, since_ms: Option<i64>, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let query = format!(
            "SELECT * FROM (SELECT run_id, at, server, tool, arguments_digest, outcome, duration_ms, bytes_out, bytes_in, id
             FROM calls WHERE at >= ?1 ORDER BY id DESC LIMIT {limit}) ORDER BY id"
        );
        let entry = |row: &Row| {
            Ok(AuditEntry {
                run: row.get(0)?,
                at_ms: row.get(1)?,
                server: row.get(2)?,
                tool: row.get(3)?,
                arguments_digest: format!("{:016x}", row.get::<_, i64>(4)? as u64),
                outcome: row.get(5)?,
                duration_ms: row.get(6)?,
                bytes_out: row.get(7)?,
                bytes_in: row.get(8)?,
            })
        };
        collect(&self.connection, &query, lower_bound(since_ms), entry).map_err(|error| self.error(&error))
    }
}

fn insert_run(connection: &Connection, run: &RunRow) -> rusqlite::Result<()> {
    connection.prepare_cached(
        "INSERT INTO runs (started_at, skill, session, duration_ms, error_kind, fuel, memory_peak, tool_calls, tokens_consumed, tokens_returned)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        run.started_at_ms,
        run.skill,
        run.session,
        run.duration_ms,
        run.error_kind,
        run.fuel,
        run.memory_peak_bytes,
        run.tool_calls,
        run.tokens_consumed,
        run.tokens_returned
    ])?;
    let id = connection.last_insert_rowid();
    let mut skill = connection.prepare_cached("INSERT INTO run_skills (run_id, skill, calls) VALUES (?1, ?2, ?3)")?;
    for (name, calls) in &run.skills {
        skill.execute(params![id, name, calls])?;
    }
    let mut call = connection.prepare_cached(
        "INSERT INTO calls (run_id, at, server, tool, arguments_digest, outcome, duration_ms, bytes_out, bytes_in)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for row in &run.calls {
        call.execute(params![
            id,
            row.at_ms,
            row.server,
            row.tool,
            row.arguments_digest as i64,
            row.outcome,
            row.duration_ms,
            row.bytes_out,
            row.bytes_in
        ])?;
    }
    Ok(())
}

/// Deletes runs (with their calls and skills) older than kept or beyond
/// the most runs kept, then calls beyond the most kept. Ids grow with every
/// row saved, so the newest `max` rows are those with ids above the largest
/// id minus `max` (fewer where age made gaps): each bound is one lookup in
/// an index, whatever the size of the table.
fn prune(connection: &Connection, retention: &Retention) -> rusqlite::Result<()> {
    connection.prepare_cached("DELETE FROM runs WHERE started_at < ?1")?.execute([retention.oldest_ms])?;
    connection.prepare_cached("DELETE FROM runs WHERE id <= (SELECT MAX(id) FROM runs) - ?1")?.execute([retention.max_runs])?;
    connection.prepare_cached("DELETE FROM calls WHERE id <= (SELECT MAX(id) FROM calls) - ?1")?.execute([retention.max_calls])?;
    Ok(())
}

fn summary(connection: &Connection, since: i64, top: i64) -> rusqlite::Result<Summary> {
    let (runs, ok, tool_calls, sessions, tokens) = connection.query_row(
        "SELECT COUNT(*), COUNT(*) - COUNT(error_kind), COALESCE(SUM(tool_calls), 0), COUNT(DISTINCT session),
                COALESCE(SUM(tokens_consumed), 0), COALESCE(SUM(tokens_returned), 0),
                COALESCE(SUM(MAX(tokens_consumed - tokens_returned, 0)), 0)
         FROM runs WHERE started_at >= ?1",
        [since],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, Tokens { consumed: row.get(4)?, returned: row.get(5)?, saved: row.get(6)? })),
    )?;
    let errors = collect(
        connection,
        "SELECT error_kind, COUNT(*) FROM runs WHERE started_at >= ?1 AND error_kind IS NOT NULL GROUP BY error_kind",
        since,
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let top_skills = collect(
        connection,
        &format!(
            "SELECT used.skill, SUM(used.calls) AS times FROM run_skills AS used JOIN runs ON runs.id = used.run_id
             WHERE runs.started_at >= ?1 GROUP BY used.skill ORDER BY times DESC, used.skill LIMIT {top}"
        ),
        since,
        |row| Ok(SkillUse { skill: row.get(0)?, calls: row.get(1)? }),
    )?;
    let top_tools = collect(
        connection,
        &format!(
            "SELECT server, tool, COUNT(*) AS used, SUM(outcome <> 'ok'), AVG(duration_ms), SUM(bytes_in) FROM calls
             WHERE at >= ?1 GROUP BY server, tool ORDER BY used DESC, server, tool LIMIT {top}"
        ),
        since,
        |row| Ok(ToolUse { server: row.get(0)?, tool: row.get(1)?, calls: row.get(2)?, failed: row.get(3)?, avg_ms: row.get(4)?, bytes_in: row.get(5)? }),
    )?;
    let servers = collect(
        connection,
        &format!(
            "SELECT server, COUNT(*), SUM(outcome <> 'ok'), AVG(duration_ms) AS average, MAX(duration_ms) FROM calls
             WHERE at >= ?1 GROUP BY server ORDER BY average DESC, server LIMIT {top}"
        ),
        since,
        |row| Ok(ServerUse { server: row.get(0)?, calls: row.get(1)?, failed: row.get(2)?, avg_ms: row.get(3)?, max_ms: row.get(4)? }),
    )?;
    Ok(Summary {
        runs,
        ok,
        p50_ms: percentile(connection, since, runs, 50)?,
        p95_ms: percentile(connection, since, runs, 95)?,
        errors: errors.into_iter().collect(),
        tool_calls,
        sessions,
        tokens,
        top_skills,
        top_tools,
        servers,
    })
}

/// The nearest-rank `percent`-th percentile of the durations of the `count`
/// runs since `since`: the duration of the `ceil(percent × count / 100)`-th shortest.
fn percentile(connection: &Connection, since: i64, count: u64, percent: u64) -> rusqlite::Result<f64> {
    if count == 0 {
        return Ok(0.0);
    }
    let rank = (count * percent).div_ceil(100).clamp(1, count);
    connection.query_row(
        "SELECT duration_ms FROM runs WHERE started_at >= ?1 ORDER BY duration_ms LIMIT 1 OFFSET ?2",
        params![since, rank - 1],
        |row| row.get(0),
    )
}

fn collect<T>(connection: &Connection, query: &str, since: i64, read: impl FnMut(&Row) -> rusqlite::Result<T>) -> rusqlite::Result<Vec<T>> {
    connection.prepare_cached(query)?.query_map([since], read)?.collect()
}
