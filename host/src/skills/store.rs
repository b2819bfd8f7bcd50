//! Skill files: reading a folder of them, composing a saved skill's file from
//! `save_skill`'s arguments, and writing and removing saved files atomically
//! (a fresh temporary file, then a rename), so a crash leaves the old file or
//! the new one, never half of one.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::meta::{self, SkillMeta};
use super::{Origin, SaveRequest, Skill, SkillError};

/// The skills of a folder (`<name>.ts` files; other files are ignored), by
/// file name. A missing folder has none.
pub(super) fn read_folder(folder: &Path, origin: Origin) -> Vec<Result<Skill, SkillError>> {
    let Ok(entries) = fs::read_dir(folder) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "ts") && !is_declaration(path))
        .collect();
    files.sort();
    files.into_iter().map(|file| read_file(&file, origin)).collect()
}

fn is_declaration(path: &Path) -> bool {
    path.to_string_lossy().ends_with(".d.ts")
}

fn read_file(file: &Path, origin: Origin) -> Result<Skill, SkillError> {
    let name = file.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
    if !meta::is_skill_name(&name) {
        return Err(SkillError::InvalidName { name });
    }
    let size = fs::metadata(file).map_err(|source| SkillError::Io { path: file.to_owned(), source })?.len();
    if size > super::MAX_SKILL_SOURCE_BYTES as u64 {
        return Err(SkillError::TooLarge { bytes: size as usize, max: super::MAX_SKILL_SOURCE_BYTES });
    }
    let source = fs::read_to_string(file).map_err(|source| SkillError::Io { path: file.to_owned(), source })?;
    Skill::read(&name, source, origin, file.to_owned())
}

/// The file a saved skill gets: the code as written when it has a default
/// export, else the code as the body of one (`input` is its parameter, and
/// it starts on the code's first line, so positions stay the code's); then
/// the meta from the arguments unless the code has its own.
/// The wrapper a program body is put in, on the body's first line.
const BODY_OPEN: &str = "export default async function run(input: any) { ";

/// Returns the source and how many characters it adds before the code on
/// its first line (to give positions in the code as it was given).
pub(super) fn compose(request: &SaveRequest) -> Result<(String, u32), SkillError> {
    let exports = Exports::of(&request.code);
    if exports.meta && !exports.default {
        return Err(SkillError::NoDefaultExport);
    }
    let (mut source, shift) = if exports.default {
        (request.code.clone(), 0)
    } else {
        let body = crate::transpile::imports_as_dynamic(&request.code);
        (format!("{BODY_OPEN}{body}\n}}\n"), BODY_OPEN.chars().count() as u32)
    };
    if !exports.meta {
        source.push_str(&format!("\nexport const meta = {};\n", meta_literal(request)));
    }
    Ok((source, shift))
}

/// What a piece of code exports, as far as composing a skill file cares.
struct Exports {
    meta: bool,
    default: bool,
}

impl Exports {
    /// Code that does not parse as a module (a program body with a top-level
    /// `return`, or a syntax error the later checks report) exports nothing.
    fn of(code: &str) -> Exports {
        match meta::parse_module(code) {
            Some(module) => Exports { meta: meta::has_meta_export(&module), default: meta::has_default_export(&module) },
            None => Exports { meta: false, default: false },
        }
    }
}

/// `save_skill`'s arguments as the meta object literal (JSON).
fn meta_literal(request: &SaveRequest) -> String {
    let mut meta = serde_json::Map::new();
    meta.insert("name".into(), Value::String(request.name.clone()));
    meta.insert("description".into(), Value::String(request.description.clone()));
    meta.insert("servers".into(), Value::from(request.servers.clone()));
    meta.insert("input".into(), Value::Object(request.input_schema.clone()));
    if let Some(output) = &request.output_schema {
        meta.insert("output".into(), Value::Object(output.clone()));
    }
    let call = format!("{}({{}})", crate::typegen::camel_case(&request.name));
    meta.insert("examples".into(), Value::from(vec![call]));
    serde_json::to_string_pretty(&Value::Object(meta)).unwrap_or_default()
}

/// The code's own meta must say what the arguments say.
pub(super) fn check_consistent(request: &SaveRequest, meta: &SkillMeta) -> Result<(), SkillError> {
    let disagree = |field, detail: String| Err(SkillError::Inconsistent { field, detail });
    if meta.description != request.description {
        return disagree("description", format!("{:?} in the code", meta.description));
    }
    let mut declared = meta.servers.clone();
    let mut requested = request.servers.clone();
    declared.sort();
    requested.sort();
    if declared != requested {
        return disagree("servers", format!("{} in the code", declared.join(", ")));
    }
    if meta.input != request.input_schema {
        return disagree("inputSchema", "the code's meta.input is a different schema".into());
    }
    if meta.output != request.output_schema {
        return disagree("outputSchema", "the code's meta.output is a different schema".into());
    }
    Ok(())
}

/// Writes `contents` to `file` through a fresh temporary file in the same
/// folder (created if missing), then renames it over `file`.
pub(super) fn write_atomically(file: &Path, contents: &str) -> Result<(), SkillError> {
    let folder = file.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(folder).map_err(|source| SkillError::Io { path: folder.to_owned(), source })?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.subsec_nanos());
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let temporary = folder.join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut out| {
            out.write_all(contents.as_bytes())?;
            out.sync_all()
        });
    if let Err(source) = written.and_then(|()| fs::rename(&temporary, file)) {
        let _ = fs::remove_file(&temporary);
        return Err(SkillError::Io { path: file.to_owned(), source });
    }
    if let Ok(directory) = fs::File::open(folder) {
        let _ = directory.sync_all();
    }
    Ok(())
}

pub(super) fn remove(file: &Path) -> Result<(), SkillError> {
    fs::remove_file(file).map_err(|source| SkillError::Io { path: file.to_owned(), source })
}
