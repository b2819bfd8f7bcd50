//! The guest runtime, snapshotted and compiled once, cached on disk.
//!
//! The guest component is embedded in the binary. On a cache miss it is
//! initialized once with Wizer (so no run pays for building the JavaScript
//! runtime), compiled by Cranelift, and written to the cache directory with a
//! checksum. A warm start only reads, verifies and deserializes the file.
//!
//! The file name carries the guest's content hash and the engine's
//! compatibility hash (wasmtime version and every setting that affects code
//! generation), so a changed guest or engine never loads a stale artifact. A
//! file that fails its checksum or does not deserialize is rebuilt.
//!
//! # Security
//! Deserializing compiled code trusts it. Only files this module wrote, whose
//! checksum matches, are deserialized; the cache directory belongs to the user
//! who runs the host.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};
use wasmtime_wizer::Wizer;
use xxhash_rust::xxh3::xxh3_64;

use super::bindings::{Failure, FailureKind};
use super::host::tools::{ToolAccess, ToolFuture};
use super::state::HostState;

/// The guest runtime component built by `build.rs` from `guest-sdk/`.
const GUEST_COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest.wasm"));
/// Content hash of [`GUEST_COMPONENT`].
const GUEST_HASH: &str = include_str!(concat!(env!("OUT_DIR"), "/guest.hash"));
/// The guest export Wizer runs before taking the snapshot.
const INIT_FUNCTION: &str = "initialize-runtime";
const CHECKSUM_BYTES: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot initialize the guest runtime for its snapshot: {0}")]
    Snapshot(wasmtime::Error),
    #[error("cannot compile the guest runtime: {0}")]
    Compile(wasmtime::Error),
}

/// The compiled guest: from the cache when a valid artifact is there, else
/// built and cached.
pub async fn load_or_build(
    engine: &Engine,
    linker: &Linker<HostState>,
    cache_dir: &Path,
) -> Result<Component, ArtifactError> {
    let path = artifact_path(engine, cache_dir);
    match load(engine, &path) {
        Ok(component) => return Ok(component),
        Err(reason) => tracing::info!(path = %path.display(), %reason, "building the guest artifact"),
    }
    let started = Instant::now();
    let snapshot = snapshot(engine, linker).await.map_err(ArtifactError::Snapshot)?;
    let compiled = engine.precompile_component(&snapshot).map_err(ArtifactError::Compile)?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "guest artifact built");
    if let Err(error) = save(&path, &compiled) {
        tracing::warn!(path = %path.display(), %error, "cannot cache the guest artifact; the next start compiles again");
    }
    // SAFETY: `compiled` was produced just now by this engine.
    unsafe { Component::deserialize(engine, &compiled) }.map_err(ArtifactError::Compile)
}

/// Where the artifact for this guest and engine configuration lives.
pub fn artifact_path(engine: &Engine, cache_dir: &Path) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    cache_dir.join(format!("guest-{}-{:016x}.cwasm", GUEST_HASH.trim(), hasher.finish()))
}

#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("no cached artifact ({0})")]
    Unreadable(std::io::Error),
    #[error("the cached artifact is corrupt (checksum mismatch)")]
    Corrupt,
    #[error("the cached artifact does not load: {0}")]
    Incompatible(wasmtime::Error),
}

fn load(engine: &Engine, path: &Path) -> Result<Component, LoadError> {
    let bytes = std::fs::read(path).map_err(LoadError::Unreadable)?;
    let (checksum, artifact) = bytes.split_at_checked(CHECKSUM_BYTES).ok_or(LoadError::Corrupt)?;
    if checksum != xxh3_64(artifact).to_le_bytes() {
        return Err(LoadError::Corrupt);
    }
    // SAFETY: the file was written by `save` from `Engine::precompile_component`
    // and its checksum shows it is unchanged; deserialization itself rejects
    // artifacts of another wasmtime version or engine configuration.
    unsafe { Component::deserialize(engine, artifact) }.map_err(LoadError::Incompatible)
}

/// Writes the artifact atomically: a concurrent host sees the old file or the
/// whole new one, never a part.
fn save(path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut contents = Vec::with_capacity(CHECKSUM_BYTES + compiled.len());
    contents.extend_from_slice(&xxh3_64(compiled).to_le_bytes());
    contents.extend_from_slice(compiled);
    std::fs::write(&temporary, contents)?;
    std::fs::rename(&temporary, path)
}

/// Runs the guest's initialization and returns the initialized component.
async fn snapshot(engine: &Engine, linker: &Linker<HostState>) -> wasmtime::Result<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(3600);
    let state = HostState::new(usize::MAX, 0, deadline, Arc::new(NoTools));
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    store.set_fuel(u64::MAX)?;
    store.set_epoch_deadline(1 << 40);
    let (snapshot, _) = Wizer::new()
        .init_func(INIT_FUNCTION)
        .keep_init_func(true)
        .run_component(&mut store, GUEST_COMPONENT, async |store, component| {
            linker.instantiate_async(store, component).await
        })
        .await?;
    Ok(snapshot)
}

/// The snapshot phase builds the runtime only; it reaches no tools.
struct NoTools;

impl NoTools {
    fn refusal() -> Failure {
        Failure::new(FailureKind::CapabilityDenied, "no tools are available while the runtime is initialized", "", "")
    }
}

impl ToolAccess for NoTools {
    fn server_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn call_tool(&self, _: &str, _: &str, _: &str) -> Result<ToolFuture, Failure> {
        Err(Self::refusal())
    }

    fn list_servers(&self) -> ToolFuture {
        Box::pin(async { Err(NoTools::refusal()) })
    }

    fn list_tools(&self, _: &str) -> Result<ToolFuture, Failure> {
        Err(Self::refusal())
    }

    fn search_tools(&self, _: &str, _: &str, _: u32) -> ToolFuture {
        Box::pin(async { Err(NoTools::refusal()) })
    }

    fn describe_tools(&self, _: Vec<String>) -> ToolFuture {
        Box::pin(async { Err(NoTools::refusal()) })
    }
}
