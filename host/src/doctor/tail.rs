//! The last lines each downstream server wrote to its stderr, kept by a
//! tracing layer that listens to the bridge's `downstream` log target, so
//! `doctor` can show why a server did not start. Bounded: a few lines per
//! server, each cut to a few hundred characters.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// The log target of the lines a downstream server writes to stderr.
const TARGET: &str = "downstream";
/// Lines kept per server.
const LINES: usize = 5;
/// Characters kept per line.
const LINE_CHARS: usize = 300;

/// Shared: the layer records, `doctor` reads.
#[derive(Debug, Clone, Default)]
pub struct StderrTail {
    lines: Arc<Mutex<HashMap<String, VecDeque<String>>>>,
}

impl StderrTail {
    /// The last lines `server` wrote, oldest first.
    pub fn of(&self, server: &str) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        lines.get(server).map(|tail| tail.iter().cloned().collect()).unwrap_or_default()
    }

    fn push(&self, server: String, line: String) {
        let mut lines = self.lines.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tail = lines.entry(server).or_default();
        if tail.len() == LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

impl<S: Subscriber> Layer<S> for StderrTail {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let (Some(server), Some(message)) = (fields.server, fields.message) {
            self.push(server, message.chars().take(LINE_CHARS).collect());
        }
    }
}

#[derive(Default)]
struct Fields {
    server: Option<String>,
    message: Option<String>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = || {
            let mut text = format!("{value:?}");
            text.truncate(text.char_indices().nth(LINE_CHARS * 2).map_or(text.len(), |(at, _)| at));
            text
        };
        match field.name() {
            "server" => self.server = Some(text()),
            "message" => self.message = Some(text()),
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "server" => self.server = Some(value.to_owned()),
            "message" => self.message = Some(value.chars().take(LINE_CHARS).collect()),
            _ => {}
        }
    }
}
