//! `bench`: the performance figures of mcp-code-runtime, measured on the release
//! build and printed against their targets. `make bench` builds every binary in
//! release and runs this.
//!
//! # What it measures, and how
//!
//! It drives the real `target/release/mcp-code-runtime` (found beside this
//! executable, like the release `test-server`) over stdio with rmcp's client,
//! as the integration tests do, with its own artifact cache in
//! `target/release/bench-cache`.
//!
//! - `artifact_build_ms`: the cache is emptied and warmed with one
//!   `mcp-code-runtime run`; this is that cold run's wall time minus a warm
//!   run's, i.e. compiling the guest with Cranelift. No other figure includes it.
//! - Start-up: from just before spawning `serve` to `initialize` answered, 20
//!   starts with the warm cache (median and max); also to the first run answered.
//! - Round trip: `execute_code` of `return 1;`, 200 warm-up calls then 2,000
//!   sequential ones (p50, p90, p99, max).
//! - Throughput: 10,000 trivial runs from 32 loops sharing one client, so 32
//!   requests are in flight; with the CPU time the host and this client used
//!   per run (both share the machine's cores).
//! - Memory: the host's VmRSS idle after start, then after each 1,000 of 10,000
//!   sequential trivial runs; the drift is the largest change of the last five
//!   readings from the 1,000-run one. Then what a fresh host keeps after 16
//!   concurrent memory bombs, and after its first run with a cold cache (the
//!   artifact built by Cranelift), each 12 s after, against the idle figure.
//! - Bridge overhead per tool call: the time per call of a program making 2,000
//!   sequential `echo` calls to the test server (its `stats.durationMs` minus that
//!   of the same program making none, over 2,000), minus the median time per call
//!   of an rmcp client calling the test server directly. Best of 3 for each,
//!   taken in turn.
//! - Fan-out: `Promise.all` of 10 calls to the test server's `slow` tool (100 ms
//!   each), timed inside the program with `Date.now()`; best and median of 5.
//! - In-process breakdown: `Sandbox::time_phases` through the library, medians
//!   over 1,000 runs of a small TypeScript program: transpile, instantiate,
//!   execute. The runtime's own initialization (`init_us`) is 0: it ran once at
//!   build time and was snapshotted into the artifact.
//!
//! `bench core` runs only the round trip, throughput, bridge, fan-out and
//! memory sections.
//!
//! - Hardening (`soak.rs`): how far past a 200 ms deadline runaway runs
//!   answer, and the host's RSS over 100,000 mixed runs that succeed, fail and
//!   hit every limit.
//!
//! - Analytics (`analytics.rs`): what recording adds to a trivial run, the
//!   writer's rate, and opening a full database. `bench analytics` runs only this.
//!
//! - Search (`search_quality.rs`): the evaluation set's exact top-1 and top-3,
//!   and one search over 5,000 synthetic tools. `bench search` runs only this.
//!
//! - CPU-bound JavaScript (`cpu.rs`): a small suite in the sandbox vs the same
//!   QuickJS compiled natively, and the time to `fuel_exhausted`. `bench cpu`
//!   runs only this.
//!
//! - Side by side (`alternatives.rs`): ours beside a deno subprocess per run
//!   and an in-process node:vm server, same client, same programs.
//!   `bench alternatives` runs only this.
//!
//! - Tokens (`tokens.rs`): the plan's workflows done for real against the seed
//!   servers, directly and as one program, and what a model reads and writes on
//!   each path. `bench tokens` runs only this.
//!
//! - State (`state.rs`): `cache.get`, `cache.set`, `session.get` and
//!   `sessions.get` latency, a run with a session, and what the state adds to
//!   a run that does not use it. `bench state` runs only this.
//!
//! - Raw client round trip (`raw_client.rs`): trivial `execute_code` from a
//!   client with no rmcp (JSON lines on the pipes), beside the same client
//!   asking the rmcp test server for `echo` (the floor). `bench roundtrip`
//!   runs only this.
//!
//! - How cost grows (`curves.rs`): round trip vs result size, code size, tool
//!   calls and concurrent runs, search and typegen vs downstream tools, each
//!   with its growth exponent. `bench curves` runs only this.
//!
//! Memory is in MiB (reported as "MB"), times in ms or µs as their keys say.
//! Every loop is bounded in count and time; all traffic is stdio. Every process
//! it starts is closed (or killed on an error path) before it exits.
//!
//! # Output
//!
//! One line per figure with its target and `met` / `NOT MET`, then, as the last
//! line of stdout, one JSON object with every figure and `targets_met`. Missing a
//! target does not fail the benchmark: it exits non-zero only when something
//! could not run.
//!
//! The JSON is also written to `target/bench/` with the date and the machine,
//! and the curves, if measured, are plotted beside it as SVG (`output.rs`).

