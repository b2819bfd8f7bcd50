//! A stdio server's stderr, forwarded to the host's log (target `downstream`,
//! tagged with the server's name), with bounded memory and log volume:
//!
//! - the pipe is read in chunks of [`READ_CHUNK_BYTES`] until EOF, whatever it
//!   carries, so the child never blocks or breaks on a full or closed pipe;
//! - a line keeps at most [`MAX_LINE_BYTES`]; the rest is dropped and the line
//!   ends with a marker saying how many bytes were cut;
//! - bytes that are not UTF-8 are replaced (U+FFFD), never an error;
//! - at most [`LINES_PER_WINDOW`] lines are logged per [`WINDOW`]; the others
//!   are counted and reported in one line when the window ends (or at EOF).

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};

pub const READ_CHUNK_BYTES: usize = 8 * 1024;
pub const MAX_LINE_BYTES: usize = 8 * 1024;
pub const LINES_PER_WINDOW: u32 = 100;
pub const WINDOW: Duration = Duration::from_secs(1);

/// Logs each line `stderr` carries until EOF.
pub async fn forward(server: String, mut stderr: impl AsyncRead + Unpin) {
    let mut lines = Lines::default();
    let mut limit = RateLimit::default();
    let mut chunk = vec![0; READ_CHUNK_BYTES];
    let mut log = |line: String| {
        for text in limit.admit(line, Instant::now()) {
            tracing::info!(target: "downstream", server = %server, "{text}");
        }
    };
    while let Ok(read @ 1..) = stderr.read(&mut chunk).await {
        lines.push(&chunk[..read], &mut log);
    }
    lines.finish(&mut log);
    if let Some(summary) = limit.finish() {
        tracing::info!(target: "downstream", server = %server, "{summary}");
    }
}

/// Splits bytes into lines of at most [`MAX_LINE_BYTES`].
#[derive(Default)]
struct Lines {
    current: Vec<u8>,
    /// Bytes of the current line beyond [`MAX_LINE_BYTES`], dropped.
    cut: usize,
}

impl Lines {
    /// Adds `bytes`, handing each completed line to `emit`.
    fn push(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(String)) {
        while let Some(end) = bytes.iter().position(|byte| *byte == b'\n') {
            self.append(&bytes[..end]);
            emit(self.take());
            bytes = &bytes[end + 1..];
        }
        self.append(bytes);
    }

    /// Hands the last, unterminated line to `emit`, if there is one.
    fn finish(&mut self, emit: &mut impl FnMut(String)) {
        if !self.current.is_empty() || self.cut > 0 {
            emit(self.take());
        }
    }

    fn append(&mut self, bytes: &[u8]) {
        let room = MAX_LINE_BYTES - self.current.len();
        let kept = bytes.len().min(room);
        self.current.extend_from_slice(&bytes[..kept]);
        self.cut += bytes.len() - kept;
    }

    fn take(&mut self) -> String {
        let mut line = String::from_utf8_lossy(&self.current)
            .trim_end_matches('\r')
            .to_owned();
        if self.cut > 0 {
            line.push_str(&format!(" … [{} more bytes not shown]", self.cut));
        }
        self.current.clear();
        self.cut = 0;
        line
    }
}

/// At most [`LINES_PER_WINDOW`] lines per [`WINDOW`].
#[derive(Default)]
struct RateLimit {
    window_start: Option<Instant>,
    logged: u32,
    dropped: u64,
}

impl RateLimit {
    /// What to log for `line` seen at `now`: nothing, the line, or the summary
    /// of the window that just ended and the line.
    fn admit(&mut self, line: String, now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        if self
            .window_start
            .is_none_or(|start| now.duration_since(start) >= WINDOW)
        {
            out.extend(self.finish());
            self.window_start = Some(now);
            self.logged = 0;
        }
        if self.logged < LINES_PER_WINDOW {
            self.logged += 1;
            out.push(line);
        } else {
            self.dropped += 1;
        }
        out
    }

    /// The summary of the lines dropped since the last one, if any were.
    fn finish(&mut self) -> Option<String> {
        let dropped = std::mem::take(&mut self.dropped);
        (dropped > 0).then(|| {
            format!(
                "[{dropped} more stderr lines not logged: more than {LINES_PER_WINDOW} per second]"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = Lines::default();
        let mut out = Vec::new();
        for chunk in chunks {
            lines.push(chunk, &mut |line| out.push(line));
        }
        lines.finish(&mut |line| out.push(line));
        out
    }

    #[test]
    fn lines_split_across_chunks_and_the_last_one_without_newline() {
        assert_eq!(split(&[b"a\nb", b"c\r\n\nd"]), ["a", "bc", "", "d"]);
    }

    #[test]
    fn non_utf8_bytes_are_replaced_and_reading_goes_on() {
        assert_eq!(
            split(&[b"bad \xff\xfe\n", b"next\n"]),
            ["bad \u{fffd}\u{fffd}", "next"]
        );
    }

    #[test]
    fn long_lines_are_cut_with_a_marker_and_memory_stays_bounded() {
        let mut lines = Lines::default();
        let mut out = Vec::new();
        for _ in 0..100 {
            lines.push(&[b'x'; 1000], &mut |line| out.push(line));
            assert!(lines.current.len() <= MAX_LINE_BYTES);
        }
        lines.push(b"\nshort\n", &mut |line| out.push(line));
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0],
            format!(
                "{} … [{} more bytes not shown]",
                "x".repeat(MAX_LINE_BYTES),
                100_000 - MAX_LINE_BYTES
            )
        );
        assert_eq!(out[1], "short");
    }

    #[test]
    fn the_rate_limit_logs_a_window_s_share_then_one_summary() {
        let start = Instant::now();
        let mut limit = RateLimit::default();
        let logged: Vec<String> = (0..LINES_PER_WINDOW + 50)
            .flat_map(|n| limit.admit(n.to_string(), start))
            .collect();
        assert_eq!(logged.len(), LINES_PER_WINDOW as usize);
        let next = limit.admit("later".into(), start + WINDOW);
        assert_eq!(
            next,
            [
                "[50 more stderr lines not logged: more than 100 per second]",
                "later"
            ]
        );
        assert_eq!(limit.finish(), None);
    }

    #[tokio::test]
    async fn forward_drains_the_pipe_to_eof() {
        let mut input: Vec<u8> = vec![b'y'; 3 * MAX_LINE_BYTES];
        input.extend_from_slice(b"\n\xff\n");
        input.extend(std::iter::repeat_n(b"line\n".as_slice(), 10_000).flatten());
        let mut reader = input.as_slice();
        forward("s".into(), &mut reader).await;
        assert!(reader.is_empty(), "everything was read");
    }
}
