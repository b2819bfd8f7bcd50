//! Where a benchmark run's figures go besides stdout: `target/bench/`, as
//! JSON (`<name>-<time>.json` and `<latest>.json`, the same object as the
//! last line of stdout) and, when the run measured curves, an SVG plot of them
//! beside each (`plot.rs`). Every file carries the date and the machine.
//!
//! A full run is named `bench` and its latest copy `latest`; `bench X` runs
//! are `bench-X` and `latest-X`, so a partial run never replaces a full one.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use mcp_code_runtime::analytics::dashboard;
use serde_json::{Value, json};

use crate::curves::Curve;
use crate::plot;
use crate::report::Report;

/// When and where the run happened, recorded as the notes `date` and `machine`.
pub fn describe_run(report: &mut Report) {
    report.note("date", json!(utc_now()));
    report.note("machine", json!(machine()));
}

/// Prints the report's JSON line and writes it (and the plot of its curves,
/// if any) under `target/bench/`. `section` is `None` for a full run.
pub fn finish(report: Report, section: Option<&str>) -> Result<()> {
    let line = report.json_line();
    println!("{line}");
    let figures: Value = serde_json::from_str(&line)?;
    let directory = bench_dir()?;
    std::fs::create_dir_all(&directory).with_context(|| format!("creating {}", directory.display()))?;
    let (name, latest) = match section {
        None => ("bench".to_owned(), "latest".to_owned()),
        Some(section) => (format!("bench-{section}"), format!("latest-{section}")),
    };
    let stamp = figures["date"].as_str().unwrap_or("undated").replace(':', "-");
    let svg = match figures.get("curves") {
        Some(curves) => {
            let curves: Vec<Curve> = serde_json::from_value(curves.clone()).context("the curves note")?;
            let subtitle = format!("{}, {}", figures["date"].as_str().unwrap_or(""), figures["machine"].as_str().unwrap_or(""));
            Some(plot::svg(&curves, &subtitle))
        }
        None => None,
    };
    for stem in [format!("{name}-{stamp}"), latest] {
        write(&directory.join(format!("{stem}.json")), &line)?;
        if let Some(svg) = &svg {
            write(&directory.join(format!("{stem}.svg")), svg)?;
        }
    }
    println!("figures written to {}", directory.display());
    Ok(())
}

fn write(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// `target/bench`, beside `target/release` where this binary lives.
fn bench_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let target = exe.parent().and_then(Path::parent).context("the benchmark lives in target/<profile>/")?;
    Ok(target.join("bench"))
}

/// The time now in UTC, as `2026-11-29T18:04:05Z`.
fn utc_now() -> String {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as i64);
    utc_stamp(ms)
}

/// Unix milliseconds in UTC as `2026-11-29T18:04:05Z`, from the dashboard's calendar.
fn utc_stamp(ms: i64) -> String {
    format!("{}Z", dashboard::utc(ms).replacen(' ', "T", 1))
}

/// The CPU model, its logical cores, the memory and the kernel.
fn machine() -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo.lines().find_map(|line| line.strip_prefix("model name")).and_then(|rest| rest.split(':').nth(1)).map_or("unknown CPU", str::trim);
    let cores = std::thread::available_parallelism().map_or(0, |cores| cores.get());
    let memory_gib = read("/proc/meminfo")
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kilobytes| kilobytes / 1024.0 / 1024.0);
    format!("{model}, {cores} cores, {memory_gib:.0} GiB, Linux {}", read("/proc/sys/kernel/osrelease").trim())
}

#[cfg(test)]
mod tests {
    use super::utc_stamp;

    const DAY_MS: i64 = 86_400_000;

    #[test]
    fn days_since_the_epoch_are_gregorian_dates() {
        assert_eq!(utc_stamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_stamp(11_017 * DAY_MS), "2000-03-01T00:00:00Z");
        assert_eq!(utc_stamp(19_782 * DAY_MS), "2024-02-29T00:00:00Z");
        assert_eq!(utc_stamp(20_786 * DAY_MS + 65_045_000), "2026-11-29T18:04:05Z");
    }
}
