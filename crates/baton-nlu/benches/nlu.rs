//! The language-understanding benchmark: intent accuracy on Banking77 and
//! CLINC150, sentiment correlation on the VADER ground-truth files, and the
//! speed of the whole lexical analysis on one core. Reads `../shared/data`
//! from the repository root; prints readable tables, or JSON with `--json`.
//!
//! With an embedding model folder in `BATON_EMBEDDING_MODEL` it also
//! trains both intent sets with sentence embeddings and reports the lexical,
//! cascade and always paths of that model side by side, with their speed on
//! one core (`embeddings`; `emb-heldout` compares the embedding
//! classifier's options on held-out training examples only).
//!
//! Run with `cargo bench -p baton-nlu --bench nlu [-- --json] [-- only]`.

use std::path::PathBuf;
use std::time::Instant;

use std::sync::Arc;

use baton_nlu::eval::{self, IntentEvalOptions, Role};
use baton_nlu::{
    Analyzer, AnalyzerConfig, EmbeddingMode, EmbeddingSource, Encoder, IntentModel, TrainOptions,
    TrainingExample,
};

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
    let opts = IntentEvalOptions::default();
    let encoder = match EmbeddingSource::locate(None) {
        source @ EmbeddingSource::Found { .. } => {
            Some(Arc::new(source.load().expect("embedding model").expect("found")))
        }
        other => {
            eprintln!("{}", other.describe());
            None
        }
    };

    if want("banking77") {
        let b = data.join("banking77");
        let cpu = process_cpu_seconds();
        let r = eval::run_intent_eval(&b.join("train.csv"), &b.join("test.csv"), &opts)
            .expect("banking77 eval");
        let cpu = process_cpu_seconds().zip(cpu).map(|(end, start)| end - start);
        if !json {
            println!("{r}  CPU time, all threads     {:.1} s", cpu.unwrap_or(f64::NAN));
        }
        let mut v = serde_json::to_value(&r).expect("json");
        v["cpu_seconds"] = serde_json::json!(cpu);
        results.insert("banking77".into(), v);
    }
    if want("clinc150") {
        let c = data.join("clinc150/train_val.json");
        let cpu = process_cpu_seconds();
        let r = eval::run_intent_eval(&c, &c, &opts).expect("clinc150 eval");
        let cpu = process_cpu_seconds().zip(cpu).map(|(end, start)| end - start);
        if !json {
            println!("{r}  CPU time, all threads     {:.1} s", cpu.unwrap_or(f64::NAN));
        }
        let mut v = serde_json::to_value(&r).expect("json");
        v["cpu_seconds"] = serde_json::json!(cpu);
        results.insert("clinc150".into(), v);
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
    if let Some(out) = std::env::var_os("SENTIMENT_DUMP") {
        // Our score beside the human rating, for studying the errors.
        let items =
            eval::load_sentiment(&data.join("sentiment/tweets_GroundTruth.txt")).expect("tweets");
        let lines: Vec<String> = items
            .iter()
            .map(|(r, t)| format!("{r}\t{}\t{t}", baton_nlu::sentiment::score(t).score))
            .collect();
        std::fs::write(out, lines.join("\n")).expect("dump");
    }
    if let Some(enc) = encoder.as_ref().filter(|_| want("embeddings")) {
        let v = embeddings(&data, enc, json);
        results.insert("embeddings".into(), v);
    }
    if let Some(enc) = encoder.as_ref().filter(|_| only.contains(&"encoder")) {
        encoder_speed(&data, enc);
    }
    if let Some(enc) = encoder.as_ref().filter(|_| only.contains(&"emb-heldout")) {
        emb_heldout(&data, enc);
    }
    if only.contains(&"oos-heldout") {
        oos_heldout(&data);
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
    // A saved model may stand in for training, to profile prediction alone.
    let cached = std::env::var_os("BATON_SPEED_MODEL").map(PathBuf::from);
    let model = match &cached {
        Some(path) if path.exists() => IntentModel::load(path).expect("saved model"),
        _ => {
            let m = IntentModel::train(&train, &TrainOptions::default()).expect("model");
            if let Some(path) = &cached {
                m.save(path).expect("save model");
            }
            m
        }
    };
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
    let mut cpu_times = Vec::with_capacity(test.len() * 3);
    let cpu_started = thread_cpu_seconds();
    let started = Instant::now();
    for _ in 0..3 {
        for e in &test {
            let (t, c) = (Instant::now(), thread_cpu_clock());
            std::hint::black_box(analyzer.analyse(&e.text, now));
            cpu_times.push(thread_cpu_clock() - c);
            times.push(t.elapsed().as_secs_f64());
        }
    }
    let total = started.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds().zip(cpu_started).map(|(end, start)| end - start);
    times.sort_by(|a, b| a.total_cmp(b));
    cpu_times.sort_by(|a, b| a.total_cmp(b));
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
    let cq = |p: f64| cpu_times[((cpu_times.len() as f64 - 1.0) * p) as usize] * 1e6;
    serde_json::json!({
        "messages": times.len(),
        "messages_per_second": times.len() as f64 / total,
        "messages_per_cpu_second": cpu.map(|c| times.len() as f64 / c),
        "p50_us": q(0.5),
        "p99_us": q(0.99),
        "max_us": q(1.0),
        "cpu_p50_us": cq(0.5),
        "cpu_p99_us": cq(0.99),
        "cpu_max_us": cq(1.0),
        "component_messages_per_second": parts,
    })
}

/// Banking77 and CLINC150 trained with sentence embeddings, each model
/// evaluated on its lexical path, the cascade and always; then the speed
/// of the whole analysis on one core with the cascade and always.
fn embeddings(data: &std::path::Path, enc: &Arc<Encoder>, json: bool) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    let sets = [
        ("banking77", data.join("banking77/train.csv"), data.join("banking77/test.csv")),
        ("clinc150", data.join("clinc150/train_val.json"), data.join("clinc150/train_val.json")),
    ];
    let mut banking = None;
    for (name, train_file, test_file) in sets {
        let train = eval::load_examples(&train_file, Role::Train).expect("train");
        let test = eval::load_examples(&test_file, Role::Test).expect("test");
        let cpu = process_cpu_seconds();
        let model = IntentModel::train_with(&train, &TrainOptions::default(), Some(enc.clone()))
            .expect("model");
        let cpu = process_cpu_seconds().zip(cpu).map(|(end, start)| end - start);
        let meta = model.meta().embedding.clone().expect("embedding classifier");
        let mut set = serde_json::Map::new();
        set.insert("training_cpu_seconds".into(), serde_json::json!(cpu));
        set.insert("classifier".into(), serde_json::to_value(&meta).expect("json"));
        for (path, mode, attach) in [
            ("lexical", EmbeddingMode::Cascade, false),
            ("cascade", EmbeddingMode::Cascade, true),
            ("always", EmbeddingMode::Always, true),
        ] {
            let mut m = model.clone();
            m.set_embedding_mode(mode);
            if !attach {
                m.attach_encoder(None).expect("detach");
            }
            let r = eval::evaluate_model(&m, &test, None);
            if !json {
                println!("{name} with embeddings, {path} path\n{r}");
            }
            set.insert(path.into(), serde_json::to_value(&r).expect("json"));
        }
        if !json {
            println!(
                "{name}: training {:.1} s wall (embeddings {:.1} s), {:.1} s CPU of all threads; \
                 mix weight {:.2}, cascade below {:.2} (held-out share embedded {:.1} %)\n",
                model.meta().train_seconds,
                meta.embed_seconds,
                cpu.unwrap_or(f64::NAN),
                meta.weight,
                meta.cascade_confidence,
                meta.heldout_cascade_share * 100.0
            );
        }
        out.insert(name.into(), serde_json::Value::Object(set));
        if name == "banking77" {
            banking = Some((model, test));
        }
    }
    if let Some((model, test)) = banking {
        // One core: the encoder's matrix products run on this thread alone.
        std::env::set_var("RAYON_NUM_THREADS", "1");
        for (path, mode) in [("cascade", EmbeddingMode::Cascade), ("always", EmbeddingMode::Always)]
        {
            let mut m = model.clone();
            m.set_embedding_mode(mode);
            let v = one_core_speed(m, &test);
            if !json {
                println!("speed on one core, {path}: {}", serde_json::to_string(&v).expect("json"));
            }
            out.insert(format!("speed_{path}"), v);
        }
    }
    serde_json::Value::Object(out)
}

