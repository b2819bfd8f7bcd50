//! The stdio transport of a downstream server: newline-delimited JSON-RPC over
//! the stdin and stdout of a [`ChildProcess`], which it owns and stops when the
//! connection closes.
//!
//! A downstream server decides how much the host buffers for one message, so
//! each line it writes is capped at [`MAX_MESSAGE_BYTES`]: a longer line fails
//! the connection (its pending calls fail with a transport error and the next
//! use restarts the server) instead of growing host memory without bound.
//! 64 MiB is twice the default `maxToolBytesReceived` (32 MiB): JSON escaping
//! of a text result can double it, plus the envelope. A run can never accept
//! a result larger than its `maxToolBytesReceived`, so a larger cap only
//! helps runs configured above 32 MiB, at the cost of more host memory per
//! server.
//!
//! Why the connection ended (a line over the cap, the child's exit status) is
//! kept in [`Ended`] for `list_mcp_servers`.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use rmcp::RoleClient;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::process::{ChildStdin, ChildStdout};

use super::process::{self, ChildProcess, Spec};

pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Why a connection ended, once known; the first reason recorded wins.
#[derive(Default)]
pub struct Ended(Mutex<Option<String>>);

impl Ended {
    pub fn reason(&self) -> Option<String> {
        self.0.lock().expect("ended lock").clone()
    }

    fn record(&self, reason: String) {
        self.0.lock().expect("ended lock").get_or_insert(reason);
    }
}

pub struct StdioTransport {
    rw: AsyncRwTransport<RoleClient, CappedLines<ChildStdout>, ChildStdin>,
    process: ChildProcess,
    ended: Arc<Ended>,
}

impl StdioTransport {
    /// Starts the server's process; `ended` learns why the connection ends.
    pub fn spawn(server: &str, spec: &Spec<'_>, ended: Arc<Ended>) -> io::Result<Self> {
        let started = process::spawn(server, spec)?;
        let stdout = CappedLines {
            inner: started.stdout,
            line_bytes: 0,
            max: MAX_MESSAGE_BYTES,
            ended: Arc::clone(&ended),
        };
        // Our reader fails the connection before the transport's own cap
        // (which drops an oversized line and waits on) could apply.
        let rw = AsyncRwTransport::new_client(stdout, started.stdin)
            .with_max_line_length(MAX_MESSAGE_BYTES + 1);
        Ok(StdioTransport {
            rw,
            process: started.process,
            ended,
        })
    }
}

impl Transport<RoleClient> for StdioTransport {
    type Error = io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), io::Error>> + Send + 'static {
        self.rw.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleClient>>> + Send {
        self.rw.receive()
    }

    /// Closes the child's stdin and stops it (see [`ChildProcess::stop`]).
    async fn close(&mut self) -> Result<(), io::Error> {
        let closed = self.rw.close().await;
        let reason = match self.process.stop().await {
            Some(status) => format!("it exited ({status})"),
            None => "it was stopped".to_owned(),
        };
        self.ended.record(reason);
        closed
    }
}

/// A reader that fails once a line (bytes since the last `\n`) exceeds `max`.
struct CappedLines<R> {
    inner: R,
    line_bytes: usize,
    max: usize,
    ended: Arc<Ended>,
}

impl<R: AsyncRead + Unpin> AsyncRead for CappedLines<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        let read = &buf.filled()[before..];
        let mut longest = 0;
        for (index, segment) in read.split(|byte| *byte == b'\n').enumerate() {
            this.line_bytes = if index == 0 {
                this.line_bytes.saturating_add(segment.len())
            } else {
                segment.len()
            };
            longest = longest.max(this.line_bytes);
        }
        if longest > this.max {
            let reason = format!(
                "it wrote a line of more than {} MiB on stdout",
                this.max >> 20
            );
            this.ended.record(reason.clone());
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, reason)));
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    fn capped(input: &[u8], max: usize) -> CappedLines<&[u8]> {
        CappedLines {
            inner: input,
            line_bytes: 0,
            max,
            ended: Arc::default(),
        }
    }

    #[tokio::test]
    async fn lines_up_to_the_cap_pass() {
        let mut out = Vec::new();
        capped(b"12345\n12345\n123", 5)
            .read_to_end(&mut out)
            .await
            .expect("within the cap");
        assert_eq!(out, b"12345\n12345\n123");
    }

    #[tokio::test]
    async fn a_longer_line_fails_the_read_and_is_recorded() {
        let mut reader = capped(b"ok\n123456\n", 5);
        let error = reader
            .read_to_end(&mut Vec::new())
            .await
            .expect_err("over the cap");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(
            reader
                .ended
                .reason()
                .is_some_and(|reason| reason.contains("line of more than"))
        );
    }

    #[tokio::test]
    async fn a_line_split_across_reads_is_counted_whole() {
        let mut reader = capped(b"", 5);
        reader.line_bytes = 4;
        reader.inner = b"12\n";
        assert!(
            reader.read_to_end(&mut Vec::new()).await.is_err(),
            "4 + 2 bytes before the newline"
        );
    }
}
