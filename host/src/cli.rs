//! The command line, as plain clap structs: no logic lives here beyond the
//! text of `--version`. `main` applies these options over the configuration
//! file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::analytics::Window;

/// The guest runtime's content hash (it keys the compiled-code cache).
pub const GUEST_BUILD: &str = include_str!(concat!(env!("OUT_DIR"), "/guest.hash"));

/// `--version`: this binary, the guest runtime it embeds and the Wasmtime it runs on.
pub fn long_version() -> String {
    format!(
        "{}\nguest: QuickJS (Javy plugin), build {}\nwasmtime: {}",
        env!("CARGO_PKG_VERSION"),
        GUEST_BUILD.trim(),
        wasmtime_environ::VERSION
    )
}

/// Runs TypeScript in a WebAssembly sandbox, with access to your MCP servers.
#[derive(Debug, Parser)]
#[command(name = "mcp-code-runtime", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (what an MCP client such as Claude Code starts).
    Serve {
        /// Start every downstream server now instead of on first use
        /// (the configuration's `startServers: "eager"`).
        #[arg(long)]
        eager: bool,
        #[command(flatten)]
        options: Options,
    },
    /// Run a TypeScript file through the same path as `execute_code` and print
    /// the JSON response.
    Run {
        /// The program: the body of an async function (`return` sets the result).
        file: PathBuf,
        /// The MCP servers the program may call (default: all configured).
        #[arg(long, value_delimiter = ',')]
        servers: Option<Vec<String>>,
        /// Wall-clock limit for this run, in milliseconds.
        #[arg(long)]
        timeout_ms: Option<u64>,
        #[command(flatten)]
        options: Options,
    },
    /// Write the TypeScript declarations of every configured server's tools:
    /// OUT/<server>.d.ts, OUT/runtime.d.ts (the sandbox API), OUT/index.d.ts
    /// and a ready OUT/tsconfig.json.
    Types {
        /// The folder to write to (created if missing).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        options: Options,
    },
    /// Move the MCP servers of your Claude Code or Claude Desktop configuration
    /// into this runtime's config, and register `code-runtime` with Claude.
    Migrate(MigrateArgs),
    /// Check the setup: the config, every server, the cache, the data folder and
    /// the guest. Exits non-zero when a check fails.
    Doctor {
        /// Print the checks as JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        options: Options,
    },
    /// The skill library: list, show and document skills, or check and
    /// compile them all (`skills build`, part of `make build`).
    Skills {
        #[command(subcommand)]
        command: SkillsCommand,
        #[command(flatten)]
        options: Options,
    },
    /// What the runtime did, from the data folder's record: runs, success
    /// rate, durations, errors, top skills and tools, tokens saved.
    Stats {
        /// The last `<n><unit>` (30m, 24h, 7d, 2w), or `all`.
        #[arg(long, default_value = "all")]
        window: Window,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Write the dashboard (one self-contained HTML page) to FILE instead.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        #[command(flatten)]
        options: Options,
    },
    /// The audit log: the latest downstream calls, oldest first (server,
    /// tool, the arguments' digest, outcome, duration, bytes).
    Audit {
        /// The last `<n><unit>` (30m, 24h, 7d, 2w), or `all`.
        #[arg(long, default_value = "all")]
        window: Window,
        /// How many calls, at most.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        options: Options,
    },
    /// Print a shell completion script (e.g. `mcp-code-runtime completions bash
    /// > ~/.local/share/bash-completion/completions/mcp-code-runtime`).
    Completions {
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum SkillsCommand {
    /// One line per skill: name, where it comes from, servers, description.
    List,
    /// One skill: its meta, declarations and source.
    Show { name: String },
    /// Markdown documentation of every skill.
    Docs,
    /// Check every skill and compile it into the cache; fails with the file,
    /// line and reason of each skill that does not compile.
    Build {
        /// Only the built-in skills (the build's own check, `make build`).
        #[arg(long)]
        builtin: bool,
    },
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Read the servers from this file only (an `mcpServers` object, as in
    /// `.mcp.json` or Claude Desktop's config), instead of finding Claude's files.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Where to register `code-runtime`: the project's `.mcp.json`, or your
    /// user entry in Claude Code's `~/.claude.json`.
    #[arg(long, value_enum, default_value_t = Scope::Project)]
    pub scope: Scope,
    /// Remove the migrated servers from the Claude config that gets
    /// `code-runtime` (the full cutover); by default they stay as a fallback.
    #[arg(long)]
    pub replace: bool,
    /// Print what would change, as a diff, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The project folder (default: the current directory).
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// The runtime config file to write (default: `.mcp-code-runtime.json` in
    /// the project with `--scope project`, `~/.config/mcp-code-runtime/servers.json`
    /// with `--scope user`).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Which Claude Code configuration `migrate` registers `code-runtime` in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scope {
    /// The project's `.mcp.json`.
    Project,
    /// The user's entry in `~/.claude.json`, for every project.
    User,
}

/// Options shared by every command. Each overrides the configuration file.
#[derive(Debug, Args)]
pub struct Options {
    /// The configuration file: an MCP client config (`.mcp.json`, Claude Desktop)
    /// with an optional `codeRuntime` section.
    #[arg(long, global = true, env = "MCP_CODE_RUNTIME_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the compiled guest runtime is cached.
    #[arg(long, global = true, env = "MCP_CODE_RUNTIME_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Where saved skills are kept (default: $XDG_DATA_HOME/mcp-code-runtime,
    /// else ~/.local/share/mcp-code-runtime).
    #[arg(long, global = true, env = "MCP_CODE_RUNTIME_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Default wall-clock limit per run, in milliseconds.
    #[arg(long, global = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub default_timeout_ms: Option<u64>,
    /// Memory cap per run, in MiB (at most 4096, the wasm32 limit).
    #[arg(long, global = true, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub memory_mb: Option<u32>,
    /// CPU budget per run, in fuel units (about WebAssembly instructions).
    #[arg(long, global = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub fuel: Option<u64>,
}
