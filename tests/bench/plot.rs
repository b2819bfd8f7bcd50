//! The plot of the curves (`curves.rs`): one SVG, one log-log panel per
//! curve, each series a line of points with its growth exponent in the legend
//! and a dashed line of slope 1 (linear growth) for comparison. Hand-written
//! SVG: a few rectangles, lines and labels need no plotting library.
//!
//! Pure: it turns curves into SVG text; writing the file is `output.rs`'s.

use std::fmt::Write;

use crate::curves::{Curve, LINEAR_LIMIT};

const COLUMNS: usize = 2;
const PANEL_WIDTH: f64 = 500.0;
const PANEL_HEIGHT: f64 = 340.0;
const HEADER: f64 = 72.0;
/// The plot area inside a panel: left, right, top, bottom margins.
const MARGIN: (f64, f64, f64, f64) = (64.0, 20.0, 36.0, 48.0);
const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
const FONT: &str = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";

/// The SVG of `curves`, titled with `subtitle` (date and machine).
pub fn svg(curves: &[Curve], subtitle: &str) -> String {
    let rows = curves.len().div_ceil(COLUMNS).max(1);
    let (width, height) = (PANEL_WIDTH * COLUMNS as f64, HEADER + PANEL_HEIGHT * rows as f64);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" {FONT}>"
    );
    let _ = writeln!(out, "<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
    let _ = writeln!(out, "<text x=\"16\" y=\"24\" font-size=\"18\" font-weight=\"bold\">mcp-code-runtime: how cost grows (log-log)</text>");
    let _ = writeln!(out, "<text x=\"16\" y=\"44\" font-size=\"12\" fill=\"#444\">{}</text>", escape(subtitle));
    let _ = writeln!(
        out,
        "<text x=\"16\" y=\"62\" font-size=\"12\" fill=\"#444\">k: growth exponent of the upper half · dashed: linear (k = 1) · red ⚠: k &gt; {LINEAR_LIMIT}, worse than linear</text>"
    );
    for (index, curve) in curves.iter().enumerate() {
        let (column, row) = (index % COLUMNS, index / COLUMNS);
        panel(&mut out, curve, PANEL_WIDTH * column as f64, HEADER + PANEL_HEIGHT * row as f64);
    }
    out.push_str("</svg>\n");
    out
}

/// A log axis over whole decades covering `values`.
struct Axis {
    low: f64,
    high: f64,
}

impl Axis {
    fn covering(values: impl Iterator<Item = f64>) -> Axis {
        let (low, high) = values.filter(|v| *v > 0.0).fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), v| (low.min(v), high.max(v)));
        if !low.is_finite() {
            return Axis { low: 0.0, high: 1.0 };
        }
        let (low, high) = (low.log10().floor(), high.log10().ceil());
        Axis { low, high: if high > low { high } else { low + 1.0 } }
    }

    /// Where `value` falls, from 0 (low) to 1 (high).
    fn fraction(&self, value: f64) -> f64 {
        (value.max(f64::MIN_POSITIVE).log10() - self.low) / (self.high - self.low)
    }

    fn decades(&self) -> impl Iterator<Item = f64> + '_ {
        (self.low as i32..=self.high as i32).map(|exponent| 10f64.powi(exponent))
    }

    /// 2× to 9× of each decade but the last.
    fn minor(&self) -> impl Iterator<Item = f64> + '_ {
        self.decades().take_while(|decade| decade.log10() < self.high).flat_map(|decade| (2..10).map(move |step| decade * f64::from(step)))
    }
}