mod alternatives;
mod analytics;
mod child;
mod curves;
mod cpu;
mod output;
mod plot;
mod raw_client;
mod report;
mod search_quality;
#[path = "../seed_site.rs"]
mod seed_site;
mod skills;
mod soak;
mod state;
mod tokens;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mcp_code_runtime::bridge::Bridge;
use mcp_code_runtime::config::{Config, Limits};
use mcp_code_runtime::runtime::skill_runs::RunContext;
use mcp_code_runtime::runtime::GrantAccess;
use mcp_code_runtime::sandbox::{PhaseTimings, Sandbox};
use rmcp::RoleClient;
use rmcp::service::Peer;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use child::{Connection, Counters, Paths, call, duration_ms, execute, execute_with, respond};
use report::{Report, Target, max, median, min, ms, percentile, us};

const TRIVIAL: &str = "return 1;";
const ROUNDTRIP_WARMUP: usize = 200;
const ROUNDTRIP_CALLS: usize = 2_000;
const THROUGHPUT_RUNS: u32 = 10_000;
const THROUGHPUT_IN_FLIGHT: usize = 32;
const STARTS: usize = 20;
const RSS_RUNS: usize = 10_000;
const RSS_EVERY: usize = 1_000;
/// How long after `initialize` the idle RSS is read: the sandbox loads in the background.
const RSS_SETTLE: Duration = Duration::from_secs(1);
/// How long after work the RSS it left is read: past the 10 s after which an
/// idle host's analytics writer lets its tokenizer go (what a host keeps for
/// good, not what it holds while busy).
const AFTER_WORK_SETTLE: Duration = Duration::from_secs(12);
const BRIDGE_CALLS: usize = 2_000;
const BRIDGE_REPEATS: usize = 3;
const FAN_OUT_REPEATS: usize = 5;
const PHASE_WARMUP: usize = 50;
const PHASE_RUNS: usize = 1_000;
/// The longest any one section may take before the benchmark gives up.
const SECTION_LIMIT: Duration = Duration::from_secs(600);
/// The soak runs 100,000 runs, some of them memory bombs: it may take minutes.
const SOAK_LIMIT: Duration = Duration::from_secs(1_200);
/// The token benchmark starts task-master, Chromium and the host for each of its workflows.
const TOKENS_LIMIT: Duration = Duration::from_secs(1_800);
/// The longest the cold warm-up (compiling the guest) may take.
const COLD_BUILD_LIMIT: Duration = Duration::from_secs(1_200);

/// The small program of the in-process breakdown.
const PHASE_PROGRAM: &str = r#"
interface Item { name: string; score: number }
const items: Item[] = [];
for (let i = 0; i < 20; i++) items.push({ name: `item${i}`, score: (i * 7) % 11 });
const best: string[] = items.filter((item: Item) => item.score > 5).map((item: Item) => item.name);
return { count: best.length, first: best[0] };
"#;

