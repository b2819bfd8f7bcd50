//! `mcp-code-runtime migrate`: from a user's Claude setup to code mode.
//!
//! It gathers the MCP servers of Claude Code and Claude Desktop (see
//! [`sources`]), adds them to this runtime's config file (keeping what that
//! file already holds, so a second run changes nothing), and registers
//! `code-runtime` in the Claude Code config of the chosen scope, where the
//! direct servers stay as a fallback unless `--replace` is given.
//!
//! Every file is read and checked before any is written, so a file that does
//! not parse stops the migration with its line and column and nothing is
//! changed. Writes are atomic and keep a backup ([`files`]). Server entries
//! are copied as written: `${VAR}` references are never expanded.
//!
//! It must not start servers or read the environment beyond the locations of
//! Claude's files; it does not use `crate::config`, which expands variables.

mod files;
mod sources;

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::cli::Scope;
use files::JsonFile;
use sources::{SELF_NAME, Source, Translated};

pub use sources::Locations;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{}:{line}:{column}: {message} (nothing was changed: fix the file and run migrate again)", path.display())]
    Parse { path: PathBuf, line: usize, column: usize, message: String },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("{}: {message} (nothing was changed)", path.display())]
    Shape { path: PathBuf, message: String },
    #[error("HOME is not set, so Claude's configuration cannot be found")]
    NoHome,
    #[error("no MCP servers to migrate; looked in: {looked}")]
    NothingFound { looked: String },
}

/// What to migrate, with every path absolute.
#[derive(Debug, Clone)]
pub struct Request {
    /// `--from`: the only source, instead of Claude's files.
    pub from: Option<PathBuf>,
    pub scope: Scope,
    pub replace: bool,
    pub project: PathBuf,
    /// `--config`: the runtime config to write, else the scope's default.
    pub runtime_config: Option<PathBuf>,
    /// This binary, as `code-runtime`'s command.
    pub binary: PathBuf,
}

/// The files to change, computed before anything is written.
#[derive(Debug)]
pub struct Plan {
    /// Each file with its new contents; unchanged files included.
    files: Vec<(JsonFile, Value)>,
    /// The servers the runtime config lists, in its order.
    pub servers: Vec<String>,
    /// What was skipped, shadowed or left in place, for the user.
    pub notes: Vec<String>,
}

/// Reads every file involved and computes the new runtime config and Claude config.
pub fn plan(request: &Request, locations: &Locations) -> Result<Plan, MigrateError> {
    let mut notes = Vec::new();
    let claude = JsonFile::read(&locations.claude_code)?;
    let project_file = JsonFile::read(&request.project.join(".mcp.json"))?;
    let sources = gather(request, locations, &claude, &project_file)?;
    let migrated = merge(&sources, &mut notes);

    let runtime_path = request.runtime_config.clone().unwrap_or_else(|| default_runtime_config(request, locations));
    let runtime_file = JsonFile::read(&runtime_path)?;
    let runtime = runtime_config(&runtime_file, &migrated, &mut notes)?;
    let servers: Vec<String> = runtime["mcpServers"].as_object().map(|servers| servers.keys().cloned().collect()).unwrap_or_default();
    if servers.is_empty() {
        let looked = sources.iter().map(|source| source.label.clone()).collect::<Vec<_>>().join(", ");
        return Err(MigrateError::NothingFound { looked });
    }

    let target = match request.scope {
        Scope::Project => project_file,
        Scope::User => claude,
    };
    let registered = register(request, &target, &runtime_file.path, &migrated, &mut notes)?;
    Ok(Plan { files: vec![(runtime_file, runtime), (target, registered)], servers, notes })
}

/// The sources for `request`, by precedence (the first source that names a server wins).
fn gather(request: &Request, locations: &Locations, claude: &JsonFile, project: &JsonFile) -> Result<Vec<Source>, MigrateError> {
    if let Some(from) = &request.from {
        let file = JsonFile::read(from)?;
        if !file.exists() {
            let source = io::Error::new(io::ErrorKind::NotFound, "no such file");
            return Err(MigrateError::Read { path: from.clone(), source });
        }
        return Ok(vec![sources::servers_at(&file, "/mcpServers", file.path.display().to_string())?]);
    }
    let desktop = JsonFile::read(&locations.desktop)?;
    let claude_name = claude.path.display();
    Ok(vec![
        sources::servers_at(claude, &sources::project_pointer(&request.project), format!("{claude_name} (this project, local scope)"))?,
        sources::servers_at(project, "/mcpServers", format!("{} (project scope)", project.path.display()))?,
        sources::servers_at(claude, "/mcpServers", format!("{claude_name} (user scope)"))?,
        sources::servers_at(&desktop, "/mcpServers", format!("{} (Claude Desktop)", desktop.path.display()))?,
    ])
}

