//! Measuring the models on labelled files, for `baton eval`.
//!
//! Intent files are either CSV with `text` and `category` columns (the
//! Banking77 layout) or JSON holding `[text, label]` lists under split keys
//! (the CLINC150 layout: training reads `train` plus `oos_train`; testing
//! reads `test` plus `oos_test` when present, else `val` plus `oos_val`).
//! Sentiment files hold `id<TAB>rating<TAB>text` lines, rating -4..4.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::embed::Encoder;
use crate::intent::{EmbeddingMode, IntentModel, IntentPath, TrainOptions, TrainingExample};
use crate::{sentiment, NluError};

/// Which part of a split file to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Train,
    Test,
}

/// How to run an intent evaluation.
#[derive(Clone, Debug, Default)]
pub struct IntentEvalOptions {
    pub train: TrainOptions,
    /// Overrides the trained model's out-of-scope threshold.
    pub out_of_scope_threshold: Option<f32>,
    /// Trains with sentence embeddings from this encoder.
    pub encoder: Option<Arc<Encoder>>,
    /// When the embedding is computed, with an encoder.
    pub mode: EmbeddingMode,
}

/// Two intents the model mixed up, and how often.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Confusion {
    pub truth: String,
    pub predicted: String,
    pub count: usize,
}

/// The outcome of training on one file and testing on another.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IntentEvalReport {
    pub train_file: PathBuf,
    pub test_file: PathBuf,
    pub train_examples: usize,
    pub test_examples: usize,
    pub intents: usize,
    /// Share of test messages given the right label (out-of-scope counts as
    /// a label when the test set has any).
    pub accuracy: f32,
    pub macro_f1: f32,
    /// Share of in-scope test messages given the right intent and not
    /// called out of scope; present when the test set has out-of-scope items.
    pub in_scope_accuracy: Option<f32>,
    /// Share of out-of-scope test messages called out of scope.
    pub out_of_scope_recall: Option<f32>,
    pub out_of_scope_threshold: f32,
    /// Which path the predictions took: lexical, embeddings always, cascade.
    pub path: IntentPath,
    /// Training time, the embedding of the training examples included.
    pub train_seconds: f32,
    /// Of which computing the training examples' embeddings.
    pub embedding_seconds: Option<f32>,
    pub predictions_per_second: f32,
    /// Wall-clock time of one prediction, median and 99th percentile.
    pub latency_p50_ms: f32,
    pub latency_p99_ms: f32,
    /// The most frequent mistakes, worst first.
    pub confusions: Vec<Confusion>,
}

/// Reads labelled examples from a CSV or split JSON file.
pub fn load_examples(path: &Path, role: Role) -> Result<Vec<TrainingExample>, NluError> {
    let data = std::fs::read_to_string(path).map_err(|e| NluError::io(path, e))?;
    let bad = |reason: String| NluError::BadData { path: path.to_path_buf(), reason };
    if data.trim_start().starts_with('{') {
        let json: serde_json::Value =
            serde_json::from_str(&data).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let keys: &[&str] = match role {
            Role::Train => &["train", "oos_train"],
            Role::Test if json.get("test").is_some() => &["test", "oos_test"],
            Role::Test => &["val", "oos_val"],
        };
        let mut out = Vec::new();
        for key in keys {
            let Some(list) = json.get(*key) else { continue };
            let list = list.as_array().ok_or_else(|| bad(format!("`{key}` is not a list")))?;
            for pair in list {
                match pair.as_array().map(|p| p.as_slice()) {
                    Some([serde_json::Value::String(t), serde_json::Value::String(l)]) => {
                        out.push(TrainingExample::new(t.clone(), l.clone()))
                    }
                    _ => {
                        return Err(bad(format!("`{key}` holds an item that is not [text, label]")))
                    }
                }
            }
        }
        if out.is_empty() {
            return Err(bad(format!("none of the keys {keys:?} holds examples")));
        }
        return Ok(out);
    }
    let rows = parse_csv(&data);
    let header = rows.first().ok_or_else(|| bad("empty file".into()))?;
    let col = |names: &[&str]| header.iter().position(|h| names.contains(&h.trim()));
    let text_col =
        col(&["text", "utterance", "query"]).ok_or_else(|| bad("no `text` column".into()))?;
    let label_col =
        col(&["category", "label", "intent"]).ok_or_else(|| bad("no `category` column".into()))?;
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate().skip(1) {
        if row.len() == 1 && row[0].is_empty() {
            continue;
        }
        match (row.get(text_col), row.get(label_col)) {
            (Some(t), Some(l)) => out.push(TrainingExample::new(t.clone(), l.clone())),
            _ => return Err(bad(format!("row {} has too few columns", i + 1))),
        }
    }
    Ok(out)
}

