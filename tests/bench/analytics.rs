//! Analytics: what recording adds to a run, how fast the writer saves, and
//! what opening a full database costs at start. `bench analytics` runs only
//! this.
//!
//! - Hot path, through the library: what the runtime does for a trivial run
//!   when the host records (a run log made, finished with the outcome, handed
//!   to the writer), timed one run at a time over [`RUNS`] runs, in chunks
//!   that the writer is let to catch up with (so no run is dropped and every
//!   send is a real one); median and p99. Also what one audited tool call
//!   adds (its digest, its row and its result's sample).
//! - End to end: `execute_code` of `return 1;` on a host that records and
//!   on one that does not, [`ROUNDS`] rounds of [`CALLS`] calls, the two
//!   hosts taken in turn: the median of the rounds' differences of median
//!   round trips (noisy on a shared machine: tens of µs either way), and the
//!   host CPU per run of each (the writer's work included), which noise
//!   moves less.
//! - The writer: runs saved per second (tokens counted, rows written,
//!   retention applied), from the first hand-over to the report that follows
//!   the last.
//! - Start: opening a database of [`FULL_RUNS`] runs with 3 audited calls
//!   each (what `serve` does before it answers), and the full check the
//!   writer then runs in the background; `runtime_stats` over all of it.

use std::time::Instant;

use anyhow::{Result, bail};
use mcp_code_runtime::analytics::{Analytics, Entry, RunLog, Window};
use mcp_code_runtime::config::AnalyticsSettings;
use mcp_code_runtime::outcome::{RunOutcome, RunStats};
use mcp_code_runtime::store::{self, AnalyticsStore, CallRow, Retention, RunRow};
use serde_json::json;

use crate::child::{Connection, Counters, Paths, execute};
use crate::report::{Report, Target, median, percentile, us};

const RUNS: usize = 20_000;
/// Runs handed over before the writer is waited for (under its queue of 1,024).
const CHUNK: usize = 500;
const ROUNDS: usize = 10;
const CALLS: usize = 500;
const FULL_RUNS: usize = 100_000;
const FULL_BATCH: usize = 1_000;

pub async fn measure(paths: &Paths, report: &mut Report) -> Result<()> {
    hot_path(report).await?;
    end_to_end(paths, report).await?;
    full_database(report)?;
    Ok(())
}

fn trivial_outcome() -> RunOutcome {
    RunOutcome {
        ok: true,
        result: json!(1),
        logs: Vec::new(),
        error: None,
        truncated: None,
        stats: RunStats { duration_ms: 1.0, ..RunStats::default() },
    }
}

async fn hot_path(report: &mut Report) -> Result<()> {
    let data = tempfile::tempdir()?;
    let analytics = Analytics::open(&AnalyticsSettings::default(), Some(data.path()))?.expect("analytics are on");
    let outcome = trivial_outcome();
    let mut per_run = Vec::with_capacity(RUNS);
    let started = Instant::now();
    for _ in 0..RUNS / CHUNK {
        for _ in 0..CHUNK {
            let timed = Instant::now();
            let log = RunLog::recording();
            if let Some(run) = log.finish(Entry::Code { session: None }, &outcome) {
                analytics.record(run);
            }
            per_run.push(us(timed.elapsed()));
        }
        analytics.report(Window::ALL).await?;
    }
    let saved = started.elapsed();
    let recorded = analytics.report(Window::ALL).await?;
    if recorded.summary.runs != RUNS as u64 || recorded.unrecorded != Some(0) {
        bail!("{} of {RUNS} runs recorded, {:?} unrecorded", recorded.summary.runs, recorded.unrecorded);
    }
    report.target("analytics_hot_path_us", median(&per_run), "µs", "recording a trivial run (log, finish, hand-over), median", Target::AtMost(20.0));
    report.figure("analytics_hot_path_p99_us", percentile(&per_run, 99.0), "µs", "  p99");
    report.figure("analytics_writer_runs_per_s", RUNS as f64 / saved.as_secs_f64(), "runs/s", "  the writer: trivial runs saved per second");

    let log = RunLog::recording();
    let arguments = r#"{"message":"x"}"#;
    let mut per_call = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let timed = Instant::now();
        if let Some(pending) = log.call_started("test", "echo", arguments) {
            pending.end(Ok(arguments));
        }
        per_call.push(us(timed.elapsed()));
    }
    report.figure("analytics_per_tool_call_us", median(&per_call), "µs", "  auditing one tool call, median");
    analytics.close().await;
    Ok(())
}

