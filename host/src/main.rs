//! The `mcp-code-runtime` binary: parse the command line, send logs to stderr
//! (stdout is the MCP channel), load the configuration, then serve MCP over
//! stdio or run one file.

// The release build's layout of `run`'s future (every command's nested
// futures: serve, runs with their tracing spans, skills, the state) passes
// rustc's default query depth of 128.
#![recursion_limit = "256"]

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{CommandFactory, FromArgMatches};
use rmcp::ServiceExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

use mcp_code_runtime::analytics::{self, Analytics, Window};
use mcp_code_runtime::cli::{self, Cli, Command, MigrateArgs, Options, SkillsCommand};
use mcp_code_runtime::config::{Config, StartServers};
use mcp_code_runtime::doctor::{self, StderrTail};
use mcp_code_runtime::migrate::{self, Locations};
use mcp_code_runtime::runtime::{ExecuteRequest, Runtime};
use mcp_code_runtime::server::CodeRuntimeServer;
use mcp_code_runtime::sandbox::RunObserver;
use mcp_code_runtime::terminal::{LogWriter, Spinner, TerminalObserver};
use mcp_code_runtime::declarations;
use mcp_code_runtime::{skills, typegen};

/// How long shutdown waits for blocking work; the stdin reader never ends by itself.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(200);

fn main() -> Result<ExitCode> {
    let matches = Cli::command().long_version(cli::long_version().leak() as &str).get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    let doctor = matches!(cli.command, Command::Doctor { .. });
    // `doctor` prints a table: its log shows only problems, and it keeps each
    // server's last stderr lines for the table.
    let default_filter = if doctor { "warn" } else { "info,rmcp=warn" };
    let tail = doctor.then(StderrTail::default);
    // MCP clients store the host's stderr in log files: colour only on a terminal.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // With the `otel` feature, spans also go to an OTLP endpoint when one is set.
    #[cfg(feature = "otel")]
    let (export, telemetry) = mcp_code_runtime::telemetry::from_env()?.unzip();
    #[cfg(not(feature = "otel"))]
    let export = None::<tracing_subscriber::layer::Identity>;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(LogWriter)
                .with_ansi(colour)
                .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter))),
        )
        .with(tail.clone().map(|tail| tail.with_filter(Targets::new().with_target("downstream", LevelFilter::INFO))))
        .with(export)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let exit = runtime.block_on(run(cli, tail.unwrap_or_default()));
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    #[cfg(feature = "otel")]
    if let Some(telemetry) = telemetry {
        telemetry.shutdown();
    }
    exit
}

async fn run(cli: Cli, tail: StderrTail) -> Result<ExitCode> {
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
            run_once(load_config(&options)?, request, &file).await
        }
        Command::Types { out, options } => write_types(&load_config(&options)?, &out).await,
        Command::Migrate(args) => run_migrate(args),
        Command::Doctor { json, options } => run_doctor(json, options, tail).await,
        Command::Skills { command, options } => run_skills(command, load_config(&options)?).await,
        Command::Stats { window, json, html, options } => run_stats(&load_config(&options)?, window, json, html.as_deref()),
        Command::Audit { window, limit, json, options } => run_audit(&load_config(&options)?, window, limit, json),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "mcp-code-runtime", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script).context("cannot write the completion script")?;
            Ok(ExitCode::SUCCESS)
        }
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
    if let Some(dir) = &options.data_dir {
        config.runtime.data_dir = Some(dir.clone());
    }
    // Search's sentence-embedding model and cache: read when a search needs them.
    mcp_code_runtime::search::semantic::configure(config.runtime.data_dir.as_deref(), &config.runtime.cache_dir);
    Ok(config)
}