/// A small RFC 4180 reader: quoted fields may hold commas, doubled quotes
/// and line breaks.
fn parse_csv(data: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = data.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Trains on one file, tests on another, and reports.
pub fn run_intent_eval(
    train: &Path,
    test: &Path,
    opts: &IntentEvalOptions,
) -> Result<IntentEvalReport, NluError> {
    let train_ex = load_examples(train, Role::Train)?;
    let test_ex = load_examples(test, Role::Test)?;
    let started = Instant::now();
    let mut model = IntentModel::train_with(&train_ex, &opts.train, opts.encoder.clone())?;
    let train_seconds = started.elapsed().as_secs_f32();
    model.set_embedding_mode(opts.mode);
    let mut report = evaluate_model(&model, &test_ex, opts.out_of_scope_threshold);
    report.train_file = train.to_path_buf();
    report.test_file = test.to_path_buf();
    report.train_examples = train_ex.len();
    report.train_seconds = train_seconds;
    Ok(report)
}

/// Tests a trained model on labelled examples. When the examples hold no
/// out-of-scope item the top intent is scored as is; otherwise a message
/// called out of scope counts as predicting the out-of-scope label.
pub fn evaluate_model(
    model: &IntentModel,
    test: &[TrainingExample],
    threshold: Option<f32>,
) -> IntentEvalReport {
    let oos_label = model
        .meta()
        .out_of_scope_label
        .clone()
        .unwrap_or_else(|| model.meta().options.out_of_scope_label.clone());
    let has_oos = test.iter().any(|e| e.intent == oos_label);
    let threshold = threshold.unwrap_or(model.meta().out_of_scope_threshold);

    let mut latencies = Vec::with_capacity(test.len());
    let started = Instant::now();
    let predicted: Vec<String> = test
        .iter()
        .map(|e| {
            let one = Instant::now();
            let p = model.predict_with_threshold(&e.text, threshold);
            latencies.push(one.elapsed().as_secs_f32() * 1000.0);
            match p.intents.first() {
                _ if has_oos && p.out_of_scope => oos_label.clone(),
                Some(top) => top.intent.clone(),
                None => oos_label.clone(),
            }
        })
        .collect();
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    latencies.sort_by(f32::total_cmp);
    let quantile = |q: f64| -> f32 {
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(i).copied().unwrap_or(0.0)
    };

    let mut labels: Vec<String> = test.iter().map(|e| e.intent.clone()).collect();
    labels.extend(predicted.iter().cloned());
    labels.sort();
    labels.dedup();
    let id = |l: &str| labels.binary_search_by(|x| x.as_str().cmp(l)).unwrap_or(0) as u16;
    let truth_ids: Vec<u16> = test.iter().map(|e| id(&e.intent)).collect();
    let pred_ids: Vec<u16> = predicted.iter().map(|p| id(p)).collect();

    let correct = test.iter().zip(&predicted).filter(|(e, p)| e.intent == **p).count();
    let (mut ins, mut ins_ok, mut out, mut out_ok) = (0usize, 0usize, 0usize, 0usize);
    let mut confusions: HashMap<(String, String), usize> = HashMap::new();
    for (e, p) in test.iter().zip(&predicted) {
        if e.intent == oos_label {
            out += 1;
            out_ok += (*p == oos_label) as usize;
        } else {
            ins += 1;
            ins_ok += (*p == e.intent) as usize;
        }
        if e.intent != *p {
            *confusions.entry((e.intent.clone(), p.clone())).or_insert(0) += 1;
        }
    }
    let mut confusions: Vec<Confusion> = confusions
        .into_iter()
        .map(|((truth, predicted), count)| Confusion { truth, predicted, count })
        .collect();
    confusions.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.truth.cmp(&b.truth)));
    confusions.truncate(10);

    IntentEvalReport {
        train_file: PathBuf::new(),
        test_file: PathBuf::new(),
        train_examples: model.meta().n_examples,
        test_examples: test.len(),
        intents: model.meta().intents.len(),
        accuracy: correct as f32 / test.len().max(1) as f32,
        macro_f1: macro_f1(&pred_ids, &truth_ids, labels.len()),
        in_scope_accuracy: has_oos.then(|| ins_ok as f32 / ins.max(1) as f32),
        out_of_scope_recall: has_oos.then(|| out_ok as f32 / out.max(1) as f32),
        out_of_scope_threshold: threshold,
        path: model.path(),
        train_seconds: model.meta().train_seconds,
        embedding_seconds: model.meta().embedding.as_ref().map(|e| e.embed_seconds),
        predictions_per_second: (test.len() as f64 / seconds) as f32,
        latency_p50_ms: quantile(0.5),
        latency_p99_ms: quantile(0.99),
        confusions,
    }
}

