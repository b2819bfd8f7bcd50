//! How cost grows: curves, not points. `bench curves` runs only this.
//!
//! Each curve is measured at sizes spread evenly on a log scale, and its
//! growth exponent is the slope of log(time) over log(size) fitted to the
//! upper half of its points (where the size-driven cost outweighs the fixed
//! cost of a call). An exponent of 1 is linear; above [`LINEAR_LIMIT`] a
//! series is flagged as worse than linear.
//!
//! - Result size (1 KB to 8 MB of JSON): round trip of a program returning an
//!   array of small records, with the whole result sent back
//!   (`maxResultTokens` raised; with the run's own `stats.durationMs`) and
//!   with the default budget (a preview sent, the whole kept in the result
//!   store).
//! - Code size (1 KB to 1 MB of TypeScript, each program unique so nothing
//!   can be cached): round trip, the run's own `stats.durationMs`, and
//!   transpiling alone in-process; and the round trip of programs that are
//!   one `const` per line (QuickJS checks each declaration against all the
//!   earlier ones of its scope: quadratic).
//! - Tool calls in one run (1 to 1,000 calls of the test server's `echo`):
//!   awaited one after another, and all at once with `Promise.all`.
//! - Concurrent runs (1 to 64 trivial runs sent at once): the time until all
//!   have answered.
//! - Downstream tools (10 to 5,000 synthetic tools, in-process through the
//!   library): building the search index, one search with the index built
//!   (the lexical ranking: the synthetic tools are not embedded, so no
//!   model runs), and the TypeScript declarations of all of them as one
//!   server's.
//!
//! Every host round trip goes through the raw client (`raw_client.rs`), so
//! the client adds as little as it can. The curves go into the report as the
//! note `curves` (what `plot.rs` draws) and one `curve_*_exponent` figure per
//! series. Times are medians of repeats.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mcp_code_runtime::search::{Query, ToolIndex};
use mcp_code_runtime::transpile;
use mcp_code_runtime::typegen;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::child::Paths;
use crate::raw_client::RawClient;
use crate::report::{Report, Target, median, ms};
use crate::search_quality::search_eval::synthetic_tools;

/// A growth exponent above this is flagged as worse than linear (1, plus
/// room for the noise of a shared machine).
pub const LINEAR_LIMIT: f64 = 1.15;

const RESULT_BYTES: [usize; 8] = [1_000, 4_000, 16_000, 64_000, 256_000, 1_000_000, 4_000_000, 8_000_000];
const CODE_BYTES: [usize; 7] = [1_000, 4_000, 16_000, 64_000, 128_000, 512_000, 1_000_000];
const TOOL_CALLS: [usize; 7] = [1, 3, 10, 30, 100, 300, 1_000];
const CONCURRENT_RUNS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];
const TOOLS: [usize; 7] = [10, 30, 100, 300, 1_000, 3_000, 5_000];
/// Synthetic tools per server in the search index (as `search_quality.rs`).
const TOOLS_PER_SERVER: usize = 100;
const SEARCH_QUERY: &str = "delete the selected user record by name";
/// The JSON bytes of one record of the result-size program, about.
const RECORD_BYTES: usize = 45;
/// `maxResultTokens` when the whole result is sent: more than 8 MB holds.
const WHOLE_RESULT_TOKENS: usize = 100_000_000;
/// Result size limit of the curves' host: room for the 8 MB result.
const MAX_RESULT_BYTES: usize = 16 << 20;
/// Linear memory of the curves' runs: room for 8 MB of records and their JSON.
const MEMORY_MB: u32 = 512;
/// The time of one point is the median of at least this many repeats...
const MIN_REPEATS: usize = 5;
/// ...and of as many more as fit in this time, up to [`MAX_REPEATS`].
const POINT_BUDGET: Duration = Duration::from_millis(1_500);
const MAX_REPEATS: usize = 40;

