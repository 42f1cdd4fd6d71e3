//! The intent model: training from labelled examples, calibrated
//! probabilities, the out-of-scope verdict, multi-intent messages, and the
//! model file.
//!
//! The classifier is one linear support-vector machine per intent (squared
//! hinge loss, solved by dual coordinate descent) over the TF-IDF features of
//! [`crate::features`]. Its scores are turned into probabilities by a softmax
//! whose temperature is fitted on a held-out part of the training examples,
//! so that "0.8" means right about four times in five.
//!
//! With a sentence encoder ([`crate::embed`]) the model also trains a
//! classifier over the embedding of each example ([`crate::head`]); its
//! probabilities are mixed into the lexical ones with a weight chosen on the
//! held-out share. At prediction the embedding is computed always, or only
//! when the lexical model's best probability is below a confidence also
//! chosen on the held-out share (the cascade, the default).

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use baton_core::analysis::IntentScore;
use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::embed::Encoder;
use crate::features::{FeatureConfig, SparseVec, Vocabulary};
use crate::head::{EmbeddingHead, EmbeddingOptions};
use crate::mlp::{Mlp, MlpConfig};
use crate::NluError;

/// One labelled message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingExample {
    pub text: String,
    pub intent: String,
}

impl TrainingExample {
    pub fn new(text: impl Into<String>, intent: impl Into<String>) -> Self {
        Self { text: text.into(), intent: intent.into() }
    }
}

/// How to train. The defaults suit a few to a few hundred examples per intent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    pub features: FeatureConfig,
    /// The neural network averaged with the linear machines.
    pub mlp: MlpConfig,
    /// The network is trained only from this many examples on: with a few
    /// per intent it learns little the linear machines do not, and its
    /// probabilities are less trustworthy.
    pub mlp_min_examples: usize,
    /// Inverse regularisation strength of each per-intent machine.
    pub c: f32,
    /// Upper bound on passes over the data per intent.
    pub max_epochs: usize,
    /// Examples with this label teach the model what is out of scope; they
    /// never appear as an intent in predictions.
    pub out_of_scope_label: String,
    /// Below this top probability a message is out of scope.
    pub out_of_scope_threshold: f32,
    /// How much more an out-of-scope training example counts than an
    /// in-scope one in the network's loss: such examples are few and
    /// varied, and at equal weight the out-of-scope class seldom wins.
    #[serde(default = "default_out_of_scope_weight")]
    pub out_of_scope_weight: f32,
    /// When the examples hold no out-of-scope class, add Baton's own small
    /// set of everyday off-topic messages as one, so that "what's the
    /// weather?" is not forced onto the nearest intent.
    pub builtin_out_of_scope: bool,
    /// Share of the examples held out to fit the temperature (0 skips it).
    pub calibration_fraction: f32,
    /// Threads used for training (the per-intent machines are independent).
    pub threads: usize,
    pub seed: u64,
    /// The classifier over sentence embeddings, when an encoder is given.
    #[serde(default)]
    pub embedding: EmbeddingOptions,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            features: FeatureConfig::default(),
            mlp: MlpConfig::default(),
            mlp_min_examples: 1000,
            c: 0.5,
            max_epochs: 40,
            out_of_scope_label: "oos".into(),
            out_of_scope_threshold: 0.3,
            out_of_scope_weight: default_out_of_scope_weight(),
            builtin_out_of_scope: true,
            calibration_fraction: 0.1,
            threads: 2,
            seed: 7,
            embedding: EmbeddingOptions::default(),
        }
    }
}

fn default_out_of_scope_weight() -> f32 {
    // Chosen on a held-out fifth of CLINC150's training file (`cargo bench
    // -p baton-nlu --bench nlu -- oos-heldout`): 1, 4, 12 and 30 compared.
    12.0
}

/// Scores measured on a labelled test set, kept beside the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalScores {
    pub accuracy: f32,
    pub macro_f1: f32,
    pub in_scope_accuracy: Option<f32>,
    pub out_of_scope_recall: Option<f32>,
    /// What the scores were measured on ("held-out 10% of training", a file).
    pub measured_on: String,
}

/// What a model file says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// SHA-256 of the training examples, in order, as `text\tintent\n`.
    pub training_sha256: String,
    pub n_examples: usize,
    /// The in-scope intents the model can predict, sorted.
    pub intents: Vec<String>,
    /// The label used for out-of-scope examples, when training had any.
    pub out_of_scope_label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub train_seconds: f32,
    /// Softmax temperatures of the linear machines and of the network,
    /// fitted on held-out examples (1 when there were too few).
    pub temperature: f32,
    pub mlp_temperature: f32,
    pub out_of_scope_threshold: f32,
    /// Scores on the held-out calibration split, measured before the final
    /// model was trained on every example.
    pub heldout: Option<EvalScores>,
    /// Scores on a separate evaluation set, when one was run.
    pub eval: Option<EvalScores>,
    pub options: TrainOptions,
    /// The embedding classifier, when the model was trained with one.
    #[serde(default)]
    pub embedding: Option<EmbeddingMeta>,
}

/// What a model trained with sentence embeddings records about them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingMeta {
    /// SHA-256 of the encoder's weights file: the model is only used with
    /// the same encoder.
    pub model_sha256: String,
    pub dim: usize,
    pub hidden: usize,
    /// Softmax temperature of the embedding classifier.
    pub temperature: f32,
    /// Share of the embedding classifier in the mixed probabilities.
    pub weight: f32,
    /// The cascade computes the embedding only below this best lexical
    /// probability.
    pub cascade_confidence: f32,
    /// Seconds spent computing the training examples' embeddings.
    pub embed_seconds: f32,
    /// Held-out scores of the mix with the embedding always computed, and
    /// of the cascade, with the share of messages the cascade embedded.
    pub heldout_always: Option<EvalScores>,
    pub heldout_cascade: Option<EvalScores>,
    pub heldout_cascade_share: f32,
}

/// When a model with an embedding classifier computes the embedding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingMode {
    /// For every message.
    Always,
    /// Only when the lexical model is unsure.
    #[default]
    Cascade,
}

/// Which path a model's predictions take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentPath {
    Lexical,
    EmbeddingsAlways,
    Cascade,
}

impl std::fmt::Display for IntentPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IntentPath::Lexical => "lexical",
            IntentPath::EmbeddingsAlways => "embeddings always",
            IntentPath::Cascade => "cascade",
        })
    }
}

/// The model's reading of one message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IntentPrediction {
    /// The in-scope intents, best first, with calibrated probabilities.
    pub intents: Vec<IntentScore>,
    pub out_of_scope: bool,
    /// Probability mass on the out-of-scope class (0 without one).
    pub out_of_scope_probability: f32,
    /// Further intents found in separate clauses of the message.
    pub extra_intents: Vec<IntentScore>,
}

