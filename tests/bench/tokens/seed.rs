//! The world a workflow runs in: a fresh scratch copy of `examples/seed-project/`
//! (one per path, so the two paths cannot see each other's writes), the shipped
//! `config/seed-servers.json` resolved for that copy, and the copy's `site/`
//! served on loopback. Nothing here speaks MCP.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The repository: this crate is `tests/` in it.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repository").to_path_buf()
}

/// A scratch copy of the example project and a HOME for the servers.
pub struct Project {
    pub root: PathBuf,
    pub home: PathBuf,
    _scratch: TempDir,
}

impl Project {
    pub fn fresh() -> Result<Project> {
        let scratch = tempfile::tempdir()?;
        let root = scratch.path().join("seed-project");
        copy_dir(&repository_root().join("examples/seed-project"), &root)?;
        let home = scratch.path().join("home");
        std::fs::create_dir_all(&home)?;
        Ok(Project { root, home, _scratch: scratch })
    }

    pub fn root_text(&self) -> String {
        self.root.display().to_string()
    }

    /// `config/seed-servers.json` with its variables set as the integration
    /// tests set them (`MCP_CODE_RUNTIME_ROOT`, `SEED_PROJECT`, `SEED_HOME`).
    pub fn config(&self) -> Result<Value> {
        let text = std::fs::read_to_string(repository_root().join("config/seed-servers.json"))?;
        let resolved = text
            .replace("${SEED_PROJECT:-${MCP_CODE_RUNTIME_ROOT:-${PWD}}/examples/seed-project}", &self.root_text())
            .replace("${SEED_HOME:-${TMPDIR:-/tmp}/mcp-code-runtime-seed-home}", &self.home.display().to_string())
            .replace("${MCP_CODE_RUNTIME_ROOT:-${PWD}}", &repository_root().display().to_string());
        if let Some(at) = resolved.find("${") {
            bail!("config/seed-servers.json has a variable the benchmark does not set: {}", &resolved[at..(at + 60).min(resolved.len())]);
        }
        Ok(serde_json::from_str(&resolved)?)
    }

    pub fn tasks_file(&self) -> PathBuf {
        self.root.join(".taskmaster/tasks/tasks.json")
    }

    /// The tasks on disk, each reduced to what a workflow may change (no timestamps).
    pub fn tasks(&self) -> Result<Vec<Value>> {
        let file: Value = serde_json::from_slice(&std::fs::read(self.tasks_file())?)?;
        let keep = ["id", "title", "description", "details", "status", "priority", "dependencies"];
        Ok(file["master"]["tasks"]
            .as_array()
            .context("master.tasks")?
            .iter()
            .map(|task| keep.iter().map(|key| ((*key).to_owned(), task[*key].clone())).collect::<serde_json::Map<_, _>>().into())
            .collect())
    }

    /// Appends `tasks` (task-master's shape) to the task file.
    pub fn add_tasks(&self, tasks: Vec<Value>) -> Result<()> {
        let mut file: Value = serde_json::from_slice(&std::fs::read(self.tasks_file())?)?;
        let list = file["master"]["tasks"].as_array_mut().context("master.tasks")?;
        list.extend(tasks);
        let count = list.len();
        file["master"]["metadata"]["taskCount"] = count.into();
        std::fs::write(self.tasks_file(), serde_json::to_vec_pretty(&file)?)?;
        Ok(())
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
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

/// A static file server on loopback over a folder, recording the paths asked for.
pub struct Site {
    pub origin: String,
    requested: Arc<Mutex<Vec<String>>>,
    server: tokio::task::JoinHandle<()>,
}

/// Most bytes of a request head read.
const MAX_HEAD: usize = 16 * 1024;

impl Site {
    pub async fn serve(root: PathBuf) -> Result<Site> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let origin = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let requested = Arc::new(Mutex::new(Vec::new()));
        let log = requested.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, root.clone(), log.clone()));
            }
        });
        Ok(Site { origin, requested, server })
    }

    /// The distinct paths asked for so far, sorted.
    pub fn requested(&self) -> Vec<String> {
        let mut paths = self.requested.lock().expect("the request log").clone();
        paths.sort();
        paths.dedup();
        paths
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Answers one GET with the file or 404, then closes.
async fn answer(mut stream: tokio::net::TcpStream, root: PathBuf, log: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < MAX_HEAD {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").split('?').next().unwrap_or("/").to_owned();
    log.lock().expect("the request log").push(path.clone());
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