/// Macro-averaged F1 over the classes that occur in the truth or the
/// predictions.
pub fn macro_f1(pred: &[u16], truth: &[u16], n_classes: usize) -> f32 {
    let mut tp = vec![0usize; n_classes];
    let mut fp = vec![0usize; n_classes];
    let mut fn_ = vec![0usize; n_classes];
    for (&p, &t) in pred.iter().zip(truth) {
        if p == t {
            tp[p as usize] += 1;
        } else {
            fp[p as usize] += 1;
            fn_[t as usize] += 1;
        }
    }
    let mut sum = 0.0;
    let mut n = 0;
    for k in 0..n_classes {
        if tp[k] + fp[k] + fn_[k] == 0 {
            continue;
        }
        n += 1;
        sum += 2.0 * tp[k] as f32 / (2 * tp[k] + fp[k] + fn_[k]) as f32;
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f32
    }
}

fn pct(v: f32) -> String {
    format!("{:.2} %", v * 100.0)
}

impl fmt::Display for IntentEvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "intent evaluation")?;
        writeln!(f, "  train file              {}", self.train_file.display())?;
        writeln!(f, "  test file               {}", self.test_file.display())?;
        writeln!(f, "  examples (train/test)   {} / {}", self.train_examples, self.test_examples)?;
        writeln!(f, "  intents                 {}", self.intents)?;
        writeln!(f, "  accuracy                {}", pct(self.accuracy))?;
        writeln!(f, "  macro-F1                {}", pct(self.macro_f1))?;
        if let Some(v) = self.in_scope_accuracy {
            writeln!(f, "  in-scope accuracy       {}", pct(v))?;
        }
        if let Some(v) = self.out_of_scope_recall {
            writeln!(f, "  out-of-scope recall     {}", pct(v))?;
            writeln!(f, "  out-of-scope threshold  {:.2}", self.out_of_scope_threshold)?;
        }
        writeln!(f, "  path                    {}", self.path)?;
        match self.embedding_seconds {
            Some(e) => writeln!(
                f,
                "  training                {:.2} s (embeddings {e:.2} s)",
                self.train_seconds
            )?,
            None => writeln!(f, "  training                {:.2} s", self.train_seconds)?,
        }
        writeln!(f, "  predictions per second  {:.0}", self.predictions_per_second)?;
        writeln!(
            f,
            "  latency p50 / p99       {:.3} / {:.3} ms",
            self.latency_p50_ms, self.latency_p99_ms
        )?;
        if !self.confusions.is_empty() {
            writeln!(f, "  costliest confusions (truth -> predicted, count)")?;
            for c in &self.confusions {
                writeln!(f, "    {:<32} -> {:<32} {}", c.truth, c.predicted, c.count)?;
            }
        }
        Ok(())
    }
}

/// The outcome of scoring a sentiment ground-truth file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SentimentEvalReport {
    pub file: PathBuf,
    pub messages: usize,
    /// Pearson correlation between our score and the mean human rating.
    pub pearson: f32,
    /// Share of items rated clearly positive or negative (|rating| at least
    /// [`NEUTRAL_BAND`]) whose score has the same sign.
    pub sign_accuracy: f32,
    pub non_neutral: usize,
    pub messages_per_second: f32,
}

/// Ratings closer to zero than this count as neutral for sign accuracy.
pub const NEUTRAL_BAND: f32 = 0.5;

