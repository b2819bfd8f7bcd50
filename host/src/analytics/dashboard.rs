//! The dashboard: one self-contained HTML page (`stats --html FILE`) with
//! the window's totals as cards and charts drawn here as inline SVG ([`svg`]):
//! runs and errors over time, duration percentiles over time, tokens saved
//! over time, errors by kind, top skills, top tools and the slowest servers.
//!
//! The page fetches nothing: no script, font or style comes from elsewhere
//! (its Content-Security-Policy allows only what is inline). Its one small
//! inline script marks the charts the browser laid out
//! (`data-charts-rendered` on `<body>`), which the tests read in headless
//! Chromium. Every mark carries its numbers in `data-*` attributes.

mod svg;

use std::fmt::Write as _;

use super::Report;
use crate::store::RunPoint;
use svg::{Bar, Series, escape, number};

/// Bucket sizes for charts over time, in milliseconds: the smallest that
/// gives at most [`MAX_BUCKETS`] buckets is used.
const BUCKETS_MS: [i64; 12] =
    [1_000, 10_000, 60_000, 300_000, 900_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 604_800_000, 2_592_000_000];
const MAX_BUCKETS: i64 = 48;
const OK_COLOR: &str = "#3b82f6";
const FAILED_COLOR: &str = "#ef4444";
const P95_COLOR: &str = "#f59e0b";
const SAVED_COLOR: &str = "#10b981";
const TOOL_COLOR: &str = "#6366f1";
const SKILL_COLOR: &str = "#0ea5e9";
const SERVER_COLOR: &str = "#a855f7";

/// Runs grouped by time.
struct Timeline {
    labels: Vec<String>,
    ok: Vec<f64>,
    failed: Vec<f64>,
    p50: Vec<f64>,
    p95: Vec<f64>,
    saved: Vec<f64>,
}

