//! The language-understanding benchmark: intent accuracy on Banking77 and
//! CLINC150, sentiment correlation on the VADER ground-truth files, and the
//! speed of the whole lexical analysis on one core. Reads `../shared/data`
//! from the repository root; prints readable tables, or JSON with `--json`.
//!
//! Run with `cargo bench -p baton-nlu --bench nlu [-- --json] [-- only]`.

use std::path::PathBuf;
use std::time::Instant;

use baton_nlu::eval::{self, IntentEvalOptions, Role};
use baton_nlu::{Analyzer, AnalyzerConfig, IntentModel, TrainOptions};

/// The shared data folder: `BATON_DATA` when set, else `../shared/data`
/// beside the repository.
fn data_dir() -> PathBuf {
    match std::env::var_os("BATON_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let json = args.iter().any(|a| a == "--json");
    let only: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(|s| s.as_str())
        .collect();
    let want = |name: &str| only.is_empty() || only.contains(&name);
    let data = data_dir();
    if !data.exists() {
        eprintln!("no shared data at {}; nothing to benchmark", data.display());
        return;
    }
    let mut results = serde_json::Map::new();
    let opts = IntentEvalOptions {
        train: TrainOptions::default(),
        out_of_scope_threshold: None,
    };

    if want("banking77") {
        let b = data.join("banking77");
        let r = eval::run_intent_eval(&b.join("train.csv"), &b.join("test.csv"), &opts)
            .expect("banking77 eval");
        if !json {
            println!("{r}");
        }
        results.insert("banking77".into(), serde_json::to_value(&r).expect("json"));
    }
    if want("clinc150") {
        let c = data.join("clinc150/train_val.json");
        let r = eval::run_intent_eval(&c, &c, &opts).expect("clinc150 eval");
        if !json {
            println!("{r}");
        }
        results.insert("clinc150".into(), serde_json::to_value(&r).expect("json"));
    }
    for (name, file) in [
        ("tweets", "tweets_GroundTruth.txt"),
        ("movies", "movieReviewSnippets_GroundTruth.txt"),
    ] {
        if want(name) {
            let r =
                eval::run_sentiment_eval(&data.join("sentiment").join(file)).expect("sentiment");
            if !json {
                println!("{r}");
            }
            results.insert(name.into(), serde_json::to_value(&r).expect("json"));
        }
    }
    if want("speed") {
        let speed = speed(&data);
        if !json {
            println!("{}", serde_json::to_string_pretty(&speed).expect("json"));
        }
        results.insert("speed".into(), speed);
    }
    if json {
        println!("{}", serde_json::Value::Object(results));
    }
}

/// Full lexical analysis of every Banking77 test message on one thread.
fn speed(data: &std::path::Path) -> serde_json::Value {
    let b = data.join("banking77");
    let train = eval::load_examples(&b.join("train.csv"), Role::Train).expect("train");
    let test = eval::load_examples(&b.join("test.csv"), Role::Test).expect("test");
    let model = IntentModel::train(&train, &TrainOptions::default()).expect("model");
    let config = AnalyzerConfig {
        order_patterns: vec![r"#?W\d{7}".into(), r"A-\d{5}".into()],
        products: vec!["Smart Watch".into(), "Wireless Earbuds".into()],
        locale: "en-GB".into(),
        timezone: "Europe/Lisbon".into(),
        ..AnalyzerConfig::default()
    };
    let analyzer = Analyzer::new(model, config).expect("analyzer");
    let now = chrono::Utc::now();
    for e in test.iter().take(200) {
        std::hint::black_box(analyzer.analyse(&e.text, now));
    }
    let mut times = Vec::with_capacity(test.len() * 3);
    let started = Instant::now();
    for _ in 0..3 {
        for e in &test {
            let t = Instant::now();
            std::hint::black_box(analyzer.analyse(&e.text, now));
            times.push(t.elapsed().as_secs_f64());
        }
    }
    let total = started.elapsed().as_secs_f64();
    times.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| times[((times.len() as f64 - 1.0) * p) as usize] * 1e6;
    serde_json::json!({
        "messages": times.len(),
        "messages_per_second": times.len() as f64 / total,
        "p50_us": q(0.5),
        "p99_us": q(0.99),
        "max_us": q(1.0),
    })
}
