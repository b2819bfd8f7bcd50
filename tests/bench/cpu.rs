//! CPU-bound JavaScript (`bench cpu`): a small suite written here, run in the
//! sandbox in-process (through the library, fuel and deadline on, as every
//! run has them) and in the same QuickJS compiled natively (`rquickjs` on the
//! host target, with the C configuration the guest's javy uses), best of
//! [`REPEATS`] each, a fresh runtime per run on both sides. It also times a
//! spinning run until it answers `fuel_exhausted` against the budget the
//! default fuel was calibrated to, and what each program burns per second.
//!
//! The cost of fuel metering alone is measured beside the sandbox: the
//! sandbox's engine always consumes fuel, so [`metering`] runs the same guest
//! in two engines of its own, fuel on and off (epoch interruption on in both).
//!
//! It owns the suite ([`SUITE`], which `alternatives.rs` runs too) and these
//! figures; it touches nothing of the host but its public library API.

mod metering;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mcp_code_runtime::bridge::Bridge;
use mcp_code_runtime::config::{Config, Limits};
use mcp_code_runtime::outcome::{ErrorKind, RunOutcome};
use mcp_code_runtime::runtime::GrantAccess;
use mcp_code_runtime::runtime::skill_runs::RunContext;
use mcp_code_runtime::sandbox::{FuelPool, Job, Program, Sandbox};
use serde_json::Value;

use crate::child::Paths;
use crate::report::{Report, Target, ms};
use metering::Harness;

/// Runs of each program on each side; the best counts.
const REPEATS: usize = 3;
/// The deadline of a suite run: far beyond what any program needs.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// What the default fuel budget was calibrated to (config's `DEFAULT_FUEL`:
/// about 10 s of a tight loop on the reference machine).
const CALIBRATED_BUDGET: Duration = Duration::from_secs(10);

/// One program of the suite: the body of a function, returning a small value
/// that every engine must agree on.
pub struct Workload {
    pub name: &'static str,
    pub code: &'static str,
}

/// The suite. Each program takes roughly 0.1 to 0.5 s in native QuickJS.
pub const SUITE: &[Workload] = &[
    Workload {
        name: "numeric_loop",
        code: "let sum = 0;\nfor (let i = 0; i < 3000000; i++) sum = (sum + i * i) % 1000003;\nreturn sum;",
    },
    Workload {
        name: "string_building",
        code: r#"let text = "";
for (let i = 0; i < 200000; i++) text += String.fromCharCode(97 + (i % 26)) + i;
const parts = [];
for (let i = 0; i < 100000; i++) parts.push(`item-${i}`);
const joined = parts.join(",");
return text.length + joined.length + joined.split(",").length;"#,
    },
    Workload {
        name: "json_1mb",
        code: r#"const items = [];
for (let i = 0; i < 9000; i++) items.push({ id: i, name: "item" + i, tags: ["alpha", "beta", "gamma"], score: i / 4, nested: { even: i % 2 === 0, label: "n" + (i % 100) } });
const text = JSON.stringify(items);
let total = 0;
for (let round = 0; round < 4; round++) total += JSON.stringify(JSON.parse(text)).length;
return [text.length, total];"#,
    },
    Workload {
        name: "regex",
        code: r#"const text = "lorem ipsum 2026-11-29 dolor sit amet someone@example.com consectetur 42 adipiscing ".repeat(10000);
let dates = 0;
for (const match of text.matchAll(/(\d{4})-(\d{2})-(\d{2})/g)) dates += Number(match[3]);
const mails = (text.match(/\b[a-z]+@[a-z]+\.com\b/g) || []).length;
const replaced = text.replace(/[aeiou]+/g, "_").length;
const words = text.split(/\s+/).filter((word) => /^[a-z]{5,}$/.test(word)).length;
return [dates, mails, replaced, words];"#,
    },
    Workload {
        name: "objects",
        code: r#"class Point { constructor(x, y) { this.x = x; this.y = y; } add(other) { return new Point(this.x + other.x, this.y + other.y); } }
const byKey = new Map();
let acc = new Point(0, 0);
for (let i = 0; i < 300000; i++) {
  const point = new Point(i % 7, i % 13);
  acc = acc.add(point);
  const key = "k" + (i % 1000);
  const entry = byKey.get(key) || { count: 0, last: null };
  entry.count++;
  entry.last = { ...point, i };
  byKey.set(key, entry);
}
let counted = 0;
for (const entry of byKey.values()) counted += entry.count + entry.last.i % 3;
return [acc.x, acc.y, counted];"#,
    },
    Workload {
        name: "sort_100k",
        code: r#"let seed = 42;
const next = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
const numbers = Array.from({ length: 100000 }, next);
numbers.sort((a, b) => a - b);
const records = numbers.map((n) => ({ key: "r" + (n % 100000), n }));
records.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.n - b.n));
return [numbers[0], numbers[50000], numbers[99999], records[0].key, records[99999].n];"#,
    },
];

