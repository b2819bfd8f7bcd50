//! Semantic ranking: the meaning of a query compared with each entry's, by
//! the sentence-embedding model of [`super::embedder`], when it is installed.
//! It owns where the model and the embedding cache are, loading the model
//! (once per process, off the caller's thread), embedding an index's entries
//! in the background, the on-disk cache of those embeddings and a small cache
//! of query embeddings. It does not rank: `ToolIndex::search` fuses the
//! similarities with BM25.
//!
//! Nothing happens until [`configure`] names the folders (the host does at
//! start, without touching them). An index's entries are embedded by one
//! background thread after the index is built; each embedding is stored in the
//! cache folder under a hash of the model and the text, so a restart or an
//! unchanged tool costs a file read. A search waits at most [`FIRST_WAIT`]
//! for its index's embeddings (enough when they are cached), then ranks
//! lexically while they are computed. When the model is absent or fails to
//! load, one log line says so and every search stays lexical.
//!
//! # Bounds
//! An entry's text is cut to [`MAX_TEXT_CHARS`] (and the model reads at most
//! [`super::embedder::MAX_PIECES`] pieces of it); at most
//! [`MAX_QUEUED_INDEXES`] indexes wait to be embedded (a newer one is left
//! lexical when the queue is full); [`QUERY_CACHE`] query embeddings are kept.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::ToolIndex;
use super::embedder::{Embedder, Vector};

/// The model's folder under the data folder, where `make setup` installs it.
pub const MODEL_FOLDER: &str = "models/all-MiniLM-L6-v2";
/// Overrides the model's folder; empty turns semantic ranking off.
pub const MODEL_VARIABLE: &str = "MCP_CODE_RUNTIME_SEARCH_MODEL";
/// The embedding cache's folder under the cache folder.
const CACHE_FOLDER: &str = "search-embeddings";
/// Names the model in cache keys: another model's vectors are never reused.
const MODEL_ID: &str = "all-MiniLM-L6-v2/mean/128";
/// The most characters of an entry's text that are embedded.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// The most indexes waiting to be embedded.
pub const MAX_QUEUED_INDEXES: usize = 4;
/// How many query embeddings are kept.
pub const QUERY_CACHE: usize = 64;
/// How long a search waits for its index's embeddings.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);
/// Texts embedded in one batch.
const BATCH: usize = 16;

/// Where the model and the embedding cache are.
#[derive(Debug, Clone)]
struct Folders {
    model: Option<PathBuf>,
    cache: Option<PathBuf>,
}

static FOLDERS: OnceLock<Folders> = OnceLock::new();
static MODEL: OnceLock<Option<Embedder>> = OnceLock::new();
static QUEUE: OnceLock<SyncSender<Arc<ToolIndex>>> = OnceLock::new();
static QUERIES: Mutex<VecDeque<(String, Arc<Vector>)>> = Mutex::new(VecDeque::new());

/// The model's folder: `$MCP_CODE_RUNTIME_SEARCH_MODEL` when set (none when
/// empty), else [`MODEL_FOLDER`] in `data_dir`.
fn model_folder(data_dir: Option<&Path>) -> Option<PathBuf> {
    match std::env::var_os(MODEL_VARIABLE) {
        Some(folder) if folder.is_empty() => None,
        Some(folder) => Some(PathBuf::from(folder)),
        None => data_dir.map(|dir| dir.join(MODEL_FOLDER)),
    }
}

/// Turns semantic ranking on for this process, with the model in the data
/// folder (or `$MCP_CODE_RUNTIME_SEARCH_MODEL`) and the embedding cache in
/// the cache folder (none when empty: embeddings are not kept). Reads
/// nothing yet; the first configuration wins.
pub fn configure(data_dir: Option<&Path>, cache_dir: &Path) {
    let cache = (!cache_dir.as_os_str().is_empty()).then(|| cache_dir.join(CACHE_FOLDER));
    let _ = FOLDERS.set(Folders { model: model_folder(data_dir), cache });
}

/// Whether [`configure`] named a model.
fn enabled() -> bool {
    FOLDERS.get().is_some_and(|folders| folders.model.is_some())
}

