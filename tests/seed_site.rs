//! What the seed's integration tests (`tests/all/seed_*.rs`) and the token
//! benchmark (`tests/bench/tokens/`) both need around the example project: a
//! scratch copy of its folder, and its `site/` served on loopback by a static
//! file server that records every path asked for and every POST. It speaks
//! no MCP and starts no host.
//!
//! Included by both crates' targets with `#[path]` (as `search_eval.rs` is);
//! each uses a part of it (the benchmark posts no forms and waits for no
//! request), hence the `dead_code` allowance.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Most bytes of a request's head read.
const MAX_HEAD: usize = 16 * 1024;
/// Most bytes of a request (head and body) read.
const MAX_REQUEST: usize = 64 * 1024;

/// Copies the folder `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("read {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// A static file server on loopback over a folder, recording every path asked
/// for and the body of every POST (answered with a page saying how much it
/// received). It stops when dropped.
pub struct Site {
    pub port: u16,
    pub requested: Arc<Mutex<Vec<String>>>,
    /// `(path, body)` of each POST.
    pub posted: Arc<Mutex<Vec<(String, String)>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Site {
    pub async fn serve(root: PathBuf) -> Result<Site> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let requested = Arc::new(Mutex::new(Vec::new()));
        let posted = Arc::new(Mutex::new(Vec::new()));
        let (log, posts) = (requested.clone(), posted.clone());
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, root.clone(), log.clone(), posts.clone()));
            }
        });
        Ok(Site { port, requested, posted, server })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The distinct paths asked for so far, sorted.
    pub fn paths(&self) -> Vec<String> {
        let mut paths = self.requested.lock().expect("the request log").clone();
        paths.sort();
        paths.dedup();
        paths
    }

    /// Waits until `path` was asked for, up to a generous bound.
    pub async fn wait_for(&self, path: &str) -> bool {
        wait_for_request(&self.requested, path, Duration::from_secs(60)).await
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Waits until `path` is in `log`, up to `bound`.
pub async fn wait_for_request(log: &Mutex<Vec<String>>, path: &str, bound: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + bound;
    while tokio::time::Instant::now() < deadline {
        if log.lock().expect("the request log").iter().any(|seen| seen == path) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Reads a request up to the end of its head (at most [`MAX_HEAD`] bytes):
/// what was read, head and any start of the body; `None` if the client left.
pub async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < MAX_HEAD {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    Some(head)
}

/// Answers one HTTP/1.1 request with the file or 404, or a POST (body up to
/// [`MAX_REQUEST`]) with a page saying how many bytes arrived, then closes.
async fn answer(mut stream: TcpStream, root: PathBuf, log: Arc<Mutex<Vec<String>>>, posts: Arc<Mutex<Vec<(String, String)>>>) {
    let Some(head) = read_head(&mut stream).await else { return };
    let end = head.windows(4).position(|window| window == b"\r\n\r\n").map_or(head.len(), |at| at + 4);
    let (head, mut request_body) = (String::from_utf8_lossy(&head[..end]).into_owned(), head[end..].to_vec());
    let path = head.split_whitespace().nth(1).unwrap_or("/").split('?').next().unwrap_or("/").to_owned();
    log.lock().expect("the request log").push(path.clone());
    if head.starts_with("POST ") {
        let length = head
            .lines()
            .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|value| value.trim().parse::<usize>().unwrap_or(0)))
            .unwrap_or(0)
            .min(MAX_REQUEST);
        let mut buffer = [0u8; 4096];
        while request_body.len() < length {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => request_body.extend_from_slice(&buffer[..read]),
            }
        }
        let received = String::from_utf8_lossy(&request_body).into_owned();
        let page = format!("<!doctype html><title>Received</title><p>Received {} bytes</p>", received.len());
        posts.lock().expect("the POST log").push((path, received));
        let reply = format!("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}", page.len());
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
        return;
    }
    let file = root.join(path.trim_start_matches('/'));
    let (status, body, kind) = match !path.contains("..") && file.is_file() {
        true => ("200 OK", std::fs::read(&file).unwrap_or_default(), content_type(&file)),
        false => ("404 Not Found", b"not found".to_vec(), "text/plain"),
    };
    let reply = format!("HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|extension| extension.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}