pub async fn measure(paths: &Paths, report: &mut Report) -> Result<()> {
    let limits = Limits { default_timeout: RUN_TIMEOUT, ..Limits::default() };
    let sandbox = Sandbox::new(limits.clone(), &paths.cache_dir).await?;
    let bridge = Bridge::new(&Config::default());
    let guest = metering::guest_component(paths.host.parent().context("the host binary lives in a directory")?)?;
    let (metered, unmetered) = (Harness::new(&guest, true)?, Harness::new(&guest, false)?);
    for workload in SUITE {
        let (native, native_result) = best_native(workload.code)?;
        let (ours, outcome) = best_sandboxed(&sandbox, &bridge, &limits, workload.code).await?;
        if outcome.result != native_result {
            bail!("{}: the sandbox returned {} and native QuickJS {native_result}", workload.name, outcome.result);
        }
        let fuel_on = best_guest(&metered, workload.code, &native_result).await?;
        let fuel_off = best_guest(&unmetered, workload.code, &native_result).await?;
        let name = workload.name;
        report.figure(&format!("cpu_{name}_native_ms"), ms(native), "ms", &format!("{name}: native QuickJS"));
        report.figure(&format!("cpu_{name}_sandbox_ms"), ms(ours), "ms", &format!("{name}: sandbox (fuel + deadline)"));
        report.target(&format!("cpu_{name}_ratio"), ratio(ours, native), "x", &format!("{name}: sandbox / native"), Target::AtMost(2.0));
        let fuel_per_s = outcome.stats.fuel_used as f64 / ours.as_secs_f64() / 1e9;
        report.figure(&format!("cpu_{name}_fuel_g_per_s"), fuel_per_s, "G/s", &format!("{name}: fuel burnt per second"));
        report.figure(&format!("cpu_{name}_guest_fuel_on_ms"), ms(fuel_on), "ms", &format!("{name}: guest's run, fuel on (epoch on)"));
        report.figure(&format!("cpu_{name}_guest_fuel_off_ms"), ms(fuel_off), "ms", &format!("{name}: guest's run, fuel off (epoch on)"));
        report.figure(&format!("cpu_{name}_fuel_metering_ratio"), ratio(fuel_on, fuel_off), "x", &format!("{name}: fuel metering alone (on / off)"));
    }
    fuel_exhaustion(&sandbox, &bridge, &limits, report).await
}

