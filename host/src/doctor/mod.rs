//! `mcp-code-runtime doctor`: checks a setup and says, per line, what works.
//!
//! The checks: the config parses; every server starts within its timeout
//! (else the reason and the last lines of its stderr, see [`tail`]); what each
//! server's `tools/list` costs a model in tokens (cl100k), and what code mode
//! saves; the data folder is writable; its record of runs (`runtime.db`)
//! opens and passes SQLite's quick check; the guest runs a trivial program; the
//! compiled-code cache is present, the user's own and fresh.
//!
//! It reads the sandbox's cache rules but does not enforce them: the sandbox
//! does. It changes nothing but the cache (a run fills it), a probe file in
//! the data folder, which it removes, and an older `runtime.db`'s schema,
//! which opening migrates (as `serve` would).

pub mod tail;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::bridge::Bridge;
use crate::config::Config;
use crate::runtime::{ExecuteRequest, Runtime};
use crate::sandbox::{CacheDir, CacheError};
use crate::store::{self, AnalyticsStore};
use crate::typegen::ToolInfo;
pub use tail::StderrTail;

/// How long the trivial program may take (a cold cache compiles the guest first).
const GUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long to wait for a failed server's stderr to reach the log.
const STDERR_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: String,
    pub verdict: Verdict,
    pub detail: String,
    /// Figures for scripts (tool counts, tokens, stderr lines).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub data: Value,
}

