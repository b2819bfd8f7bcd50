//! Side by side (`bench alternatives`): our host beside what a user would
//! pick instead, each driven by the same rmcp client with the same programs.
//!
//! - ours: `mcp-code-runtime serve`, default limits, no downstream servers;
//! - deno: the plan's own design, an MCP server running each program in a
//!   fresh `deno run` subprocess with no permissions (`alternatives/deno-server.mjs`);
//! - node_vm: an MCP server running each program in a fresh `node:vm` context
//!   of its own process, which isolates nothing: a lower bound
//!   (`alternatives/node-vm-server.mjs`).
//!
//! Per contender: spawn to `initialize` answered (median of [`STARTS`]), RSS
//! idle [`SETTLE`] after start, the trivial round trip (p50, p99), each
//! program of the CPU suite ([`crate::cpu::SUITE`], round trip, best of
//! [`CPU_REPEATS`]), `while (true) {}` with a 1 s timeout (time to the answer,
//! and whether the server answers a trivial run afterwards) and a 4 GiB
//! typed-array bomb (stopped or not, the server's RSS after, whether it still
//! answers). Each figure is printed for all three with the ratio to ours.
//!
//! It owns these figures and the contenders' start; the servers themselves
//! are the `.mjs` files beside it (npm packages installed by `make setup`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rmcp::RoleClient;
use rmcp::service::Peer;
use serde_json::{Value, json};

use crate::child::{Connection, Paths, respond};
use crate::cpu::SUITE;
use crate::report::{Report, ms, percentile};

const STARTS: usize = 5;
/// How long after `initialize` the idle RSS is read.
const SETTLE: Duration = Duration::from_secs(1);
const CPU_REPEATS: usize = 3;
const TRIVIAL: &str = "return 1;";
const SPIN: &str = "while (true) {}";
const SPIN_TIMEOUT_MS: u64 = 1_000;
/// 64 typed arrays of 64 MiB each, every byte written: 4 GiB resident if
/// nothing stops it.
const BOMB: &str = r#"const parts = [];
for (let i = 0; i < 64; i++) { const part = new Uint8Array(64 * 1024 * 1024); part.fill(1); parts.push(part); }
return parts.length;"#;
const BOMB_TIMEOUT_MS: u64 = 60_000;

#[derive(Clone, Copy)]
enum Contender {
    Ours,
    Deno,
    NodeVm,
}

impl Contender {
    const ALL: [Contender; 3] = [Contender::Ours, Contender::Deno, Contender::NodeVm];

    fn name(self) -> &'static str {
        match self {
            Contender::Ours => "ours",
            Contender::Deno => "deno",
            Contender::NodeVm => "node_vm",
        }
    }

    /// Sequential trivial runs timed (after a tenth as many untimed): a
    /// deno subprocess per run makes 2,000 take minutes.
    fn roundtrip_calls(self) -> usize {
        match self {
            Contender::Deno => 100,
            Contender::Ours | Contender::NodeVm => 1_000,
        }
    }

    async fn start(self, paths: &Paths, servers: &Path) -> Result<Connection> {
        let node = Path::new("node");
        match self {
            Contender::Ours => Connection::host(paths, &json!({ "mcpServers": {} })).await,
            Contender::Deno => Connection::server(node, &[&servers.join("deno-server.mjs")]).await,
            Contender::NodeVm => Connection::server(node, &[&servers.join("node-vm-server.mjs")]).await,
        }
    }
}

/// What one contender measured.
struct Figures {
    start_ms: f64,
    idle_rss_mb: f64,
    roundtrip_p50_ms: f64,
    roundtrip_p99_ms: f64,
    /// Per program of the suite: the best round trip, and the result.
    cpu: Vec<(f64, Value)>,
    spin_answer_ms: f64,
    spin_still_answers: bool,
    bomb_stopped: bool,
    bomb_answer_ms: f64,
    bomb_rss_after_mb: f64,
    bomb_still_answers: bool,
}

pub async fn measure(paths: &Paths, report: &mut Report) -> Result<()> {
    let servers = servers_dir(paths)?;
    let mut all = Vec::with_capacity(Contender::ALL.len());
    for contender in Contender::ALL {
        println!("measuring {} ...", contender.name());
        all.push(measure_one(contender, paths, &servers).await?);
    }
    for (index, workload) in SUITE.iter().enumerate() {
        let ours = &all[0].cpu[index].1;
        if let Some((contender, figures)) = Contender::ALL.iter().zip(&all).find(|(_, figures)| &figures.cpu[index].1 != ours) {
            bail!("{}: {} returned {} and ours {ours}", workload.name, contender.name(), figures.cpu[index].1);
        }
    }
    let compare = |report: &mut Report, key: &str, unit: &str, label: &str, pick: &dyn Fn(&Figures) -> f64| {
        let values: Vec<(&str, f64)> = Contender::ALL.iter().zip(&all).map(|(contender, figures)| (contender.name(), pick(figures))).collect();
        report.side_by_side(&format!("alt_{key}"), unit, label, &values);
    };
    compare(report, "start_ms", "ms", "spawn to initialize, median", &|f| f.start_ms);
    compare(report, "idle_rss_mb", "MB", "server RSS idle", &|f| f.idle_rss_mb);
    compare(report, "roundtrip_p50_ms", "ms", "round trip `return 1;`, p50", &|f| f.roundtrip_p50_ms);
    compare(report, "roundtrip_p99_ms", "ms", "round trip `return 1;`, p99", &|f| f.roundtrip_p99_ms);
    for (index, workload) in SUITE.iter().enumerate() {
        let label = format!("cpu {}, round trip (best)", workload.name);
        compare(report, &format!("cpu_{}_ms", workload.name), "ms", &label, &|f| f.cpu[index].0);
    }
    compare(report, "spin_answer_ms", "ms", "`while (true) {}`, 1 s timeout: answer", &|f| f.spin_answer_ms);
    flags(report, &all, "alt_spin_still_answers", "  the server answers afterwards", |f| f.spin_still_answers);
    flags(report, &all, "alt_bomb_stopped", "4 GiB typed-array bomb stopped", |f| f.bomb_stopped);
    compare(report, "bomb_answer_ms", "ms", "  time to its answer", &|f| f.bomb_answer_ms);
    compare(report, "bomb_rss_after_mb", "MB", "  server RSS after it", &|f| f.bomb_rss_after_mb);
    flags(report, &all, "alt_bomb_still_answers", "  the server answers afterwards", |f| f.bomb_still_answers);
    Ok(())
}