/// The model, loaded on the first call; `None`, logged once, when it is
/// absent or fails to load.
fn model() -> Option<&'static Embedder> {
    MODEL
        .get_or_init(|| {
            let folder = FOLDERS.get()?.model.as_ref()?;
            let started = Instant::now();
            match Embedder::load(folder) {
                Ok(embedder) => {
                    tracing::info!(folder = %folder.display(), ms = started.elapsed().as_millis() as u64, "search: semantic ranking with the sentence-embedding model");
                    Some(embedder)
                }
                Err(error) => {
                    tracing::warn!(folder = %folder.display(), %error, "search: no sentence-embedding model (install it with `make setup`); ranking is lexical only");
                    None
                }
            }
        })
        .as_ref()
}

/// An index's entries' texts and, once computed, their embeddings.
#[derive(Debug, Default)]
pub(super) struct Vectors {
    texts: Vec<String>,
    vectors: OnceLock<Vec<Vector>>,
    /// Whether the background thread was given the index to embed.
    queued: AtomicBool,
    /// Whether a search has waited for the embeddings already (only the first does).
    waited: AtomicBool,
}

impl Vectors {
    /// The text embedded for an entry: its server, its name's words and its description.
    pub(super) fn push(&mut self, server: &str, name: &str, description: Option<&str>) {
        let mut text = format!("{server}: {}: {}", name.replace(['_', '-'], " "), description.unwrap_or(""));
        if let Some((cut, _)) = text.char_indices().nth(MAX_TEXT_CHARS) {
            text.truncate(cut);
        }
        self.texts.push(text);
    }

    /// The embeddings, by entry, when computed.
    pub(super) fn get(&self) -> Option<&[Vector]> {
        self.vectors.get().map(Vec::as_slice)
    }

    /// The embeddings, when computed; when the background thread has them
    /// to compute, the first call waits at most [`FIRST_WAIT`] (less when
    /// `interrupted`, or the model turns out to be absent).
    pub(super) fn wait(&self, interrupted: &dyn Fn() -> bool) -> Option<&[Vector]> {
        if !self.queued.load(Ordering::Relaxed) || self.waited.swap(true, Ordering::Relaxed) {
            return self.get();
        }
        let deadline = Instant::now() + FIRST_WAIT;
        loop {
            if let Some(vectors) = self.get() {
                return Some(vectors);
            }
            if Instant::now() >= deadline || interrupted() || MODEL.get().is_some_and(Option::is_none) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Queues `index` to have its entries embedded by the background thread
/// (started on the first call), when a model is configured.
pub fn embed_in_background(index: &Arc<ToolIndex>) {
    if !enabled() {
        return;
    }
    let queue = QUEUE.get_or_init(|| {
        let (sender, receiver) = sync_channel::<Arc<ToolIndex>>(MAX_QUEUED_INDEXES);
        let spawned = std::thread::Builder::new().name("search-embed".into()).spawn(move || {
            for index in receiver {
                if let Err(error) = embed(&index) {
                    tracing::warn!(%error, "search: embedding the tools failed; their ranking is lexical");
                }
            }
        });
        if let Err(error) = spawned {
            tracing::warn!(%error, "search: cannot start the embedding thread; ranking is lexical");
        }
        sender
    });
    match queue.try_send(Arc::clone(index)) {
        Ok(()) => index.vectors.queued.store(true, Ordering::Relaxed),
        Err(TrySendError::Full(_)) => tracing::debug!("search: the embedding queue is full; this tool set is ranked lexically"),
        Err(TrySendError::Disconnected(_)) => {}
    }
}

/// Computes (or reads from the cache) the embeddings of `index`'s entries,
/// now, on this thread; `Ok(false)` without a model.
pub fn embed(index: &ToolIndex) -> Result<bool, super::embedder::EmbedderError> {
    let vectors = &index.vectors;
    if vectors.get().is_some() {
        return Ok(true);
    }
    let Some(model) = model() else { return Ok(false) };
    let cache = FOLDERS.get().and_then(|folders| folders.cache.clone());
    let keys: Vec<String> = vectors.texts.iter().map(|text| cache_key(text)).collect();
    let mut found: Vec<Option<Vector>> = keys.iter().map(|key| read_cached(cache.as_deref(), key, model.dimensions())).collect();
    let mut missing: Vec<usize> = (0..found.len()).filter(|&at| found[at].is_none()).collect();
    // similar lengths in a batch: less padding
    missing.sort_by_key(|&at| vectors.texts[at].len());
    let started = Instant::now();
    for batch in missing.chunks(BATCH) {
        let texts: Vec<&str> = batch.iter().map(|&at| vectors.texts[at].as_str()).collect();
        for (&at, vector) in batch.iter().zip(model.embed(&texts)?) {
            write_cached(cache.as_deref(), &keys[at], &vector);
            found[at] = Some(vector);
        }
    }
    if !missing.is_empty() {
        tracing::info!(embedded = missing.len(), cached = found.len() - missing.len(), ms = started.elapsed().as_millis() as u64, "search: embedded tool descriptions");
    }
    let _ = vectors.vectors.set(found.into_iter().map(Option::unwrap_or_default).collect());
    Ok(true)
}

/// The embedding of a query, from the query cache or computed now; `None`
/// without a loaded model.
pub(super) fn query_vector(text: &str) -> Option<Arc<Vector>> {
    let model = MODEL.get()?.as_ref()?;
    let mut queries = QUERIES.lock().ok()?;
    if let Some(at) = queries.iter().position(|(cached, _)| cached == text) {
        let entry = queries.remove(at)?;
        let vector = Arc::clone(&entry.1);
        queries.push_front(entry);
        return Some(vector);
    }
    drop(queries);
    let vector = Arc::new(model.embed(&[text]).ok()?.pop()?);
    let mut queries = QUERIES.lock().ok()?;
    queries.push_front((text.to_owned(), Arc::clone(&vector)));
    queries.truncate(QUERY_CACHE);
    Some(vector)
}

fn cache_key(text: &str) -> String {
    let hash = xxhash_rust::xxh3::xxh3_128(format!("{MODEL_ID}\n{text}").as_bytes());
    format!("{hash:032x}")
}

fn read_cached(cache: Option<&Path>, key: &str, dimensions: usize) -> Option<Vector> {
    let bytes = std::fs::read(cache?.join(key)).ok()?;
    (bytes.len() == dimensions * 4).then(|| bytes.chunks_exact(4).map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])).collect())
}