/// Reads `id<TAB>rating<TAB>text` lines.
pub fn load_sentiment(path: &Path) -> Result<Vec<(f32, String)>, NluError> {
    let data = std::fs::read_to_string(path).map_err(|e| NluError::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, '\t');
        let (_, rating, text) = (parts.next(), parts.next(), parts.next());
        let rating: f32 =
            rating.and_then(|r| r.trim().parse().ok()).ok_or_else(|| NluError::BadData {
                path: path.to_path_buf(),
                reason: format!("line {} is not id<TAB>rating<TAB>text", i + 1),
            })?;
        out.push((rating, text.unwrap_or("").to_string()));
    }
    Ok(out)
}

/// Scores every message of a ground-truth file and compares.
pub fn run_sentiment_eval(path: &Path) -> Result<SentimentEvalReport, NluError> {
    let items = load_sentiment(path)?;
    let started = Instant::now();
    let scores: Vec<f32> = items.iter().map(|(_, t)| sentiment::score(t).score).collect();
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    let ratings: Vec<f32> = items.iter().map(|(r, _)| *r).collect();
    let (mut n, mut ok) = (0usize, 0usize);
    for (r, s) in ratings.iter().zip(&scores) {
        if r.abs() >= NEUTRAL_BAND {
            n += 1;
            ok += (r.signum() == s.signum() && *s != 0.0) as usize;
        }
    }
    Ok(SentimentEvalReport {
        file: path.to_path_buf(),
        messages: items.len(),
        pearson: pearson(&scores, &ratings),
        sign_accuracy: ok as f32 / n.max(1) as f32,
        non_neutral: n,
        messages_per_second: (items.len() as f64 / seconds) as f32,
    })
}

/// Pearson correlation of two equally long series (0 when either is flat).
pub fn pearson(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len()) as f64;
    if n < 2.0 {
        return 0.0;
    }
    let ma = a.iter().map(|&v| v as f64).sum::<f64>() / n;
    let mb = b.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        cov += dx * dy;
        va += dx * dx;
        vb += dy * dy;
    }
    if va == 0.0 || vb == 0.0 {
        return 0.0;
    }
    (cov / (va.sqrt() * vb.sqrt())) as f32
}

