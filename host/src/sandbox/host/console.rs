//! `console`: the program's console lines, kept in order and capped, and the
//! progress it reports, passed on to the run's observer (if any) at once.

use crate::outcome::LogLevel;
use crate::sandbox::MAX_PROGRESS_MESSAGE_BYTES;
use crate::sandbox::bindings::mcp::code_runtime::console::{Host, Level};
use crate::sandbox::state::HostState;

impl Host for HostState {
    fn emit(&mut self, level: Level, message: String) {
        let kept = self.console.push(log_level(level), message);
        if let (Some(line), Some(observer)) = (kept, &self.observer) {
            observer.console_line(line);
        }
    }

    fn report_progress(&mut self, current: f64, total: Option<f64>, message: Option<String>) {
        let Some(observer) = &self.observer else { return };
        if !current.is_finite() {
            return;
        }
        let message = message.as_deref().map(|message| &message[..message.floor_char_boundary(MAX_PROGRESS_MESSAGE_BYTES)]);
        observer.progress(current, total.filter(|total| total.is_finite()), message);
    }
}

fn log_level(level: Level) -> LogLevel {
    match level {
        Level::Debug => LogLevel::Debug,
        Level::Info => LogLevel::Info,
        Level::Log => LogLevel::Log,
        Level::Warn => LogLevel::Warn,
        Level::Error => LogLevel::Error,
    }
}
