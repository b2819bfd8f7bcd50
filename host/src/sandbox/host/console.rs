//! `console`: the program's console lines, kept in order and capped.

use crate::outcome::LogLevel;
use crate::sandbox::bindings::mcp::code_runtime::console::{Host, Level};
use crate::sandbox::state::HostState;

impl Host for HostState {
    fn emit(&mut self, level: Level, message: String) {
        let kept = self.console.push(log_level(level), message);
        if let (Some(line), Some(observer)) = (kept, &self.observer) {
            observer.console_line(line);
        }
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
