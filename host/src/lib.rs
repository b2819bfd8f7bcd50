//! mcp-code-runtime: an MCP server whose `execute_code` tool runs TypeScript in
//! a WebAssembly sandbox, where it can call the tools of the user's other MCP
//! servers. An agent writes one small program instead of many tool calls, and
//! only the program's result returns to its context.
//!
//! # Request flow
//! 1. [`server`] receives `execute_code` over MCP (stdio) and hands the code to
//!    the [`runtime::Runtime`].
//! 2. The runtime grants the run its servers ([`bridge`], checked by
//!    [`policy`]) and gives the job to the [`sandbox`].
//! 3. The sandbox turns TypeScript into JavaScript ([`transpile`]), runs it in
//!    a fresh instance of the guest runtime under fuel, memory and deadline
//!    limits, and answers tool requests through the grant.
//! 4. The [`outcome::RunOutcome`] goes back as structured content plus text.
//!
//! Skills ([`skills`]: the library of reusable TypeScript workflows) are
//! offered by the server as tools and importable modules; the runtime
//! compiles each once and runs each call in a sandbox of its own.
//!
//! Every run the host serves is recorded by the [`analytics`] (with an audit
//! log of every downstream call) in the [`store`], the host's database in the
//! data folder (SQLite behind a per-concern trait).
//!
//! The other commands have a module each: [`migrate`] (from a Claude setup
//! to code mode), [`doctor`] (checks a setup), [`declarations`] (`types
//! --out`) and [`terminal`] (what `run` shows on a terminal); `stats` and
//! `audit` read the [`analytics`]. With the `otel` feature, `telemetry`
//! exports the tracing spans of runs and tool calls over OTLP.
//!
//! Dependencies point one way: `server` → `runtime` → `sandbox`, `bridge`,
//! `skills`;
//! `runtime` → `analytics` → `store`; `sandbox` knows nothing of MCP;
//! `policy`, `transpile` and `outcome` are pure.

pub mod analytics;
pub mod bridge;
pub mod cli;
pub mod config;
pub mod declarations;
pub mod doctor;
pub mod heap;
pub mod migrate;
pub mod outcome;
pub mod policy;
pub mod runtime;
pub mod sandbox;
pub mod search;
pub mod skills;
pub mod state;
pub mod server;
pub mod store;
#[cfg(feature = "otel")]
pub mod telemetry;
pub mod terminal;
pub mod transpile;
pub mod typegen;