/// Round trips of `return 1;` with and without recording.
async fn end_to_end(paths: &Paths, report: &mut Report) -> Result<()> {
    let recording = Connection::host(paths, &json!({ "mcpServers": {} })).await?;
    let not_recording = Connection::host(paths, &json!({ "mcpServers": {}, "codeRuntime": { "analytics": { "enabled": false } } })).await?;
    for host in [&recording, &not_recording] {
        rounds(host, CALLS).await?;
    }
    let (mut differences, mut with, mut without) = (Vec::new(), Vec::new(), Vec::new());
    let (mut cpu_with, mut cpu_without) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (on, on_cpu) = rounds(&recording, CALLS).await?;
        let (off, off_cpu) = rounds(&not_recording, CALLS).await?;
        differences.push(on - off);
        with.push(on);
        without.push(off);
        cpu_with.push(on_cpu);
        cpu_without.push(off_cpu);
    }
    recording.close().await?;
    not_recording.close().await?;
    report.figure("analytics_roundtrip_on_us", median(&with), "µs", "round trip `return 1;` recording, median of round medians");
    report.figure("analytics_roundtrip_off_us", median(&without), "µs", "round trip `return 1;` not recording, median of round medians");
    report.figure("analytics_roundtrip_delta_us", median(&differences), "µs", "  median of the rounds' differences");
    // Over all rounds: the kernel counts CPU time in 10 ms ticks.
    let (cpu_with, cpu_without) = (mean(&cpu_with), mean(&cpu_without));
    report.figure("analytics_host_cpu_on_us", cpu_with, "µs", "host CPU per run, recording (the writer's included)");
    report.figure("analytics_host_cpu_off_us", cpu_without, "µs", "host CPU per run, not recording");
    report.figure("analytics_host_cpu_delta_us", cpu_with - cpu_without, "µs", "  difference");
    Ok(())
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The median round trip of `calls` trivial runs and the host's CPU per
/// run, in µs.
async fn rounds(host: &Connection, calls: usize) -> Result<(f64, f64)> {
    let peer = host.peer();
    let before: Counters = host.counters()?;
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let (_, elapsed) = execute(&peer, "return 1;").await?;
        times.push(us(elapsed));
    }
    // The writer saves what the round recorded within its batch wait.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (cpu, _) = host.counters()?.per_event_since(&before, calls);
    Ok((median(&times), cpu))
}

/// Opening a database of `FULL_RUNS` runs, as `serve` does at start.
fn full_database(report: &mut Report) -> Result<()> {
    let data = tempfile::tempdir()?;
    let mut filling = store::open(data.path())?;
    let keep = Retention { oldest_ms: 0, max_runs: FULL_RUNS as u64, max_calls: 3 * FULL_RUNS as u64 };
    let now = 1_800_000_000_000_i64;
    for batch in 0..FULL_RUNS / FULL_BATCH {
        let runs: Vec<RunRow> = (0..FULL_BATCH).map(|index| run_row(now + (batch * FULL_BATCH + index) as i64)).collect();
        filling.save_runs(&runs, &keep)?;
    }
    drop(filling);
    let bytes = std::fs::metadata(data.path().join(store::DATABASE_FILE))?.len() + wal_bytes(data.path());
    let (mut opens, mut checks) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let started = Instant::now();
        let mut opened = store::open(data.path())?;
        opens.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        opened.check()?;
        checks.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let mut reading = store::open(data.path())?;
    let started = Instant::now();
    let summary = reading.summary(None, 10)?;
    let summary_ms = started.elapsed().as_secs_f64() * 1000.0;
    if summary.runs != FULL_RUNS as u64 {
        bail!("the full database holds {} runs", summary.runs);
    }
    report.figure("analytics_open_full_ms", median(&opens), "ms", "opening 100,000 runs, 300,000 calls (on the start-up path)");
    report.figure("analytics_check_full_ms", median(&checks), "ms", "  their quick check (the writer's, in the background)");
    report.figure("analytics_full_database_mb", bytes as f64 / (1024.0 * 1024.0), "MB", "  their size");
    report.figure("analytics_summary_full_ms", summary_ms, "ms", "  runtime_stats over them (all)");
    Ok(())
}

fn wal_bytes(folder: &std::path::Path) -> u64 {
    std::fs::metadata(folder.join(format!("{}-wal", store::DATABASE_FILE))).map_or(0, |metadata| metadata.len())
}

fn run_row(started_at_ms: i64) -> RunRow {
    let call = |tool: &str| CallRow {
        at_ms: started_at_ms,
        server: "test".into(),
        tool: tool.into(),
        arguments_digest: started_at_ms as u64,
        outcome: "ok".into(),
        duration_ms: 1.5,
        bytes_out: 20,
        bytes_in: 400,
    };
    RunRow {
        started_at_ms,
        skill: None,
        session: None,
        duration_ms: 2.0,
        error_kind: None,
        fuel: 1_000_000,
        memory_peak_bytes: 1 << 20,
        tool_calls: 3,
        tokens_consumed: 300,
        tokens_returned: 10,
        skills: Vec::new(),
        calls: vec![call("echo"), call("counter"), call("echo")],
    }
}