/// A trained intent classifier.
#[derive(Clone, Debug)]
pub struct IntentModel {
    meta: ModelMeta,
    vocab: Vocabulary,
    /// Every class, in-scope intents first (sorted), then the out-of-scope
    /// class if there is one.
    classes: Vec<String>,
    linear: Linear,
    mlp: Option<Mlp>,
    /// The embedding classifier, and the encoder it reads (absent when the
    /// process runs without one: the model then predicts lexically).
    head: Option<EmbeddingHead>,
    encoder: Option<Arc<Encoder>>,
    mode: EmbeddingMode,
    clause_split: Regex,
}

/// How many intents a prediction lists.
const TOP_K: usize = 5;
/// A clause must reach this probability to count as a further intent.
const EXTRA_INTENT_MIN: f32 = 0.5;
/// The file tag; the number moves when the layout of the weights changes,
/// so that an older file is refused (and retrained) rather than misread.
const MAGIC: &[u8; 8] = b"BATONIM2";

/// One linear function per class, stored feature-major so that a sparse
/// message touches one contiguous row per feature, as bytes with one scale
/// per feature: a quarter of the memory to read, and the scores move by
/// less than a part in a hundred.
#[derive(Clone, Debug)]
struct Linear {
    weights: Vec<i8>,
    scale: Vec<f32>,
    bias: Vec<f32>,
}

impl Linear {
    fn scores(&self, x: &SparseVec) -> Vec<f32> {
        let mut s = self.bias.clone();
        crate::kernels::add_rows_i8(&mut s, &self.weights, &self.scale, x);
        s
    }
}

fn clause_splitter() -> Regex {
    // Sentence ends other than "?" are left alone: "I paid. It failed." is
    // one request told in two sentences; "I paid. Also, ..." adds another.
    Regex::new(concat!(
        r"(?i)\?+|;|[.!]+\s+(?:and also|also|and|plus)\b,?\s*",
        r"|,?\s+(?:and also|and|also|plus|as well as|&)\s+"
    ))
    .expect("valid regex")
}