/// One panel of the plot: series of (size, time) points over one x axis.
#[derive(Serialize, Deserialize)]
pub struct Curve {
    pub key: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

#[derive(Serialize, Deserialize)]
pub struct Series {
    pub label: String,
    /// (size, milliseconds), sizes ascending.
    pub points: Vec<(f64, f64)>,
    pub exponent: f64,
}

impl Series {
    fn new(label: &str, points: Vec<(f64, f64)>) -> Series {
        let exponent = growth_exponent(&points);
        Series { label: label.to_owned(), points, exponent }
    }
}

pub fn measure(paths: &Paths, report: &mut Report) -> Result<()> {
    report.section("how cost grows (growth exponent of the upper half; 1 is linear)");
    let curves = vec![result_size(paths)?, code_size(paths)?, tool_calls(paths)?, concurrent_runs(paths)?, downstream_tools()?];
    for curve in &curves {
        for series in &curve.series {
            let key = format!("curve_{}_{}_exponent", curve.key, series.label.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
            let label = format!("{}: {}", curve.title, series.label);
            report.target(&key, series.exponent, "", &label, Target::AtMost(LINEAR_LIMIT));
        }
    }
    report.note("curves", serde_json::to_value(&curves)?);
    Ok(())
}

/// The slope of log(y) over log(x), least squares over the upper half of
/// `points` (at least two).
pub fn growth_exponent(points: &[(f64, f64)]) -> f64 {
    let upper = &points[(points.len() / 2).min(points.len().saturating_sub(2))..];
    let logs: Vec<(f64, f64)> = upper.iter().map(|&(x, y)| (x.ln(), y.max(f64::MIN_POSITIVE).ln())).collect();
    let count = logs.len() as f64;
    let (mean_x, mean_y) = (logs.iter().map(|p| p.0).sum::<f64>() / count, logs.iter().map(|p| p.1).sum::<f64>() / count);
    let covariance: f64 = logs.iter().map(|(x, y)| (x - mean_x) * (y - mean_y)).sum();
    let variance: f64 = logs.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    covariance / variance
}

/// The median time of `measure_once`, repeated [`MIN_REPEATS`] times and
/// then as often as [`POINT_BUDGET`] allows.
fn median_ms(mut measure_once: impl FnMut(usize) -> Result<Duration>) -> Result<f64> {
    Ok(medians(|repeat| Ok([ms(measure_once(repeat)?)]))?[0])
}

/// [`median_ms`] of several figures (in ms) measured together.
fn medians<const N: usize>(mut measure_once: impl FnMut(usize) -> Result<[f64; N]>) -> Result<[f64; N]> {
    let started = Instant::now();
    let mut samples: Vec<[f64; N]> = Vec::new();
    while samples.len() < MIN_REPEATS || (samples.len() < MAX_REPEATS && started.elapsed() < POINT_BUDGET) {
        samples.push(measure_once(samples.len())?);
    }
    Ok(std::array::from_fn(|figure| median(&samples.iter().map(|sample| sample[figure]).collect::<Vec<_>>())))
}

/// The round trip and the run's own `stats.durationMs` (transpile, sandbox
/// and tool calls: everything but the MCP path around it), in ms.
fn timed_run(host: &mut RawClient, code: &str) -> Result<[f64; 2]> {
    let (response, elapsed) = run(host, code)?;
    Ok([ms(elapsed), response["stats"]["durationMs"].as_f64().context("stats.durationMs is a number")?])
}

/// The host of the curves: the test server as `test`, limits with room for
/// every size measured, and `maxResultTokens` as given.
fn host(paths: &Paths, max_result_tokens: Option<usize>) -> Result<RawClient> {
    let mut limits = json!({
        "maxResultBytes": MAX_RESULT_BYTES,
        "memoryMb": MEMORY_MB,
        "maxToolCalls": TOOL_CALLS[TOOL_CALLS.len() - 1],
        "timeoutMs": 120_000,
    });
    if let Some(tokens) = max_result_tokens {
        limits["maxResultTokens"] = json!(tokens);
    }
    RawClient::host(paths, &json!({
        "mcpServers": { "test": { "command": paths.test_server, "args": [] } },
        "codeRuntime": { "limits": limits }
    }))
}

/// Runs `code` and returns the structured response and the round trip; the run must succeed.
fn run(host: &mut RawClient, code: &str) -> Result<(Value, Duration)> {
    let (mut result, elapsed) = host.call_tool("execute_code", json!({ "code": code }))?;
    let response = result["structuredContent"].take();
    if response["ok"] != json!(true) {
        bail!("the run failed: {}", truncated(&response.to_string()));
    }
    Ok((response, elapsed))
}

fn truncated(text: &str) -> &str {
    &text[..text.floor_char_boundary(2_000)]
}

/// The whole result first, which tells each size's exact bytes (and the
/// run's own share of the round trip); then the preview, at the same sizes.
fn result_size(paths: &Paths) -> Result<Curve> {
    let programs: Vec<String> = RESULT_BYTES
        .iter()
        .map(|bytes| {
            format!(
                "return Array.from({{ length: {} }}, (_, i) => ({{ id: i, name: `item ${{i}}`, done: i % 2 === 0 }}));",
                bytes / RECORD_BYTES
            )
        })
        .collect();
    let mut sizes = Vec::new();
    let (mut whole, mut in_run, mut preview) = (Vec::new(), Vec::new(), Vec::new());
    let mut client = host(paths, Some(WHOLE_RESULT_TOKENS))?;
    for code in &programs {
        let (response, _) = run(&mut client, code)?;
        let size = serde_json::to_string(&response["result"])?.len() as f64;
        let [round_trip, duration] = medians(|_| timed_run(&mut client, code))?;
        sizes.push(size);
        whole.push((size, round_trip));
        in_run.push((size, duration));
    }
    client.close()?;
    let mut client = host(paths, None)?;
    for (code, &size) in programs.iter().zip(&sizes) {
        run(&mut client, code)?;
        preview.push((size, median_ms(|_| Ok(run(&mut client, code)?.1))?));
    }
    client.close()?;
    let series = vec![
        Series::new("whole result sent", whole),
        Series::new("of which the run (stats.durationMs)", in_run),
        Series::new("preview sent (default budget)", preview),
    ];
    Ok(Curve {
        key: "result_size".into(),
        title: "round trip vs result size".into(),
        x_label: "result JSON bytes".into(),
        y_label: "ms".into(),
        series,
    })
}

/// A program of about `bytes` bytes made of `block`s (each given its number),
/// returning 1; `nonce` makes it unique.
fn program_of(bytes: usize, nonce: usize, block: fn(usize) -> String) -> String {
    let mut code = format!("// program {nonce}\n");
    let mut number = 0;
    while code.len() < bytes {
        code.push_str(&block(number));
        number += 1;
    }
    code.push_str("return 1;\n");
    code
}

/// TypeScript as people write it: an interface, a constant and a function.
fn typed_block(number: usize) -> String {
    format!(
        "interface Row{number} {{ id: number; label: string }}\nconst row{number}: Row{number} = {{ id: {number}, label: \"row {number}\" }};\nfunction score{number}(row: Row{number}): number {{ return row.id * 2 + row.label.length; }}\n"
    )
}

/// One `const` per line: what QuickJS's parser checks against every earlier
/// declaration of the scope.
fn const_block(number: usize) -> String {
    format!("const v{number} = {number} * 2 + 1;\n")
}

fn code_size(paths: &Paths) -> Result<Curve> {
    let mut client = host(paths, None)?;
    let (mut round_trips, mut durations, mut transpiles, mut consts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut nonce = 0;
    for bytes in CODE_BYTES {
        run(&mut client, &program_of(bytes, usize::MAX, typed_block))?;
        let [round_trip, duration] = medians(|_| {
            nonce += 1;
            timed_run(&mut client, &program_of(bytes, nonce, typed_block))
        })?;
        let transpile = median_ms(|repeat| {
            let source = program_of(bytes, repeat, typed_block);
            let started = Instant::now();
            transpile::to_javascript(&source).map_err(|error| anyhow::anyhow!("{error}"))?;
            Ok(started.elapsed())
        })?;
        let of_consts = median_ms(|_| {
            nonce += 1;
            Ok(run(&mut client, &program_of(bytes, nonce, const_block))?.1)
        })?;
        round_trips.push((bytes as f64, round_trip));
        durations.push((bytes as f64, duration));
        transpiles.push((bytes as f64, transpile));
        consts.push((bytes as f64, of_consts));
    }
    client.close()?;
    Ok(Curve {
        key: "code_size".into(),
        title: "round trip vs code size".into(),
        x_label: "TypeScript bytes".into(),
        y_label: "ms".into(),
        series: vec![
            Series::new("round trip", round_trips),
            Series::new("of which the run (stats.durationMs)", durations),
            Series::new("transpile alone (in-process)", transpiles),
            Series::new("round trip, one const per line", consts),
        ],
    })
}

fn tool_calls(paths: &Paths) -> Result<Curve> {
    let mut client = host(paths, None)?;
    run(&mut client, "return await mcp.call(\"test\", \"echo\", { message: \"x\" });")?; // starts the test server
    let programs = [
        ("awaited in turn", "for (let i = 0; i < n; i++) await mcp.call(\"test\", \"echo\", { message: \"x\" });"),
        ("all at once (Promise.all)", "await Promise.all(Array.from({ length: n }, () => mcp.call(\"test\", \"echo\", { message: \"x\" })));"),
    ];
    let mut series = Vec::new();
    for (label, body) in programs {
        let mut points = Vec::new();
        for calls in TOOL_CALLS {
            let code = format!("const n: number = {calls};\n{body}\nreturn n;");
            let time = median_ms(|_| {
                let (response, elapsed) = run(&mut client, &code)?;
                if response["result"] != json!(calls) {
                    bail!("the echo program returned {}", response["result"]);
                }
                Ok(elapsed)
            })?;
            points.push((calls as f64, time));
        }
        series.push(Series::new(label, points));
    }
    client.close()?;
    Ok(Curve {
        key: "tool_calls".into(),
        title: "round trip vs tool calls in one run".into(),
        x_label: "echo calls".into(),
        y_label: "ms".into(),
        series,
    })
}

fn concurrent_runs(paths: &Paths) -> Result<Curve> {
    let mut client = host(paths, None)?;
    let mut points = Vec::new();
    for runs in CONCURRENT_RUNS {
        let calls: Vec<(&str, Value)> = (0..runs).map(|_| ("execute_code", json!({ "code": "return 1;" }))).collect();
        client.call_all(&calls)?;
        let time = median_ms(|_| {
            let started = Instant::now();
            let results = client.call_all(&calls)?;
            let elapsed = started.elapsed();
            if let Some(failed) = results.iter().find(|result| result["structuredContent"]["ok"] != json!(true)) {
                bail!("a concurrent run failed: {failed}");
            }
            Ok(elapsed)
        })?;
        points.push((runs as f64, time));
    }
    client.close()?;
    Ok(Curve {
        key: "concurrent_runs".into(),
        title: "trivial runs sent at once".into(),
        x_label: "runs in flight".into(),
        y_label: "ms until all answered".into(),
        series: vec![Series::new("all answered", points)],
    })
}

fn downstream_tools() -> Result<Curve> {
    let query = Query::parse(SEARCH_QUERY).expect("a valid query");
    let (mut builds, mut searches, mut declarations) = (Vec::new(), Vec::new(), Vec::new());
    for count in TOOLS {
        let tools = synthetic_tools(count, count.div_ceil(TOOLS_PER_SERVER));
        let entries = || tools.iter().map(|(server, tool)| (server.as_str(), tool));
        let build = median_ms(|_| {
            let started = Instant::now();
            std::hint::black_box(ToolIndex::new(entries()));
            Ok(started.elapsed())
        })?;
        let index = ToolIndex::new(entries());
        let search = median_ms(|_| {
            let started = Instant::now();
            let hits = index.search(&query, 10, &|| false).context("not interrupted")?;
            let elapsed = started.elapsed();
            if hits.is_empty() {
                bail!("the synthetic tools match the query");
            }
            Ok(elapsed)
        })?;
        let one_server: Vec<typegen::ToolInfo> = tools.iter().map(|(_, tool)| tool.clone()).collect();
        let declaration = median_ms(|_| {
            let started = Instant::now();
            std::hint::black_box(typegen::server_declarations("synthetic", &one_server));
            Ok(started.elapsed())
        })?;
        let x = count as f64;
        builds.push((x, build));
        searches.push((x, search));
        declarations.push((x, declaration));
    }
    Ok(Curve {
        key: "downstream_tools".into(),
        title: "search and typegen vs downstream tools".into(),
        x_label: "synthetic tools".into(),
        y_label: "ms".into(),
        series: vec![
            Series::new("search index build", builds),
            Series::new("one search (index built)", searches),
            Series::new("typegen (one server)", declarations),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::growth_exponent;

    fn exponent_of(time: fn(f64) -> f64) -> f64 {
        growth_exponent(&[1.0, 10.0, 100.0, 1_000.0, 10_000.0].map(|size| (size, time(size))))
    }

    #[test]
    fn the_growth_exponent_is_the_log_log_slope() {
        assert!((exponent_of(|size| 3.0 * size) - 1.0).abs() < 1e-9);
        assert!((exponent_of(|size| size * size) - 2.0).abs() < 1e-9);
        assert!(exponent_of(|_| 5.0).abs() < 1e-9);
    }

    #[test]
    fn the_growth_exponent_reads_the_upper_half_past_a_fixed_cost() {
        // A fixed cost hides the growth at small sizes, not at large ones.
        let quadratic = exponent_of(|size| 1_000.0 + size * size);
        assert!(quadratic > 1.9, "{quadratic}");
    }
}
