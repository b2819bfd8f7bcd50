//! Where Claude Code and Claude Desktop keep MCP servers, and how one of their
//! server entries becomes an entry of this runtime's config.
//!
//! Claude Code reads, by precedence: the project's entry in its user file
//! (`~/.claude.json`, `projects.<folder>.mcpServers`, "local" scope), the
//! project's `.mcp.json`, and the user's `mcpServers` in `~/.claude.json`.
//! Claude Desktop has `claude_desktop_config.json`. Entries are copied, never
//! interpreted: `${VAR}` references stay references.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::files::JsonFile;
use super::MigrateError;

/// The name `code-runtime` is registered under in Claude's config.
pub const SELF_NAME: &str = "code-runtime";
/// The file name of this runtime's binary.
const BINARY_NAME: &str = "mcp-code-runtime";
/// The keys of a server entry this runtime understands (see `crate::config`).
const KEPT_KEYS: &[&str] = &["type", "command", "args", "env", "cwd", "inheritEnv", "url", "headers", "disabled"];

/// The files of one user's Claude setup.
#[derive(Debug, Clone)]
pub struct Locations {
    /// Claude Code's user file: `$CLAUDE_CONFIG_DIR/.claude.json`, else `~/.claude.json`.
    pub claude_code: PathBuf,
    /// Claude Desktop's config.
    pub desktop: PathBuf,
    /// `$XDG_CONFIG_HOME`, else `~/.config`: where the user-scope runtime config goes.
    pub config_home: PathBuf,
}

impl Locations {
    /// The locations for `home` and the given variables' values.
    pub fn new(home: &Path, claude_config_dir: Option<PathBuf>, xdg_config_home: Option<PathBuf>) -> Locations {
        let config_home = xdg_config_home.filter(|dir| dir.is_absolute()).unwrap_or_else(|| home.join(".config"));
        let claude_code = claude_config_dir.unwrap_or_else(|| home.to_path_buf()).join(".claude.json");
        let desktop = if cfg!(target_os = "macos") {
            home.join("Library/Application Support/Claude/claude_desktop_config.json")
        } else {
            config_home.join("Claude/claude_desktop_config.json")
        };
        Locations { claude_code, desktop, config_home }
    }

    /// The locations from `HOME`, `CLAUDE_CONFIG_DIR` and `XDG_CONFIG_HOME`.
    pub fn from_env() -> Result<Locations, MigrateError> {
        let home = std::env::var_os("HOME").filter(|home| !home.is_empty()).ok_or(MigrateError::NoHome)?;
        let var = |name| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
        Ok(Locations::new(Path::new(&home), var("CLAUDE_CONFIG_DIR"), var("XDG_CONFIG_HOME")))
    }
}

/// Servers found in one place.
#[derive(Debug)]
pub struct Source {
    /// E.g. `.mcp.json (project)`.
    pub label: String,
    pub servers: Vec<(String, Value)>,
}

/// The `mcpServers` object at `pointer` in `file` (empty when absent).
pub fn servers_at(file: &JsonFile, pointer: &str, label: String) -> Result<Source, MigrateError> {
    let servers = match file.value.pointer(pointer) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(servers)) => servers.iter().map(|(name, entry)| (name.clone(), entry.clone())).collect(),
        Some(Value::Array(entries)) => listed_servers(file, entries)?,
        Some(_) => return Err(shape(file, format!("`{}` is not an object of servers", readable(pointer)))),
    };
    Ok(Source { label, servers })
}

/// This runtime's own array form: entries that carry their `name`.
fn listed_servers(file: &JsonFile, entries: &[Value]) -> Result<Vec<(String, Value)>, MigrateError> {
    entries
        .iter()
        .map(|entry| match entry.get("name").and_then(Value::as_str) {
            Some(name) => {
                let mut entry = entry.clone();
                entry.as_object_mut().map(|object| object.remove("name"));
                Ok((name.to_owned(), entry))
            }
            None => Err(shape(file, "an entry of `mcpServers` has no `name`".to_owned())),
        })
        .collect()
}