fn sha256_examples(examples: &[TrainingExample]) -> String {
    let mut h = Sha256::new();
    for e in examples {
        h.update(e.text.as_bytes());
        h.update(b"\t");
        h.update(e.intent.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Mixes `q` into `p` with weight `w`.
fn mix_into(p: &mut [f32], q: &[f32], w: f32) {
    for (a, b) in p.iter_mut().zip(q) {
        *a = (1.0 - w) * *a + w * b;
    }
}

/// The class a prediction ends on under the out-of-scope rule of
/// [`IntentModel::predict_with_threshold`]: `n_in` stands for out of scope.
fn decide(p: &[f32], n_in: usize, has_oos: bool, network_says_oos: bool, threshold: f32) -> u16 {
    let mut best = 0;
    for i in 1..n_in {
        if p[i] > p[best] {
            best = i;
        }
    }
    let oos_p = if has_oos { p[n_in] } else { 0.0 };
    if has_oos && (oos_p > p[best] || network_says_oos || p[best] < threshold) {
        n_in as u16
    } else {
        best as u16
    }
}

/// Scores of [`decide`] against `truth`, the out-of-scope rule applied.
fn rule_scores(
    probs: &[Vec<f32>],
    net_oos: &[bool],
    truth: &[u16],
    n_in: usize,
    has_oos: bool,
    threshold: f32,
) -> EvalScores {
    let pred: Vec<u16> =
        probs.iter().zip(net_oos).map(|(p, &n)| decide(p, n_in, has_oos, n, threshold)).collect();
    let correct = pred.iter().zip(truth).filter(|(p, t)| p == t).count();
    let (mut ins, mut ins_ok, mut out, mut out_ok) = (0, 0, 0, 0);
    for (p, t) in pred.iter().zip(truth) {
        if has_oos && *t as usize == n_in {
            out += 1;
            out_ok += (p == t) as usize;
        } else {
            ins += 1;
            ins_ok += (p == t) as usize;
        }
    }
    EvalScores {
        accuracy: correct as f32 / truth.len().max(1) as f32,
        macro_f1: crate::eval::macro_f1(&pred, truth, n_in + has_oos as usize),
        in_scope_accuracy: has_oos.then(|| ins_ok as f32 / ins.max(1) as f32),
        out_of_scope_recall: (has_oos && out > 0).then(|| out_ok as f32 / out as f32),
        measured_on: format!(
            "held-out share of the training examples (out of scope below {threshold})"
        ),
    }
}

fn softmax(scores: &[f32], temperature: f32) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut p: Vec<f32> = scores.iter().map(|s| ((s - max) / temperature).exp()).collect();
    let sum: f32 = p.iter().sum();
    for v in &mut p {
        *v /= sum;
    }
    p
}

impl IntentModel {
    /// Trains a model. With enough examples a stratified share is held out
    /// first to fit the probability temperature and measure accuracy; the
    /// final model is then trained on every example.
    ///
    /// When the process has an encoder ([`crate::embed::set_default_encoder`])
    /// the model is trained with embeddings too; see [`IntentModel::train_with`].
    pub fn train(examples: &[TrainingExample], opts: &TrainOptions) -> Result<Self, NluError> {
        Self::train_with(examples, opts, crate::embed::default_encoder())
    }

    /// Trains a model, with an embedding classifier when `encoder` is given.
    pub fn train_with(
        examples: &[TrainingExample],
        opts: &TrainOptions,
        encoder: Option<Arc<Encoder>>,
    ) -> Result<Self, NluError> {
        let started = Instant::now();
        if examples.is_empty() {
            return Err(NluError::NoExamples);
        }
        let training_sha256 = sha256_examples(examples);
        let n_examples = examples.len();
        let has_own_oos = examples.iter().any(|e| e.intent == opts.out_of_scope_label);
        // Baton's built-in off-topic set is a guess, not the workspace's
        // data: only the workspace's own out-of-scope examples weigh more.
        let weighted;
        let opts = if has_own_oos {
            opts
        } else {
            weighted = TrainOptions { out_of_scope_weight: 1.0, ..opts.clone() };
            &weighted
        };
        let mut with_builtin;
        let examples = if opts.builtin_out_of_scope && !has_own_oos {
            with_builtin = examples.to_vec();
            with_builtin.extend(builtin_out_of_scope(&opts.out_of_scope_label));
            &with_builtin[..]
        } else {
            examples
        };
        let mut classes: Vec<String> = examples
            .iter()
            .map(|e| e.intent.clone())
            .filter(|i| *i != opts.out_of_scope_label)
            .collect();
        classes.sort();
        classes.dedup();
        if classes.len() < 2 {
            return Err(NluError::TooFewIntents(classes.len()));
        }
        let has_oos = examples.iter().any(|e| e.intent == opts.out_of_scope_label);
        if has_oos {
            classes.push(opts.out_of_scope_label.clone());
        }
        let labels: Vec<u16> = examples
            .iter()
            .map(|e| classes.iter().position(|c| *c == e.intent).unwrap_or(0) as u16)
            .collect();
        // Every example's embedding, once, in batches over the cores.
        // TODO: `baton train` trains a baseline, a candidate and the final
        // model on mostly the same examples and embeds them each time; a
        // cache keyed by the text would embed each message once.
        let embed_started = Instant::now();
        let embeddings = match &encoder {
            Some(enc) => {
                let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
                Some(enc.embed_many(&texts, opts.embedding.encode_batch, opts.threads)?)
            }
            None => None,
        };
        let embed_seconds = embed_started.elapsed().as_secs_f32();

        // Calibrate on a held-out split while the final models train on
        // everything: the two runs are independent, so they share the cores.
        let (heldout_idx, fit_idx) = stratified_split(&labels, opts.calibration_fraction);
        let n_classes = classes.len();
        let all: Vec<&TrainingExample> = examples.iter().collect();
        let (calibration, (vocab, linear, mlp)) = std::thread::scope(|s| {
            let calibration = (!heldout_idx.is_empty()).then(|| {
                s.spawn(|| {
                    let fit: Vec<&TrainingExample> =
                        fit_idx.iter().map(|&i| &examples[i]).collect();
                    let fit_labels: Vec<u16> = fit_idx.iter().map(|&i| labels[i]).collect();
                    fit_models(&fit, &fit_labels, n_classes, opts, 1)
                })
            });
            let threads = if calibration.is_some() { 1 } else { opts.threads };
            let full = fit_models(&all, &labels, n_classes, opts, threads);
            let calibration = calibration.map(|h| h.join().expect("calibration thread panicked"));
            (calibration, full)
        });
        let (mut temperature, mut mlp_temperature) = (1.0, 1.0);
        let mut heldout = None;
        let n_in = n_classes - has_oos as usize;
        // The lexical held-out probabilities, the network's own verdicts
        // and the truth, kept for choosing how to mix in the embeddings.
        let mut lexical_heldout: Option<LexicalHeldout> = None;
        if let Some((cvocab, clinear, cmlp)) = calibration {
            let truth: Vec<u16> = heldout_idx.iter().map(|&i| labels[i]).collect();
            let xs: Vec<SparseVec> =
                heldout_idx.iter().map(|&i| cvocab.transform(&examples[i].text)).collect();
            let svm: Vec<Vec<f32>> = xs.iter().map(|x| clinear.scores(x)).collect();
            temperature = fit_temperature(&svm, &truth);
            let mut combined: Vec<Vec<f32>> = svm.iter().map(|s| softmax(s, temperature)).collect();
            let mut net_oos = vec![false; combined.len()];
            if let Some(net) = &cmlp {
                let logits: Vec<Vec<f32>> = xs.iter().map(|x| net.logits(x)).collect();
                mlp_temperature = fit_temperature(&logits, &truth);
                for ((c, l), flag) in combined.iter_mut().zip(&logits).zip(&mut net_oos) {
                    let q = softmax(l, mlp_temperature);
                    *flag = has_oos && q[..n_in].iter().all(|&v| v < q[n_in]);
                    average_into(c, &q);
                }
            }
            heldout = Some(heldout_scores(&combined, &truth, n_classes, has_oos));
            lexical_heldout = Some((combined, net_oos, truth));
        }
        let (head, embedding) = match (&encoder, &embeddings) {
            (Some(enc), Some(vectors)) => {
                let fit = EmbeddingFit {
                    vectors,
                    labels: &labels,
                    examples,
                    n_classes,
                    n_in,
                    has_oos,
                    own_oos: has_own_oos,
                    opts,
                    heldout_idx: &heldout_idx,
                    fit_idx: &fit_idx,
                };
                let (head, mut meta) = fit.run(lexical_heldout.as_ref())?;
                meta.model_sha256 = enc.identity().to_string();
                meta.embed_seconds = embed_seconds;
                (Some(head), Some(meta))
            }
            _ => (None, None),
        };

        let meta = ModelMeta {
            training_sha256,
            n_examples,
            intents: classes[..classes.len() - has_oos as usize].to_vec(),
            out_of_scope_label: has_oos.then(|| opts.out_of_scope_label.clone()),
            created_at: Utc::now(),
            train_seconds: started.elapsed().as_secs_f32(),
            temperature,
            mlp_temperature,
            out_of_scope_threshold: opts.out_of_scope_threshold,
            heldout,
            eval: None,
            options: opts.clone(),
            embedding,
        };
        Ok(IntentModel {
            meta,
            vocab,
            classes,
            linear,
            mlp,
            head,
            encoder: encoder.filter(|_| embeddings.is_some()),
            mode: EmbeddingMode::default(),
            clause_split: clause_splitter(),
        })
    }

    /// Which path predictions take now: lexical when the model has no
    /// embedding classifier or no encoder is attached.
    pub fn path(&self) -> IntentPath {
        match (&self.head, &self.encoder, self.mode) {
            (Some(_), Some(_), EmbeddingMode::Always) => IntentPath::EmbeddingsAlways,
            (Some(_), Some(_), EmbeddingMode::Cascade) => IntentPath::Cascade,
            _ => IntentPath::Lexical,
        }
    }

    /// Chooses when the embedding is computed.
    pub fn set_embedding_mode(&mut self, mode: EmbeddingMode) {
        self.mode = mode;
    }

    /// Gives a loaded model its encoder. A model trained with embeddings
    /// refuses another encoder, and a lexical model refuses any, with
    /// [`NluError::EmbeddingMismatch`] (retrain it); a model trained with
    /// embeddings but given none predicts with its lexical part alone.
    pub fn attach_encoder(&mut self, encoder: Option<Arc<Encoder>>) -> Result<(), NluError> {
        let expected = self.meta.embedding.as_ref().map(|e| e.model_sha256.as_str());
        match (expected, &encoder) {
            (_, None) => {}
            (Some(want), Some(enc)) if want == enc.identity() => {}
            (want, Some(enc)) => {
                return Err(NluError::EmbeddingMismatch {
                    expected: want
                        .map_or("none (a lexical model)".into(), |w| format!("sha256 {w}")),
                    found: format!("sha256 {} from {}", enc.identity(), enc.dir().display()),
                })
            }
        }
        self.encoder = encoder;
        Ok(())
    }

    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// Records scores measured on a separate evaluation set.
    pub fn set_eval(&mut self, scores: EvalScores) {
        self.meta.eval = Some(scores);
    }

    fn has_oos(&self) -> bool {
        self.meta.out_of_scope_label.is_some()
    }

    /// Every class the model scores: the in-scope intents, then the
    /// out-of-scope label when the model has that class.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Raw decision scores of every class (margins, before calibration).
    pub fn scores(&self, text: &str) -> Vec<f32> {
        self.linear.scores(&self.vocab.transform(text))
    }

    /// Calibrated probabilities of every class for one message, in the
    /// order of `classes` (in-scope intents, then out-of-scope if any).
    pub fn probabilities(&self, text: &str) -> Vec<f32> {
        self.probabilities_of(&self.vocab.transform(text))
    }

    /// The linear machines' and the network's calibrated probabilities of
    /// every class, apart (the network's is `None` when the model has none).
    pub fn component_probabilities(&self, text: &str) -> (Vec<f32>, Option<Vec<f32>>) {
        let x = self.vocab.transform(text);
        let linear = softmax(&self.linear.scores(&x), self.meta.temperature);
        let net = self.mlp.as_ref().map(|n| softmax(&n.logits(&x), self.meta.mlp_temperature));
        (linear, net)
    }

    /// The linear machines' and the network's calibrated probabilities,
    /// averaged.
    fn probabilities_of(&self, x: &SparseVec) -> Vec<f32> {
        let mut p = softmax(&self.linear.scores(x), self.meta.temperature);
        if let Some(net) = &self.mlp {
            average_into(&mut p, &softmax(&net.logits(x), self.meta.mlp_temperature));
        }
        p
    }

    /// Predicts with the model's own out-of-scope threshold.
    pub fn predict(&self, text: &str) -> IntentPrediction {
        self.predict_with_threshold(text, self.meta.out_of_scope_threshold)
    }

    /// Predicts, calling the message out of scope when the out-of-scope
    /// class wins or the best intent is below `threshold`.
    pub fn predict_with_threshold(&self, text: &str, threshold: f32) -> IntentPrediction {
        let mut pred = self.predict_one(text, threshold, true);
        if pred.intents.is_empty() {
            return pred;
        }
        let top = pred.intents[0].intent.clone();
        let mut seen = vec![top];
        let clauses: Vec<&str> =
            self.clause_split.split(text).filter(|c| c.split_whitespace().count() >= 3).collect();
        if clauses.len() >= 2 {
            for clause in clauses {
                // Clauses are read by the linear machines alone: they only
                // need to name a confident intent, and this halves their cost.
                let p = self.predict_one(clause, threshold, false);
                let Some(best) = p.intents.first() else {
                    continue;
                };
                if !p.out_of_scope
                    && best.confidence >= EXTRA_INTENT_MIN
                    && !seen.contains(&best.intent)
                {
                    seen.push(best.intent.clone());
                    pred.extra_intents.push(best.clone());
                }
            }
        }
        pred
    }

    fn predict_one(&self, text: &str, threshold: f32, full: bool) -> IntentPrediction {
        let x = self.vocab.transform(text);
        if x.idx.is_empty() {
            // Nothing the model has ever seen: no intent to speak of.
            return IntentPrediction {
                out_of_scope: !text.trim().is_empty(),
                ..IntentPrediction::default()
            };
        }
        let n_in = self.meta.intents.len();
        let mut p = softmax(&self.linear.scores(&x), self.meta.temperature);
        // The network alone may also call the message out of scope: trained
        // with the out-of-scope examples weighted up, its own verdict finds
        // more of them than the average does.
        let mut network_says_oos = false;
        if let Some(net) = self.mlp.as_ref().filter(|_| full) {
            let q = softmax(&net.logits(&x), self.meta.mlp_temperature);
            network_says_oos = self.has_oos() && q[..n_in].iter().all(|&v| v < q[n_in]);
            average_into(&mut p, &q);
        }
        if full {
            self.mix_embedding(text, &mut p);
        }
        let oos_p = if self.has_oos() { p[n_in] } else { 0.0 };
        let mut order: Vec<usize> = (0..n_in).collect();
        // Only the best few are listed: select them, then sort those.
        let by_p = |a: &usize, b: &usize| p[*b].total_cmp(&p[*a]);
        if order.len() > TOP_K {
            order.select_nth_unstable_by(TOP_K - 1, by_p);
            order.truncate(TOP_K);
        }
        order.sort_unstable_by(by_p);
        let intents: Vec<IntentScore> = order
            .iter()
            .take(TOP_K)
            .map(|&i| IntentScore { intent: self.classes[i].clone(), confidence: p[i] })
            .collect();
        let top = intents[0].confidence;
        IntentPrediction {
            out_of_scope: oos_p > top || network_says_oos || top < threshold,
            out_of_scope_probability: oos_p,
            intents,
            extra_intents: Vec::new(),
        }
    }

    /// Mixes the embedding classifier's probabilities into `p`, when the
    /// model has one, an encoder is attached and the mode asks for it.
    fn mix_embedding(&self, text: &str, p: &mut [f32]) {
        let (Some(head), Some(enc), Some(em)) = (&self.head, &self.encoder, &self.meta.embedding)
        else {
            return;
        };
        let confident = p.iter().copied().fold(0.0f32, f32::max) >= em.cascade_confidence;
        if self.mode == EmbeddingMode::Cascade && confident {
            return;
        }
        // TODO: a message the tokenizer cannot read keeps the lexical
        // reading without a word in the logs; it has not been seen to happen.
        if let Ok(e) = enc.embed(text) {
            mix_into(p, &softmax(&head.logits(&e), em.temperature), em.weight);
        }
    }

    /// Writes the model to a file: a magic tag, a JSON header, then the
    /// vocabulary and weights as little-endian numbers.
    pub fn save(&self, path: &Path) -> Result<(), NluError> {
        let header = Header {
            meta: self.meta.clone(),
            classes: self.classes.clone(),
            n_features: self.vocab.len(),
            hidden: self.mlp.as_ref().map_or(0, |m| m.hidden),
        };
        let json = serde_json::to_vec(&header)
            .map_err(|e| NluError::BadModel { path: path.to_path_buf(), reason: e.to_string() })?;
        let file = std::fs::File::create(path).map_err(|e| NluError::io(path, e))?;
        let mut w = BufWriter::new(file);
        let mut write = || -> std::io::Result<()> {
            w.write_all(MAGIC)?;
            w.write_all(&(json.len() as u64).to_le_bytes())?;
            w.write_all(&json)?;
            for h in &self.vocab.hashes {
                w.write_all(&h.to_le_bytes())?;
            }
            let empty = Mlp::default();
            let net = self.mlp.as_ref().unwrap_or(&empty);
            let linear = self.linear.scale.iter().chain(&self.linear.bias);
            let network = net.w1_scale.iter().chain(&net.b1).chain(&net.w2).chain(&net.b2);
            for v in self.vocab.idf.iter().chain(linear).chain(network) {
                w.write_all(&v.to_le_bytes())?;
            }
            let bytes: Vec<u8> =
                self.linear.weights.iter().chain(&net.w1).map(|&b| b as u8).collect();
            w.write_all(&bytes)?;
            // The embedding classifier comes last, so that a lexical model's
            // file reads as before.
            for v in self.head.iter().flat_map(|h| h.floats()) {
                w.write_all(&v.to_le_bytes())?;
            }
            w.flush()
        };
        write().map_err(|e| NluError::io(path, e))
    }

    /// Reads a model written by [`IntentModel::save`] and attaches the
    /// process's encoder, if any (see [`IntentModel::attach_encoder`]).
    pub fn load(path: &Path) -> Result<Self, NluError> {
        Self::load_with(path, crate::embed::default_encoder())
    }

    /// Reads a model and attaches `encoder` (see [`IntentModel::attach_encoder`]).
    pub fn load_with(path: &Path, encoder: Option<Arc<Encoder>>) -> Result<Self, NluError> {
        let bad = |reason: &str| NluError::BadModel {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let file = std::fs::File::open(path).map_err(|e| NluError::io(path, e))?;
        let mut r = BufReader::new(file);
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic).map_err(|_| bad("file too short"))?;
        if &magic != MAGIC {
            return Err(bad("wrong magic tag"));
        }
        let mut len = [0u8; 8];
        r.read_exact(&mut len).map_err(|_| bad("file too short"))?;
        let len = u64::from_le_bytes(len) as usize;
        if len > 64 << 20 {
            return Err(bad("header too large"));
        }
        let mut json = vec![0u8; len];
        r.read_exact(&mut json).map_err(|_| bad("truncated header"))?;
        let header: Header = serde_json::from_slice(&json).map_err(|e| bad(&e.to_string()))?;
        let n = header.n_features;
        let c = header.classes.len();
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).map_err(|e| NluError::io(path, e))?;
        let h = header.hidden;
        let n_floats = n + n + c + if h > 0 { n + h + h * c + c } else { 0 };
        let head_floats = header
            .meta
            .embedding
            .as_ref()
            .map_or(0, |e| EmbeddingHead::n_floats(e.dim, e.hidden, c));
        let need = n * 8 + n_floats * 4 + n * c + n * h + head_floats * 4;
        if rest.len() != need {
            return Err(bad("weights do not match the header"));
        }
        let (rest, head_bytes) = rest.split_at(need - head_floats * 4);
        let (hash_bytes, rest) = rest.split_at(n * 8);
        let (float_bytes, byte_weights) = rest.split_at(n_floats * 4);
        let (linear_bytes, w1_bytes) = byte_weights.split_at(n * c);
        let hashes: Vec<u64> = hash_bytes
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        let floats: Vec<f32> = float_bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        let mut rest = &floats[..];
        let mut take = |len: usize| {
            let (head, tail) = rest.split_at(len);
            rest = tail;
            head.to_vec()
        };
        let idf = take(n);
        let scale = take(n);
        let bias = take(c);
        let mlp = (h > 0).then(|| Mlp {
            hidden: h,
            classes: c,
            w1: w1_bytes.iter().map(|&b| b as i8).collect(),
            w1_scale: take(n),
            b1: take(h),
            w2: take(h * c),
            b2: take(c),
        });
        let vocab = Vocabulary::from_parts(header.meta.options.features.clone(), hashes, idf);
        let head = match &header.meta.embedding {
            Some(e) => {
                let floats: Vec<f32> = head_bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                    .collect();
                Some(
                    EmbeddingHead::from_floats(e.dim, e.hidden, c, &floats)
                        .ok_or_else(|| bad("embedding weights do not match the header"))?,
                )
            }
            None => None,
        };
        let mut model = IntentModel {
            meta: header.meta,
            vocab,
            classes: header.classes,
            linear: Linear {
                weights: linear_bytes.iter().map(|&b| b as i8).collect(),
                scale,
                bias,
            },
            mlp,
            head,
            encoder: None,
            mode: EmbeddingMode::default(),
            clause_split: clause_splitter(),
        };
        model.attach_encoder(encoder)?;
        Ok(model)
    }
}

/// The lexical model's held-out probabilities, the network's own
/// out-of-scope verdicts, and the truth.
type LexicalHeldout = (Vec<Vec<f32>>, Vec<bool>, Vec<u16>);

/// What fitting the embedding classifier needs from [`IntentModel::train_with`].
struct EmbeddingFit<'a> {
    vectors: &'a [Vec<f32>],
    labels: &'a [u16],
    examples: &'a [TrainingExample],
    n_classes: usize,
    n_in: usize,
    has_oos: bool,
    own_oos: bool,
    opts: &'a TrainOptions,
    heldout_idx: &'a [usize],
    fit_idx: &'a [usize],
}