/// Concurrent runs of [`MEMORY_BOMB`] in the memory section.
const BOMBS: usize = 16;
/// A program that grows its memory until the cap stops it.
const MEMORY_BOMB: &str = "const parts = []; while (true) parts.push(new Array(100000).fill(1.5));";

const FAN_OUT_PROGRAM: &str = r#"
const started = Date.now();
await Promise.all(Array.from({ length: 10 }, () => mcp.call("test", "slow", { ms: 100 })));
return Date.now() - started;
"#;

#[tokio::main]
async fn main() -> Result<()> {
    let mut report = Report::default();
    output::describe_run(&mut report);
    if std::env::args().nth(1).as_deref() == Some("search") {
        // `bench search`: only the in-process search figures, no host needed
        search_quality::measure(&mut report);
        return output::finish(report, Some("search"));
    }
    let paths = Paths::beside_current_exe()?;
    println!("mcp-code-runtime benchmark: {}", paths.host.display());
    if std::env::args().nth(1).as_deref() == Some("skills") {
        report.section("skills");
        bounded("skills", SECTION_LIMIT, skills::measure(&paths, &mut report)).await?;
        return output::finish(report, Some("skills"));
    }
    if std::env::args().nth(1).as_deref() == Some("state") {
        report.section("state");
        bounded("state", SECTION_LIMIT, state::measure(&paths, &mut report)).await?;
        return output::finish(report, Some("state"));
    }
    if std::env::args().nth(1).as_deref() == Some("analytics") {
        report.section("analytics");
        bounded("analytics", SECTION_LIMIT, analytics::measure(&paths, &mut report)).await?;
        return output::finish(report, Some("analytics"));
    }
    if std::env::args().nth(1).as_deref() == Some("alternatives") {
        report.section("side by side: ours, a deno subprocess per run, node:vm");
        bounded("alternatives", SECTION_LIMIT, alternatives::measure(&paths, &mut report)).await?;
        return output::finish(report, Some("alternatives"));
    }
    if std::env::args().nth(1).as_deref() == Some("cpu") {
        report.section("CPU-bound JavaScript: sandbox vs native QuickJS");
        bounded("cpu", SECTION_LIMIT, cpu::measure(&paths, &mut report)).await?;
        return output::finish(report, Some("cpu"));
    }
    if std::env::args().nth(1).as_deref() == Some("curves") {
        curves::measure(&paths, &mut report)?;
        return output::finish(report, Some("curves"));
    }
    if std::env::args().nth(1).as_deref() == Some("roundtrip") {
        raw_client::measure(&paths, &mut report)?;
        return output::finish(report, Some("roundtrip"));
    }
    if std::env::args().nth(1).as_deref() == Some("core") {
        // `bench core`: only the MCP path's figures (round trip, throughput, bridge, fan-out, memory)
        core(&paths, &mut report).await?;
        return output::finish(report, Some("core"));
    }
    if std::env::args().nth(1).as_deref() == Some("tokens") {
        report.section("token benchmark: the plan's workflows, direct vs code mode");
        bounded("tokens", TOKENS_LIMIT, tokens::measure(&paths, &mut report)).await?;
        return output::finish(report, Some("tokens"));
    }
    if std::env::args().nth(1).as_deref() == Some("hardening") {
        // `bench hardening`: only the overshoot and soak figures
        hardening(&paths, &mut report).await?;
        return output::finish(report, Some("hardening"));
    }

    report.section("artifact cache (cold build, then warm)");
    bounded("warming the cache", COLD_BUILD_LIMIT, warm_cache(&paths, &mut report)).await?;

    report.section("start-up (warm cache)");
    bounded("start-up", SECTION_LIMIT, startup(&paths, &mut report)).await?;

    core(&paths, &mut report).await?;

    hardening(&paths, &mut report).await?;

    report.section("skills");
    bounded("skills", SECTION_LIMIT, skills::measure(&paths, &mut report)).await?;

    report.section("analytics");
    bounded("analytics", SECTION_LIMIT, analytics::measure(&paths, &mut report)).await?;

    report.section("state: cache and sessions");
    bounded("state", SECTION_LIMIT, state::measure(&paths, &mut report)).await?;

    report.section("in-process breakdown (library, median of 1,000 runs)");
    bounded("in-process breakdown", SECTION_LIMIT, phases(&paths, &mut report)).await?;

    report.section("CPU-bound JavaScript: sandbox vs native QuickJS (library)");
    bounded("cpu", SECTION_LIMIT, cpu::measure(&paths, &mut report)).await?;

    report.section("side by side: ours, a deno subprocess per run, node:vm");
    bounded("alternatives", SECTION_LIMIT, alternatives::measure(&paths, &mut report)).await?;

    report.section("search (library, 5,000 synthetic tools; evaluation set)");
    search_quality::measure(&mut report);

    report.section("token benchmark: the plan's workflows, direct vs code mode");
    bounded("tokens", TOKENS_LIMIT, tokens::measure(&paths, &mut report)).await?;

    raw_client::measure(&paths, &mut report)?;
    curves::measure(&paths, &mut report)?;

    println!();
    output::finish(report, None)
}

