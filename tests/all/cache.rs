//! The compiled-artifact cache: a corrupt or stale artifact is rebuilt, and
//! the run it was needed for still succeeds; a cache others can write to is
//! not used at all.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::util::host_binary;

fn run(cache_dir: &Path) -> Result<Value> {
    Ok(run_logged(cache_dir)?.0)
}

/// The run's output and the host's log (warnings and errors).
fn run_logged(cache_dir: &Path) -> Result<(Value, String)> {
    let program = cache_dir.join("program.ts");
    std::fs::write(&program, "return 6 * 7;")?;
    let output = Command::new(host_binary())
        .arg("run")
        .arg(&program)
        .arg("--cache-dir")
        .arg(cache_dir)
        .env("RUST_LOG", "warn")
        .output()?;
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{log}");
    Ok((serde_json::from_slice(&output.stdout)?, log))
}

fn artifact(cache_dir: &Path) -> Result<PathBuf> {
    let mut artifacts: Vec<PathBuf> = std::fs::read_dir(cache_dir)?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "cwasm"))
        .collect();
    assert_eq!(artifacts.len(), 1, "one artifact in {}: {artifacts:?}", cache_dir.display());
    artifacts.pop().context("an artifact")
}

#[test]
fn a_corrupt_or_stale_artifact_is_rebuilt() -> Result<()> {
    let cache = tempfile::tempdir()?;
    assert_eq!(run(cache.path())?["result"], json!(42), "a cold cache builds the artifact");
    let path = artifact(cache.path())?;
    let mut corrupt = std::fs::read(&path)?;
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    std::fs::write(&path, &corrupt)?;
    assert_eq!(run(cache.path())?["result"], json!(42), "a corrupt artifact is rebuilt");
    assert_valid_replacement(&path, &corrupt)?;

    // Stale: intact as a file (its checksum matches) but not an artifact this engine can load.
    let stale = b"not a compiled component from this wasmtime".to_vec();
    let mut file = xxh3_checksum(&stale).to_vec();
    file.extend_from_slice(&stale);
    std::fs::write(&path, &file)?;
    assert_eq!(run(cache.path())?["result"], json!(42), "a stale artifact is rebuilt");
    assert_valid_replacement(&path, &file)?;

    std::fs::write(&path, b"short")?;
    assert_eq!(run(cache.path())?["result"], json!(42), "a truncated artifact is rebuilt");
    assert_valid_replacement(&path, b"short")?;
    Ok(())
}

#[test]
fn a_cache_directory_others_can_write_to_is_not_used() -> Result<()> {
    let cache = tempfile::tempdir()?;
    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o777))?;
    let (output, log) = run_logged(cache.path())?;
    assert_eq!(output["result"], json!(42), "the guest is compiled in memory instead");
    assert!(log.contains("writable by group or others"), "the host warns: {log}");
    let cached: Vec<_> = std::fs::read_dir(cache.path())?
        .filter_map(|entry| Some(entry.ok()?.file_name()))
        .filter(|name| name != "program.ts")
        .collect();
    assert!(cached.is_empty(), "nothing is written to a directory others can write to: {cached:?}");
    Ok(())
}

/// The file at `path` is no longer `bad`, and is a whole artifact again.
fn assert_valid_replacement(path: &Path, bad: &[u8]) -> Result<()> {
    let now = std::fs::read(path)?;
    assert!(now != bad, "the bad artifact was not replaced");
    let (checksum, artifact) = now.split_at(8);
    assert!(checksum == xxh3_checksum(artifact) && artifact.len() > 1 << 20, "the new artifact is whole ({} bytes)", now.len());
    Ok(())
}

/// The checksum the cache writes before an artifact (xxh3-64, little-endian).
fn xxh3_checksum(bytes: &[u8]) -> [u8; 8] {
    xxhash_rust::xxh3::xxh3_64(bytes).to_le_bytes()
}