/// The whole analysis of every message once on this thread: wall and CPU
/// time per message, and messages per CPU-second.
fn one_core_speed(model: IntentModel, test: &[TrainingExample]) -> serde_json::Value {
    let analyzer = Analyzer::new(model, AnalyzerConfig::default()).expect("analyzer");
    let now = chrono::Utc::now();
    for e in test.iter().take(50) {
        std::hint::black_box(analyzer.analyse(&e.text, now));
    }
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    let started = Instant::now();
    for e in test {
        let (t, c) = (Instant::now(), thread_cpu_clock());
        std::hint::black_box(analyzer.analyse(&e.text, now));
        cpu.push(thread_cpu_clock() - c);
        wall.push(t.elapsed().as_secs_f64());
    }
    let total = started.elapsed().as_secs_f64();
    let cpu_total: f64 = cpu.iter().sum();
    wall.sort_by(|a, b| a.total_cmp(b));
    cpu.sort_by(|a, b| a.total_cmp(b));
    let q = |v: &[f64], p: f64| v[((v.len() as f64 - 1.0) * p) as usize] * 1e3;
    serde_json::json!({
        "messages": test.len(),
        "messages_per_second": test.len() as f64 / total,
        "messages_per_cpu_second": test.len() as f64 / cpu_total,
        "p50_ms": q(&wall, 0.5),
        "p99_ms": q(&wall, 0.99),
        "cpu_p50_ms": q(&cpu, 0.5),
        "cpu_p99_ms": q(&cpu, 0.99),
        "cpu_max_ms": q(&cpu, 1.0),
    })
}