/// The figures of the MCP path: round trip, throughput, bridge, fan-out, memory.
async fn core(paths: &Paths, report: &mut Report) -> Result<()> {
    let host = Connection::host(paths, &host_config(paths)).await?;
    report.section("execute_code round trip");
    bounded("round trip", SECTION_LIMIT, roundtrip(&host, report)).await?;
    report.section("throughput");
    bounded("throughput", SECTION_LIMIT, throughput(&host, report)).await?;
    report.section("bridge");
    bounded("bridge overhead", SECTION_LIMIT, bridge_overhead(paths, &host.peer(), report)).await?;
    bounded("fan-out", SECTION_LIMIT, fan_out(&host.peer(), report)).await?;
    host.close().await?;
    report.section("host memory");
    bounded("memory", SECTION_LIMIT, memory(paths, report)).await
}

/// How far past their deadline runaway runs answer, and the soak.
async fn hardening(paths: &Paths, report: &mut Report) -> Result<()> {
    report.section("stopping runaway runs");
    let host = Connection::host(paths, &host_config(paths)).await?;
    bounded("overshoot", SECTION_LIMIT, soak::overshoot(&host.peer(), report)).await?;
    host.close().await?;
    report.section("soak: 100,000 mixed runs");
    bounded("soak", SOAK_LIMIT, soak::soak(paths, report)).await
}

/// Runs `work`, failing if it takes longer than `limit`.
async fn bounded<T>(what: &str, limit: Duration, work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(limit, work).await.with_context(|| format!("{what} took longer than {limit:?}"))?
}

/// The host's config: the release test server as downstream `test`, and room
/// for the 2,000 calls of the bridge measurement.
fn host_config(paths: &Paths) -> Value {
    json!({
        "mcpServers": { "test": { "command": paths.test_server, "args": [] } },
        "codeRuntime": { "limits": { "maxToolCalls": BRIDGE_CALLS + 100 } }
    })
}

/// Empties the cache, then times a cold and a warm `mcp-code-runtime run`.
async fn warm_cache(paths: &Paths, report: &mut Report) -> Result<()> {
    if paths.cache_dir.exists() {
        std::fs::remove_dir_all(&paths.cache_dir).with_context(|| format!("emptying {}", paths.cache_dir.display()))?;
    }
    let cold = run_once(paths).await?;
    let warm = run_once(paths).await?;
    report.figure("cold_run_command_ms", ms(cold), "ms", "`run` with a cold cache (wall)");
    report.figure("warm_run_command_ms", ms(warm), "ms", "`run` with a warm cache (wall)");
    report.figure("artifact_build_ms", ms(cold.saturating_sub(warm)), "ms", "artifact build (cold - warm)");
    Ok(())
}