/// Stores a vector (write then rename, so a reader never sees half of one);
/// a cache that cannot be written is only slower.
fn write_cached(cache: Option<&Path>, key: &str, vector: &[f32]) {
    let Some(cache) = cache else { return };
    let bytes: Vec<u8> = vector.iter().flat_map(|value| value.to_le_bytes()).collect();
    let partial = cache.join(format!("{key}.{}.partial", std::process::id()));
    let written = std::fs::create_dir_all(cache).and_then(|()| std::fs::write(&partial, &bytes)).and_then(|()| std::fs::rename(&partial, cache.join(key)));
    if let Err(error) = written {
        tracing::debug!(%error, "search: cannot cache an embedding");
        let _ = std::fs::remove_file(&partial);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{IndexCache, Query};
    use crate::typegen::ToolInfo;

    #[test]
    fn an_embedding_is_cached_under_a_hash_of_the_model_and_its_text() {
        let folder = tempfile::tempdir().expect("a scratch folder");
        let key = cache_key("memory: create entities: Create entities");
        assert_ne!(key, cache_key("memory: create entities: Create entities."));
        write_cached(Some(folder.path()), &key, &[1.0, -0.5]);
        assert_eq!(read_cached(Some(folder.path()), &key, 2), Some(vec![1.0, -0.5]));
        assert_eq!(read_cached(Some(folder.path()), &key, 3), None, "a vector of another length is not used");
        assert_eq!(std::fs::read_dir(folder.path()).expect("the cache").count(), 1, "no partial file is left");
    }

    #[test]
    fn without_the_model_the_load_is_tried_once_and_searches_rank_lexically() {
        let data = tempfile::tempdir().expect("a data folder without a model");
        // SAFETY: no other test of this process reads or writes the variable.
        unsafe { std::env::remove_var(MODEL_VARIABLE) };
        configure(Some(data.path()), Path::new(""));
        let tools: Vec<ToolInfo> = ["read_file", "write_file", "list_directory"]
            .iter()
            .map(|name| ToolInfo { name: (*name).into(), description: Some(format!("{name} on disk")), input_schema: serde_json::json!({}), output_schema: None })
            .collect();
        let index = || ToolIndex::new(tools.iter().map(|tool| ("fs", tool)));
        let query = Query::parse("write a file").expect("a valid query");
        let lexical = index().search(&query, 3, &|| false).expect("not interrupted");
        let cached = IndexCache::default().get_or_build(1, Vec::new(), index);
        assert_eq!(cached.search(&query, 3, &|| false).expect("not interrupted"), lexical);
        assert!(model().is_none(), "the model is looked for, and absent");
        assert_eq!(lexical.len(), 2, "tools sharing no word with the query are left out: {lexical:?}");
    }
}