/// The encoder alone on one thread: Banking77's training messages in
/// batches, then one message at a time.
fn encoder_speed(data: &std::path::Path, enc: &Encoder) {
    let train = eval::load_examples(&data.join("banking77/train.csv"), Role::Train).expect("train");
    let n: usize = std::env::var("ENCODER_N").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let texts: Vec<&str> = train.iter().take(n).map(|e| e.text.as_str()).collect();
    for (batch, threads) in [(8, 1), (8, 2), (16, 2)] {
        let (t, cpu) = (Instant::now(), process_cpu_seconds());
        std::hint::black_box(enc.embed_many(&texts, batch, threads).expect("embed"));
        let cpu = process_cpu_seconds().zip(cpu).map(|(end, start)| end - start);
        println!(
            "batch {batch}, {threads} threads: {} messages in {:.2} s wall, {:.2} s CPU",
            texts.len(),
            t.elapsed().as_secs_f64(),
            cpu.unwrap_or(f64::NAN)
        );
    }
    std::env::set_var("RAYON_NUM_THREADS", "1");
    let tokens: usize = texts.iter().map(|t| enc.token_ids(t).expect("tokens").len()).sum();
    for batch in [4, 8, 16] {
        let c = thread_cpu_clock();
        std::hint::black_box(enc.embed_many(&texts, batch, 1).expect("embed"));
        let cpu = thread_cpu_clock() - c;
        println!(
            "batch {batch}: {} messages ({tokens} tokens) in {cpu:.2} s CPU, {:.0} per CPU-second",
            texts.len(),
            texts.len() as f64 / cpu
        );
    }
    let mut one: Vec<f64> = texts
        .iter()
        .take(300)
        .map(|t| {
            let c = thread_cpu_clock();
            std::hint::black_box(enc.embed(t).expect("embed"));
            thread_cpu_clock() - c
        })
        .collect();
    one.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| one[((one.len() as f64 - 1.0) * p) as usize] * 1e3;
    println!("one at a time: CPU p50 {:.2} ms, p99 {:.2} ms", q(0.5), q(0.99));
}

