//! The JSON files `migrate` reads and writes: reading with errors that name
//! file, line and column; rendering; a unified diff for `--dry-run`; and the
//! atomic write that first keeps a backup of what it replaces.
//!
//! It knows nothing of what the files mean.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::MigrateError;

/// The mode of a file `migrate` creates: it may hold credentials copied from
/// the server entries.
const NEW_FILE_MODE: u32 = 0o600;
/// Backup names tried within one second before giving up.
const BACKUP_ATTEMPTS: u32 = 100;

/// A JSON file as found: its text (when it exists) and its value.
#[derive(Debug, Clone)]
pub struct JsonFile {
    /// Where it is written: symbolic links are resolved, so a linked dotfile
    /// is updated where it lives.
    pub path: PathBuf,
    pub text: Option<String>,
    pub value: Value,
}

impl JsonFile {
    /// Reads `path`; a missing file is an empty object with no text.
    pub fn read(path: &Path) -> Result<JsonFile, MigrateError> {
        let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(JsonFile { path, text: None, value: Value::Object(Default::default()) });
            }
            Err(source) => return Err(MigrateError::Read { path, source }),
        };
        let value = parse(&path, &text)?;
        Ok(JsonFile { path, text: Some(text), value })
    }

    pub fn exists(&self) -> bool {
        self.text.is_some()
    }

    /// Whether `value` differs from what the file holds.
    pub fn changed_by(&self, value: &Value) -> bool {
        !self.exists() || &self.value != value
    }
}

fn parse(path: &Path, text: &str) -> Result<Value, MigrateError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_json::from_str(text).map_err(|error| {
        let full = error.to_string();
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        MigrateError::Parse {
            path: path.to_path_buf(),
            line: error.line(),
            column: error.column(),
            message: full.strip_suffix(&suffix).unwrap_or(&full).to_owned(),
        }
    })
}

/// The text `migrate` writes for `value`: two-space indentation, as Claude writes its files.
pub fn render(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("a JSON value always serializes");
    text.push('\n');
    text
}

/// A unified diff from the file's text to `new` (`/dev/null` for a new file).
pub fn diff(file: &JsonFile, new: &str) -> String {
    let old = file.text.as_deref().unwrap_or("");
    let shown = file.path.display().to_string();
    let from = if file.exists() { shown.clone() } else { "/dev/null".to_owned() };
    similar::TextDiff::from_lines(old, new).unified_diff().context_radius(3).header(&from, &shown).to_string()
}

/// Replaces `file` with `new` atomically, keeping a backup of the old contents
/// beside it; returns the backup's path. A new file gets mode 0600 and its
/// folder is created; an existing one keeps its mode.
pub fn write(file: &JsonFile, new: &str) -> Result<Option<PathBuf>, MigrateError> {
    let failed = |source| MigrateError::Write { path: file.path.clone(), source };
    let dir = file.path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(failed)?;
    let mode = match fs::metadata(&file.path) {
        Ok(metadata) => metadata.permissions().mode() & 0o7777,
        Err(_) => NEW_FILE_MODE,
    };
    let backup = if file.exists() { Some(backup(&file.path).map_err(failed)?) } else { None };
    let temporary = dir.join(format!(".{}.migrate-{}", file_name(&file.path), std::process::id()));
    let written = write_new(&temporary, new, mode).and_then(|()| fs::rename(&temporary, &file.path));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written.map_err(failed)?;
    Ok(backup)
}

fn write_new(path: &Path, contents: &str, mode: u32) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).custom_flags(libc::O_NOFOLLOW).open(path)?;
    // The mode is set again: `open` applies the umask.
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Copies `path` to a new `<name>.bak-<unix seconds>[-<n>]` beside it.
fn backup(path: &Path) -> io::Result<PathBuf> {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0);
    let base = format!("{}.bak-{seconds}", file_name(path));
    for attempt in 0..BACKUP_ATTEMPTS {
        let name = if attempt == 0 { base.clone() } else { format!("{base}-{attempt}") };
        let target = path.with_file_name(name);
        let mode = fs::metadata(path)?.permissions().mode() & 0o7777;
        match OpenOptions::new().write(true).create_new(true).mode(mode).custom_flags(libc::O_NOFOLLOW).open(&target) {
            Ok(mut copy) => {
                copy.write_all(&fs::read(path)?)?;
                copy.sync_all()?;
                return Ok(target);
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, "too many backups in one second"))
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}
