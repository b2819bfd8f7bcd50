//! The data of one run's `Store`: everything the host imports touch.
//!
//! A fresh [`HostState`] is built for every run and dropped with its store, so
//! nothing leaks from one run to the next; dropping it also aborts every timer
//! and tool call the program left pending.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::fuel::{FuelMeter, FuelPool};
use super::host::tools::ToolAccess;
use super::limits::{Deadline, MemoryLimiter};
use super::operations::Operations;
use super::RunObserver;
use crate::outcome::{LogLevel, LogLine};

/// Per-run state. Built by [`HostState::new`] with the secure defaults:
/// - WASI with no preopened directories, no environment, no arguments, closed
///   stdin, discarded stdout/stderr, no sockets and no name lookup;
/// - the memory cap, deadline and cancellation of the run, and its account
///   with the fuel pool it shares with the skills it calls;
/// - only the downstream tools `tools` grants.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: MemoryLimiter,
    pub console: ConsoleLog,
    pub operations: Operations,
    pub fuel: FuelMeter,
    pub deadline: Deadline,
    /// Cancelled when the run's client cancels it: the run then stops.
    pub cancelled: CancellationToken,
    /// Told of console lines and tool calls as they happen, if anyone watches.
    pub observer: Option<Arc<dyn RunObserver>>,
    pub tools: Arc<dyn ToolAccess>,
}

impl HostState {
    pub fn new(
        memory_cap: usize,
        max_log_bytes: usize,
        deadline: Deadline,
        cancelled: CancellationToken,
        tools: Arc<dyn ToolAccess>,
        fuel: Arc<FuelPool>,
    ) -> Self {
        let wasi = WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_cap),
            console: ConsoleLog::new(max_log_bytes),
            operations: Operations::default(),
            fuel: FuelMeter::new(fuel),
            deadline,
            cancelled,
            observer: None,
            tools,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The console lines of a run, capped in bytes: once the cap is reached,
/// further output is counted and reported by one marker line at the end.
pub struct ConsoleLog {
    lines: Vec<LogLine>,
    bytes: usize,
    max_bytes: usize,
    dropped_lines: usize,
    dropped_bytes: usize,
}

impl ConsoleLog {
    pub fn new(max_bytes: usize) -> Self {
        ConsoleLog { lines: Vec::new(), bytes: 0, max_bytes, dropped_lines: 0, dropped_bytes: 0 }
    }

    /// Keeps the line (cut to the room left) and returns it, or counts it as
    /// dropped and returns `None`.
    pub fn push(&mut self, level: LogLevel, mut message: String) -> Option<&LogLine> {
        let room = self.max_bytes - self.bytes;
        if self.dropped_lines > 0 || room == 0 {
            self.dropped_lines += 1;
            self.dropped_bytes += message.len();
            return None;
        }
        if message.len() > room {
            self.dropped_bytes += message.len() - room;
            message.truncate(floor_char_boundary(&message, room));
            message.push_str("…[truncated]");
            self.dropped_lines += 1;
        }
        self.bytes += message.len().min(room);
        self.lines.push(LogLine { level, message });
        self.lines.last()
    }

    /// The captured lines, with the truncation marker when output was dropped.
    pub fn into_lines(mut self) -> Vec<LogLine> {
        if self.dropped_lines > 0 {
            self.lines.push(LogLine {
                level: LogLevel::Warn,
                message: format!(
                    "[console output truncated: {} more bytes in {} lines dropped after the limit of {} bytes]",
                    self.dropped_bytes, self.dropped_lines, self.max_bytes
                ),
            });
        }
        self.lines
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_keeps_lines_until_the_cap_then_marks_the_rest() {
        let mut log = ConsoleLog::new(10);
        log.push(LogLevel::Log, "12345".into());
        log.push(LogLevel::Info, "67890abc".into());
        log.push(LogLevel::Log, "dropped".into());
        let lines = log.into_lines();
        assert_eq!(lines[0].message, "12345");
        assert_eq!(lines[1].message, "67890…[truncated]");
        assert_eq!(lines.len(), 3);
        assert!(lines[2].message.contains("10 more bytes in 2 lines"), "{}", lines[2].message);
    }

    #[test]
    fn truncation_respects_utf8_boundaries() {
        let mut log = ConsoleLog::new(4);
        log.push(LogLevel::Log, "aéé".into());
        assert_eq!(log.into_lines()[0].message, "aé…[truncated]");
    }
}
