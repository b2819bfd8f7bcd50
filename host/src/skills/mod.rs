//! Skills: the user's reusable TypeScript workflows, as a library the runtime
//! offers as tools and as modules programs import.
//!
//! A skill is one file `<name>.ts`: an async function as its default export
//! and `export const meta = {...}`, read statically by [`meta`]. Skills come
//! from three places, in this order of precedence (a name is taken once):
//! 1. built in: the repository's `skills/`, embedded in the binary;
//! 2. the user's own folder (`codeRuntime.skills.directory`);
//! 3. saved by a model with `save_skill`, under the data folder's `skills/`.
//!
//! This module owns the set of skills, reading their files, validating
//! new ones and writing (and deleting) saved ones atomically ([`store`]), and
//! their documentation and declarations ([`docs`]). It runs no skill and
//! compiles nothing: the runtime does, through the sandbox.

mod docs;
pub mod meta;
mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::transpile::{self, SyntaxError};
use crate::typegen::ToolInfo;

pub use docs::{declarations_file, markdown};
pub use meta::{MetaError, SkillMeta, is_skill_name};

/// The longest skill source accepted, in bytes.
pub const MAX_SKILL_SOURCE_BYTES: usize = 256 << 10;
/// Most problems of one input reported.
const MAX_INPUT_PROBLEMS: usize = 10;
/// The folder of saved skills inside the data folder.
const SAVED_SKILLS_DIR: &str = "skills";

/// The skills in the repository's `skills/` folder, embedded by `build.rs`:
/// `(name, source)`, sorted by name.
const BUILT_IN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/built_in_skills.rs"));

/// Where a skill comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Shipped with mcp-code-runtime: never replaced or deleted.
    Builtin,
    /// The user's own skills folder: edited as files, not through tools.
    Directory,
    /// Saved with `save_skill`: replaced and deleted through tools.
    Saved,
}

/// One skill: its meta, its source and where it is.
#[derive(Debug, Clone)]
pub struct Skill {
    pub meta: SkillMeta,
    pub source: String,
    pub origin: Origin,
    /// The file it was read from (`skills/<name>.ts` for built-in skills).
    pub file: PathBuf,
    /// `meta.input`, compiled when a call first checks an input: a
    /// built-in skill's schemas are checked by its tests and by `skills
    /// build`, not compiled at every start (see [`Skill::check_schemas`]).
    input: Arc<OnceLock<Result<jsonschema::Validator, String>>>,
}

impl Skill {
    fn read(name: &str, source: String, origin: Origin, file: PathBuf) -> Result<Self, SkillError> {
        if source.len() > MAX_SKILL_SOURCE_BYTES {
            return Err(SkillError::TooLarge { bytes: source.len(), max: MAX_SKILL_SOURCE_BYTES });
        }
        let meta = transpile::on_parser_stack(&source, |source| meta::read_meta(name, source))
            .map_err(|error| SkillError::Syntax { file: file.clone(), error })?
            .map_err(|error| SkillError::Meta { file: file.clone(), error })?;
        let skill = Skill { meta, source, origin, file, input: Arc::default() };
        if origin != Origin::Builtin {
            skill.check_schemas()?;
        }
        Ok(skill)
    }

    /// Checks that `meta.input` and `meta.output` are valid JSON Schemas
    /// (keeping the compiled input schema).
    pub fn check_schemas(&self) -> Result<(), SkillError> {
        let schema_error = |field, message| SkillError::Schema { file: self.file.clone(), field, message };
        self.input_validator().map_err(|message| schema_error("input", message.to_owned()))?;
        if let Some(output) = &self.meta.output {
            jsonschema::validator_for(&Value::Object(output.clone())).map_err(|error| schema_error("output", error.to_string()))?;
        }
        Ok(())
    }