/// The alternative servers' folder, with its npm packages installed: in the
/// source tree the benchmark was built from, or else in the one whose
/// `target/release/` holds the host (a worktree may share a target dir).
fn servers_dir(paths: &Paths) -> Result<PathBuf> {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/alternatives");
    let beside_host = paths.host.ancestors().nth(3).map(|root| root.join("tests/bench/alternatives"));
    [Some(built_from.clone()), beside_host]
        .into_iter()
        .flatten()
        .find(|dir| dir.join("node_modules/deno/deno").is_file())
        .with_context(|| format!("{} has no node_modules/deno: run `make setup`", built_from.display()))
}

/// A yes/no figure of every contender, printed on one line.
fn flags(report: &mut Report, all: &[Figures], key: &str, label: &str, pick: fn(&Figures) -> bool) {
    let values: Vec<(&str, bool)> = Contender::ALL.iter().zip(all).map(|(contender, figures)| (contender.name(), pick(figures))).collect();
    let line: Vec<String> = values.iter().map(|(name, value)| format!("{name} {}", if *value { "yes" } else { "no" })).collect();
    println!("{label:<40} {}", line.join(" | "));
    report.note(key, Value::Object(values.into_iter().map(|(name, value)| (name.to_owned(), json!(value))).collect()));
}

async fn measure_one(contender: Contender, paths: &Paths, servers: &Path) -> Result<Figures> {
    let mut starts = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        let server = contender.start(paths, servers).await?;
        starts.push(ms(server.startup));
        server.close().await?;
    }
    let server = contender.start(paths, servers).await?;
    tokio::time::sleep(SETTLE).await;
    let idle_rss_mb = server.rss_mb()?;
    let peer = server.peer();
    let calls = contender.roundtrip_calls();
    for _ in 0..calls / 10 {
        run(&peer, TRIVIAL).await?;
    }
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        times.push(ms(run(&peer, TRIVIAL).await?.1));
    }
    let mut cpu = Vec::with_capacity(SUITE.len());
    for workload in SUITE {
        let mut best = (f64::INFINITY, Value::Null);
        for _ in 0..CPU_REPEATS {
            let (result, elapsed) = run(&peer, workload.code).await?;
            best = (best.0.min(ms(elapsed)), result);
        }
        cpu.push(best);
    }
    let (spin, spin_elapsed) = respond(&peer, json!({ "code": SPIN, "timeout": SPIN_TIMEOUT_MS })).await?;
    if spin["ok"] == json!(true) {
        bail!("{}: `while (true) {{}}` succeeded", contender.name());
    }
    let spin_still_answers = answers(&peer).await;
    let started = Instant::now();
    let bomb = respond(&peer, json!({ "code": BOMB, "timeout": BOMB_TIMEOUT_MS })).await;
    let bomb_answer_ms = ms(started.elapsed());
    // A server the bomb killed has no RSS: NaN, printed as such.
    let bomb_rss_after_mb = server.rss_mb().unwrap_or(f64::NAN);
    let bomb_still_answers = answers(&peer).await;
    if bomb_still_answers {
        server.close().await?;
    }
    Ok(Figures {
        start_ms: crate::report::median(&starts),
        idle_rss_mb,
        roundtrip_p50_ms: percentile(&times, 50.0),
        roundtrip_p99_ms: percentile(&times, 99.0),
        cpu,
        spin_answer_ms: ms(spin_elapsed),
        spin_still_answers,
        bomb_stopped: !matches!(bomb, Ok((response, _)) if response["ok"] == json!(true)),
        bomb_answer_ms,
        bomb_rss_after_mb,
        bomb_still_answers,
    })
}

/// Runs `code`, which must succeed, and returns its result and round trip.
async fn run(peer: &Peer<RoleClient>, code: &str) -> Result<(Value, Duration)> {
    let (response, elapsed) = respond(peer, json!({ "code": code })).await?;
    if response["ok"] != json!(true) {
        bail!("the run failed: {response}");
    }
    Ok((response["result"].clone(), elapsed))
}

/// Whether the server still runs `return 1;`.
async fn answers(peer: &Peer<RoleClient>) -> bool {
    matches!(run(peer, TRIVIAL).await, Ok((result, _)) if result == json!(1))
}