fn panel(out: &mut String, curve: &Curve, left: f64, top: f64) {
    let (plot_left, plot_top) = (left + MARGIN.0, top + MARGIN.2);
    let (plot_width, plot_height) = (PANEL_WIDTH - MARGIN.0 - MARGIN.1, PANEL_HEIGHT - MARGIN.2 - MARGIN.3);
    let points = || curve.series.iter().flat_map(|series| series.points.iter());
    let (x_axis, y_axis) = (Axis::covering(points().map(|p| p.0)), Axis::covering(points().map(|p| p.1)));
    let at = |x: f64, y: f64| (plot_left + x_axis.fraction(x) * plot_width, plot_top + (1.0 - y_axis.fraction(y)) * plot_height);

    let _ = writeln!(out, "<text x=\"{}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{}</text>", plot_left, top + 22.0, escape(&curve.title));
    let _ = writeln!(out, "<rect x=\"{plot_left}\" y=\"{plot_top}\" width=\"{plot_width}\" height=\"{plot_height}\" fill=\"none\" stroke=\"#888\"/>");
    for x in x_axis.minor() {
        let (px, _) = at(x, 1.0);
        let _ = writeln!(out, "<line x1=\"{px:.1}\" y1=\"{plot_top}\" x2=\"{px:.1}\" y2=\"{}\" stroke=\"#f0f0f0\"/>", plot_top + plot_height);
    }
    for y in y_axis.minor() {
        let (_, py) = at(1.0, y);
        let _ = writeln!(out, "<line x1=\"{plot_left}\" y1=\"{py:.1}\" x2=\"{}\" y2=\"{py:.1}\" stroke=\"#f0f0f0\"/>", plot_left + plot_width);
    }
    for x in x_axis.decades() {
        let (px, _) = at(x, 1.0);
        let _ = writeln!(out, "<line x1=\"{px:.1}\" y1=\"{plot_top}\" x2=\"{px:.1}\" y2=\"{}\" stroke=\"#d8d8d8\"/>", plot_top + plot_height);
        let _ = writeln!(out, "<text x=\"{px:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>", plot_top + plot_height + 15.0, tick(x));
    }
    for y in y_axis.decades() {
        let (_, py) = at(1.0, y);
        let _ = writeln!(out, "<line x1=\"{plot_left}\" y1=\"{py:.1}\" x2=\"{}\" y2=\"{py:.1}\" stroke=\"#d8d8d8\"/>", plot_left + plot_width);
        let _ = writeln!(out, "<text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>", plot_left - 5.0, py + 4.0, tick(y));
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>",
        plot_left + plot_width / 2.0,
        plot_top + plot_height + 34.0,
        escape(&curve.x_label)
    );
    let (label_x, label_y) = (left + 16.0, plot_top + plot_height / 2.0);
    let _ = writeln!(
        out,
        "<text x=\"{label_x}\" y=\"{label_y}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 {label_x} {label_y})\">{}</text>",
        escape(&curve.y_label)
    );
    if let Some(&(x, y)) = curve.series.first().and_then(|series| series.points.last()) {
        linear_reference(out, &x_axis, &y_axis, (x, y), &at);
    }
    for (index, series) in curve.series.iter().enumerate() {
        let color = COLORS[index % COLORS.len()];
        let line: Vec<String> = series.points.iter().map(|&(x, y)| {
            let (px, py) = at(x, y);
            format!("{px:.1},{py:.1}")
        }).collect();
        let _ = writeln!(out, "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>", line.join(" "));
        for &(x, y) in &series.points {
            let (px, py) = at(x, y);
            let _ = writeln!(out, "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3\" fill=\"{color}\"/>");
        }
        let flag = if series.exponent > LINEAR_LIMIT { " ⚠" } else { "" };
        let (legend_x, legend_y) = (plot_left + 8.0, plot_top + 16.0 + 16.0 * index as f64);
        let _ = writeln!(out, "<rect x=\"{legend_x}\" y=\"{}\" width=\"12\" height=\"4\" fill=\"{color}\"/>", legend_y - 5.0);
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{legend_y}\" font-size=\"11\" fill=\"{}\">{} (k = {:.2}){flag}</text>",
            legend_x + 17.0,
            if flag.is_empty() { "#222" } else { "#b00" },
            escape(&series.label),
            series.exponent
        );
    }
}

/// A dashed line of slope 1 through `through`, clipped to the plot area.
fn linear_reference(out: &mut String, x_axis: &Axis, y_axis: &Axis, through: (f64, f64), at: &dyn Fn(f64, f64) -> (f64, f64)) {
    let (x, y) = through;
    // y = y0 * x / x0; keep the part inside both axes.
    let x_low = 10f64.powf(x_axis.low).max(x * 10f64.powf(y_axis.low) / y);
    let x_high = 10f64.powf(x_axis.high).min(x * 10f64.powf(y_axis.high) / y);
    if x_low >= x_high {
        return;
    }
    let ((x1, y1), (x2, y2)) = (at(x_low, y * x_low / x), at(x_high, y * x_high / x));
    let _ = writeln!(out, "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"#999\" stroke-dasharray=\"5 4\"/>");
}

/// A decade's label: 0.01, 1, 100, 10k, 1M.
fn tick(value: f64) -> String {
    match value {
        v if v >= 1e9 => format!("{}G", v / 1e9),
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e3 => format!("{}k", v / 1e3),
        v => format!("{}", (v * 1e6).round() / 1e6),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