/// Mixing weights and cascade confidences tried on the held-out share.
const MIX_WEIGHTS: [f32; 7] = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
const CASCADE_CONFIDENCES: [f32; 8] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99];
/// The cascade may lose this much held-out accuracy against computing the
/// embedding always (two messages in a thousand).
const CASCADE_SLACK: f32 = 0.002;

impl EmbeddingFit<'_> {
    /// Trains the classifier on every example and, with a held-out share,
    /// a second one on the rest to fit its temperature, the mixing weight
    /// and the cascade's confidence. The two trainings share the cores.
    fn run(
        &self,
        lexical: Option<&LexicalHeldout>,
    ) -> Result<(EmbeddingHead, EmbeddingMeta), NluError> {
        let eo = &self.opts.embedding;
        let refs: Vec<&TrainingExample> = self.examples.iter().collect();
        let mut weights = class_weights(&refs, self.labels, self.n_classes, self.opts);
        if self.has_oos {
            // As for the network: only the workspace's own out-of-scope
            // examples weigh more, not Baton's built-in guesses.
            weights[self.n_in] = if self.own_oos { eo.out_of_scope_weight } else { 1.0 };
        }
        let train = |idx: Option<&[usize]>| {
            let (xs, ls): (Vec<Vec<f32>>, Vec<u16>) = match idx {
                Some(idx) => idx.iter().map(|&i| (self.vectors[i].clone(), self.labels[i])).unzip(),
                None => (self.vectors.to_vec(), self.labels.to_vec()),
            };
            EmbeddingHead::train(&xs, &ls, &weights, self.n_classes, eo, self.opts.seed)
        };
        let calibrate = lexical.is_some() && !self.heldout_idx.is_empty();
        let (full, partial) = std::thread::scope(|s| {
            let partial = calibrate.then(|| s.spawn(|| train(Some(self.fit_idx))));
            let full = train(None);
            (full, partial.map(|h| h.join().expect("embedding training thread panicked")))
        });
        let model_error = |e: candle_core::Error| NluError::BadEmbeddingModel {
            path: "embedding classifier".into(),
            reason: format!("training failed: {e}"),
        };
        let full = full.map_err(model_error)?;
        let mut meta = EmbeddingMeta {
            model_sha256: String::new(),
            dim: full.dim,
            hidden: full.hidden,
            temperature: 1.0,
            weight: 0.5,
            cascade_confidence: 0.9,
            embed_seconds: 0.0,
            heldout_always: None,
            heldout_cascade: None,
            heldout_cascade_share: 1.0,
        };
        let (Some(partial), Some((lex, net_oos, truth))) = (partial, lexical) else {
            return Ok((full, meta));
        };
        let partial = partial.map_err(model_error)?;
        let logits: Vec<Vec<f32>> =
            self.heldout_idx.iter().map(|&i| partial.logits(&self.vectors[i])).collect();
        meta.temperature = fit_temperature(&logits, truth);
        let emb: Vec<Vec<f32>> = logits.iter().map(|l| softmax(l, meta.temperature)).collect();
        let threshold = self.opts.out_of_scope_threshold;
        let scores = |probs: &[Vec<f32>]| {
            rule_scores(probs, net_oos, truth, self.n_in, self.has_oos, threshold)
        };
        let accuracy = |probs: &[Vec<f32>]| scores(probs).accuracy;
        let mixed = |w: f32, confidence: f32| -> (Vec<Vec<f32>>, usize) {
            let mut embedded = 0;
            let probs = lex
                .iter()
                .zip(&emb)
                .map(|(p, q)| {
                    let mut p = p.clone();
                    if p.iter().copied().fold(0.0f32, f32::max) < confidence {
                        embedded += 1;
                        mix_into(&mut p, q, w);
                    }
                    p
                })
                .collect();
            (probs, embedded)
        };
        let mut best = (f32::NEG_INFINITY, 0.5);
        for w in MIX_WEIGHTS {
            let acc = accuracy(&mixed(w, f32::INFINITY).0);
            if acc > best.0 {
                best = (acc, w);
            }
        }
        meta.weight = best.1;
        let (always, _) = mixed(meta.weight, f32::INFINITY);
        meta.heldout_always = Some(scores(&always));
        meta.cascade_confidence = f32::INFINITY;
        for c in CASCADE_CONFIDENCES {
            if accuracy(&mixed(meta.weight, c).0) >= best.0 - CASCADE_SLACK {
                meta.cascade_confidence = c;
                break;
            }
        }
        let (cascade, embedded) = mixed(meta.weight, meta.cascade_confidence);
        meta.heldout_cascade = Some(scores(&cascade));
        meta.heldout_cascade_share = embedded as f32 / truth.len().max(1) as f32;
        if !meta.cascade_confidence.is_finite() {
            // No confidence was good enough: the cascade embeds everything.
            meta.cascade_confidence = 2.0;
        }
        Ok((full, meta))
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    meta: ModelMeta,
    classes: Vec<String>,
    n_features: usize,
    /// Hidden units of the network, 0 when there is none.
    hidden: usize,
}

