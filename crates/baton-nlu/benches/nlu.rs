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
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let json = args.iter().any(|a| a == "--json");
    let only: Vec<&str> =
        args.iter().filter(|a| !a.starts_with("--")).map(|s| s.as_str()).collect();
    let want = |name: &str| only.is_empty() || only.contains(&name);
    let data = data_dir();
    if !data.exists() {
        eprintln!("no shared data at {}; nothing to benchmark", data.display());
        return;
    }
    let mut results = serde_json::Map::new();
    let opts = IntentEvalOptions { train: TrainOptions::default(), out_of_scope_threshold: None };

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
    for (name, file) in
        [("tweets", "tweets_GroundTruth.txt"), ("movies", "movieReviewSnippets_GroundTruth.txt")]
    {
        if want(name) {
            let r =
                eval::run_sentiment_eval(&data.join("sentiment").join(file)).expect("sentiment");
            if !json {
                println!("{r}");
            }
            results.insert(name.into(), serde_json::to_value(&r).expect("json"));
        }
    }
    if only.contains(&"time") {
        let c = data.join("clinc150/train_val.json");
        let train = eval::load_examples(&c, Role::Train).expect("train");
        for hidden in [0, 256] {
            let mut o = TrainOptions::default();
            o.mlp.hidden = hidden;
            o.calibration_fraction = 0.0;
            let m = IntentModel::train(&train, &o).expect("model");
            println!("clinc150 hidden {hidden}: {:.1} s", m.meta().train_seconds);
        }
    }
    if only.contains(&"tune") {
        tune(&data);
    }
    if only.contains(&"sweep") {
        sweep(&data);
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
    let cpu_started = thread_cpu_seconds();
    let started = Instant::now();
    for _ in 0..3 {
        for e in &test {
            let t = Instant::now();
            std::hint::black_box(analyzer.analyse(&e.text, now));
            times.push(t.elapsed().as_secs_f64());
        }
    }
    let total = started.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds().zip(cpu_started).map(|(end, start)| end - start);
    times.sort_by(|a, b| a.total_cmp(b));
    let per = |f: &dyn Fn(&str)| {
        let t = Instant::now();
        for e in &test {
            f(&e.text);
        }
        test.len() as f64 / t.elapsed().as_secs_f64()
    };
    let model = analyzer.model();
    let parts = serde_json::json!({
        "intent": per(&|t| { std::hint::black_box(model.predict(t)); }),
        "intent_probabilities_only": per(&|t| { std::hint::black_box(model.probabilities(t)); }),
        "intent_linear_scores_only": per(&|t| { std::hint::black_box(model.scores(t)); }),
        "sentiment": per(&|t| { std::hint::black_box(baton_nlu::sentiment::score(t)); }),
        "cues": per(&|t| { std::hint::black_box(baton_nlu::cues::detect(t)); }),
        "language": per(&|t| { std::hint::black_box(baton_nlu::language::detect(t)); }),
        "affirmation": per(&|t| { std::hint::black_box(baton_nlu::analyzer::affirmation(t)); }),
    });
    let q = |p: f64| times[((times.len() as f64 - 1.0) * p) as usize] * 1e6;
    serde_json::json!({
        "messages": times.len(),
        "messages_per_second": times.len() as f64 / total,
        "messages_per_cpu_second": cpu.map(|c| times.len() as f64 / c),
        "p50_us": q(0.5),
        "p99_us": q(0.99),
        "max_us": q(1.0),
        "component_messages_per_second": parts,
    })
}

/// Per test message: out of scope?, top intent right?, top probability,
/// top margin, does the out-of-scope class win?
type Row = (bool, bool, f32, f32, bool);

/// The out-of-scope trade-off on CLINC150 for several thresholds, on the
/// top probability and on the raw top margin. Informational only: the
/// defaults are not chosen from it.
fn sweep(data: &std::path::Path) {
    let c = data.join("clinc150/train_val.json");
    let train = eval::load_examples(&c, Role::Train).expect("train");
    let test = eval::load_examples(&c, Role::Test).expect("test");
    let model = IntentModel::train(&train, &TrainOptions::default()).expect("model");
    let n_in = model.meta().intents.len();
    let rows: Vec<Row> = test
        .iter()
        .map(|e| {
            let s = model.scores(&e.text);
            let p = model.probabilities(&e.text);
            let best = (0..n_in).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap_or(0);
            let oos_wins = s[n_in] > s[best];
            let is_oos = e.intent == "oos";
            let right = model.classes()[best] == e.intent;
            (is_oos, right, p[best], s[best], oos_wins)
        })
        .collect();
    let report = |name: &str, t: f32, called: &dyn Fn(&Row) -> bool| {
        let (mut ins, mut ins_ok, mut out, mut out_ok) = (0, 0, 0, 0);
        for r in &rows {
            let oos = called(r);
            if r.0 {
                out += 1;
                out_ok += oos as usize;
            } else {
                ins += 1;
                ins_ok += (!oos && r.1) as usize;
            }
        }
        println!(
            "{name} {t:>6.2}: in-scope {:.2} %, oos recall {:.2} %",
            100.0 * ins_ok as f32 / ins as f32,
            100.0 * out_ok as f32 / out as f32
        );
    };
    for t in [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7] {
        report("prob", t, &|r| r.4 || r.2 < t);
    }
    for t in [-0.6, -0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2] {
        report("margin", t, &|r| r.4 || r.3 < t);
    }
}

/// Model choices compared on the held-out share of the Banking77 and
/// CLINC150 training files only: the test files are never read here.
fn tune(data: &std::path::Path) {
    let sets = [("banking77", data.join("banking77/train.csv"))];
    for (name, path) in sets {
        let train = eval::load_examples(&path, Role::Train).expect("train");
        for (hidden, epochs) in [(0, 0), (256, 6), (128, 6), (128, 8)] {
            let mut opts = TrainOptions::default();
            opts.mlp.hidden = hidden;
            opts.mlp.epochs = epochs;
            opts.calibration_fraction = 0.2;
            let m = IntentModel::train(&train, &opts).expect("model");
            let h = m.meta().heldout.clone().expect("held-out scores");
            println!(
                "{name}: hidden {hidden} epochs {epochs}: held-out accuracy {:.2} % ({:.1} s)",
                h.accuracy * 100.0,
                m.meta().train_seconds
            );
        }
    }
}

/// Time this thread has spent on a CPU, from Linux's scheduler statistics:
/// on a machine shared with other work, throughput per CPU-second is what
/// the code costs, where wall-clock throughput also counts the waiting.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}
