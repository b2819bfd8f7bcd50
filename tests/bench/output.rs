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
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", of_day / 3600, of_day % 3600 / 60, of_day % 60)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 } as u32;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
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
    use super::civil_from_days;

    #[test]
    fn days_since_the_epoch_are_gregorian_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_786), (2026, 11, 29));
    }
}
