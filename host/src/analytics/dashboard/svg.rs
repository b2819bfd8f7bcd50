//! The charts, as inline SVG: columns over time (stacked), lines over time,
//! and horizontal bars. Every mark carries its data in `data-*` attributes
//! and a `<title>` (the tooltip), so the page can be checked and read
//! without a script. Labels are escaped; nothing is fetched.

use std::fmt::Write as _;

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 26.0;
const ROW: f64 = 26.0;
const LABEL_WIDTH: f64 = 210.0;
const TICKS: u32 = 4;

/// One series of values over the time buckets.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub values: Vec<f64>,
}

/// One horizontal bar: a label, its value, and words for the tooltip.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub detail: String,
}

/// Stacked columns, one per bucket; `labels` name the buckets.
pub fn columns(chart: &str, labels: &[String], series: &[Series<'_>], unit: &str) -> String {
    let totals: Vec<f64> = (0..labels.len()).map(|index| series.iter().map(|one| one.values[index]).sum()).collect();
    let top = axis_top(totals.iter().copied().fold(0.0, f64::max), true);
    let mut svg = open(chart, HEIGHT);
    grid(&mut svg, top, unit);
    let slot = plot_width() / labels.len().max(1) as f64;
    let width = (slot * 0.72).max(1.0);
    for (index, label) in labels.iter().enumerate() {
        let x = LEFT + slot * index as f64 + (slot - width) / 2.0;
        let mut base = 0.0;
        let data: String = series.iter().map(|one| format!(" data-{}=\"{}\"", one.name, number(one.values[index]))).collect();
        let words: Vec<String> = series.iter().map(|one| format!("{} {}", number(one.values[index]), one.name)).collect();
        let _ = write!(svg, "<g class=\"column\" data-bucket=\"{}\"{data}><title>{}: {}</title>", escape(label), escape(label), words.join(", "));
        for one in series {
            let value = one.values[index];
            if value > 0.0 {
                let (y0, y1) = (y_of(base, top), y_of(base + value, top));
                let _ = write!(svg, "<rect x=\"{x:.1}\" y=\"{y1:.1}\" width=\"{width:.1}\" height=\"{:.1}\" rx=\"2\" fill=\"{}\"/>", y0 - y1, one.color);
                base += value;
            }
        }
        svg.push_str("</g>");
    }
    time_axis(&mut svg, labels);
    svg.push_str("</svg>");
    svg
}

/// Lines over the buckets; a bucket without a value (`NaN`) breaks the line.
pub fn lines(chart: &str, labels: &[String], series: &[Series<'_>], unit: &str) -> String {
    let highest = series.iter().flat_map(|one| one.values.iter().copied()).filter(|value| value.is_finite()).fold(0.0, f64::max);
    let top = axis_top(highest, false);
    let mut svg = open(chart, HEIGHT);
    grid(&mut svg, top, unit);
    let slot = plot_width() / labels.len().max(1) as f64;
    for one in series {
        let mut path = String::new();
        let mut pen_down = false;
        let _ = write!(svg, "<g class=\"line\" data-series=\"{}\">", one.name);
        for (index, value) in one.values.iter().enumerate() {
            if !value.is_finite() {
                pen_down = false;
                continue;
            }
            let (x, y) = (LEFT + slot * (index as f64 + 0.5), y_of(*value, top));
            let _ = write!(path, "{}{x:.1},{y:.1} ", if pen_down { "L" } else { "M" });
            pen_down = true;
            let _ = write!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{}\" data-bucket=\"{}\" data-value=\"{}\"><title>{}: {} {} {unit}</title></circle>",
                one.color,
                escape(&labels[index]),
                number(*value),
                escape(&labels[index]),
                one.name,
                number(*value)
            );
        }
        let _ = write!(svg, "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/></g>", path.trim_end(), one.color);
    }
    time_axis(&mut svg, labels);
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars, largest first as given, each with its label and value
/// (followed by `unit` when there is one).
pub fn bars(chart: &str, rows: &[Bar], color: &str, unit: &str) -> String {
    let height = ROW * rows.len().max(1) as f64 + 8.0;
    let top = rows.iter().map(|row| row.value).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let mut svg = open(chart, height);
    if rows.is_empty() {
        let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" class=\"empty\">nothing in this window</text>", WIDTH / 2.0, ROW * 0.62);
    }
    let room = WIDTH - LABEL_WIDTH - RIGHT - 70.0;
    for (index, row) in rows.iter().enumerate() {
        let y = 4.0 + ROW * index as f64;
        let length = (row.value / top * room).max(1.0);
        let _ = write!(
            svg,
            "<g class=\"bar\" data-label=\"{label}\" data-value=\"{value}\"><title>{label}: {detail}</title>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">{short}</text>\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{length:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"value\">{value}{unit}</text></g>",
            LABEL_WIDTH - 8.0,
            y + ROW * 0.62,
            LABEL_WIDTH,
            y + 4.0,
            ROW - 8.0,
            LABEL_WIDTH + length + 6.0,
            y + ROW * 0.62,
            label = escape(&row.label),
            short = escape(&shorten(&row.label, 30)),
            value = number(row.value),
            detail = escape(&row.detail),
            unit = if unit.is_empty() { String::new() } else { format!(" {}", escape(unit)) },
        );
    }
    svg.push_str("</svg>");
    svg
}

fn open(chart: &str, height: f64) -> String {
    format!("<svg data-chart=\"{chart}\" viewBox=\"0 0 {WIDTH} {height:.0}\" width=\"100%\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">")
}

fn plot_width() -> f64 {
    WIDTH - LEFT - RIGHT
}

fn y_of(value: f64, top: f64) -> f64 {
    let plot = HEIGHT - TOP - BOTTOM;
    HEIGHT - BOTTOM - if top > 0.0 { value / top * plot } else { 0.0 }
}

/// Horizontal grid lines and their values, `0` to `top`.
fn grid(svg: &mut String, top: f64, unit: &str) {
    for tick in 0..=TICKS {
        let value = top * f64::from(tick) / f64::from(TICKS);
        let y = y_of(value, top);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            compact(value)
        );
    }
    let _ = write!(svg, "<text x=\"4\" y=\"{:.1}\" class=\"unit\">{}</text>", TOP - 12.0, escape(unit));
}

/// The first, middle and last bucket's labels under the plot.
fn time_axis(svg: &mut String, labels: &[String]) {
    let slot = plot_width() / labels.len().max(1) as f64;
    let mut shown: Vec<usize> = vec![0, labels.len() / 2, labels.len().saturating_sub(1)];
    shown.dedup();
    for index in shown.into_iter().filter(|index| *index < labels.len()) {
        let x = LEFT + slot * (index as f64 + 0.5);
        let _ = write!(svg, "<text x=\"{x:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text>", HEIGHT - 8.0, escape(&labels[index]));
    }
}

/// The top of an axis whose [`TICKS`] ticks are round steps and reach at
/// least `highest`; whole numbers only on an `integer` axis (counts).
pub fn axis_top(highest: f64, integer: bool) -> f64 {
    let wanted = highest / f64::from(TICKS);
    if wanted <= 0.0 || !wanted.is_finite() {
        return f64::from(TICKS);
    }
    let power = 10f64.powf(wanted.log10().floor());
    let step = [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(|step| step * power)
        .filter(|step| !integer || step.fract() == 0.0)
        .find(|step| *step >= wanted * (1.0 - 1e-9))
        .unwrap_or(10.0 * power);
    step.max(if integer { 1.0 } else { 0.0 }) * f64::from(TICKS)
}

/// A number as data: integers without a fraction, others to 0.1, or to
/// 0.01 where 0.1 would round them.
pub fn number(value: f64) -> String {
    match value {
        _ if value.fract() == 0.0 => format!("{value:.0}"),
        _ if (value * 10.0).fract() == 0.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}

/// A tick value: 1.5k, 2M.
fn compact(value: f64) -> String {
    match value {
        _ if value >= 1e6 => format!("{}M", number(value / 1e6)),
        _ if value >= 1e3 => format!("{}k", number(value / 1e3)),
        _ => number(value),
    }
}

fn shorten(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let kept: String = text.chars().take(chars - 1).collect();
    format!("{kept}…")
}

/// Text safe in HTML and SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_have_four_round_steps_and_counts_whole_ones() {
        let counts: Vec<f64> = [0.0, 1.0, 3.0, 7.0, 48.0, 180.0, 2500.0].into_iter().map(|highest| axis_top(highest, true)).collect();
        assert_eq!(counts, [4.0, 4.0, 4.0, 8.0, 60.0, 200.0, 3200.0]);
        let times: Vec<f64> = [0.3, 5.2, 38.7, 750.0].into_iter().map(|highest| axis_top(highest, false)).collect();
        assert_eq!(times, [0.32, 6.0, 40.0, 800.0]);
        assert_eq!([number(0.25), number(0.5), number(12.0)], ["0.25", "0.5", "12"]);
    }

    #[test]
    fn labels_are_escaped_everywhere() {
        let rows = [Bar { label: "<script>\"x\"&".into(), value: 2.0, detail: "'y'".into() }];
        let svg = bars("tools", &rows, "#000", "calls");
        assert!(!svg.contains("<script>") && !svg.contains("\"x\""), "{svg}");
        assert!(svg.contains("data-label=\"&lt;script&gt;&quot;x&quot;&amp;\""), "{svg}");
    }
}
