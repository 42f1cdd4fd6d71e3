//! Model versions: each `baton train` builds one from the workspace's
//! examples plus the accepted relabels, scores it against the version in
//! service on the same held-out examples, and promotes it only if it is not
//! worse (or when forced).
//!
//! Under the data folder's `models/`:
//!
//! - `versions/<id>.model`: the intent model file;
//! - `versions/<id>.json`: its [`Manifest`];
//! - `versions/<id>.examples.json`: the examples it was trained on, so that
//!   a later version can be compared with it fairly;
//! - `promoted.json`: `{"version": <id>, "promoted_at": ...}`, replaced
//!   whole (written beside and renamed) when another version is promoted.
//!
//! **The held-out split.** An example is held out when the first byte of
//! the SHA-256 of its text (trimmed, lower-cased) is a multiple of 5: about
//! one in five, the same for a text in every run and on every machine, and
//! for the workspace's examples and the feedback's alike. Both sides of a
//! comparison are trained without the held-out examples (the old side on
//! its own training examples, the new on the new ones) and tested on the
//! held-out part of the new examples; the promoted file is then trained on
//! every example.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use baton_nlu::eval::evaluate_model;
use baton_nlu::{Analyzer, IntentModel, NluError, TrainOptions, TrainingExample};

use crate::engine::Engine;
use crate::workspace::Workspace;

/// Why a version could not be built, read or put into service.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error(transparent)]
    Nlu(#[from] NluError),
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a model manifest: {reason}")]
    BadManifest { path: PathBuf, reason: String },
    #[error("model version {version} does not fit this workspace: {reason}")]
    Incompatible { version: String, reason: String },
    #[error("the held-out split is empty: the workspace needs more examples")]
    NoHeldOut,
}

/// How many examples a version was built and tested with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleCounts {
    /// From the workspace's intents.
    pub workspace: usize,
    /// From accepted relabels (a relabel of a workspace example's text
    /// replaces that example and is counted here).
    pub feedback: usize,
    pub total: usize,
    /// Held out for the comparison.
    pub heldout: usize,
}

/// Scores on the held-out examples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub accuracy: f32,
    pub macro_f1: f32,
}

/// What a version says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// `v1`, `v2`, ... in the order they were built.
    pub version: String,
    pub created_at: DateTime<Utc>,
    /// SHA-256 of the training examples, in order, as `text\tintent\n`.
    pub training_sha256: String,
    /// The workspace files' fingerprint when it was built.
    pub workspace_fingerprint: String,
    pub examples: ExampleCounts,
    /// This version's recipe, scored on the held-out split.
    pub heldout: Scores,
    /// The version it was compared with (`None`: the workspace's own
    /// examples, the model `serve` trains without versions).
    pub compared_with: Option<String>,
    /// The compared version's recipe, on the same held-out split.
    pub baseline: Scores,
    /// Whether this is the version in service now.
    pub promoted: bool,
    /// Promoted with `--force` although it scored worse.
    pub forced: bool,
    pub intents: Vec<String>,
    /// SHA-256 of the sentence encoder's weights it was trained with; `None`
    /// for a lexical model (and in manifests written before this field).
    #[serde(default)]
    pub encoder_sha256: Option<String>,
}

/// The outcome of one `baton train`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainReport {
    pub manifest: Manifest,
    /// Relabels left out because their intent is no longer in the workspace.
    pub skipped_feedback: usize,
    /// Whether the new version scored at least as well as the old one.
    pub not_worse: bool,
}

/// The promoted pointer file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Promoted {
    version: String,
    promoted_at: DateTime<Utc>,
}

/// Whether an example belongs to the held-out split (see the module doc).
pub fn is_heldout(text: &str) -> bool {
    let digest = Sha256::digest(text.trim().to_lowercase().as_bytes());
    digest[0] % 5 == 0
}