    fn input_validator(&self) -> Result<&jsonschema::Validator, &str> {
        self.input
            .get_or_init(|| jsonschema::validator_for(&Value::Object(self.meta.input.clone())).map_err(|error| error.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }

    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// Checks an input against `meta.input`: every way it fails, one per line,
    /// with where in the input (a JSON pointer).
    pub fn check_input(&self, input: &Value) -> Result<(), String> {
        let validator = self.input_validator().map_err(|message| format!("the skill's meta.input is not a valid JSON Schema: {message}"))?;
        let problems: Vec<String> = validator
            .iter_errors(input)
            .take(MAX_INPUT_PROBLEMS)
            .map(|error| {
                let path = error.instance_path().to_string();
                if path.is_empty() { error.to_string() } else { format!("{path}: {error}") }
            })
            .collect();
        if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
    }

    /// The module the guest compiles.
    pub fn javascript(&self) -> Result<String, SkillError> {
        transpile::module_to_javascript(&self.source).map_err(|error| SkillError::Syntax { file: self.file.clone(), error })
    }

    /// The skill as a tool description, for search and declarations.
    pub fn tool_info(&self) -> ToolInfo {
        ToolInfo {
            name: self.meta.name.clone(),
            description: Some(self.meta.description.clone()),
            input_schema: Value::Object(self.meta.input.clone()),
            output_schema: self.meta.output.clone().map(Value::Object),
        }
    }

    /// Its `declare module "skills/<name>"` block.
    pub fn declaration(&self) -> String {
        crate::typegen::skill_declaration(&self.meta.name, &self.tool_info())
    }
}

/// Why a skill cannot be read, saved or deleted.
#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    #[error(
        "`{name}` is not a skill name: lower-case letters and digits in words joined by `-`, starting with a letter, \
         at most {} characters (e.g. `task-triage`)", meta::MAX_SKILL_NAME_CHARS
    )]
    InvalidName { name: String },
    #[error("the skill is {bytes} bytes, over the limit of {max} bytes")]
    TooLarge { bytes: usize, max: usize },
    #[error("{}: {error}", .file.display())]
    Meta { file: PathBuf, error: MetaError },
    #[error("{}: {error}", .file.display())]
    Syntax { file: PathBuf, error: SyntaxError },
    #[error("{}: {message}{}", .file.display(), position(*.line, *.column))]
    Compile { file: PathBuf, message: String, line: Option<u32>, column: Option<u32> },
    #[error("{}: meta.{field} is not a valid JSON Schema: {message}", .file.display())]
    Schema { file: PathBuf, field: &'static str, message: String },
    #[error("the arguments and the code's meta disagree on `{field}`: {detail}")]
    Inconsistent { field: &'static str, detail: String },
    #[error("no MCP server is named {}; known servers: {}", quoted(.unknown), quoted(.known))]
    UnknownServers { unknown: Vec<String>, known: Vec<String> },
    #[error("a skill named `{name}` exists already ({}); pass `replace: true` to replace it", describe_origin(*.origin))]
    Exists { name: String, origin: Origin },
    #[error("`{name}` is a {} skill: it cannot be replaced or deleted through tools", describe_origin(*.origin))]
    Protected { name: String, origin: Origin },
    #[error("no skill is named `{name}`")]
    NotFound { name: String },
    #[error("the code exports `meta` but no default export: export the skill's async function as default")]
    NoDefaultExport,
    #[error("skills cannot be saved: no data folder (set HOME, XDG_DATA_HOME or --data-dir)")]
    NoDataDir,
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

fn position(line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" (line {line}, column {column})"),
        _ => String::new(),
    }
}

fn describe_origin(origin: Origin) -> &'static str {
    match origin {
        Origin::Builtin => "built-in",
        Origin::Directory => "your skills folder's",
        Origin::Saved => "saved",
    }
}

fn quoted(names: &[String]) -> String {
    if names.is_empty() {
        return "(none)".into();
    }
    names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
}

/// The skills at one moment, by name.
#[derive(Debug, Default)]
pub struct SkillSet {
    skills: BTreeMap<String, Arc<Skill>>,
}