/// A migrated server: its name, runtime entry and where it came from.
struct Migrated {
    name: String,
    entry: Value,
    from: String,
}

fn merge(sources: &[Source], notes: &mut Vec<String>) -> Vec<Migrated> {
    let mut migrated: Vec<Migrated> = Vec::new();
    for source in sources {
        for (name, entry) in &source.servers {
            if let Some(taken) = migrated.iter().find(|server| &server.name == name) {
                notes.push(format!("`{name}` of {} is shadowed by the one of {}", source.label, taken.from));
                continue;
            }
            match sources::translate(name, entry) {
                Translated::Entry(entry, dropped) => {
                    if !dropped.is_empty() {
                        notes.push(format!("`{name}`: dropped keys this runtime does not use: {}", dropped.join(", ")));
                    }
                    migrated.push(Migrated { name: name.clone(), entry, from: source.label.clone() });
                }
                Translated::Skipped(reason) => notes.push(format!("not migrated: `{name}` of {}: {reason}", source.label)),
            }
        }
    }
    migrated
}

fn default_runtime_config(request: &Request, locations: &Locations) -> PathBuf {
    match request.scope {
        Scope::Project => request.project.join(".mcp-code-runtime.json"),
        Scope::User => locations.config_home.join("mcp-code-runtime/servers.json"),
    }
}

/// The runtime config: what the file holds, with the migrated servers added
/// or updated and never `code-runtime` itself.
fn runtime_config(file: &JsonFile, migrated: &[Migrated], notes: &mut Vec<String>) -> Result<Value, MigrateError> {
    let mut value = file.value.clone();
    let servers = servers_object(file, &mut value)?;
    servers.retain(|name, entry| {
        let own = entry.as_object().is_some_and(|entry| sources::is_self(name, entry));
        if own {
            notes.push(format!("removed `{name}` from {}: the runtime must not list itself", file.path.display()));
        }
        !own
    });
    for server in migrated {
        servers.insert(server.name.clone(), server.entry.clone());
    }
    Ok(value)
}

/// `mcpServers` of `value` (a copy of `file`), created when missing.
fn servers_object<'a>(file: &JsonFile, value: &'a mut Value) -> Result<&'a mut Map<String, Value>, MigrateError> {
    let Value::Object(top) = value else { return Err(sources::shape(file, "the file is not a JSON object".into())) };
    match top.entry("mcpServers").or_insert_with(|| json!({})) {
        Value::Object(servers) => Ok(servers),
        Value::Array(_) => Err(sources::shape(file, "`mcpServers` is an array: migrate writes the object form, so convert it or choose another --config".into())),
        _ => Err(sources::shape(file, "`mcpServers` is not an object".into())),
    }
}

/// Claude's config with `code-runtime` registered and, with `--replace`,
/// the migrated servers removed.
fn register(request: &Request, target: &JsonFile, runtime_config: &Path, migrated: &[Migrated], notes: &mut Vec<String>) -> Result<Value, MigrateError> {
    let mut value = target.value.clone();
    let entry = json!({
        "type": "stdio",
        "command": request.binary,
        "args": ["serve", "--config", runtime_config],
    });
    if request.replace {
        let project_pointer = sources::project_pointer(&request.project);
        for server in migrated {
            let removed = servers_object(target, &mut value)?.shift_remove(&server.name).is_some();
            let removed_locally = request.scope == Scope::User
                && value.pointer_mut(&project_pointer).and_then(Value::as_object_mut).is_some_and(|local| local.shift_remove(&server.name).is_some());
            if !removed && !removed_locally {
                notes.push(format!("`{}` stays a direct server in {} (--replace changes only {})", server.name, server.from, target.path.display()));
            }
        }
    }
    servers_object(target, &mut value)?.insert(SELF_NAME.to_owned(), entry);
    Ok(value)
}

impl Plan {
    /// The diff of every file that would change.
    pub fn diff(&self) -> String {
        let mut text = String::new();
        for (file, value) in &self.files {
            if file.changed_by(value) {
                text.push_str(&files::diff(file, &files::render(value)));
            } else {
                let _ = writeln!(text, "unchanged: {}", file.path.display());
            }
        }
        text
    }

    /// Writes every changed file (the runtime config first, so Claude never
    /// points at a missing one); returns one line per file.
    pub fn apply(&self) -> Result<Vec<String>, MigrateError> {
        let mut report = Vec::new();
        for (file, value) in &self.files {
            if !file.changed_by(value) {
                report.push(format!("unchanged: {}", file.path.display()));
                continue;
            }
            report.push(match files::write(file, &files::render(value))? {
                Some(backup) => format!("updated: {} (backup: {})", file.path.display(), backup.display()),
                None => format!("created: {}", file.path.display()),
            });
        }
        Ok(report)
    }

    /// The runtime config file this plan writes.
    pub fn runtime_config(&self) -> &Path {
        &self.files[0].0.path
    }
}