/// The page for `report`, whose runs are `points`, made at `now_ms`.
pub fn render(report: &Report, points: &[RunPoint], now_ms: i64, since_ms: Option<i64>) -> String {
    let timeline = timeline(points, since_ms, now_ms);
    let summary = &report.summary;
    let mut page = String::with_capacity(64 * 1024);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>mcp-code-runtime analytics</title><style>{STYLE}</style></head>\
         <body data-runs=\"{}\" data-window=\"{}\"><header><h1>mcp-code-runtime analytics</h1>\
         <p>window <b>{}</b> · made {} UTC</p></header><main>",
        summary.runs,
        escape(&report.window),
        escape(&report.window),
        utc(now_ms),
    );
    page.push_str("<section class=\"cards\">");
    card(&mut page, "runs", "Runs", &summary.runs.to_string(), &format!("{} failed", summary.runs - summary.ok));
    card(&mut page, "success-rate", "Success rate", &format!("{:.1}%", report.success_rate * 100.0), &format!("{} ok", summary.ok));
    card(&mut page, "p50-ms", "Median duration", &format!("{} ms", number(summary.p50_ms)), &format!("p95 {} ms", number(summary.p95_ms)));
    card(&mut page, "tokens-saved", "Tokens saved", &thousands(summary.tokens.saved), &format!("{} read, {} returned", thousands(summary.tokens.consumed), thousands(summary.tokens.returned)));
    let per_run = if summary.runs == 0 { 0.0 } else { summary.tool_calls as f64 / summary.runs as f64 };
    card(&mut page, "tool-calls", "Tool calls", &summary.tool_calls.to_string(), &format!("{per_run:.1} per run"));
    page.push_str("</section><section class=\"grid\">");
    let runs = [
        Series { name: "ok", color: OK_COLOR, values: timeline.ok.clone() },
        Series { name: "failed", color: FAILED_COLOR, values: timeline.failed.clone() },
    ];
    figure(&mut page, "Runs and errors over time", &svg::columns("runs", &timeline.labels, &runs, "runs"), Some(&runs));
    let durations = [
        Series { name: "p50", color: OK_COLOR, values: timeline.p50.clone() },
        Series { name: "p95", color: P95_COLOR, values: timeline.p95.clone() },
    ];
    figure(&mut page, "Duration percentiles", &svg::lines("durations", &timeline.labels, &durations, "ms"), Some(&durations));
    let saved = [Series { name: "saved", color: SAVED_COLOR, values: timeline.saved.clone() }];
    figure(&mut page, "Tokens saved over time", &svg::columns("tokens", &timeline.labels, &saved, "tokens"), None);
    let mut errors: Vec<Bar> = summary.errors.iter().map(|(kind, count)| bar(kind, *count as f64, format!("{count} runs"))).collect();
    errors.sort_by(|one, other| other.value.total_cmp(&one.value));
    figure(&mut page, "Errors by kind", &svg::bars("errors", &errors, FAILED_COLOR, ""), None);
    let skills: Vec<Bar> = summary.top_skills.iter().map(|used| bar(&used.skill, used.calls as f64, format!("{} calls", used.calls))).collect();
    figure(&mut page, "Top skills", &svg::bars("skills", &skills, SKILL_COLOR, ""), None);
    let tools: Vec<Bar> = summary
        .top_tools
        .iter()
        .map(|used| {
            let detail = format!("{} calls, {} failed, {} ms on average, {} bytes received", used.calls, used.failed, number(used.avg_ms), used.bytes_in);
            bar(&format!("{}.{}", used.server, used.tool), used.calls as f64, detail)
        })
        .collect();
    figure(&mut page, "Top tools", &svg::bars("tools", &tools, TOOL_COLOR, ""), None);
    let servers: Vec<Bar> = summary
        .servers
        .iter()
        .map(|used| {
            let detail = format!("{} ms on average, {} ms at most, {} calls, {} failed", number(used.avg_ms), number(used.max_ms), used.calls, used.failed);
            bar(&used.server, used.avg_ms, detail)
        })
        .collect();
    figure(&mut page, "Slowest servers (average call)", &svg::bars("servers", &servers, SERVER_COLOR, "ms"), None);
    let _ = writeln!(page, "</section></main><script>{SCRIPT}</script></body></html>");
    page
}

fn bar(label: &str, value: f64, detail: String) -> Bar {
    Bar { label: label.to_owned(), value, detail }
}

fn card(page: &mut String, metric: &str, title: &str, value: &str, detail: &str) {
    let _ = write!(
        page,
        "<div class=\"card\" data-metric=\"{metric}\"><div class=\"title\">{}</div><div class=\"value\">{}</div><div class=\"detail\">{}</div></div>",
        escape(title),
        escape(value),
        escape(detail)
    );
}