/// `/projects/<folder>/mcpServers`: the JSON pointer of a project's servers in `~/.claude.json`.
pub fn project_pointer(project: &Path) -> String {
    let folder = project.to_string_lossy().replace('~', "~0").replace('/', "~1");
    format!("/projects/{folder}/mcpServers")
}

/// `/projects/~1a~1b/mcpServers` as `projects["/a/b"].mcpServers`.
fn readable(pointer: &str) -> String {
    let mut text = String::new();
    for segment in pointer.trim_start_matches('/').split('/') {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.contains(['/', '.']) {
            text.push_str(&format!("[{segment:?}]"));
        } else {
            if !text.is_empty() {
                text.push('.');
            }
            text.push_str(&segment);
        }
    }
    text
}

pub fn shape(file: &JsonFile, message: String) -> MigrateError {
    MigrateError::Shape { path: file.path.clone(), message }
}

/// What becomes of one entry.
pub enum Translated {
    /// The entry for this runtime's config, and the keys it dropped.
    Entry(Value, Vec<String>),
    /// Not migrated, with the reason.
    Skipped(String),
}

/// The runtime config entry for Claude's entry `name`.
pub fn translate(name: &str, entry: &Value) -> Translated {
    let Some(object) = entry.as_object() else { return Translated::Skipped("the entry is not an object".into()) };
    if is_self(name, object) {
        return Translated::Skipped(format!("it is `{SELF_NAME}` itself, which must not be in its own server list"));
    }
    match object.get("type").and_then(Value::as_str) {
        None | Some("stdio" | "http" | "streamable-http") => {}
        Some(other) => return Translated::Skipped(format!("its transport `{other}` is not supported (stdio and Streamable HTTP are)")),
    }
    if !object.contains_key("command") && !object.contains_key("url") {
        return Translated::Skipped("it has neither `command` nor `url`".into());
    }
    let kept: Map<String, Value> =
        KEPT_KEYS.iter().filter_map(|key| object.get(*key).map(|value| ((*key).to_owned(), value.clone()))).collect();
    let dropped = object.keys().filter(|key| !KEPT_KEYS.contains(&key.as_str())).cloned().collect();
    Translated::Entry(Value::Object(kept), dropped)
}

/// Whether an entry is this runtime: named `code-runtime`, or running this binary.
pub fn is_self(name: &str, entry: &Map<String, Value>) -> bool {
    let command = entry.get("command").and_then(Value::as_str).unwrap_or("");
    name == SELF_NAME || Path::new(command).file_name().is_some_and(|file| file == BINARY_NAME)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_project_folder_is_one_json_pointer_segment() {
        assert_eq!(project_pointer(Path::new("/home/a~b/my.proj")), "/projects/~1home~1a~0b~1my.proj/mcpServers");
        assert_eq!(readable(&project_pointer(Path::new("/w/p"))), r#"projects["/w/p"].mcpServers"#);
    }

    #[test]
    fn entries_keep_what_the_runtime_reads_verbatim() {
        let entry = json!({"command": "npx", "args": ["${ROOT}"], "env": {"K": "${K:-x}"}, "alwaysAllow": ["a"], "timeout": 5});
        let Translated::Entry(kept, dropped) = translate("fs", &entry) else { panic!("migrated") };
        assert_eq!(kept, json!({"command": "npx", "args": ["${ROOT}"], "env": {"K": "${K:-x}"}}));
        assert_eq!(dropped, ["alwaysAllow", "timeout"]);
    }

    #[test]
    fn itself_sse_and_empty_entries_are_skipped() {
        for (name, entry) in [
            ("code-runtime", json!({"command": "anything"})),
            ("renamed", json!({"command": "/usr/bin/mcp-code-runtime", "args": ["serve"]})),
            ("old", json!({"type": "sse", "url": "http://x"})),
            ("empty", json!({"env": {}})),
            ("odd", json!("npx")),
        ] {
            assert!(matches!(translate(name, &entry), Translated::Skipped(_)), "{name}");
        }
    }
}
