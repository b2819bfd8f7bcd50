//! State: what the cache and sessions cost a program that uses them, and
//! what they add to a run that does not. `bench state` runs only this.
//!
//! - Latency, through the release host: a program calls `cache.get` (a
//!   small object), `cache.set` and `session.get` (a small session)
//!   [`LOOP`] times each and `sessions.get` (a database query) [`DB_LOOP`]
//!   times, timed inside the sandbox with `performance.now()`, minus an
//!   empty loop of the same length; medians over [`REPEATS`] runs.
//! - A run with a session: the round trip of `execute_code` that updates a
//!   session (read at its start, saved at its end) minus that of the same
//!   program without one, medians of [`CALLS`] calls taken in turn.
//! - A run that does not use state, through the library: a trivial program
//!   run in the sandbox with the host's state in its context (as every
//!   `execute_code` run has it) minus without, medians of [`RUNS`] runs
//!   each, taken in turn. Both instances link the `state` imports (they are
//!   part of the guest); what differs is everything the host does per run
//!   for the state: it must stay within 20 µs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mcp_code_runtime::bridge::Bridge;
use mcp_code_runtime::config::{Config, Limits, RuntimeSettings};
use mcp_code_runtime::runtime::GrantAccess;
use mcp_code_runtime::runtime::skill_runs::RunContext;
use mcp_code_runtime::runtime::state::RunState;
use mcp_code_runtime::sandbox::Sandbox;
use mcp_code_runtime::state::State;
use serde_json::{Value, json};

use crate::child::{Connection, Paths, execute_with};
use crate::report::{Report, Target, median, ms, us};

const LOOP: usize = 10_000;
const DB_LOOP: usize = 200;
const REPEATS: usize = 11;
const CALLS: usize = 300;
const WARMUP: usize = 50;
const RUNS: usize = 2_000;

const LATENCY: &str = r#"
const N = __LOOP__, DB = __DB_LOOP__;
const time = (count, body) => { const started = performance.now(); for (let i = 0; i < count; i++) body(i); return (performance.now() - started) * 1000 / count; };
cache.set("bench", { id: 7, name: "a task", tags: ["x", "y"] });
session.set({ step: 3, files: ["a.ts", "b.ts"], done: false });
const id = sessions.create("bench", { pageIndex: 0 });
const empty = time(N, () => {});
const result = {
  cacheGet: time(N, () => cache.get("bench")) - empty,
  cacheSet: time(N, (i) => cache.set("bench-set", i)) - empty,
  sessionGet: time(N, () => session.get()) - empty,
  sessionsGet: time(DB, () => sessions.get(id)) - empty,
};
sessions.destroy(id);
return result;
"#;

const UPDATE: &str = "session.update({ step: 1 }); return 1;";

pub async fn measure(paths: &Paths, report: &mut Report) -> Result<()> {
    latency(paths, report).await?;
    unused(paths, report).await
}

async fn latency(paths: &Paths, report: &mut Report) -> Result<()> {
    let host = Connection::host(paths, &json!({ "mcpServers": {} })).await?;
    let peer = host.peer();
    let program = LATENCY.replace("__LOOP__", &LOOP.to_string()).replace("__DB_LOOP__", &DB_LOOP.to_string());
    let mut figures: Vec<Value> = Vec::with_capacity(REPEATS);
    for _ in 0..REPEATS {
        let (response, _) = execute_with(&peer, json!({ "code": program, "sessionId": "bench", "timeout": 120_000 })).await?;
        figures.push(response["result"].clone());
    }
    let pick = |key: &str| -> Result<f64> {
        let values = figures.iter().map(|figure| figure[key].as_f64().with_context(|| format!("{key} is a number"))).collect::<Result<Vec<_>>>()?;
        Ok(median(&values))
    };
    report.figure("cache_get_us", pick("cacheGet")?, "µs", "cache.get of a small object, in the sandbox");
    report.figure("cache_set_us", pick("cacheSet")?, "µs", "cache.set of a number");
    report.figure("session_get_us", pick("sessionGet")?, "µs", "session.get of a small session");
    report.figure("sessions_get_us", pick("sessionsGet")?, "µs", "sessions.get (a database query and write)");

    let (mut with_session, mut without) = (Vec::with_capacity(CALLS), Vec::with_capacity(CALLS));
    for round in 0..WARMUP + CALLS {
        let (_, plain) = execute_with(&peer, json!({ "code": "return 1;" })).await?;
        let (_, session) = execute_with(&peer, json!({ "code": UPDATE, "sessionId": "bench-run" })).await?;
        if round >= WARMUP {
            without.push(ms(plain));
            with_session.push(ms(session));
        }
    }
    host.close().await?;
    report.figure(
        "session_run_overhead_ms",
        median(&with_session) - median(&without),
        "ms",
        "a run that updates its session (read + save), round trip",
    );
    Ok(())
}

async fn unused(paths: &Paths, report: &mut Report) -> Result<()> {
    let sandbox = Sandbox::new(Limits::default(), &paths.cache_dir).await?;
    let bridge = Bridge::new(&Config::default());
    let data = tempfile::tempdir()?;
    let state = State::new(&RuntimeSettings { data_dir: Some(data.path().to_owned()), ..RuntimeSettings::default() });
    let (mut stateful, mut plain) = (Vec::with_capacity(RUNS), Vec::with_capacity(RUNS));
    for round in 0..WARMUP + RUNS {
        let with_state = timed_run(&sandbox, &bridge, Some(&state)).await?;
        let without = timed_run(&sandbox, &bridge, None).await?;
        if round >= WARMUP {
            stateful.push(with_state);
            plain.push(without);
        }
    }
    report.figure("trivial_run_with_state_us", median(&stateful), "µs", "`return 1;` in the sandbox, state in its context");
    report.target(
        "state_unused_overhead_us",
        median(&stateful) - median(&plain),
        "µs",
        "what the state adds to a run that does not use it",
        Target::AtMost(20.0),
    );
    Ok(())
}

/// One run of `return 1;` with a fresh grant, from building its context to
/// its outcome, with the host's state or without.
async fn timed_run(sandbox: &Sandbox, bridge: &Bridge, state: Option<&Arc<State>>) -> Result<f64> {
    let started = Instant::now();
    let grant = Arc::new(bridge.grant(bridge.capabilities()));
    let mut context = RunContext::new(Instant::now() + Duration::from_secs(30), Default::default(), Default::default(), u64::MAX);
    if let Some(state) = state {
        context = context.stateful(RunState::new(Arc::clone(state), None));
    }
    let access = GrantAccess::new(grant, std::sync::Weak::new(), context);
    sandbox.time_phases("return 1;", Arc::new(access)).await.map_err(anyhow::Error::msg)?;
    Ok(us(started.elapsed()))
}
