//! The language model a workspace runs on: the promoted version built by
//! `baton train` when there is one (see [`versions`]), else trained from the
//! workspace's examples and kept as a file beside the data so that a
//! restart does not retrain.

pub mod versions;

use std::path::{Path, PathBuf};

use baton_nlu::{Analyzer, IntentModel, NluError, TrainOptions, TrainingExample};

use crate::workspace::Workspace;

/// How the model in service came to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSource {
    /// Read from this file, trained earlier on the same workspace files.
    Loaded(PathBuf),
    /// Trained now (and saved to the file, if a folder was given).
    Trained { saved_to: Option<PathBuf> },
    /// The version `baton train` promoted.
    Promoted { version: String },
}

/// The analyser `serve` starts with: the promoted version if there is one
/// that fits the workspace, else [`load_or_train`]. A promoted version that
/// cannot be read or does not fit is logged and passed over.
pub fn load_for_serving(
    workspace: &Workspace,
    model_dir: &Path,
) -> Result<(Analyzer, ModelSource), NluError> {
    let promoted = versions::promoted(model_dir).and_then(|manifest| match manifest {
        Some(m) => versions::load_version(model_dir, &m.version, workspace).map(|a| Some((a, m))),
        None => Ok(None),
    });
    match promoted {
        Ok(Some((analyzer, manifest))) => {
            Ok((analyzer, ModelSource::Promoted { version: manifest.version }))
        }
        Ok(None) => load_or_train(workspace, Some(model_dir)),
        Err(err) => {
            let why = "the promoted model is not used; training from the workspace";
            tracing::warn!(error = %err, "{why}");
            load_or_train(workspace, Some(model_dir))
        }
    }
}

/// Train an intent model on the workspace's examples.
pub fn train(workspace: &Workspace) -> Result<IntentModel, NluError> {
    let examples: Vec<TrainingExample> = workspace
        .training_examples()
        .into_iter()
        .map(|(text, intent)| TrainingExample::new(text, intent))
        .collect();
    IntentModel::train(&examples, &TrainOptions::default())
}

/// The analyser for a workspace: the model saved for exactly these files if
/// there is one in `model_dir`, else a freshly trained one (then saved).
pub fn load_or_train(
    workspace: &Workspace,
    model_dir: Option<&Path>,
) -> Result<(Analyzer, ModelSource), NluError> {
    let file = model_dir.map(|dir| dir.join(format!("intents-{}.model", short_hash(workspace))));
    if let Some(file) = file.as_ref().filter(|f| f.exists()) {
        match IntentModel::load(file) {
            Ok(model) => {
                let analyzer = Analyzer::new(model, workspace.analyzer_config())?;
                return Ok((analyzer, ModelSource::Loaded(file.clone())));
            }
            // A damaged or outdated file is replaced rather than trusted.
            Err(err) => tracing::warn!(file = %file.display(), error = %err, "retraining"),
        }
    }
    let model = train(workspace)?;
    let saved_to = match &file {
        Some(file) => {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|source| NluError::Io { path: dir.to_path_buf(), source })?;
            }
            model.save(file)?;
            Some(file.clone())
        }
        None => None,
    };
    let analyzer = Analyzer::new(model, workspace.analyzer_config())?;
    Ok((analyzer, ModelSource::Trained { saved_to }))
}

fn short_hash(workspace: &Workspace) -> String {
    workspace.fingerprint().chars().take(16).collect()
}