impl fmt::Display for SentimentEvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "sentiment evaluation")?;
        writeln!(f, "  file                    {}", self.file.display())?;
        writeln!(f, "  messages                {}", self.messages)?;
        writeln!(f, "  Pearson r               {:.3}", self.pearson)?;
        writeln!(
            f,
            "  sign accuracy           {} of {} non-neutral",
            pct(self.sign_accuracy),
            self.non_neutral
        )?;
        writeln!(f, "  messages per second     {:.0}", self.messages_per_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `contents` to a file of its own under the system's temporary
    /// folder, and returns its path.
    fn scratch(name: &str, contents: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("baton-nlu-eval-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn texts(examples: &[TrainingExample]) -> Vec<(&str, &str)> {
        examples.iter().map(|e| (e.text.as_str(), e.intent.as_str())).collect()
    }

    #[test]
    fn a_split_file_trains_on_train_and_oos_train_and_tests_on_test_before_val() {
        let all = scratch(
            "all.json",
            r#"{"train": [["track my parcel", "track"]], "oos_train": [["sing", "oos"]],
                "val": [["where is it", "track"]], "oos_val": [["a joke", "oos"]],
                "test": [["parcel status", "track"]], "oos_test": [["the weather", "oos"]]}"#,
        );
        let train = load_examples(&all, Role::Train).unwrap();
        assert_eq!(texts(&train), vec![("track my parcel", "track"), ("sing", "oos")]);
        let test = load_examples(&all, Role::Test).unwrap();
        assert_eq!(texts(&test), vec![("parcel status", "track"), ("the weather", "oos")]);

        let val = scratch(
            "val.json",
            r#"{"train": [["track my parcel", "track"]],
                "val": [["where is it", "track"]], "oos_val": [["a joke", "oos"]]}"#,
        );
        let test = load_examples(&val, Role::Test).unwrap();
        assert_eq!(texts(&test), vec![("where is it", "track"), ("a joke", "oos")]);
    }

    #[test]
    fn a_csv_file_reads_its_text_and_category_columns_by_name() {
        let csv =
            scratch("b77.csv", "category,text\nrefund,\"refund me, please\"\ntrack,where is it\n");
        let examples = load_examples(&csv, Role::Train).unwrap();
        assert_eq!(
            texts(&examples),
            vec![("refund me, please", "refund"), ("where is it", "track")]
        );

        let headless = scratch("headless.csv", "refund me,refund\n");
        let err = load_examples(&headless, Role::Train).unwrap_err().to_string();
        assert!(err.ends_with("no `text` column"), "{err}");
    }

    #[test]
    fn the_intent_report_scores_out_of_scope_and_lists_the_costliest_confusion() {
        let mut train = Vec::new();
        for (label, texts) in [
            ("track", ["where is my parcel", "track my order", "has my package shipped"]),
            ("refund", ["i want a refund", "refund my order", "give me my money back"]),
            ("password", ["reset my password", "i forgot my password", "cannot log in"]),
            ("oos", ["what is the weather", "tell me a joke", "who won the football"]),
        ] {
            for t in texts {
                train.push(serde_json::json!([t, label]));
            }
        }
        // The last in-scope item is labelled wrongly on purpose: the model
        // reads it as tracking, and the report must count that as the costliest
        // confusion.
        let file = serde_json::json!({
            "train": train,
            "test": [["where is my parcel", "track"], ["reset my password", "password"],
                     ["track my order", "refund"]],
            "oos_test": [["tell me a joke", "oos"], ["what is the weather", "oos"]],
        });
        let path = scratch("report.json", &file.to_string());
        let mut opts = IntentEvalOptions::default();
        opts.train.features.min_df = 1;
        let r = run_intent_eval(&path, &path, &opts).unwrap();

        assert_eq!((r.train_examples, r.test_examples, r.intents), (12, 5, 3));
        assert_eq!(r.accuracy, 0.8);
        assert_eq!(r.in_scope_accuracy, Some(2.0 / 3.0));
        assert_eq!(r.out_of_scope_recall, Some(1.0));
        assert_eq!(
            r.confusions,
            vec![Confusion { truth: "refund".into(), predicted: "track".into(), count: 1 }]
        );
        assert_eq!(r.path, IntentPath::Lexical);
        assert!(r.predictions_per_second > 0.0);
        let table = r.to_string();
        assert!(table.contains("  in-scope accuracy       66.67 %\n"), "{table}");
        assert!(table.contains("  out-of-scope recall     100.00 %\n"), "{table}");
    }

    #[test]
    fn the_sentiment_report_counts_signs_outside_the_neutral_band() {
        let path = scratch(
            "sentiment.txt",
            "1\t2.5\tgreat service\n2\t-3.0\tterrible service\n\
             3\t0.2\tthe parcel came on Monday\n4\t1.0\tterrible\n",
        );
        let r = run_sentiment_eval(&path).unwrap();
        assert_eq!((r.messages, r.non_neutral), (4, 3));
        assert_eq!(r.sign_accuracy, 2.0 / 3.0);
        let scores: Vec<f32> =
            load_sentiment(&path).unwrap().iter().map(|(_, t)| sentiment::score(t).score).collect();
        assert_eq!(r.pearson, pearson(&scores, &[2.5, -3.0, 0.2, 1.0]));

        let bad = scratch("bad.txt", "1\t2.5\tfine\n2\tgood\n");
        let err = run_sentiment_eval(&bad).unwrap_err().to_string();
        assert!(err.ends_with("line 2 is not id<TAB>rating<TAB>text"), "{err}");
    }

    #[test]
    fn csv_fields_may_hold_quotes_commas_and_newlines() {
        let rows = parse_csv("text,category\n\"a, \"\"b\"\"\nc\",x\nplain,y\n");
        assert_eq!(rows[1], vec!["a, \"b\"\nc", "x"]);
        assert_eq!(rows[2], vec!["plain", "y"]);
    }

    #[test]
    fn pearson_of_a_series_with_itself_is_one() {
        assert!((pearson(&[1.0, 2.0, 4.0], &[1.0, 2.0, 4.0]) - 1.0).abs() < 1e-6);
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-6);
        assert_eq!(pearson(&[1.0, 1.0], &[1.0, 2.0]), 0.0);
    }

    #[test]
    fn macro_f1_averages_per_class() {
        // Class 0: tp 1, fn 1 -> 2/3; class 1: tp 1, fp 1 -> 2/3.
        let f = macro_f1(&[0, 1, 1], &[0, 0, 1], 2);
        assert!((f - 2.0 / 3.0).abs() < 1e-6);
    }
}