/// Baton's own off-topic messages, labelled as out of scope.
fn builtin_out_of_scope(label: &str) -> impl Iterator<Item = TrainingExample> + '_ {
    include_str!("out_of_scope.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(move |l| TrainingExample::new(l.trim(), label))
}

/// Holds out every k-th example of each class (k from the fraction), as long
/// as the class keeps at least two examples for fitting.
fn stratified_split(labels: &[u16], fraction: f32) -> (Vec<usize>, Vec<usize>) {
    if fraction <= 0.0 || labels.len() < 50 {
        return (Vec::new(), (0..labels.len()).collect());
    }
    let every = (1.0 / fraction).round().max(2.0) as usize;
    let mut seen = std::collections::HashMap::new();
    let (mut held, mut fit) = (Vec::new(), Vec::new());
    for (i, &l) in labels.iter().enumerate() {
        let k = seen.entry(l).or_insert(0usize);
        *k += 1;
        if *k % every == 0 {
            held.push(i);
        } else {
            fit.push(i);
        }
    }
    (held, fit)
}

/// Adds `q` to `p` and halves: the average of two distributions.
fn average_into(p: &mut [f32], q: &[f32]) {
    for (a, b) in p.iter_mut().zip(q) {
        *a = 0.5 * (*a + b);
    }
}