impl SkillSet {
    pub fn get(&self, name: &str) -> Option<&Arc<Skill>> {
        self.skills.get(name)
    }

    /// Every skill, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Skill>> {
        self.skills.values()
    }

    pub fn names(&self) -> Vec<String> {
        self.skills.keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.skills.len()
    }

    pub fn is_empty(&self) -> bool {
        self.skills.is_empty()
    }

    /// Adds `skill` unless its name is taken (by a skill of higher precedence).
    fn add(&mut self, skill: Skill) -> Result<(), SkillError> {
        if let Some(existing) = self.skills.get(skill.name()) {
            return Err(SkillError::Exists { name: skill.name().to_owned(), origin: existing.origin });
        }
        self.skills.insert(skill.name().to_owned(), Arc::new(skill));
        Ok(())
    }
}

/// Where a [`Library`] reads and writes skills.
#[derive(Debug, Clone, Default)]
pub struct SkillFolders {
    /// The user's own skills folder (`codeRuntime.skills.directory`).
    pub directory: Option<PathBuf>,
    /// The data folder; saved skills live in its `skills/`.
    pub data_dir: Option<PathBuf>,
}

/// A new skill from `save_skill`, before it is checked.
#[derive(Debug, Clone)]
pub struct SaveRequest {
    pub name: String,
    /// A module with a default export, or a program body, which becomes the
    /// body of the default export (its parameter is `input`).
    pub code: String,
    pub description: String,
    pub input_schema: Map<String, Value>,
    pub output_schema: Option<Map<String, Value>>,
    pub servers: Vec<String>,
    pub replace: bool,
}

/// A checked new skill, not written yet.
#[derive(Debug)]
pub struct Prepared {
    pub skill: Skill,
    /// Characters the skill's file has before the code on its first line.
    shift: u32,
}

impl Prepared {
    /// `error` (about the skill's file) with positions in the code as given.
    pub fn locate(&self, error: SkillError) -> SkillError {
        Prepared::locate_with(self.shift, error)
    }

    fn locate_with(shift: u32, mut error: SkillError) -> SkillError {
        let first_line_column = match &mut error {
            SkillError::Meta { error, .. } => (error.line == 1).then_some(&mut error.column),
            SkillError::Syntax { error, .. } => (error.line == 1).then_some(&mut error.column),
            SkillError::Compile { line: Some(1), column: Some(column), .. } => Some(column),
            _ => None,
        };
        if let Some(column) = first_line_column {
            *column = column.saturating_sub(shift).max(1);
        }
        error
    }
}

/// Every skill the runtime offers, changing as skills are saved and deleted.
pub struct Library {
    folders: SkillFolders,
    current: RwLock<Arc<SkillSet>>,
    /// Held while a saved skill is written or deleted.
    writing: Mutex<()>,
}

impl Library {
    /// Reads every skill. A skill that cannot be read is left out and
    /// reported; the others are offered.
    pub fn load(folders: SkillFolders) -> (Library, Vec<SkillError>) {
        let mut set = SkillSet::default();
        let mut problems = Vec::new();
        for skill in read_all(&folders) {
            if let Err(problem) = skill.and_then(|skill| set.add(skill)) {
                problems.push(problem);
            }
        }
        let library = Library { folders, current: RwLock::new(Arc::new(set)), writing: Mutex::new(()) };
        (library, problems)
    }

    /// The skills now.
    pub fn current(&self) -> Arc<SkillSet> {
        Arc::clone(&self.current.read().expect("skills lock"))
    }