/// The workspace's examples with the accepted relabels applied: a relabel
/// of a text the workspace already has replaces its label; any other is a
/// new example. Relabels to an intent the workspace no longer has are
/// skipped. Returns the examples, how many came from feedback, and how
/// many were skipped.
pub fn combine(
    workspace: &Workspace,
    relabels: &[(String, String)],
) -> (Vec<TrainingExample>, usize, usize) {
    let mut examples: Vec<TrainingExample> = workspace
        .training_examples()
        .into_iter()
        .map(|(text, intent)| TrainingExample::new(text, intent))
        .collect();
    let known: BTreeSet<&str> = workspace.intents.iter().map(|i| i.name.as_str()).collect();
    let (mut used, mut skipped) = (0, 0);
    for (text, intent) in relabels {
        if !known.contains(intent.as_str()) {
            skipped += 1;
            continue;
        }
        used += 1;
        let key = text.trim().to_lowercase();
        let same: Vec<usize> = (0..examples.len())
            .filter(|&i| examples[i].text.trim().to_lowercase() == key)
            .collect();
        if same.is_empty() {
            examples.push(TrainingExample::new(text.clone(), intent.clone()));
        } else {
            for i in same {
                examples[i].intent = intent.clone();
            }
        }
    }
    (examples, used, skipped)
}

/// The version in service, when it was trained on exactly `examples` (so
/// on the same training data hash) and with the sentence encoder in use now:
/// building again would only give another copy of it. `None` when nothing
/// is promoted or something differs.
pub fn in_service_with_same_data(
    models_dir: &Path,
    examples: &[TrainingExample],
) -> Result<Option<Manifest>, VersionError> {
    let Some(manifest) = promoted(models_dir)? else { return Ok(None) };
    let encoder = baton_nlu::embed::default_encoder().map(|e| e.identity().to_string());
    // TODO: a manifest written before `encoder_sha256` existed reads as
    // "no encoder", so a version trained then with embeddings matches a run
    // without them and nothing is built; `--force` builds it. Only versions
    // from before the field are affected.
    if manifest.encoder_sha256 != encoder {
        return Ok(None);
    }
    let file = models_dir.join("versions").join(format!("{}.examples.json", manifest.version));
    let trained_on = read_examples(&file)?;
    Ok((trained_on == examples).then_some(manifest))
}

/// Build a new version from `examples` (see [`combine`]), compare it with
/// the promoted one, and promote it if it is not worse or `force` is set.
pub fn train_version(
    models_dir: &Path,
    workspace: &Workspace,
    examples: Vec<TrainingExample>,
    feedback: usize,
    skipped_feedback: usize,
    force: bool,
) -> Result<TrainReport, VersionError> {
    let versions = models_dir.join("versions");
    create_dir(&versions)?;
    let opts = TrainOptions::default();

    // The old side: the promoted version's examples, or the workspace's.
    let old = promoted(models_dir)?;
    let old_examples = match &old {
        Some(manifest) => {
            read_examples(&versions.join(format!("{}.examples.json", manifest.version)))?
        }
        None => workspace
            .training_examples()
            .into_iter()
            .map(|(text, intent)| TrainingExample::new(text, intent))
            .collect(),
    };

    // Both recipes without the held-out texts, tested on the new held-out.
    let heldout: Vec<TrainingExample> =
        examples.iter().filter(|e| is_heldout(&e.text)).cloned().collect();
    if heldout.is_empty() {
        return Err(VersionError::NoHeldOut);
    }
    let fit = |all: &[TrainingExample]| -> Vec<TrainingExample> {
        all.iter().filter(|e| !is_heldout(&e.text)).cloned().collect()
    };
    let score = |model: &IntentModel| {
        let report = evaluate_model(model, &heldout, None);
        Scores { accuracy: report.accuracy, macro_f1: report.macro_f1 }
    };
    let baseline = score(&IntentModel::train(&fit(&old_examples), &opts)?);
    let candidate = score(&IntentModel::train(&fit(&examples), &opts)?);
    let not_worse = candidate.accuracy >= baseline.accuracy;
    let promote = not_worse || force;

    // The file in service is trained on every example.
    let model = IntentModel::train(&examples, &opts)?;
    let version = next_version(&versions)?;
    let manifest = Manifest {
        version: version.clone(),
        created_at: Utc::now(),
        training_sha256: model.meta().training_sha256.clone(),
        workspace_fingerprint: workspace.fingerprint(),
        examples: ExampleCounts {
            workspace: workspace.training_examples().len(),
            feedback,
            total: examples.len(),
            heldout: heldout.len(),
        },
        heldout: candidate,
        compared_with: old.as_ref().map(|m| m.version.clone()),
        baseline,
        promoted: false,
        forced: promote && !not_worse,
        intents: model.meta().intents.clone(),
        encoder_sha256: model.meta().embedding.as_ref().map(|e| e.model_sha256.clone()),
    };
    model.save(&versions.join(format!("{version}.model")))?;
    write_json(&versions.join(format!("{version}.examples.json")), &examples)?;
    write_json(&manifest_path(&versions, &version), &manifest)?;
    let manifest = if promote { promote_version(models_dir, &version)? } else { manifest };
    Ok(TrainReport { manifest, skipped_feedback, not_worse })
}

