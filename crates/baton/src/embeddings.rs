//! The optional sentence-embedding model of `serve`, `train` and `eval`:
//! found from `--embedding-model DIR` or `BATON_EMBEDDING_MODEL`, loaded
//! once, and announced in one log line that names where it was looked for.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use baton_nlu::embed::{self, EmbeddingSource};
use baton_nlu::Encoder;

/// Loads the encoder when a folder is named and exists, and makes it the
/// process's default for training and loading intent models. No folder
/// leaves Baton on its lexical model; a folder that is there but broken is
/// an error naming the file.
pub fn setup(option: Option<&Path>) -> Result<Option<Arc<Encoder>>> {
    let source = EmbeddingSource::locate(option);
    let encoder = source.load().with_context(|| source.describe())?.map(Arc::new);
    match &encoder {
        Some(enc) => tracing::info!(weights_sha256 = %enc.identity(), "{}", source.describe()),
        None => tracing::info!("{}", source.describe()),
    }
    embed::set_default_encoder(encoder.clone());
    Ok(encoder)
}