fn figure(page: &mut String, title: &str, chart: &str, legend: Option<&[Series<'_>]>) {
    let _ = write!(page, "<figure><figcaption>{}", escape(title));
    for series in legend.unwrap_or_default() {
        let _ = write!(page, "<span class=\"key\"><i style=\"background:{}\"></i>{}</span>", series.color, series.name);
    }
    let _ = write!(page, "</figcaption>{chart}</figure>");
}

/// The runs by bucket, from the window's start (or the first run) to now.
fn timeline(points: &[RunPoint], since_ms: Option<i64>, now_ms: i64) -> Timeline {
    let start = since_ms.or(points.first().map(|point| point.started_at_ms)).unwrap_or(now_ms).min(now_ms);
    let span = (now_ms - start).max(1);
    let bucket = BUCKETS_MS.into_iter().find(|size| span / size < MAX_BUCKETS).unwrap_or(BUCKETS_MS[BUCKETS_MS.len() - 1]);
    let first = start - start.rem_euclid(bucket);
    let count = ((now_ms - first) / bucket + 1) as usize;
    let mut durations: Vec<Vec<f64>> = vec![Vec::new(); count];
    let mut timeline = Timeline {
        labels: (0..count).map(|index| label(first + bucket * index as i64, bucket)).collect(),
        ok: vec![0.0; count],
        failed: vec![0.0; count],
        p50: Vec::new(),
        p95: Vec::new(),
        saved: vec![0.0; count],
    };
    for point in points {
        let index = (((point.started_at_ms - first) / bucket).max(0) as usize).min(count - 1);
        if point.failed {
            timeline.failed[index] += 1.0;
        } else {
            timeline.ok[index] += 1.0;
        }
        timeline.saved[index] += point.tokens_saved as f64;
        durations[index].push(point.duration_ms);
    }
    for mut bucket in durations {
        bucket.sort_by(f64::total_cmp);
        timeline.p50.push(percentile(&bucket, 50));
        timeline.p95.push(percentile(&bucket, 95));
    }
    timeline
}

/// The nearest-rank percentile of sorted `values` (as the store computes
/// it); `NaN` when there are none.
fn percentile(sorted: &[f64], percent: usize) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (sorted.len() * percent).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A bucket's start: the time of day for buckets under a day, else the date.
fn label(ms: i64, bucket: i64) -> String {
    let stamp = utc(ms);
    match bucket {
        _ if bucket < 60_000 => stamp[11..19].to_owned(),
        _ if bucket < 86_400_000 => stamp[11..16].to_owned(),
        _ => stamp[..10].to_owned(),
    }
}

/// `YYYY-MM-DD HH:MM:SS` of Unix milliseconds, in UTC.
pub fn utc(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", second_of_day / 3600, second_of_day % 3600 / 60, second_of_day % 60)
}

/// 1234567 as `1,234,567`.
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

const STYLE: &str = "\
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2937;background:#f3f4f6}\
header{padding:18px 28px 6px}h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#6b7280}\
main{padding:8px 28px 28px}.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin-bottom:14px}\
.card{background:#fff;border-radius:10px;padding:12px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}\
.card .title{color:#6b7280;font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card .value{font-size:26px;font-weight:600;margin:2px 0}\
.card .detail{color:#6b7280;font-size:12px}.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:14px}\
figure{margin:0;background:#fff;border-radius:10px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}\
figcaption{font-weight:600;margin-bottom:6px}.key{font-weight:400;color:#6b7280;font-size:12px;margin-left:12px}\
.key i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}\
svg text{font-size:11px;fill:#6b7280}svg .label{fill:#374151;font-size:12px}svg .value{fill:#374151}\
svg .grid{stroke:#e5e7eb;stroke-width:1}svg .empty{text-anchor:middle;fill:#9ca3af}svg .unit{font-size:10px}";

/// Marks the charts the browser laid out (a non-empty box).
const SCRIPT: &str = "\
const charts=[...document.querySelectorAll('svg[data-chart]')];\
const laidOut=charts.filter(c=>{const b=c.getBoundingClientRect();return b.width>0&&b.height>0;});\
document.body.dataset.chartsRendered=String(laidOut.length);";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(utc(1_798_761_599_000), "2026-12-31 23:59:59");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }

    #[test]
    fn runs_fall_into_buckets_with_their_percentiles() {
        let point = |at, duration, failed| RunPoint { started_at_ms: at, duration_ms: duration, failed, tokens_saved: 10 };
        let points = [point(0, 5.0, false), point(500, 7.0, true), point(2_500, 9.0, false)];
        let timeline = timeline(&points, None, 3_000);
        assert_eq!(timeline.labels.len(), 4, "one-second buckets over three seconds");
        assert_eq!((timeline.ok, timeline.failed), (vec![1.0, 0.0, 1.0, 0.0], vec![1.0, 0.0, 0.0, 0.0]));
        assert_eq!(timeline.p95[0], 7.0);
        assert!(timeline.p50[1].is_nan());
        assert_eq!(timeline.saved, [20.0, 0.0, 10.0, 0.0]);
    }
}