/// Make `version` the one in service: its manifest says promoted, the
/// previous one's no longer does, and `promoted.json` points at it.
pub fn promote_version(models_dir: &Path, version: &str) -> Result<Manifest, VersionError> {
    let versions = models_dir.join("versions");
    if let Some(mut previous) = promoted(models_dir)? {
        previous.promoted = false;
        write_json(&manifest_path(&versions, &previous.version), &previous)?;
    }
    let path = manifest_path(&versions, version);
    let mut manifest = read_manifest(&path)?;
    manifest.promoted = true;
    write_json(&path, &manifest)?;
    let pointer = Promoted { version: version.to_string(), promoted_at: Utc::now() };
    let tmp = models_dir.join("promoted.json.tmp");
    write_json(&tmp, &pointer)?;
    let target = models_dir.join("promoted.json");
    std::fs::rename(&tmp, &target).map_err(|source| VersionError::Io { path: target, source })?;
    Ok(manifest)
}

/// Every version, oldest first.
pub fn list(models_dir: &Path) -> Result<Vec<Manifest>, VersionError> {
    let versions = models_dir.join("versions");
    let Ok(entries) = std::fs::read_dir(&versions) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(version) = name.strip_suffix(".json") else { continue };
        if version.ends_with(".examples") {
            continue;
        }
        out.push(read_manifest(&entry.path())?);
    }
    out.sort_by_key(|m| version_number(&m.version));
    Ok(out)
}

/// The promoted version's manifest, if one was promoted.
pub fn promoted(models_dir: &Path) -> Result<Option<Manifest>, VersionError> {
    let path = models_dir.join("promoted.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(VersionError::Io { path, source }),
    };
    let pointer: Promoted = serde_json::from_str(&text)
        .map_err(|e| VersionError::BadManifest { path: path.clone(), reason: e.to_string() })?;
    let manifest = read_manifest(&manifest_path(&models_dir.join("versions"), &pointer.version))?;
    Ok(Some(manifest))
}

/// The analyser of a version, refused when its intents are not exactly the
/// workspace's (a flow or template would then name an intent the model
/// cannot give, or the model one the workspace does not know).
pub fn load_version(
    models_dir: &Path,
    version: &str,
    workspace: &Workspace,
) -> Result<Analyzer, VersionError> {
    let model = IntentModel::load(&models_dir.join("versions").join(format!("{version}.model")))?;
    let wanted: BTreeSet<String> =
        workspace.training_examples().into_iter().map(|(_, intent)| intent).collect();
    let have: BTreeSet<String> = model.meta().intents.iter().cloned().collect();
    if wanted != have {
        let missing: Vec<&String> = wanted.difference(&have).collect();
        let extra: Vec<&String> = have.difference(&wanted).collect();
        return Err(VersionError::Incompatible {
            version: version.to_string(),
            reason: format!("intents missing {missing:?}, unknown {extra:?}"),
        });
    }
    Ok(Analyzer::new(model, workspace.analyzer_config())?)
}

fn manifest_path(versions: &Path, version: &str) -> PathBuf {
    versions.join(format!("{version}.json"))
}

fn version_number(version: &str) -> u64 {
    version.strip_prefix('v').and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn next_version(versions: &Path) -> Result<String, VersionError> {
    let entries = std::fs::read_dir(versions)
        .map_err(|source| VersionError::Io { path: versions.to_path_buf(), source })?;
    let highest = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_suffix(".model").map(version_number)
        })
        .max()
        .unwrap_or(0);
    Ok(format!("v{}", highest + 1))
}