async fn serve(config: Config) -> Result<ExitCode> {
    let eager = config.runtime.start_servers == StartServers::Eager;
    // A database that cannot be used stops the host here, before it serves.
    let analytics = Analytics::open(&config.runtime.analytics, config.runtime.data_dir.as_deref()).context("cannot record runs")?;
    let runtime = Runtime::start_recording(config, analytics);
    if eager {
        let starting = runtime.clone();
        tokio::spawn(async move { starting.bridge().start_all().await });
    }
    // Pipes (how MCP clients start a server) are read and written on tokio's
    // reactor, not through a blocking thread per read and write.
    let service = CodeRuntimeServer::new(runtime.clone()).serve(rmcp::transport::stdio_pipes()).await?;
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

async fn run_once(config: Config, mut request: ExecuteRequest, file: &Path) -> Result<ExitCode> {
    let runtime = Runtime::start(config);
    let observer = TerminalObserver::for_stderr();
    request.observer = observer.clone().map(|observer| observer as Arc<dyn RunObserver>);
    let spinner = Spinner::start(&format!("running {}", file.display()), observer);
    let outcome = runtime.execute(request).await;
    spinner.stop();
    runtime.shutdown().await;
    println!("{}", serde_json::to_string_pretty(&outcome)?);
    Ok(if outcome.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Writes every server's declarations, the runtime API, an index and a tsconfig to `out`.
async fn write_types(config: &Config, out: &Path) -> Result<ExitCode> {
    let written = declarations::write(config, out).await?;
    for path in &written.files {
        println!("{}", path.display());
    }
    for (server, reason) in &written.unavailable {
        tracing::error!(server = %server, %reason, "no declarations: the server's tools could not be listed");
    }
    for problem in &written.skill_problems {
        tracing::warn!("a skill is left out of skills.d.ts: {problem}");
    }
    Ok(if written.unavailable.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn run_migrate(args: MigrateArgs) -> Result<ExitCode> {
    let current = std::env::current_dir().context("cannot find the current directory")?;
    let absolute = |path: PathBuf| if path.is_absolute() { path } else { current.join(path) };
    let project = absolute(args.project.unwrap_or_else(|| current.clone()));
    let request = migrate::Request {
        from: args.from.map(absolute),
        scope: args.scope,
        replace: args.replace,
        project: std::fs::canonicalize(&project).unwrap_or(project),
        runtime_config: args.config.map(absolute),
        binary: std::env::current_exe().context("cannot find this binary's path")?,
    };
    let plan = migrate::plan(&request, &Locations::from_env()?)?;
    println!("servers: {}", plan.servers.join(", "));
    for note in &plan.notes {
        println!("note: {note}");
    }
    if args.dry_run {
        print!("{}", plan.diff());
        println!("dry run: nothing was written");
    } else {
        for line in plan.apply()? {
            println!("{line}");
        }
        println!("check it with: mcp-code-runtime doctor --config {}", plan.runtime_config().display());
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_doctor(json: bool, mut options: Options, tail: StderrTail) -> Result<ExitCode> {
    // Without --config, the user-scope file `migrate` writes, when there is one.
    if options.config.is_none()
        && let Ok(locations) = Locations::from_env()
    {
        options.config = Some(locations.config_home.join("mcp-code-runtime/servers.json")).filter(|path| path.exists());
    }
    let config = load_config(&options).map_err(|error| format!("{error:#}"));
    let data_dir = options.data_dir.clone().or_else(|| config.as_ref().ok()?.runtime.data_dir.clone()).or(Config::default().runtime.data_dir);
    let request = doctor::Request {
        config_path: options.config.clone(),
        config,
        data_dir,
        tail,
        guest_build: cli::GUEST_BUILD,
    };
    let report = doctor::diagnose(request).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", doctor::table(&report));
    }
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `skills list|show|docs|build`.
async fn run_skills(command: SkillsCommand, mut config: Config) -> Result<ExitCode> {
    if matches!(command, SkillsCommand::Build { builtin: true }) {
        config.runtime.skills.directory = None;
        config.runtime.data_dir = None;
    }
    let folders = skills::SkillFolders { directory: config.runtime.skills.directory.clone(), data_dir: config.runtime.data_dir.clone() };
    let (library, problems) = skills::Library::load(folders);
    let set = library.current();
    match command {
        SkillsCommand::List => {
            for skill in set.iter() {
                let servers = if skill.meta.servers.is_empty() { "-".to_owned() } else { skill.meta.servers.join(",") };
                println!("{}\t{:?}\t{servers}\t{}", skill.name(), skill.origin, typegen::one_line_summary(Some(&skill.meta.description)));
            }
        }
        SkillsCommand::Show { name } => {
            let skill = set.get(&name).with_context(|| format!("no skill is named `{name}`; see `skills list`"))?;
            println!("{}\n\n{}\n// {}\n{}", serde_json::to_string_pretty(&skill.meta)?, skill.declaration(), skill.file.display(), skill.source);
        }
        SkillsCommand::Docs => print!("{}", skills::markdown(&set)),
        SkillsCommand::Build { .. } => {
            let runtime = Runtime::start(Config { servers: Vec::new(), ..config });
            let schemas = set.iter().filter_map(|skill| skill.check_schemas().err());
            let failed: Vec<String> = problems.iter().chain(&runtime.compile_skills().await).map(ToString::to_string).chain(schemas.map(|error| error.to_string())).collect();
            runtime.shutdown().await;
            for failure in &failed {
                eprintln!("error: {failure}");
            }
            if !failed.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
            eprintln!("{} skills checked and compiled", set.len());
            return Ok(ExitCode::SUCCESS);
        }
    }
    for problem in &problems {
        eprintln!("warning: a skill is left out: {problem}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The data folder, where the record of runs is.
fn data_dir(config: &Config) -> Result<&Path> {
    config.runtime.data_dir.as_deref().context("there is no data folder (no HOME): pass --data-dir")
}

/// `stats`: the report of `window` as a table, JSON, or the HTML dashboard.
fn run_stats(config: &Config, window: Window, json: bool, html: Option<&Path>) -> Result<ExitCode> {
    let (report, points) = analytics::read(data_dir(config)?, window)?;
    if let Some(file) = html {
        let now = analytics::capture::unix_ms(std::time::SystemTime::now());
        let page = analytics::dashboard::render(&report, &points, now, window.since_ms(now));
        std::fs::write(file, page).with_context(|| format!("cannot write {}", file.display()))?;
        eprintln!("wrote {} ({} runs)", file.display(), report.summary.runs);
    } else if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}

/// `audit`: the latest audited calls of `window`.
fn run_audit(config: &Config, window: Window, limit: usize, json: bool) -> Result<ExitCode> {
    let entries = analytics::read_audit(data_dir(config)?, window, limit)?;
    for entry in &entries {
        if json {
            println!("{}", serde_json::to_string(entry)?);
        } else {
            println!(
                "{}  run {:>6}  {:<32} {:<18} {:>9.1} ms  {:>8} B out {:>9} B in  args {}",
                analytics::dashboard::utc(entry.at_ms),
                entry.run,
                format!("{}.{}", entry.server, entry.tool),
                entry.outcome,
                entry.duration_ms,
                entry.bytes_out,
                entry.bytes_in,
                entry.arguments_digest
            );
        }
    }
    Ok(ExitCode::SUCCESS)
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
