//! A sentence-embedding model on the CPU: all-MiniLM-L6-v2 (a 6-layer BERT,
//! 384 dimensions) from a folder holding its `config.json`,
//! `model.safetensors` and `vocab.txt`, run with candle. Text in, unit-length
//! vectors out (the mean of the last layer's token vectors, as
//! sentence-transformers pools this model), so a dot product is the cosine.
//! It owns the model only: no files but the model's, no caching, no ranking.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

use super::wordpiece::{MissingToken, WordPiece};

/// The most word pieces of one text that are embedded (the rest is cut): the
/// model's work grows with the square of it.
pub const MAX_PIECES: usize = 128;

/// An embedding: [`Embedder::dimensions`] numbers of unit length.
pub type Vector = Vec<f32>;

/// Why the model cannot be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EmbedderError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a BERT configuration: {source}")]
    Config { path: PathBuf, source: serde_json::Error },
    #[error(transparent)]
    Vocabulary(#[from] MissingToken),
    #[error("the model failed: {0}")]
    Model(#[from] candle_core::Error),
}

/// The loaded model and its vocabulary.
pub struct Embedder {
    model: BertModel,
    vocabulary: WordPiece,
    dimensions: usize,
}

impl Embedder {
    /// Loads the model in `folder` (memory-mapped).
    pub fn load(folder: &Path) -> Result<Self, EmbedderError> {
        let read = |name: &str| {
            let path = folder.join(name);
            std::fs::read_to_string(&path).map_err(|source| EmbedderError::Read { path, source })
        };
        let config: Config = serde_json::from_str(&read("config.json")?).map_err(|source| EmbedderError::Config { path: folder.join("config.json"), source })?;
        let vocabulary = WordPiece::new(&read("vocab.txt")?)?;
        let weights = folder.join("model.safetensors");
        if !weights.is_file() {
            let source = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
            return Err(EmbedderError::Read { path: weights, source });
        }
        // SAFETY: the weights are mapped read-only; the file is the model
        // setup installed, which nothing writes while the host runs.
        let weights = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &Device::Cpu)? };
        let model = BertModel::load(weights, &config)?;
        Ok(Embedder { model, vocabulary, dimensions: config.hidden_size })
    }

    /// The length of every vector.
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The embeddings of `texts`, in order, computed as one batch.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vector>, EmbedderError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encoded: Vec<Vec<u32>> = texts
            .iter()
            .map(|text| {
                let mut ids = vec![self.vocabulary.classify];
                ids.extend(self.vocabulary.encode(text, MAX_PIECES - 2));
                ids.push(self.vocabulary.separator);
                ids
            })
            .collect();
        let width = encoded.iter().map(Vec::len).max().unwrap_or(0);
        let (mut ids, mut mask) = (Vec::with_capacity(texts.len() * width), Vec::with_capacity(texts.len() * width));
        for text in &encoded {
            ids.extend(text.iter().copied().chain(std::iter::repeat(0)).take(width));
            mask.extend((0..width).map(|position| u32::from(position < text.len())));
        }
        let device = Device::Cpu;
        let ids = Tensor::from_vec(ids, (texts.len(), width), &device)?;
        let mask = Tensor::from_vec(mask, (texts.len(), width), &device)?;
        let types = ids.zeros_like()?;
        let states = self.model.forward(&ids, &types, Some(&mask))?;
        // the mean of the real tokens' vectors, then unit length
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = states.broadcast_mul(&mask)?.sum(1)?;
        let mean = summed.broadcast_div(&mask.sum(1)?)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f32::MAX)?;
        Ok(mean.broadcast_div(&norm)?.to_vec2()?)
    }
}

/// The dot product of two vectors (their cosine, when of unit length), in
/// eight independent sums so the compiler can use SIMD.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut sums = [0.0_f32; LANES];
    for (x, y) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for lane in 0..LANES {
            sums[lane] += x[lane] * y[lane];
        }
    }
    let tail: f32 = a.chunks_exact(LANES).remainder().iter().zip(b.chunks_exact(LANES).remainder()).map(|(x, y)| x * y).sum();
    sums.iter().sum::<f32>() + tail
}
