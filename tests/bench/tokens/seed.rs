//! The world a workflow runs in: a fresh scratch copy of `examples/seed-project/`
//! (one per path, so the two paths cannot see each other's writes), the shipped
//! `config/seed-servers.json` resolved for that copy, and the copy's `site/`
//! served on loopback. Nothing here speaks MCP.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tempfile::TempDir;

pub use crate::seed_site::Site;
use crate::seed_site::copy_dir;

/// The repository: this crate is `tests/` in it.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repository").to_path_buf()
}

/// A scratch copy of the example project and a HOME for the servers.
pub struct Project {
    pub root: PathBuf,
    pub home: PathBuf,
    _scratch: TempDir,
}

impl Project {
    pub fn fresh() -> Result<Project> {
        let scratch = tempfile::tempdir()?;
        let root = scratch.path().join("seed-project");
        copy_dir(&repository_root().join("examples/seed-project"), &root)?;
        let home = scratch.path().join("home");
        std::fs::create_dir_all(&home)?;
        Ok(Project { root, home, _scratch: scratch })
    }

    pub fn root_text(&self) -> String {
        self.root.display().to_string()
    }

    /// `config/seed-servers.json` with its variables set as the integration
    /// tests set them (`MCP_CODE_RUNTIME_ROOT`, `SEED_PROJECT`, `SEED_HOME`).
    pub fn config(&self) -> Result<Value> {
        let text = std::fs::read_to_string(repository_root().join("config/seed-servers.json"))?;
        let resolved = text
            .replace("${SEED_PROJECT:-${MCP_CODE_RUNTIME_ROOT:-${PWD}}/examples/seed-project}", &self.root_text())
            .replace("${SEED_HOME:-${TMPDIR:-/tmp}/mcp-code-runtime-seed-home}", &self.home.display().to_string())
            .replace("${MCP_CODE_RUNTIME_ROOT:-${PWD}}", &repository_root().display().to_string());
        if let Some(at) = resolved.find("${") {
            bail!("config/seed-servers.json has a variable the benchmark does not set: {}", &resolved[at..(at + 60).min(resolved.len())]);
        }
        Ok(serde_json::from_str(&resolved)?)
    }

    pub fn tasks_file(&self) -> PathBuf {
        self.root.join(".taskmaster/tasks/tasks.json")
    }

    /// The tasks on disk, each reduced to what a workflow may change (no timestamps).
    pub fn tasks(&self) -> Result<Vec<Value>> {
        let file: Value = serde_json::from_slice(&std::fs::read(self.tasks_file())?)?;
        let keep = ["id", "title", "description", "details", "status", "priority", "dependencies"];
        Ok(file["master"]["tasks"]
            .as_array()
            .context("master.tasks")?
            .iter()
            .map(|task| keep.iter().map(|key| ((*key).to_owned(), task[*key].clone())).collect::<serde_json::Map<_, _>>().into())
            .collect())
    }

    /// Appends `tasks` (task-master's shape) to the task file.
    pub fn add_tasks(&self, tasks: Vec<Value>) -> Result<()> {
        let mut file: Value = serde_json::from_slice(&std::fs::read(self.tasks_file())?)?;
        let list = file["master"]["tasks"].as_array_mut().context("master.tasks")?;
        list.extend(tasks);
        let count = list.len();
        file["master"]["metadata"]["taskCount"] = count.into();
        std::fs::write(self.tasks_file(), serde_json::to_vec_pretty(&file)?)?;
        Ok(())
    }
}