/// How long a spinning run takes to answer `fuel_exhausted` with the default
/// budget, against the time that budget was calibrated to.
async fn fuel_exhaustion(sandbox: &Sandbox, bridge: &Bridge, limits: &Limits, report: &mut Report) -> Result<()> {
    let (elapsed, outcome) = run_sandboxed(sandbox, bridge, limits, "while (true) {}").await?;
    let kind = outcome.error.as_ref().map(|error| error.kind);
    if kind != Some(ErrorKind::FuelExhausted) {
        bail!("`while (true) {{}}` ended with {kind:?}, not fuel_exhausted");
    }
    report.figure("fuel_exhausted_after_ms", ms(elapsed), "ms", "`while (true) {}` until fuel_exhausted (default fuel)");
    report.figure("fuel_budget_calibrated_ms", ms(CALIBRATED_BUDGET), "ms", "  the budget the default fuel was calibrated to");
    report.figure("fuel_exhausted_vs_calibrated", ratio(elapsed, CALIBRATED_BUDGET), "x", "  measured / calibrated");
    Ok(())
}

/// The best of [`REPEATS`] native runs, and the result as JSON.
fn best_native(code: &str) -> Result<(Duration, Value)> {
    let mut best = (Duration::MAX, Value::Null);
    for _ in 0..REPEATS {
        let started = Instant::now();
        let result = run_native(code)?;
        best = (best.0.min(started.elapsed()), result);
    }
    Ok(best)
}

/// `code` as the body of a function in a fresh QuickJS runtime and context;
/// its result through `JSON.stringify`, as the guest returns results.
fn run_native(code: &str) -> Result<Value> {
    let runtime = rquickjs::Runtime::new().context("a QuickJS runtime")?;
    let context = rquickjs::Context::full(&runtime).context("a QuickJS context")?;
    let json: String = context
        .with(|context| context.eval(format!("JSON.stringify((function () {{\n{code}\n}})())")))
        .map_err(|error| anyhow::anyhow!("native QuickJS: {error}"))?;
    Ok(serde_json::from_str(&json)?)
}

/// The best of [`REPEATS`] runs of the guest's `run` in `harness`, each of
/// which must return `expected`.
async fn best_guest(harness: &Harness, code: &str, expected: &Value) -> Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..REPEATS {
        let (result, elapsed) = harness.run(code).await?;
        if &result != expected {
            bail!("the guest returned {result} and native QuickJS {expected}");
        }
        best = best.min(elapsed);
    }
    Ok(best)
}

/// The best of [`REPEATS`] sandboxed runs, each of which must succeed.
async fn best_sandboxed(sandbox: &Sandbox, bridge: &Bridge, limits: &Limits, code: &str) -> Result<(Duration, RunOutcome)> {
    let mut best: Option<(Duration, RunOutcome)> = None;
    for _ in 0..REPEATS {
        let (elapsed, outcome) = run_sandboxed(sandbox, bridge, limits, code).await?;
        if !outcome.ok {
            bail!("the sandbox run failed: {:?}", outcome.error);
        }
        if best.as_ref().is_none_or(|(fastest, _)| elapsed < *fastest) {
            best = Some((elapsed, outcome));
        }
    }
    best.context("at least one run")
}

/// One run as `execute_code` gives it: a fresh grant, the default fuel, the
/// deadline of `limits`; timed from transpiling to the outcome.
async fn run_sandboxed(sandbox: &Sandbox, bridge: &Bridge, limits: &Limits, code: &str) -> Result<(Duration, RunOutcome)> {
    let grant = Arc::new(bridge.grant(bridge.capabilities()));
    let context = RunContext::new(Instant::now() + limits.default_timeout, Default::default(), Default::default(), limits.fuel);
    let job = Job {
        program: Program::Source(code.to_owned()),
        timeout: None,
        tools: Arc::new(GrantAccess::new(grant, std::sync::Weak::new(), context)),
        cancel: Default::default(),
        observer: None,
        fuel: FuelPool::new(limits.fuel),
        nested: false,
        paused: Default::default(),
    };
    let started = Instant::now();
    let outcome = sandbox.run(job).await;
    Ok((started.elapsed(), outcome))
}

fn ratio(ours: Duration, theirs: Duration) -> f64 {
    ours.as_secs_f64() / theirs.as_secs_f64()
}