/// Learns the vocabulary, one linear machine per class and the network.
fn fit_models(
    examples: &[&TrainingExample],
    labels: &[u16],
    n_classes: usize,
    opts: &TrainOptions,
    threads: usize,
) -> (Vocabulary, Linear, Option<Mlp>) {
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let vocab = Vocabulary::fit(opts.features.clone(), &texts);
    let xs: Vec<SparseVec> = texts.iter().map(|t| vocab.transform(t)).collect();
    let nf = vocab.len();
    // The out-of-scope weight is the network's alone: the linear machines
    // barely moved with it, and small workspaces (no network) keep the
    // balance they had.
    let linear = fit_linear(&xs, labels, &vec![1.0; n_classes], nf, n_classes, opts, threads);
    let weights = class_weights(examples, labels, n_classes, opts);
    let mlp = (opts.mlp.hidden > 0 && opts.mlp.epochs > 0 && xs.len() >= opts.mlp_min_examples)
        .then(|| Mlp::train(&xs, labels, &weights, nf, n_classes, &opts.mlp, opts.seed));
    (vocab, linear, mlp)
}

/// The weight of each class's examples: 1, or the out-of-scope weight for
/// the out-of-scope class.
fn class_weights(
    examples: &[&TrainingExample],
    labels: &[u16],
    n_classes: usize,
    opts: &TrainOptions,
) -> Vec<f32> {
    let mut w = vec![1.0f32; n_classes];
    for (e, &l) in examples.iter().zip(labels) {
        if e.intent == opts.out_of_scope_label {
            w[l as usize] = opts.out_of_scope_weight.max(0.0);
        }
    }
    w
}

