//! What `run` shows on a terminal while a program runs: the program's console
//! lines as they happen ([`TerminalObserver`]); after a second, a spinner on
//! stderr with the elapsed time, the tool calls so far and the progress the
//! program last reported; and the log writer, which clears the spinner's line
//! before a log line so the two never share a line.
//!
//! Nothing is drawn when stderr is not a terminal: piped output stays plain.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tracing_subscriber::fmt::MakeWriter;

use crate::outcome::{LogLine as ConsoleLine, level_name};
use crate::sandbox::RunObserver;

/// Runs shorter than this never show the spinner.
const QUIET_FOR: Duration = Duration::from_secs(1);
const FRAME_INTERVAL: Duration = Duration::from_millis(100);
const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/// Erases the current terminal line.
const CLEAR_LINE: &str = "\r\x1b[2K";

/// Whether the spinner's line is on screen (so a log line must clear it first).
static DRAWN: AtomicBool = AtomicBool::new(false);

/// The spinner of one run; stopping it clears its line.
pub struct Spinner {
    task: Option<JoinHandle<()>>,
}

impl Spinner {
    /// Starts the spinner when stderr is a terminal; otherwise it does nothing.
    /// With `observer`, it also shows the tool calls the run has made.
    pub fn start(what: &str, observer: Option<Arc<TerminalObserver>>) -> Spinner {
        if !io::stderr().is_terminal() {
            return Spinner { task: None };
        }
        let what = what.to_owned();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            tokio::time::sleep(QUIET_FOR).await;
            let mut ticks = tokio::time::interval(FRAME_INTERVAL);
            for frame in FRAMES.iter().cycle() {
                ticks.tick().await;
                let mut stderr = io::stderr().lock();
                let _ = write!(stderr, "{CLEAR_LINE}{frame} {what} {:.1} s", started.elapsed().as_secs_f64());
                if let Some(observer) = &observer {
                    let _ = write!(stderr, ", {} tool calls", observer.calls.load(Ordering::Relaxed));
                    if let Some(progress) = observer.progress.lock().expect("progress lock").as_deref() {
                        let _ = write!(stderr, ", {progress}");
                    }
                }
                let _ = stderr.flush();
                DRAWN.store(true, Ordering::Release);
            }
        });
        Spinner { task: Some(task) }
    }

    pub fn stop(mut self) {
        self.clear();
    }

    fn clear(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let mut stderr = io::stderr().lock();
            if DRAWN.swap(false, Ordering::AcqRel) {
                let _ = write!(stderr, "{CLEAR_LINE}");
                let _ = stderr.flush();
            }
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Shows a run on the terminal as it goes: each console line on stderr (above
/// the spinner), and the count of tool calls and the progress the spinner
/// shows.
#[derive(Default)]
pub struct TerminalObserver {
    calls: AtomicU32,
    /// The program's last progress report, as the spinner shows it.
    progress: Mutex<Option<String>>,
}

impl TerminalObserver {
    /// An observer when stderr is a terminal; `None` keeps piped output plain.
    pub fn for_stderr() -> Option<Arc<TerminalObserver>> {
        io::stderr().is_terminal().then(|| Arc::new(TerminalObserver::default()))
    }
}

impl RunObserver for TerminalObserver {
    fn console_line(&self, line: &ConsoleLine) {
        let mut stderr = io::stderr().lock();
        if DRAWN.swap(false, Ordering::AcqRel) {
            let _ = stderr.write_all(CLEAR_LINE.as_bytes());
        }
        let _ = writeln!(stderr, "[{}] {}", level_name(line.level), line.message);
    }

    fn tool_call_started(&self, _server: &str, _tool: &str) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The spinner counts calls as they start.
    fn tool_call_finished(&self, _server: &str, _tool: &str, _ok: bool) {}

    fn progress(&self, current: f64, total: Option<f64>, message: Option<&str>) {
        let mut text = match total {
            Some(total) => format!("{current}/{total}"),
            None => current.to_string(),
        };
        if let Some(message) = message {
            text.push(' ');
            text.push_str(message.lines().next().unwrap_or_default());
        }
        *self.progress.lock().expect("progress lock") = Some(text);
    }
}

/// The log's writer: stderr, clearing a drawn spinner line before each log line.
pub struct LogWriter;

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogLine<'a>;

    fn make_writer(&'a self) -> LogLine<'a> {
        LogLine { stderr: io::stderr().lock(), cleared: false }
    }
}

/// One log line, written under the stderr lock.
pub struct LogLine<'a> {
    stderr: io::StderrLock<'a>,
    cleared: bool,
}

impl Write for LogLine<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if !self.cleared {
            self.cleared = true;
            if DRAWN.swap(false, Ordering::AcqRel) {
                self.stderr.write_all(CLEAR_LINE.as_bytes())?;
            }
        }
        self.stderr.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stderr.flush()
    }
}