/// The embedding classifier's options compared on the held-out fifth of
/// each training file (the scores the model records for its held-out
/// share): the test and validation splits are never read here. Options
/// come from EMB_OPTIONS, `hidden:epochs:oos_weight` separated by commas.
fn emb_heldout(data: &std::path::Path, enc: &Arc<Encoder>) {
    let spec = std::env::var("EMB_OPTIONS").unwrap_or_else(|_| "0:40:4".into());
    let sets = [
        ("banking77", data.join("banking77/train.csv")),
        ("clinc150", data.join("clinc150/train_val.json")),
    ];
    for (name, path) in sets {
        let train = eval::load_examples(&path, Role::Train).expect("train");
        for item in spec.split(',') {
            let v: Vec<f32> = item.split(':').filter_map(|x| x.parse().ok()).collect();
            let [hidden, epochs, oos_weight] = v[..] else {
                panic!("EMB_OPTIONS item `{item}` is not hidden:epochs:oos_weight");
            };
            let mut opts = TrainOptions { calibration_fraction: 0.2, ..TrainOptions::default() };
            opts.embedding.hidden = hidden as usize;
            opts.embedding.epochs = epochs as usize;
            opts.embedding.out_of_scope_weight = oos_weight;
            let m = IntentModel::train_with(&train, &opts, Some(enc.clone())).expect("model");
            let e = m.meta().embedding.clone().expect("embedding classifier");
            let lex = m.meta().heldout.clone().expect("held-out");
            let show = |s: &Option<baton_nlu::intent::EvalScores>| {
                s.as_ref().map_or("-".to_string(), |s| {
                    format!(
                        "acc {:.2} % in-scope {} oos {}",
                        s.accuracy * 100.0,
                        s.in_scope_accuracy.map_or("-".into(), |v| format!("{:.2} %", v * 100.0)),
                        s.out_of_scope_recall.map_or("-".into(), |v| format!("{:.1} %", v * 100.0)),
                    )
                })
            };
            println!(
                "{name} {item}: lexical {} | always {} | cascade {} (w {:.2}, c {:.2}, {:.0} % \
                 embedded) {:.1} s",
                show(&Some(lex)),
                show(&e.heldout_always),
                show(&e.heldout_cascade),
                e.weight,
                e.cascade_confidence,
                e.heldout_cascade_share * 100.0,
                m.meta().train_seconds
            );
        }
    }
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

/// The out-of-scope rules compared on CLINC150's training file alone: every
/// fifth example of each class (out-of-scope included) is held out, the
/// model trains on the rest, and each rule is scored on the held-out part.
/// The evaluation split (`val`, `oos_val`) is never read here.
fn oos_heldout(data: &std::path::Path) {
    let c = data.join("clinc150/train_val.json");
    let all = eval::load_examples(&c, Role::Train).expect("train");
    let mut seen = std::collections::HashMap::new();
    let (mut fit, mut held) = (Vec::new(), Vec::new());
    for e in all {
        let k = seen.entry(e.intent.clone()).or_insert(0usize);
        *k += 1;
        if *k % 5 == 0 {
            held.push(e);
        } else {
            fit.push(e);
        }
    }
    let weights: Vec<f32> = std::env::var("OOS_WEIGHTS")
        .unwrap_or_else(|_| "1".into())
        .split(',')
        .filter_map(|w| w.parse().ok())
        .collect();
    for w in weights {
        println!("== out-of-scope weight {w}");
        let mut opts = TrainOptions { out_of_scope_weight: w, ..TrainOptions::default() };
        if let Some(h) = std::env::var("MLP_HIDDEN").ok().and_then(|h| h.parse().ok()) {
            opts.mlp.hidden = h;
        }
        println!("network of {} units", opts.mlp.hidden);
        let model = IntentModel::train(&fit, &opts).expect("model");
        oos_rules(&model, &held);
    }
}

/// One held-out message: out of scope?, its class, and the linear, network
/// and averaged probabilities.
struct HeldRow {
    oos: bool,
    truth: usize,
    lin: Vec<f32>,
    net: Vec<f32>,
    ens: Vec<f32>,
}

/// A rule reads a row and names the best intent and whether it calls the
/// message out of scope.
type OosRule<'a> = &'a dyn Fn(&HeldRow) -> (usize, bool);

fn oos_rules(model: &IntentModel, held: &[baton_nlu::TrainingExample]) {
    let n_in = model.meta().intents.len();
    let classes = model.classes().to_vec();
    let has_oos = classes.len() > n_in;
    let rows: Vec<HeldRow> = held
        .iter()
        .map(|e| {
            let (lin, net) = model.component_probabilities(&e.text);
            let net = net.unwrap_or_else(|| lin.clone());
            let ens: Vec<f32> = lin.iter().zip(&net).map(|(a, b)| 0.5 * (a + b)).collect();
            let truth = classes.iter().position(|c| *c == e.intent).unwrap_or(n_in);
            HeldRow { oos: e.intent == "oos", truth, lin, net, ens }
        })
        .collect();
    let n_out = rows.iter().filter(|r| r.oos).count();
    println!("held out: {} in scope, {n_out} out of scope", rows.len() - n_out);
    // The best in-scope intent, its probability, and whether the
    // out-of-scope class beats it.
    let top = |p: &[f32]| {
        let best = (0..n_in).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
        (best, p[best], has_oos && p[n_in] > p[best])
    };
    let report = |name: &str, t: f32, rule: OosRule| {
        let (mut ins, mut ins_ok, mut out, mut out_ok) = (0, 0, 0, 0);
        for r in &rows {
            let (best, oos) = rule(r);
            if r.oos {
                out += 1;
                out_ok += oos as usize;
            } else {
                ins += 1;
                ins_ok += (!oos && best == r.truth) as usize;
            }
        }
        println!(
            "{name:<14} {t:>5.2}: in-scope {:.2} %, oos recall {:.1} %",
            100.0 * ins_ok as f32 / ins as f32,
            100.0 * out_ok as f32 / out.max(1) as f32
        );
    };
    for t in [0.0, 0.1, 0.2, 0.3, 0.5] {
        for (name, pick) in [("ens", 0), ("lin", 1), ("net", 2)] {
            report(name, t, &|r| {
                let p = [&r.ens, &r.lin, &r.net][pick];
                let (best, conf, wins) = top(p);
                (best, wins || conf < t)
            });
        }
        // The network's out-of-scope class winning counts on its own.
        report("ens+net-wins", t, &|r| {
            let (best, conf, wins) = top(&r.ens);
            (best, wins || top(&r.net).2 || conf < t)
        });
    }
}

/// User and system time of the whole process (every thread), from Linux's
/// `/proc/self/stat` in clock ticks of 1/100 s.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// This thread's CPU clock in seconds: what one message costs on a core,
/// whatever else the machine runs meanwhile.
fn thread_cpu_clock() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return f64::NAN;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}