/// One linear machine per class, the classes shared between threads.
fn fit_linear(
    xs: &[SparseVec],
    labels: &[u16],
    class_weights: &[f32],
    nf: usize,
    n_classes: usize,
    opts: &TrainOptions,
    threads: usize,
) -> Linear {
    let threads = threads.clamp(1, 16);
    let class_ids: Vec<usize> = (0..n_classes).collect();
    let chunks: Vec<&[usize]> = class_ids.chunks(n_classes.div_ceil(threads)).collect();
    let mut per_class: Vec<(usize, Vec<f32>, f32)> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|&k| {
                            let (w, b) =
                                train_binary(xs, labels, k as u16, class_weights[k], nf, opts);
                            (k, w, b)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("training thread panicked")).collect()
    });
    per_class.sort_by_key(|p| p.0);
    let mut weights = vec![0.0f32; nf * n_classes];
    let mut bias = vec![0.0f32; n_classes];
    for (k, w, b) in per_class {
        bias[k] = b;
        for (f, v) in w.into_iter().enumerate() {
            weights[f * n_classes + k] = v;
        }
    }
    let (weights, scale) = crate::kernels::quantise_rows(&weights, n_classes);
    Linear { weights, scale, bias }
}

/// One-against-the-rest squared-hinge SVM by dual coordinate descent, with
/// the bias as a feature of constant value 1 and a simple shrinking step.
/// The class's own examples count `positive_weight` times (a larger cost
/// of violating their margin).
fn train_binary(
    xs: &[SparseVec],
    labels: &[u16],
    class: u16,
    positive_weight: f32,
    nf: usize,
    opts: &TrainOptions,
) -> (Vec<f32>, f32) {
    let n = xs.len();
    let y: Vec<f32> = labels.iter().map(|&l| if l == class { 1.0 } else { -1.0 }).collect();
    let diags: Vec<f32> = y
        .iter()
        .map(|&yi| 0.5 / (opts.c * if yi > 0.0 { positive_weight.max(1e-3) } else { 1.0 }))
        .collect();
    let qd: Vec<f32> = xs.iter().zip(&diags).map(|(x, d)| x.norm_sq() + 1.0 + d).collect();
    let mut alpha = vec![0.0f32; n];
    let mut w = vec![0.0f32; nf];
    let mut b = 0.0f32;
    let mut active: Vec<usize> = (0..n).collect();
    let mut rng = opts.seed ^ (class as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let (mut pg_max_old, mut pg_min_old) = (f32::INFINITY, f32::NEG_INFINITY);
    let eps = 0.1;
    for _ in 0..opts.max_epochs {
        // Shuffle the active set (xorshift, deterministic per class).
        for i in (1..active.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            active.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        let (mut pg_max, mut pg_min) = (f32::NEG_INFINITY, f32::INFINITY);
        let mut keep = Vec::with_capacity(active.len());
        for &i in &active {
            let x = &xs[i];
            let g = y[i] * (x.dot(&w) + b) - 1.0 + diags[i] * alpha[i];
            let pg = if alpha[i] == 0.0 {
                if g > pg_max_old {
                    // Far outside the margin: leave it out of later passes.
                    continue;
                }
                g.min(0.0)
            } else {
                g
            };
            keep.push(i);
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / qd[i]).max(0.0);
                let d = (alpha[i] - old) * y[i];
                for (&j, &v) in x.idx.iter().zip(&x.val) {
                    w[j as usize] += d * v;
                }
                b += d;
            }
        }
        active = keep;
        if pg_max - pg_min <= eps {
            if active.len() == n {
                break;
            }
            // Converged on the shrunk set: check every example once more.
            active = (0..n).collect();
            pg_max_old = f32::INFINITY;
            pg_min_old = f32::NEG_INFINITY;
            continue;
        }
        pg_max_old = if pg_max <= 0.0 { f32::INFINITY } else { pg_max };
        pg_min_old = if pg_min >= 0.0 { f32::NEG_INFINITY } else { pg_min };
    }
    let _ = pg_min_old;
    (w, b)
}

/// The temperature minimising the negative log-likelihood of the truth,
/// by golden-section search over its logarithm.
fn fit_temperature(scores: &[Vec<f32>], truth: &[u16]) -> f32 {
    let nll = |log_t: f32| -> f32 {
        let t = log_t.exp();
        scores.iter().zip(truth).map(|(s, &y)| -(softmax(s, t)[y as usize].max(1e-12)).ln()).sum()
    };
    let (mut lo, mut hi) = ((0.005f32).ln(), (5.0f32).ln());
    let phi = 0.618_034f32;
    for _ in 0..40 {
        let a = hi - phi * (hi - lo);
        let b = lo + phi * (hi - lo);
        if nll(a) < nll(b) {
            hi = b;
        } else {
            lo = a;
        }
    }
    ((lo + hi) / 2.0).exp()
}

