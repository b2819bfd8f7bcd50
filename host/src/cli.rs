//! The command line, as plain clap structs: no logic lives here. `main`
//! applies these options over the configuration file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// OUT/<server>.d.ts, OUT/runtime.d.ts (the sandbox API) and OUT/index.d.ts.
    Types {
        /// The folder to write to (created if missing).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        options: Options,
    },
}

/// Options shared by every command. Each overrides the configuration file.
#[derive(Debug, Args)]
pub struct Options {
    /// The configuration file: an MCP client config (`.mcp.json`, Claude Desktop)
    /// with an optional `codeRuntime` section.
    #[arg(long, env = "MCP_CODE_RUNTIME_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the compiled guest runtime is cached.
    #[arg(long, env = "MCP_CODE_RUNTIME_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Default wall-clock limit per run, in milliseconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub default_timeout_ms: Option<u64>,
    /// Memory cap per run, in MiB (at most 4096, the wasm32 limit).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub memory_mb: Option<u32>,
    /// CPU budget per run, in fuel units (about WebAssembly instructions).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub fuel: Option<u64>,
}
