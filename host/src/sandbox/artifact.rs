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
//! Deserializing compiled code trusts it, and the checksum only catches
//! corruption. So the cache is used only while no one but the host's user can
//! write to it ([`cache`]: owner and mode checks, no symbolic links followed,
//! temporary files created exclusively and renamed atomically); otherwise the
//! guest is compiled in memory, with a warning, and nothing is cached.

mod cache;

pub use cache::{CacheDir, CacheError};

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
/// Content hash of [`GUEST_COMPONENT`]: it keys everything compiled for it.
pub const GUEST_HASH: &str = include_str!(concat!(env!("OUT_DIR"), "/guest.hash"));
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
/// built and cached. A cache someone else could write to is not used: the
/// guest is then compiled in memory at every start.
///
/// The build runs on an engine of its own, made with `config` (the one
/// `engine` was made with, so the artifact is `engine`'s) and dropped with
/// everything Cranelift kept for reuse: the host does not hold the
/// compiler's memory for its whole life.
pub async fn load_or_build(engine: &Engine, config: &wasmtime::Config, cache_dir: &Path) -> Result<Component, ArtifactError> {
    let name = artifact_name(engine);
    let mut cache = match CacheDir::open(cache_dir) {
        Ok(dir) => Some(dir),
        Err(error) => {
            warn_uncached(&error);
            None
        }
    };
    if let Some(dir) = &cache {
        match load(engine, dir, &name) {
            Ok(component) => return Ok(component),
            Err(LoadError::Untrusted(error)) => {
                warn_uncached(&error);
                cache = None;
            }
            Err(reason) => tracing::info!(file = %name, %reason, "building the guest artifact"),
        }
    }
    let started = Instant::now();
    let compiled = build(config).await?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "guest artifact built");
    if let Some(dir) = &cache
        && let Err(error) = dir.write(&name, &with_checksum(&compiled))
    {
        tracing::warn!(%error, "cannot cache the guest artifact; the next start compiles again");
    }
    // SAFETY: `compiled` was produced just now by this engine.
    unsafe { Component::deserialize(engine, &compiled) }.map_err(ArtifactError::Compile)
}

fn warn_uncached(error: &CacheError) {
    tracing::warn!(%error, "not using the compiled-code cache: the guest is compiled in memory at every start");
}

/// Where the artifact for this guest and engine configuration lives.
pub fn artifact_path(engine: &Engine, cache_dir: &Path) -> PathBuf {
    cache_dir.join(artifact_name(engine))
}

fn artifact_name(engine: &Engine) -> String {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("guest-{}-{:016x}.cwasm", GUEST_HASH.trim(), hasher.finish())
}

#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error(transparent)]
    Untrusted(CacheError),
    #[error("no cached artifact ({0})")]
    Unreadable(CacheError),
    #[error("the cached artifact is corrupt (checksum mismatch)")]
    Corrupt,
    #[error("the cached artifact does not load: {0}")]
    Incompatible(wasmtime::Error),
}

fn load(engine: &Engine, cache: &CacheDir, name: &str) -> Result<Component, LoadError> {
    let bytes = cache.read(name).map_err(|error| {
        if error.is_untrusted() { LoadError::Untrusted(error) } else { LoadError::Unreadable(error) }
    })?;
    let (checksum, artifact) = bytes.split_at_checked(CHECKSUM_BYTES).ok_or(LoadError::Corrupt)?;
    if checksum != xxh3_64(artifact).to_le_bytes() {
        return Err(LoadError::Corrupt);
    }
    // SAFETY: the file is the host user's own in a directory only that user
    // can write (`CacheDir` checked both), it was written by `load_or_build`
    // from `Engine::precompile_component`, and its checksum shows it is whole;
    // deserialization itself rejects artifacts of another wasmtime version or
    // engine configuration.
    unsafe { Component::deserialize(engine, artifact) }.map_err(LoadError::Incompatible)
}

/// The file's contents: the checksum of `compiled`, then `compiled`.
fn with_checksum(compiled: &[u8]) -> Vec<u8> {
    let mut contents = Vec::with_capacity(CHECKSUM_BYTES + compiled.len());
    contents.extend_from_slice(&xxh3_64(compiled).to_le_bytes());
    contents.extend_from_slice(compiled);
    contents
}

/// Snapshots and compiles the guest on an engine made with `config`, dropped
/// when done.
async fn build(config: &wasmtime::Config) -> Result<Vec<u8>, ArtifactError> {
    let builder = Engine::new(config).map_err(ArtifactError::Compile)?;
    let linker = super::linker(&builder).map_err(ArtifactError::Snapshot)?;
    let snapshot = snapshot(&builder, &linker).await.map_err(ArtifactError::Snapshot)?;
    builder.precompile_component(&snapshot).map_err(ArtifactError::Compile)
}

/// Runs the guest's initialization and returns the initialized component.
async fn snapshot(engine: &Engine, linker: &Linker<HostState>) -> wasmtime::Result<Vec<u8>> {
    let deadline = super::limits::Deadline::new(Instant::now() + Duration::from_secs(3600), Arc::default());
    let fuel = super::fuel::FuelPool::new(u64::MAX);
    let state = HostState::new(usize::MAX, 0, deadline, tokio_util::sync::CancellationToken::new(), Arc::new(NoTools), fuel);
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

/// What a run that reaches nothing sees: the snapshot phase, which builds the
/// runtime only, and the compilation of skills.
pub(super) struct NoTools;

impl NoTools {
    fn refusal() -> Failure {
        Failure::new(FailureKind::CapabilityDenied, "no tools are available while the runtime is initialized", "", "")
    }
}

impl ToolAccess for NoTools {
    fn server_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn skill_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn call_skill(&self, _: &str, _: &str) -> Result<ToolFuture, Failure> {
        Err(Self::refusal())
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
