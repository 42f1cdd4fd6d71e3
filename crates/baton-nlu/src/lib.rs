//! Reading a customer's message: language, intent with a calibrated
//! confidence and an out-of-scope verdict, sentiment, customer-experience
//! cues and entities. Everything runs in process on a CPU, with no download.
//!
//! | module | owns |
//! | --- | --- |
//! | [`text`] | normalisation and tokenisation shared by every other module |
//! | [`features`] | hashed word and character n-gram features with TF-IDF weights |
//! | [`intent`] | training, calibrating, saving and predicting the intent model |
//! | [`kernels`] | the dense inner loops of prediction, with an AVX2 version |
//! | [`mlp`] | the small neural network averaged with the intent model's linear machines |
//! | [`head`] | the intent classifier over sentence embeddings |
//! | [`embed`] | the optional sentence-embedding encoder read from a local model folder |
//! | [`sentiment`] | the rule-based sentiment scorer and its hand-written lexicon |
//! | [`cues`] | customer-experience cues (a request for a person, churn, legal, ...) |
//! | [`entities`] | order numbers, e-mail, phone, money, dates and catalogue products |
//! | [`language`] | telling which language a message is written in |
//! | [`analyzer`] | the [`Analyzer`] that puts all of the above into one `Analysis` |
//! | [`eval`] | measuring the models on labelled files, for `baton eval` |
//!
//! It does not decide what to do with a reading: that is the engine's job.

pub mod analyzer;
pub mod cues;
pub mod embed;
pub mod entities;
pub mod eval;
pub mod features;
pub mod head;
pub mod intent;
pub mod kernels;
pub mod language;
pub mod mlp;
pub mod sentiment;
pub mod text;

use std::path::PathBuf;

pub use analyzer::{Analyzer, AnalyzerConfig};
pub use embed::{EmbeddingSource, Encoder};
pub use intent::{
    EmbeddingMode, IntentModel, IntentPath, IntentPrediction, ModelMeta, TrainOptions,
    TrainingExample,
};

/// Everything that can go wrong in the language layer.
#[derive(Debug, thiserror::Error)]
pub enum NluError {
    #[error("cannot train an intent model without examples")]
    NoExamples,
    #[error("an intent model needs at least two intents, the examples name {0}")]
    TooFewIntents(usize),
    #[error("order pattern `{pattern}` is not a valid regular expression: {source}")]
    BadPattern {
        pattern: String,
        #[source]
        source: Box<regex::Error>,
    },
    #[error("`{0}` is not an IANA time zone (try `Europe/Lisbon` or `UTC`)")]
    BadTimezone(String),
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a Baton intent model: {reason}")]
    BadModel { path: PathBuf, reason: String },
    #[error("embedding model file {path}: {reason}")]
    BadEmbeddingModel { path: PathBuf, reason: String },
    #[error(
        "the intent model was trained with embedding model {expected}, but {found} is loaded \
         (retrain the model, or point --embedding-model at the folder it was trained with)"
    )]
    EmbeddingMismatch { expected: String, found: String },
    #[error("cannot use data file {path}: {reason}")]
    BadData { path: PathBuf, reason: String },
}

impl NluError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        NluError::Io { path: path.to_path_buf(), source }
    }
}