fn create_dir(dir: &Path) -> Result<(), VersionError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| VersionError::Io { path: dir.to_path_buf(), source })
}

fn read_manifest(path: &Path) -> Result<Manifest, VersionError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| VersionError::Io { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text)
        .map_err(|e| VersionError::BadManifest { path: path.to_path_buf(), reason: e.to_string() })
}

fn read_examples(path: &Path) -> Result<Vec<TrainingExample>, VersionError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| VersionError::Io { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text)
        .map_err(|e| VersionError::BadManifest { path: path.to_path_buf(), reason: e.to_string() })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), VersionError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| VersionError::BadManifest {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    std::fs::write(path, text)
        .map_err(|source| VersionError::Io { path: path.to_path_buf(), source })
}

/// What a reload did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReloadOutcome {
    /// The version in service after the reload (`None`: the model trained
    /// from the workspace's examples).
    pub version: Option<String>,
    /// Whether the analyser was swapped.
    pub changed: bool,
}

/// Puts the promoted version into a running engine when it changes, from a
/// background poll of `promoted.json` or on an admin's request.
pub struct Reloader {
    models_dir: PathBuf,
    /// The version in service, as this reloader last put or found it.
    current: Mutex<Option<String>>,
}

impl Reloader {
    pub fn new(models_dir: PathBuf, current: Option<String>) -> Self {
        Self { models_dir, current: Mutex::new(current) }
    }

    pub fn current(&self) -> Option<String> {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn models_dir(&self) -> &Path {
        &self.models_dir
    }

    /// Swap in the promoted version if it is not the one in service. A
    /// version that does not fit the workspace is refused and the model in
    /// service stays.
    pub fn reload(&self, engine: &Engine) -> Result<ReloadOutcome, VersionError> {
        let Some(manifest) = promoted(&self.models_dir)? else {
            return Ok(ReloadOutcome { version: self.current(), changed: false });
        };
        if self.current().as_deref() == Some(manifest.version.as_str()) {
            return Ok(ReloadOutcome { version: Some(manifest.version), changed: false });
        }
        let analyzer = load_version(&self.models_dir, &manifest.version, engine.workspace())?;
        engine.swap_analyzer(Arc::new(analyzer));
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(manifest.version.clone());
        tracing::info!(version = %manifest.version, "promoted intent model put into service");
        Ok(ReloadOutcome { version: Some(manifest.version), changed: true })
    }

    /// Poll every `every` until the engine is dropped (the server stopped).
    /// A failed reload is logged once per version and retried on the next
    /// change of `promoted.json`.
    pub async fn watch(self: Arc<Self>, engine: Weak<Engine>, every: Duration) {
        let mut last_error: Option<String> = None;
        loop {
            tokio::time::sleep(every).await;
            let Some(engine) = engine.upgrade() else { return };
            let this = self.clone();
            let outcome = tokio::task::spawn_blocking(move || this.reload(&engine)).await;
            match outcome {
                Ok(Err(err)) => {
                    let text = err.to_string();
                    if last_error.as_deref() != Some(text.as_str()) {
                        let why = "the promoted model was not put into service";
                        tracing::warn!(error = %text, "{why}");
                        last_error = Some(text);
                    }
                }
                Ok(Ok(_)) => last_error = None,
                Err(err) => tracing::error!(error = %err, "the model reload task failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heldout_split_depends_on_the_text_alone() {
        assert_eq!(is_heldout("Where is my order?"), is_heldout("  where is my order?  "));
        let texts: Vec<String> = (0..1000).map(|i| format!("message number {i}")).collect();
        let held = texts.iter().filter(|t| is_heldout(t)).count();
        assert!((150..=250).contains(&held), "{held} of 1000 held out");
    }

    #[test]
    fn versions_are_numbered_in_order_of_building() {
        assert_eq!(version_number("v12"), 12);
        assert_eq!(version_number("nonsense"), 0);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(next_version(dir.path()).unwrap(), "v1");
        std::fs::write(dir.path().join("v9.model"), b"").unwrap();
        assert_eq!(next_version(dir.path()).unwrap(), "v10");
    }
}