/// `mcp-code-runtime run` of the trivial program, with the benchmark's cache.
async fn run_once(paths: &Paths) -> Result<Duration> {
    let home = tempfile::tempdir()?;
    let program = home.path().join("warm-up.ts");
    std::fs::write(&program, TRIVIAL)?;
    let started = Instant::now();
    let output = tokio::process::Command::new(&paths.host)
        .arg("run")
        .arg(&program)
        .arg("--cache-dir")
        .arg(&paths.cache_dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .kill_on_drop(true)
        .output()
        .await?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        bail!("`mcp-code-runtime run` failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(elapsed)
}

/// Spawn to `initialize` answered, and to the first run answered, `STARTS` times.
async fn startup(paths: &Paths, report: &mut Report) -> Result<()> {
    let config = json!({ "mcpServers": {} });
    let (mut to_initialize, mut to_first_run) = (Vec::new(), Vec::new());
    for _ in 0..STARTS {
        let host = Connection::host(paths, &config).await?;
        let initialized = Instant::now();
        execute(&host.peer(), TRIVIAL).await?;
        to_initialize.push(ms(host.startup));
        to_first_run.push(ms(host.startup + initialized.elapsed()));
        host.close().await?;
    }
    report.target("startup_to_initialize_median_ms", median(&to_initialize), "ms", "spawn to initialize answered, median", Target::AtMost(50.0));
    report.target("startup_to_initialize_max_ms", max(&to_initialize), "ms", "spawn to initialize answered, max", Target::AtMost(50.0));
    report.figure("startup_to_first_run_median_ms", median(&to_first_run), "ms", "spawn to first run answered, median");
    report.figure("startup_to_first_run_max_ms", max(&to_first_run), "ms", "spawn to first run answered, max");
    Ok(())
}

/// Sequential trivial runs: latency percentiles.
async fn roundtrip(host: &Connection, report: &mut Report) -> Result<()> {
    let peer = &host.peer();
    for _ in 0..ROUNDTRIP_WARMUP {
        execute(peer, TRIVIAL).await?;
    }
    let before = host.counters()?;
    let mut times = Vec::with_capacity(ROUNDTRIP_CALLS);
    let mut host_durations = Vec::with_capacity(ROUNDTRIP_CALLS);
    for _ in 0..ROUNDTRIP_CALLS {
        let (response, elapsed) = execute(peer, TRIVIAL).await?;
        times.push(ms(elapsed));
        host_durations.push(duration_ms(&response)?);
    }
    let (host_cpu, host_faults) = host.counters()?.per_event_since(&before, ROUNDTRIP_CALLS);
    report.target("roundtrip_p50_ms", percentile(&times, 50.0), "ms", "round trip `return 1;`, p50", Target::AtMost(0.2));
    report.figure("roundtrip_p90_ms", percentile(&times, 90.0), "ms", "round trip `return 1;`, p90");
    report.target("roundtrip_p99_ms", percentile(&times, 99.0), "ms", "round trip `return 1;`, p99", Target::AtMost(0.6));
    report.figure("roundtrip_max_ms", max(&times), "ms", "round trip `return 1;`, max");
    report.figure("run_duration_p50_ms", median(&host_durations), "ms", "  of which in the sandbox (stats.durationMs), p50");
    report.figure("roundtrip_host_cpu_us_per_run", host_cpu, "µs", "  host CPU per run (user + system)");
    report.figure("roundtrip_host_minor_faults_per_run", host_faults, "", "  host minor page faults per run");
    Ok(())
}

/// `THROUGHPUT_RUNS` trivial runs from `THROUGHPUT_IN_FLIGHT` concurrent loops.
async fn throughput(host: &Connection, report: &mut Report) -> Result<()> {
    let tickets = Arc::new(AtomicU32::new(0));
    let mut loops = JoinSet::new();
    let (host_before, own_before) = (host.counters()?, Counters::of("self")?);
    let started = Instant::now();
    for _ in 0..THROUGHPUT_IN_FLIGHT {
        let (peer, tickets) = (host.peer(), Arc::clone(&tickets));
        loops.spawn(async move {
            while tickets.fetch_add(1, Ordering::Relaxed) < THROUGHPUT_RUNS {
                execute(&peer, TRIVIAL).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(finished) = loops.join_next().await {
        finished??;
    }
    let runs_per_s = f64::from(THROUGHPUT_RUNS) / started.elapsed().as_secs_f64();
    let (host_cpu, host_faults) = host.counters()?.per_event_since(&host_before, THROUGHPUT_RUNS as usize);
    let (own_cpu, _) = Counters::of("self")?.per_event_since(&own_before, THROUGHPUT_RUNS as usize);
    report.target("throughput_runs_per_s", runs_per_s, "runs/s", "throughput, 32 in flight", Target::AtLeast(10_000.0));
    report.target("throughput_host_cpu_us_per_run", host_cpu, "µs", "  host CPU per run (user + system)", Target::AtMost(100.0));
    report.figure("throughput_host_minor_faults_per_run", host_faults, "", "  host minor page faults per run");
    report.figure("throughput_client_cpu_us_per_run", own_cpu, "µs", "  benchmark client CPU per run");
    report.figure("rss_after_throughput_mb", host.rss_mb()?, "MB", "host RSS after the throughput run");
    Ok(())
}

/// The host's cost per tool call: through the sandbox minus direct. The two
/// are measured in turn, `BRIDGE_REPEATS` times, so both see the same machine.
async fn bridge_overhead(paths: &Paths, peer: &Peer<RoleClient>, report: &mut Report) -> Result<()> {
    let server = Connection::test_server(paths).await?;
    echo_program_ms(peer, 1).await?; // starts the host's test server
    let (mut direct_median, mut direct_mean) = (f64::INFINITY, f64::INFINITY);
    let (mut empty_ms, mut full_ms) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..BRIDGE_REPEATS {
        let times = direct_calls_us(&server.peer()).await?;
        direct_median = direct_median.min(median(&times));
        direct_mean = direct_mean.min(times.iter().sum::<f64>() / times.len() as f64);
        empty_ms = empty_ms.min(echo_program_ms(peer, 0).await?);
        full_ms = full_ms.min(echo_program_ms(peer, BRIDGE_CALLS).await?);
    }
    server.close().await?;
    let sandbox_us = (full_ms - empty_ms) * 1000.0 / BRIDGE_CALLS as f64;
    report.figure("bridge_direct_call_us", direct_median, "µs", "echo called directly, per call (median)");
    report.figure("bridge_direct_call_mean_us", direct_mean, "µs", "echo called directly, per call (mean)");
    report.figure("bridge_sandbox_call_us", sandbox_us, "µs", "echo called from a program, per call (mean)");
    report.target("bridge_overhead_us", sandbox_us - direct_median, "µs", "bridge overhead per tool call", Target::AtMost(30.0));
    Ok(())
}

/// The time of each of `BRIDGE_CALLS` sequential direct `echo` calls, in µs.
async fn direct_calls_us(peer: &Peer<RoleClient>) -> Result<Vec<f64>> {
    let mut times = Vec::with_capacity(BRIDGE_CALLS);
    for _ in 0..BRIDGE_CALLS {
        let (result, elapsed) = call(peer, "echo", json!({ "message": "x" })).await?;
        if result.is_error == Some(true) {
            bail!("echo failed: {result:?}");
        }
        times.push(us(elapsed));
    }
    Ok(times)
}

/// `stats.durationMs` of a program making `calls` sequential `echo` calls.
async fn echo_program_ms(peer: &Peer<RoleClient>, calls: usize) -> Result<f64> {
    let code = format!(
        "const n: number = {calls};\nfor (let i = 0; i < n; i++) await mcp.call(\"test\", \"echo\", {{ message: \"x\" }});\nreturn n;"
    );
    let (response, _) = execute_with(peer, json!({ "code": code, "timeout": 120_000 })).await?;
    if response["result"] != json!(calls) {
        bail!("the echo program returned {}", response["result"]);
    }
    duration_ms(&response)
}

/// `Promise.all` of ten 100 ms calls, timed inside the program.
async fn fan_out(peer: &Peer<RoleClient>, report: &mut Report) -> Result<()> {
    let mut times = Vec::with_capacity(FAN_OUT_REPEATS);
    for _ in 0..FAN_OUT_REPEATS {
        let (response, _) = execute(peer, FAN_OUT_PROGRAM).await?;
        times.push(response["result"].as_f64().context("the fan-out program returns a number")?);
    }
    report.target("promise_all_10x100ms_ms", min(&times), "ms", "Promise.all of 10 x slow(100 ms), best", Target::AtMost(110.0));
    report.figure("promise_all_10x100ms_median_ms", median(&times), "ms", "Promise.all of 10 x slow(100 ms), median");
    Ok(())
}

/// The host's RSS idle, then every `RSS_EVERY` of `RSS_RUNS` sequential runs.
async fn memory(paths: &Paths, report: &mut Report) -> Result<()> {
    let host = Connection::host(paths, &json!({ "mcpServers": {} })).await?;
    tokio::time::sleep(RSS_SETTLE).await;
    let idle = host.rss_mb()?;
    let peer = host.peer();
    let mut readings = Vec::with_capacity(RSS_RUNS / RSS_EVERY);
    for _ in 0..RSS_RUNS / RSS_EVERY {
        for _ in 0..RSS_EVERY {
            execute(&peer, TRIVIAL).await?;
        }
        readings.push(host.rss_mb()?);
    }
    host.close().await?;
    let first = readings[0];
    let drift = readings[readings.len() - 5..]
        .iter()
        .map(|reading| (reading - first) / first * 100.0)
        .fold(0.0, |largest: f64, change| if change.abs() > largest.abs() { change } else { largest });
    report.target("rss_idle_mb", idle, "MB", "host RSS idle (1 s after initialize)", Target::AtMost(30.0));
    report.figure("rss_after_1k_mb", first, "MB", "host RSS after 1,000 runs");
    report.figure("rss_after_10k_mb", readings[readings.len() - 1], "MB", "host RSS after 10,000 runs");
    report.figure("rss_min_mb", min(&readings), "MB", "host RSS, lowest of the 10 readings");
    report.figure("rss_max_mb", max(&readings), "MB", "host RSS, highest of the 10 readings");
    report.target("rss_drift_percent", drift, "%", "RSS drift, last 5 readings vs 1,000-run", Target::Within(5.0));
    report.note("rss_readings_mb", json!(readings.iter().map(|mb| (mb * 10.0).round() / 10.0).collect::<Vec<_>>()));
    memory_after_work(paths, idle, report).await
}

/// What the host keeps after work that needs much memory: `BOMBS`
/// concurrent runs that grow to their memory cap, and a first start with a
/// cold cache (the artifact built with Cranelift); each against `idle`.
async fn memory_after_work(paths: &Paths, idle: f64, report: &mut Report) -> Result<()> {
    let host = Connection::host(paths, &json!({ "mcpServers": {} })).await?;
    let peer = host.peer();
    let mut bombs = JoinSet::new();
    for _ in 0..BOMBS {
        let peer = peer.clone();
        bombs.spawn(async move { respond(&peer, json!({ "code": MEMORY_BOMB })).await });
    }
    while let Some(bomb) = bombs.join_next().await {
        let (response, _) = bomb??;
        if response["error"]["kind"] != json!("memory_limit") {
            bail!("a memory bomb did not end at the memory cap: {response}");
        }
    }
    tokio::time::sleep(AFTER_WORK_SETTLE).await;
    let after_bombs = host.rss_mb()?;
    host.close().await?;
    let cold = tempfile::tempdir()?;
    let cold_paths = Paths { host: paths.host.clone(), test_server: paths.test_server.clone(), cache_dir: cold.path().join("cache") };
    let host = Connection::host(&cold_paths, &json!({ "mcpServers": {} })).await?;
    execute(&host.peer(), TRIVIAL).await?;
    tokio::time::sleep(AFTER_WORK_SETTLE).await;
    let after_cold_start = host.rss_mb()?;
    host.close().await?;
    report.target("rss_after_bombs_mb", after_bombs, "MB", "host RSS after 16 concurrent memory bombs", Target::AtMost(idle + 10.0));
    report.target("rss_after_cold_start_mb", after_cold_start, "MB", "host RSS after a cold start's first run", Target::AtMost(idle + 10.0));
    Ok(())
}

/// Per-phase medians of `PHASE_RUNS` runs through the library.
async fn phases(paths: &Paths, report: &mut Report) -> Result<()> {
    let started = Instant::now();
    let sandbox = Sandbox::new(Limits::default(), &paths.cache_dir).await?;
    report.figure("sandbox_new_ms", ms(started.elapsed()), "ms", "Sandbox::new with the warm cache");
    let bridge = Bridge::new(&Config::default());
    let timings = time_runs(&sandbox, &bridge, PHASE_PROGRAM).await?;
    let phase = |pick: fn(&PhaseTimings) -> Duration| median(&timings.iter().map(|timing| us(pick(timing))).collect::<Vec<_>>());
    report.figure("transpile_us", phase(|timing| timing.transpile), "µs", "transpile (TypeScript to JavaScript)");
    report.figure("instantiate_us", phase(|timing| timing.instantiate), "µs", "instantiate (store + instance)");
    report.figure("execute_us", phase(|timing| timing.execute), "µs", "execute (compile JS + run)");
    report.figure("init_us", 0.0, "µs", "runtime init (snapshotted at build: 0 per run)");
    let before = Counters::of("self")?;
    let trivial = time_runs(&sandbox, &bridge, TRIVIAL).await?;
    let (_, faults) = Counters::of("self")?.per_event_since(&before, PHASE_WARMUP + PHASE_RUNS);
    let totals: Vec<f64> = trivial.iter().map(|timing| us(timing.transpile + timing.instantiate + timing.execute)).collect();
    report.figure("trivial_phases_total_us", median(&totals), "µs", "all phases of `return 1;`, median");
    report.figure("trivial_minor_faults_per_run", faults, "", "  minor page faults per run of `return 1;`");
    Ok(())
}

/// `PHASE_RUNS` timed runs of `source` after `PHASE_WARMUP` untimed ones.
async fn time_runs(sandbox: &Sandbox, bridge: &Bridge, source: &str) -> Result<Vec<PhaseTimings>> {
    for _ in 0..PHASE_WARMUP {
        time_phases(sandbox, bridge, source).await?;
    }
    let mut timings = Vec::with_capacity(PHASE_RUNS);
    for _ in 0..PHASE_RUNS {
        timings.push(time_phases(sandbox, bridge, source).await?);
    }
    Ok(timings)
}

/// One run with a fresh grant, as `execute_code` gives each run.
async fn time_phases(sandbox: &Sandbox, bridge: &Bridge, source: &str) -> Result<PhaseTimings> {
    let grant = Arc::new(bridge.grant(bridge.capabilities()));
    let context = RunContext::new(Instant::now() + Duration::from_secs(30), Default::default(), Default::default(), u64::MAX);
    let access = GrantAccess::new(grant, std::sync::Weak::new(), context);
    sandbox.time_phases(source, Arc::new(access)).await.map_err(anyhow::Error::msg)
}
