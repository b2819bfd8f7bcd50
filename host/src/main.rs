//! The `mcp-code-runtime` binary: parse the command line, send logs to stderr
//! (stdout is the MCP channel), load the configuration, then serve MCP over
//! stdio or run one file.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use rmcp::ServiceExt;
use tracing_subscriber::EnvFilter;

use mcp_code_runtime::bridge::Bridge;
use mcp_code_runtime::cli::{Cli, Command, Options};
use mcp_code_runtime::config::{Config, StartServers};
use mcp_code_runtime::runtime::{ExecuteRequest, Runtime};
use mcp_code_runtime::server::CodeRuntimeServer;
use mcp_code_runtime::typegen;

/// How long shutdown waits for blocking work; the stdin reader never ends by itself.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(200);

fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    // MCP clients store the host's stderr in log files: colour only on a terminal.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn")))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let exit = runtime.block_on(run(cli));
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    exit
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve { eager, options } => {
            let mut config = load_config(&options)?;
            if eager {
                config.runtime.start_servers = StartServers::Eager;
            }
            serve(config).await
        }
        Command::Run { file, servers, timeout_ms, options } => {
            let code = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let request = ExecuteRequest { code, timeout: timeout_ms.map(Duration::from_millis), servers, ..ExecuteRequest::default() };
            run_once(load_config(&options)?, request).await
        }
        Command::Types { out, options } => write_types(&load_config(&options)?, &out).await,
    }
}

/// The configuration file (if any) with the command line's overrides applied.
fn load_config(options: &Options) -> Result<Config> {
    let mut config = match &options.config {
        Some(path) => Config::from_path(path)?,
        None => Config::default(),
    };
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let limits = &mut config.runtime.limits;
    if let Some(ms) = options.default_timeout_ms {
        limits.default_timeout = Duration::from_millis(ms);
    }
    if let Some(mb) = options.memory_mb {
        limits.memory_bytes = (mb as usize) << 20;
    }
    if let Some(fuel) = options.fuel {
        limits.fuel = fuel;
    }
    if let Some(dir) = &options.cache_dir {
        config.runtime.cache_dir = dir.clone();
    }
    Ok(config)
}

async fn serve(config: Config) -> Result<ExitCode> {
    let eager = config.runtime.start_servers == StartServers::Eager;
    let runtime = Runtime::start(config);
    if eager {
        let starting = runtime.clone();
        tokio::spawn(async move { starting.bridge().start_all().await });
    }
    let service = CodeRuntimeServer::new(runtime.clone()).serve(rmcp::transport::stdio()).await?;
    let stop = service.cancellation_token();
    tokio::select! {
        quit = service.waiting() => tracing::info!(?quit, "client disconnected"),
        signal = shutdown_signal() => {
            tracing::info!(signal, "shutting down");
            stop.cancel();
        }
    }
    runtime.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn run_once(config: Config, request: ExecuteRequest) -> Result<ExitCode> {
    let runtime = Runtime::start(config);
    let outcome = runtime.execute(request).await;
    runtime.shutdown().await;
    println!("{}", serde_json::to_string_pretty(&outcome)?);
    Ok(if outcome.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Writes every server's declarations, the runtime API and an index to `out`.
async fn write_types(config: &Config, out: &Path) -> Result<ExitCode> {
    let bridge = Bridge::new(config);
    let catalog = bridge.catalog().await;
    bridge.shutdown().await;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut written = vec![write_file(out, typegen::RUNTIME_FILE_NAME, typegen::RUNTIME_DECLARATIONS)?];
    let mut servers = Vec::new();
    for (server, tools) in catalog.servers() {
        written.push(write_file(out, &typegen::declaration_file_name(server), &typegen::server_declarations(server, tools))?);
        servers.push(server);
    }
    written.push(write_file(out, typegen::INDEX_FILE_NAME, &typegen::index_declarations(&servers))?);
    for path in written {
        println!("{}", path.display());
    }
    for (server, reason) in &catalog.unavailable {
        tracing::error!(server = %server, %reason, "no declarations: the server's tools could not be listed");
    }
    Ok(if catalog.unavailable.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn write_file(dir: &Path, name: &str, contents: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Resolves on SIGTERM or SIGINT, with the signal's name.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    }
}
