//! `mcp-code-runtime types --out DIR`: the declaration files of every
//! configured server, the sandbox API (`runtime.d.ts`), the skills' modules
//! (`skills.d.ts`), an index, and a ready `tsconfig.json`, so programs for the
//! sandbox type-check in an editor or with `tsc -p DIR`.
//!
//! The declarations themselves are `crate::typegen`'s; this module only
//! writes the folder.

use std::io;
use std::path::{Path, PathBuf};

use crate::bridge::Bridge;
use crate::config::Config;
use crate::skills::{self, Library, SkillError, SkillFolders};
use crate::typegen;

/// The `tsconfig.json` written beside the declarations: the sandbox has
/// ES2022 and no DOM, and every program may use top-level `await`.
pub const TSCONFIG: &str = r#"{
  // Written by `mcp-code-runtime types`: checks the programs (*.ts) in this
  // folder and below against the declarations beside this file.
  // `npx tsc -p <this folder>`
  "compilerOptions": {
    "strict": true,
    "noEmit": true,
    "target": "es2022",
    "module": "esnext",
    "moduleResolution": "bundler",
    "moduleDetection": "force",
    "lib": ["es2022"],
    "types": []
  },
  "include": ["**/*.ts"]
}
"#;
pub const TSCONFIG_FILE_NAME: &str = "tsconfig.json";

/// What `write` did.
pub struct Written {
    pub files: Vec<PathBuf>,
    /// Servers whose tools could not be listed, with the reason.
    pub unavailable: Vec<(String, String)>,
    /// Skills that could not be read (left out of `skills.d.ts`).
    pub skill_problems: Vec<SkillError>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct WriteError {
    path: PathBuf,
    source: io::Error,
}

/// Lists every server's tools and writes the folder `out`.
pub async fn write(config: &Config, out: &Path) -> Result<Written, WriteError> {
    let bridge = Bridge::new(config);
    let catalog = bridge.catalog().await;
    bridge.shutdown().await;
    std::fs::create_dir_all(out).map_err(|source| WriteError { path: out.to_path_buf(), source })?;
    let folders = SkillFolders { directory: config.runtime.skills.directory.clone(), data_dir: config.runtime.data_dir.clone() };
    let (library, skill_problems) = Library::load(folders);
    let mut files = vec![
        write_file(out, typegen::RUNTIME_FILE_NAME, typegen::RUNTIME_DECLARATIONS)?,
        write_file(out, typegen::SKILLS_FILE_NAME, &skills::declarations_file(&library.current()))?,
    ];
    let mut servers = Vec::new();
    for (server, tools) in catalog.servers() {
        files.push(write_file(out, &typegen::declaration_file_name(server), &typegen::server_declarations(server, tools))?);
        servers.push(server);
    }
    files.push(write_file(out, typegen::INDEX_FILE_NAME, &typegen::index_declarations(&servers))?);
    files.push(write_file(out, TSCONFIG_FILE_NAME, TSCONFIG)?);
    Ok(Written { files, unavailable: catalog.unavailable, skill_problems })
}

fn write_file(dir: &Path, name: &str, contents: &str) -> Result<PathBuf, WriteError> {
    let path = dir.join(name);
    std::fs::write(&path, contents).map_err(|source| WriteError { path: path.clone(), source })?;
    Ok(path)
}
