//! The benchmark's output: one readable line per figure as it is measured, and
//! at the end one JSON object with every figure and which targets were met.

use std::time::Duration;

use serde_json::{Map, Value, json};

/// A target a figure must stay at or under (`AtMost`), at or over (`AtLeast`),
/// or within plus or minus a bound of zero (`Within`).
#[derive(Clone, Copy)]
pub enum Target {
    AtMost(f64),
    AtLeast(f64),
    Within(f64),
}

impl Target {
    fn met(self, value: f64) -> bool {
        match self {
            Target::AtMost(limit) => value <= limit,
            Target::AtLeast(limit) => value >= limit,
            Target::Within(bound) => value.abs() <= bound,
        }
    }

    fn describe(self, unit: &str) -> String {
        match self {
            Target::AtMost(limit) => format!("<= {limit} {unit}"),
            Target::AtLeast(limit) => format!(">= {limit} {unit}"),
            Target::Within(bound) => format!("within ±{bound} {unit}"),
        }
    }
}

#[derive(Default)]
pub struct Report {
    figures: Map<String, Value>,
    targets_met: Map<String, Value>,
}

impl Report {
    /// Records a figure with no target and prints it.
    pub fn figure(&mut self, key: &str, value: f64, unit: &str, label: &str) {
        println!("{label:<52} {:>12} {unit}", format_number(value));
        self.figures.insert(key.to_owned(), json!(round(value)));
    }

    /// Records a figure with a target and prints it with whether it was met.
    pub fn target(&mut self, key: &str, value: f64, unit: &str, label: &str, target: Target) {
        let met = target.met(value);
        let verdict = if met { "met" } else { "NOT MET" };
        println!("{label:<52} {:>12} {unit:<6} target {:<16} {verdict}", format_number(value), target.describe(unit));
        self.figures.insert(key.to_owned(), json!(round(value)));
        self.targets_met.insert(key.to_owned(), json!(met));
    }

    /// Records one figure measured for several contenders, ours first, and
    /// prints them on one line, each beside its ratio to ours (theirs / ours;
    /// also in the JSON as `<name>_ratio`).
    pub fn side_by_side(&mut self, key: &str, unit: &str, label: &str, values: &[(&str, f64)]) {
        let Some(&(_, ours)) = values.first() else { return };
        let line: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(index, &(name, value))| {
                let figure = format!("{name} {} {unit}", format_number(value));
                if index == 0 { figure } else { format!("{figure} ({}x ours)", format_number(value / ours)) }
            })
            .collect();
        println!("{label:<40} {}", line.join(" | "));
        let mut figures = Map::new();
        for (index, &(name, value)) in values.iter().enumerate() {
            figures.insert(name.to_owned(), json!(round(value)));
            if index > 0 {
                figures.insert(format!("{name}_ratio"), json!(round(value / ours)));
            }
        }
        self.figures.insert(key.to_owned(), Value::Object(figures));
    }

    /// Records a value that is not a measurement (a count, a note).
    pub fn note(&mut self, key: &str, value: Value) {
        self.figures.insert(key.to_owned(), value);
    }

    pub fn section(&self, title: &str) {
        println!("\n== {title}");
    }

    /// Every figure and `targets_met`, as one line of JSON.
    pub fn json_line(mut self) -> String {
        let all_met = self.targets_met.values().all(|met| met == &json!(true));
        self.figures.insert("targets_met".into(), Value::Object(self.targets_met));
        self.figures.insert("all_targets_met".into(), json!(all_met));
        Value::Object(self.figures).to_string()
    }
}

fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn format_number(value: f64) -> String {
    if value.abs() >= 100.0 { format!("{value:.1}") } else { format!("{value:.3}") }
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

pub fn us(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000_000.0
}

/// The `p`th percentile (nearest rank) of `values`, which must not be empty.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

pub fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

pub fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}