    /// Checks a new skill (name, size, meta, servers, syntax) without writing
    /// anything. `known_servers` are the configured servers. Positions in its
    /// errors are in the code as given.
    pub fn prepare(&self, request: SaveRequest, known_servers: &[String]) -> Result<Prepared, SkillError> {
        if !is_skill_name(&request.name) {
            return Err(SkillError::InvalidName { name: request.name });
        }
        if request.code.len() > MAX_SKILL_SOURCE_BYTES {
            return Err(SkillError::TooLarge { bytes: request.code.len(), max: MAX_SKILL_SOURCE_BYTES });
        }
        match self.current().get(&request.name).map(|skill| skill.origin) {
            Some(origin @ (Origin::Builtin | Origin::Directory)) => return Err(SkillError::Protected { name: request.name, origin }),
            Some(origin @ Origin::Saved) if !request.replace => return Err(SkillError::Exists { name: request.name, origin }),
            _ => {}
        }
        let unknown: Vec<String> = request.servers.iter().filter(|server| !known_servers.contains(server)).cloned().collect();
        if !unknown.is_empty() {
            return Err(SkillError::UnknownServers { unknown, known: known_servers.to_vec() });
        }
        let file = self.saved_dir()?.join(format!("{}.ts", request.name));
        let (source, shift) = store::compose(&request)?;
        let located = |error| Prepared::locate_with(shift, error);
        // Errors name the code given (`<name>.ts`), not a file never written.
        let mut skill = Skill::read(&request.name, source, Origin::Saved, PathBuf::from(format!("{}.ts", request.name))).map_err(located)?;
        store::check_consistent(&request, &skill.meta)?;
        skill.javascript().map_err(located)?;
        skill.file = file;
        Ok(Prepared { skill, shift })
    }

    /// Writes a prepared skill (replacing a saved one of that name) and
    /// offers it at once.
    pub fn commit(&self, prepared: Prepared) -> Result<Arc<Skill>, SkillError> {
        let skill = prepared.skill;
        let _writing = self.writing.lock().expect("skills write lock");
        store::write_atomically(&skill.file, &skill.source)?;
        let skill = Arc::new(skill);
        self.update(|skills| {
            skills.insert(skill.name().to_owned(), Arc::clone(&skill));
        });
        Ok(skill)
    }

    /// Deletes a saved skill.
    pub fn delete(&self, name: &str) -> Result<(), SkillError> {
        let _writing = self.writing.lock().expect("skills write lock");
        let skill = self.current().get(name).cloned().ok_or_else(|| SkillError::NotFound { name: name.to_owned() })?;
        if skill.origin != Origin::Saved {
            return Err(SkillError::Protected { name: name.to_owned(), origin: skill.origin });
        }
        store::remove(&skill.file)?;
        self.update(|skills| {
            skills.remove(name);
        });
        Ok(())
    }

    fn update(&self, change: impl FnOnce(&mut BTreeMap<String, Arc<Skill>>)) {
        let mut current = self.current.write().expect("skills lock");
        let mut skills = current.skills.clone();
        change(&mut skills);
        *current = Arc::new(SkillSet { skills });
    }

    fn saved_dir(&self) -> Result<PathBuf, SkillError> {
        self.folders.data_dir.as_ref().map(|dir| dir.join(SAVED_SKILLS_DIR)).ok_or(SkillError::NoDataDir)
    }
}

/// Every skill of every source, in precedence order.
fn read_all(folders: &SkillFolders) -> Vec<Result<Skill, SkillError>> {
    let mut skills: Vec<Result<Skill, SkillError>> = built_in().collect();
    if let Some(directory) = &folders.directory {
        skills.extend(store::read_folder(directory, Origin::Directory));
    }
    if let Some(data_dir) = &folders.data_dir {
        skills.extend(store::read_folder(&data_dir.join(SAVED_SKILLS_DIR), Origin::Saved));
    }
    skills
}

/// The built-in skills, read from the binary.
pub fn built_in() -> impl Iterator<Item = Result<Skill, SkillError>> {
    BUILT_IN.iter().map(|(name, source)| {
        let file = Path::new("skills").join(format!("{name}.ts"));
        Skill::read(name, (*source).to_owned(), Origin::Builtin, file)
    })
}

#[cfg(test)]
mod tests;
