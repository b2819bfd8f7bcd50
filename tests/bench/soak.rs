//! The hardening figures: how far past its limit a stopped run answers, and
//! whether the host's memory stays flat over a long mix of runs that succeed,
//! fail and hit every limit.
//!
//! - Overshoot: `while (true) {}` with a 200 ms timeout, a wait on a timer
//!   with the same timeout, and a loop of set-and-cleared timers; each the
//!   time to the answer minus the limit, median and max of 10.
//! - Soak: [`SOAK_RUNS`] runs from [`SOAK_IN_FLIGHT`] loops, cycling through
//!   values, thrown errors, syntax errors, deadlines, memory bombs, oversized
//!   results, tool calls and failing tool calls; the host's RSS is read every
//!   [`SOAK_EVERY`] runs. The drift is the largest change of the readings
//!   after warm-up (the first [`SOAK_WARMUP`] runs) from the first of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Result, bail};
use rmcp::RoleClient;
use rmcp::service::Peer;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::child::{Connection, Paths, respond};
use crate::report::{Report, Target, max, median, ms};

pub const SOAK_RUNS: usize = 100_000;
const SOAK_IN_FLIGHT: usize = 8;
const SOAK_EVERY: usize = 5_000;
const SOAK_WARMUP: usize = 10_000;
const OVERSHOOT_LIMIT_MS: u64 = 200;
const OVERSHOOT_REPEATS: usize = 10;

/// One kind of run in the soak mix: its arguments and the error kind it must
/// end with (`None`: it succeeds).
struct MixedRun {
    arguments: Value,
    expect: Option<&'static str>,
}

/// How often each expensive run comes in the mix: one in this many runs.
const RARE_EVERY: usize = 50;

fn run(code: &str, timeout: u64, expect: Option<&'static str>) -> MixedRun {
    MixedRun { arguments: json!({ "code": code, "timeout": timeout }), expect }
}

/// The cheap runs in turn, with each expensive one once in [`RARE_EVERY`].
fn mix() -> Vec<MixedRun> {
    let common = [
        ("return { n: [1, 2, 3], s: 'x'.repeat(100) };", None),
        ("throw new Error('planned');", Some("runtime_error")),
        ("return (;", Some("syntax_error")),
        ("const r = await mcp.call('test', 'echo', { message: 'soak' }); return r;", None),
        ("await mcp.call('test', 'fail', {});", Some("tool_error")),
        ("for (let i = 0; i < 1000; i++) clearTimeout(setTimeout(() => {}, 1e6)); return 1;", None),
        ("console.log('x'.repeat(1000)); return [1];", None),
    ];
    let rare = [
        run("while (true) {}", 20, Some("timeout")),
        run("const a = []; for (;;) a.push(new Array(100000).fill(1.5));", 30_000, Some("memory_limit")),
        run("return 'x'.repeat(2 * 1024 * 1024);", 30_000, Some("output_limit")),
    ];
    (0..RARE_EVERY - rare.len())
        .map(|slot| {
            let (code, expect) = common[slot % common.len()];
            run(code, 30_000, expect)
        })
        .chain(rare)
        .collect()
}

/// How far past their limit runs that must be stopped answer.
pub async fn overshoot(peer: &Peer<RoleClient>, report: &mut Report) -> Result<()> {
    let cases = [
        ("overshoot_loop_ms", "while (true) {}", "a CPU loop"),
        ("overshoot_wait_ms", "await new Promise((r) => setTimeout(r, 60000));", "a wait on a timer"),
        ("overshoot_timer_flood_ms", "for (;;) clearTimeout(setTimeout(() => {}, 1e9));", "set-and-cleared timers"),
    ];
    for (key, code, label) in cases {
        let mut overshoots = Vec::with_capacity(OVERSHOOT_REPEATS);
        for _ in 0..OVERSHOOT_REPEATS {
            let started = Instant::now();
            let (response, _) = respond(peer, json!({ "code": code, "timeout": OVERSHOOT_LIMIT_MS })).await?;
            if response["error"]["kind"] != json!("timeout") {
                bail!("{label} ended without a timeout: {response}");
            }
            overshoots.push(ms(started.elapsed()) - OVERSHOOT_LIMIT_MS as f64);
        }
        report.target(key, median(&overshoots), "ms", &format!("answer past a 200 ms deadline: {label} (median)"), Target::AtMost(100.0));
        report.figure(&format!("{key}_max"), max(&overshoots), "ms", &format!("answer past a 200 ms deadline: {label} (max of 10)"));
    }
    Ok(())
}

/// The host's RSS over [`SOAK_RUNS`] mixed runs.
pub async fn soak(paths: &Paths, report: &mut Report) -> Result<()> {
    let config = json!({
        "mcpServers": { "test": { "command": paths.test_server, "args": [] } },
        "codeRuntime": { "limits": { "maxToolCalls": 10 } }
    });
    let host = Connection::host(paths, &config).await?;
    let mix = Arc::new(mix());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut readings = Vec::with_capacity(SOAK_RUNS / SOAK_EVERY);
    for batch in 0..SOAK_RUNS / SOAK_EVERY {
        let mut loops = JoinSet::new();
        for _ in 0..SOAK_IN_FLIGHT {
            let (peer, mix, next) = (host.peer(), Arc::clone(&mix), Arc::clone(&next));
            let end = (batch + 1) * SOAK_EVERY;
            loops.spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= end {
                        next.fetch_min(end, Ordering::Relaxed);
                        return Ok::<_, anyhow::Error>(());
                    }
                    let run = &mix[index % mix.len()];
                    let (response, _) = respond(&peer, run.arguments.clone()).await?;
                    let kind = response["error"]["kind"].as_str();
                    if kind != run.expect {
                        bail!("run {index} ended as {kind:?}, not {:?}: {response}", run.expect);
                    }
                }
            });
        }
        while let Some(done) = loops.join_next().await {
            done??;
        }
        readings.push(host.rss_mb()?);
    }
    let elapsed = started.elapsed();
    host.close().await?;
    let settled = &readings[SOAK_WARMUP / SOAK_EVERY - 1..];
    let base = settled[0];
    let drift = settled
        .iter()
        .map(|reading| (reading - base) / base * 100.0)
        .fold(0.0, |largest: f64, change| if change.abs() > largest.abs() { change } else { largest });
    report.figure("soak_runs_per_s", SOAK_RUNS as f64 / elapsed.as_secs_f64(), "runs/s", "soak: mixed runs per second, 8 in flight");
    report.figure("soak_rss_after_warmup_mb", base, "MB", "soak: host RSS after 10,000 mixed runs");
    report.figure("soak_rss_end_mb", readings[readings.len() - 1], "MB", "soak: host RSS after 100,000 mixed runs");
    report.target("soak_rss_drift_percent", drift, "%", "soak: RSS drift after warm-up", Target::Within(5.0));
    report.note("soak_rss_readings_mb", json!(readings.iter().map(|mb| (mb * 10.0).round() / 10.0).collect::<Vec<_>>()));
    Ok(())
}