fn heldout_scores(
    scores: &[Vec<f32>],
    truth: &[u16],
    n_classes: usize,
    has_oos: bool,
) -> EvalScores {
    let pred: Vec<u16> = scores
        .iter()
        .map(|s| {
            let mut best = 0;
            for (i, v) in s.iter().enumerate() {
                if *v > s[best] {
                    best = i;
                }
            }
            best as u16
        })
        .collect();
    let correct = pred.iter().zip(truth).filter(|(p, t)| p == t).count();
    let oos = has_oos.then(|| (n_classes - 1) as u16);
    let (mut ins, mut ins_ok, mut out, mut out_ok) = (0, 0, 0, 0);
    for (p, t) in pred.iter().zip(truth) {
        if Some(*t) == oos {
            out += 1;
            out_ok += (p == t) as usize;
        } else {
            ins += 1;
            ins_ok += (p == t) as usize;
        }
    }
    EvalScores {
        accuracy: correct as f32 / truth.len().max(1) as f32,
        macro_f1: crate::eval::macro_f1(&pred, truth, n_classes),
        in_scope_accuracy: has_oos.then(|| ins_ok as f32 / ins.max(1) as f32),
        out_of_scope_recall: (has_oos && out > 0).then(|| out_ok as f32 / out as f32),
        measured_on: "held-out share of the training examples (argmax, no threshold)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Vec<TrainingExample> {
        let mut ex = Vec::new();
        for (intent, texts) in [
            (
                "track_order",
                &[
                    "where is my order",
                    "track my package",
                    "has my order shipped yet",
                    "when will my parcel arrive",
                    "order status please",
                    "where's my delivery",
                ][..],
            ),
            (
                "refund",
                &[
                    "i want a refund",
                    "refund my order please",
                    "can i get my money back",
                    "how do i get a refund",
                    "give me a refund for the item",
                    "return and refund",
                    "i need a refund for my order",
                    "refund my order",
                ][..],
            ),
            (
                "change_address",
                &[
                    "change my delivery address",
                    "can i change the address",
                    "update shipping address",
                    "wrong address on my order",
                    "i moved, new address",
                    "edit the address",
                ][..],
            ),
        ] {
            for t in texts {
                ex.push(TrainingExample::new(*t, intent));
            }
        }
        ex
    }

    fn opts() -> TrainOptions {
        TrainOptions {
            features: FeatureConfig { min_df: 1, ..FeatureConfig::default() },
            ..TrainOptions::default()
        }
    }

    #[test]
    fn training_without_examples_is_an_error() {
        assert!(matches!(IntentModel::train(&[], &opts()), Err(NluError::NoExamples)));
    }

    #[test]
    fn training_on_one_intent_is_an_error() {
        let ex = vec![TrainingExample::new("hi", "greet")];
        assert!(matches!(IntentModel::train(&ex, &opts()), Err(NluError::TooFewIntents(1))));
    }

    #[test]
    fn a_typo_still_finds_the_refund_intent() {
        let m = IntentModel::train(&toy(), &opts()).unwrap();
        let p = m.predict("refnd my ordr pls");
        assert_eq!(p.intents[0].intent, "refund");
    }

    #[test]
    fn probabilities_sum_to_one() {
        let m = IntentModel::train(&toy(), &opts()).unwrap();
        let sum: f32 = m.probabilities("where is my order").iter().sum();
        assert!((sum - 1.0).abs() < 1e-4);
    }

    #[test]
    fn two_clauses_yield_two_intents() {
        let m = IntentModel::train(&toy(), &opts()).unwrap();
        let p = m.predict_with_threshold("where is my order and can I change the address?", 0.0);
        let mut all: Vec<&str> = p.intents.iter().take(1).map(|i| i.intent.as_str()).collect();
        all.extend(p.extra_intents.iter().map(|i| i.intent.as_str()));
        all.sort();
        assert_eq!(all, vec!["change_address", "track_order"]);
    }

    #[test]
    fn a_second_request_after_also_or_an_ampersand_is_read_too() {
        let m = IntentModel::train(&toy(), &opts()).unwrap();
        for text in [
            "where is my order. Also, can I change the address?",
            "where is my order & can I change the address",
        ] {
            let p = m.predict_with_threshold(text, 0.0);
            let mut all: Vec<&str> = p.intents.iter().take(1).map(|i| i.intent.as_str()).collect();
            all.extend(p.extra_intents.iter().map(|i| i.intent.as_str()));
            all.sort();
            assert_eq!(all, vec!["change_address", "track_order"], "{text}");
        }
    }

    #[test]
    fn unknown_words_are_out_of_scope_and_empty_text_is_not() {
        let m = IntentModel::train(&toy(), &opts()).unwrap();
        assert!(m.predict("zzzz qqqq").out_of_scope);
        let empty = m.predict("");
        assert!(!empty.out_of_scope);
        assert!(empty.intents.is_empty());
    }

    #[test]
    fn a_saved_model_loads_and_predicts_the_same() {
        // Include the network, which small sets skip, so the file holds it.
        let m =
            IntentModel::train(&toy(), &TrainOptions { mlp_min_examples: 0, ..opts() }).unwrap();
        assert!(m.mlp.is_some());
        let dir = std::env::temp_dir().join(format!("baton-nlu-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.bin");
        m.save(&path).unwrap();
        let back = IntentModel::load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back.meta(), m.meta());
        assert_eq!(back.predict("refund please"), m.predict("refund please"));
    }

    #[test]
    fn the_training_hash_covers_each_text_and_label_in_order() {
        let ex = [
            TrainingExample::new("where is my order", "track"),
            TrainingExample::new("refund please", "refund"),
        ];
        // `printf 'where is my order\ttrack\nrefund please\trefund\n' | sha256sum`
        assert_eq!(
            sha256_examples(&ex),
            "70526502bd4c767b9d4aa7ea6eb3e5a6ea473ef38797f01d616a59f85237b445"
        );
        let relabelled = [ex[0].clone(), TrainingExample::new("refund please", "track")];
        assert_ne!(sha256_examples(&relabelled), sha256_examples(&ex));
        let reordered = [ex[1].clone(), ex[0].clone()];
        assert_ne!(sha256_examples(&reordered), sha256_examples(&ex));
    }

    #[test]
    fn the_model_file_keeps_the_training_hash_and_the_scores_beside_the_weights() {
        let mut m = IntentModel::train(&toy(), &opts()).unwrap();
        let heldout = m.meta().heldout.clone().expect("20 examples leave a held-out share");
        let scores = EvalScores {
            accuracy: 0.75,
            macro_f1: 0.5,
            in_scope_accuracy: Some(0.8),
            out_of_scope_recall: Some(0.6),
            measured_on: "a separate test file".into(),
        };
        m.set_eval(scores.clone());
        let dir = std::env::temp_dir().join(format!("baton-nlu-meta-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.bin");
        m.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let back = IntentModel::load(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        assert_eq!(back.meta().training_sha256, sha256_examples(&toy()));
        assert_eq!(back.meta().n_examples, 20);
        assert_eq!(back.meta().heldout, Some(heldout));
        assert_eq!(back.meta().eval, Some(scores));
        // The hash is readable in the file itself, without loading the weights.
        let hash = back.meta().training_sha256.as_bytes();
        assert!(bytes.windows(hash.len()).any(|w| w == hash));
    }

    #[test]
    fn only_the_out_of_scope_class_is_weighted_up() {
        let ex = [
            TrainingExample::new("a", "refund"),
            TrainingExample::new("b", "oos"),
            TrainingExample::new("c", "track"),
        ];
        let refs: Vec<&TrainingExample> = ex.iter().collect();
        let w = class_weights(&refs, &[0, 2, 1], 3, &TrainOptions::default());
        assert_eq!(w, vec![1.0, 1.0, 12.0]);
    }

    #[test]
    fn options_saved_without_the_out_of_scope_weight_read_the_default() {
        let mut json = serde_json::to_value(TrainOptions::default()).unwrap();
        json.as_object_mut().unwrap().remove("out_of_scope_weight");
        let back: TrainOptions = serde_json::from_value(json).unwrap();
        assert_eq!(back.out_of_scope_weight, 12.0);
    }

    #[test]
    fn a_file_that_is_not_a_model_is_refused() {
        let dir = std::env::temp_dir().join(format!("baton-nlu-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.bin");
        std::fs::write(&path, b"hello world, not a model").unwrap();
        let err = IntentModel::load(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(err, NluError::BadModel { .. }));
    }
}