impl Check {
    fn new(check: impl Into<String>, verdict: Verdict, detail: impl Into<String>) -> Check {
        Check { check: check.into(), verdict, detail: detail.into(), data: Value::Null }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// What to check.
pub struct Request {
    /// The config file, when there is one, and what loading it gave.
    pub config_path: Option<PathBuf>,
    pub config: Result<Config, String>,
    /// The data folder to check (the config's, or `--data-dir`).
    pub data_dir: Option<PathBuf>,
    pub tail: StderrTail,
    /// The build of the guest this binary embeds (the cache's file names carry it).
    pub guest_build: &'static str,
}

pub async fn diagnose(request: Request) -> Report {
    let mut checks = Vec::new();
    let config = match (&request.config, &request.config_path) {
        (Ok(config), Some(path)) => {
            let mut check = Check::new("config", Verdict::Ok, format!("{}: {} servers", path.display(), config.servers.len()));
            if let Some(warning) = config.warnings.first() {
                check.verdict = Verdict::Warn;
                let _ = write!(check.detail, "; {warning}");
            }
            checks.push(check);
            config.clone()
        }
        (Ok(config), None) => {
            checks.push(Check::new("config", Verdict::Warn, "no config file (--config or MCP_CODE_RUNTIME_CONFIG): no servers to check"));
            config.clone()
        }
        (Err(error), _) => {
            checks.push(Check::new("config", Verdict::Fail, error.clone()));
            Config::default()
        }
    };
    checks.extend(servers(&config, &request.tail).await);
    checks.push(data_dir(request.data_dir.as_deref()));
    checks.extend(request.data_dir.as_deref().map(|dir| analytics(&config, dir)));
    let guest = guest(&config).await;
    checks.push(cache(&config.runtime.cache_dir, request.guest_build));
    checks.push(guest);
    Report { ok: checks.iter().all(|check| check.verdict != Verdict::Fail), checks }
}

/// One line per server, then what code mode saves over them.
async fn servers(config: &Config, tail: &StderrTail) -> Vec<Check> {
    if config.servers.is_empty() {
        return Vec::new();
    }
    let bridge = Bridge::new(config);
    let catalog = bridge.catalog().await;
    bridge.shutdown().await;
    let Ok(encoder) = tiktoken_rs::cl100k_base() else {
        return vec![Check::new("tokens", Verdict::Fail, "the cl100k tokenizer does not load")];
    };
    let tokens = |text: &str| encoder.encode_with_special_tokens(text).len();
    let mut checks = Vec::new();
    let mut direct = 0;
    for server in &config.servers {
        let name = &server.name;
        if let Some((_, tools)) = catalog.servers().find(|(listed, _)| listed == name) {
            let cost = tokens(&tools_list_json(tools));
            direct += cost;
            let mut check = Check::new(format!("server {name}"), Verdict::Ok, format!("started; {} tools, tools/list costs {cost} tokens", tools.len()));
            check.data = json!({ "tools": tools.len(), "tokens": cost });
            checks.push(check);
        } else if let Some((_, reason)) = catalog.unavailable.iter().find(|(listed, _)| listed == name) {
            let stderr = stderr_of(tail, name).await;
            let mut detail = reason.clone();
            if !stderr.is_empty() {
                let _ = write!(detail, "\nlast stderr lines:\n{}", stderr.join("\n"));
            }
            let mut check = Check::new(format!("server {name}"), Verdict::Fail, detail);
            check.data = json!({ "stderr": stderr });
            checks.push(check);
        }
    }
    let own = tokens(&crate::server::advertised_json());
    let saved = direct as i64 - own as i64;
    let (verdict, detail) = if saved >= 0 {
        (Verdict::Ok, format!("the servers' tools/list cost {direct} tokens in every conversation; code-runtime's own {own}: code mode saves {saved}"))
    } else {
        (Verdict::Warn, format!("the servers' tools/list cost only {direct} tokens, code-runtime's own {own}: keep these servers direct unless programs pay"))
    };
    let mut check = Check::new("code mode", verdict, detail);
    check.data = json!({ "directTokens": direct, "codeRuntimeTokens": own, "savedTokens": saved });
    checks.push(check);
    checks
}

/// The `tools/list` result a model would read for `tools`.
fn tools_list_json(tools: &[ToolInfo]) -> String {
    serde_json::to_string(&json!({ "tools": tools })).unwrap_or_default()
}

/// The failed server's last stderr lines; they may reach the log shortly after the failure.
async fn stderr_of(tail: &StderrTail, server: &str) -> Vec<String> {
    let deadline = Instant::now() + STDERR_GRACE;
    loop {
        let lines = tail.of(server);
        if !lines.is_empty() || Instant::now() >= deadline {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn data_dir(dir: Option<&Path>) -> Check {
    let Some(dir) = dir else {
        return Check::new("data dir", Verdict::Fail, "no data folder: HOME is not set (choose one with --data-dir)");
    };
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    let written = fs::create_dir_all(dir).and_then(|()| fs::write(&probe, b"probe")).and_then(|()| fs::remove_file(&probe));
    match written {
        Ok(()) => Check::new("data dir", Verdict::Ok, format!("{} is writable", dir.display())),
        Err(error) => Check::new("data dir", Verdict::Fail, format!("{} is not writable: {error} (choose another with --data-dir)", dir.display())),
    }
}

/// Whether `serve` can record runs in `dir`'s database.
fn analytics(config: &Config, dir: &Path) -> Check {
    if !config.runtime.analytics.enabled {
        return Check::new("analytics", Verdict::Ok, "off (codeRuntime.analytics.enabled is false)");
    }
    match store::open_existing(dir) {
        Ok(None) => Check::new("analytics", Verdict::Ok, "no runs recorded yet"),
        Ok(Some(mut opened)) => match opened.check().and_then(|()| opened.summary(None, 0)) {
            Ok(summary) => Check::new("analytics", Verdict::Ok, format!("{} runs recorded in {}", summary.runs, dir.join(store::DATABASE_FILE).display())),
            Err(error) => Check::new("analytics", Verdict::Fail, error.to_string()),
        },
        Err(error) => Check::new("analytics", Verdict::Fail, error.to_string()),
    }
}

/// The trivial program, through the same path as `execute_code`.
async fn guest(config: &Config) -> Check {
    let config = Config { servers: Vec::new(), ..config.clone() };
    let runtime = Runtime::start(config);
    let started = Instant::now();
    let request = ExecuteRequest { code: "return 1 + 1;".into(), timeout: Some(GUEST_TIMEOUT), ..ExecuteRequest::default() };
    let outcome = runtime.execute(request).await;
    runtime.shutdown().await;
    let elapsed = started.elapsed().as_millis();
    match (&outcome.error, &outcome.result) {
        (None, result) if result == &json!(2) => Check::new("guest", Verdict::Ok, format!("`return 1 + 1` gave 2 in {elapsed} ms")),
        (Some(error), _) => Check::new("guest", Verdict::Fail, format!("`return 1 + 1` failed: {}: {}", error.kind.as_str(), error.message)),
        (None, result) => Check::new("guest", Verdict::Fail, format!("`return 1 + 1` gave {result}")),
    }
}

/// The cache folder: the user's own, closed to others, with this build's
/// artifact, judged by the same checks the sandbox applies before using it.
fn cache(dir: &Path, guest_build: &str) -> Check {
    let fail = |detail: String| Check::new("cache", Verdict::Fail, detail);
    let cache = match CacheDir::existing(dir) {
        Ok(cache) => cache,
        Err(error @ CacheError::Io { .. }) => return fail(format!("{error}: compiled code is not cached, so every start compiles the guest")),
        Err(untrusted) => return fail(format!("{untrusted}: it is not used; fix it or choose --cache-dir")),
    };
    let prefix = format!("guest-{}-", guest_build.trim());
    let artifacts: Vec<String> =
        cache.entries().into_iter().filter(|name| name.starts_with("guest-") && name.ends_with(".cwasm")).collect();
    let stale = artifacts.iter().filter(|name| !name.starts_with(&prefix)).count();
    let Some(current) = artifacts.iter().find(|name| name.starts_with(&prefix)) else {
        return Check::new("cache", Verdict::Warn, format!("{}: no compiled guest of this build: every start compiles it", dir.display()));
    };
    let artifact = cache.path().join(current);
    match cache.check_file(current) {
        Ok(()) => {
            let mut detail = format!("{}: fresh, yours and private", artifact.display());
            if stale > 0 {
                let _ = write!(detail, " ({stale} artifacts of other builds can be deleted)");
            }
            Check::new("cache", Verdict::Ok, detail)
        }
        Err(error) => fail(format!("{error}: it is not used; delete it")),
    }
}

/// The report as a table, one check per line (details may continue on
/// indented lines).
pub fn table(report: &Report) -> String {
    let width = report.checks.iter().map(|check| check.check.chars().count()).max().unwrap_or(0).max("CHECK".len());
    let mut text = format!("{:width$}  {:7}  DETAIL\n", "CHECK", "VERDICT");
    for check in &report.checks {
        let verdict = match check.verdict {
            Verdict::Ok => "ok",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        };
        let mut lines = check.detail.lines();
        let _ = writeln!(text, "{:width$}  {verdict:7}  {}", check.check, lines.next().unwrap_or(""));
        for line in lines {
            let _ = writeln!(text, "{:width$}  {:7}    {line}", "", "");
        }
    }
    let _ = writeln!(text, "\n{}", if report.ok { "All checks passed." } else { "Some checks failed: see README.md, Troubleshooting." });
    text
}

