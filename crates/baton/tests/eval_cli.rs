//! `baton eval` on the public data sets, as a user runs it: the default
//! lexical model's floors on Banking77 and the sentiment files, a little
//! below the figures in docs/benchmarks.md so that the test is stable.

mod common;

use std::process::Command;

use serde_json::Value;

use common::shared_data;

fn eval(args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("eval")
        .args(args)
        .arg("--json")
        .env("RUST_LOG", "warn")
        .env_remove("BATON_EMBEDDING_MODEL")
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the report is JSON")
}

#[test]
fn eval_intents_on_banking77_reports_its_scores_above_the_floor() {
    let Some(data) = shared_data() else {
        eprintln!("skipped: ../shared/data is not beside the repository");
        return;
    };
    let train = data.join("banking77/train.csv");
    let test = data.join("banking77/test.csv");

    let report =
        eval(&["intents", "--train", train.to_str().unwrap(), "--test", test.to_str().unwrap()]);

    assert_eq!(report["path"], "lexical");
    assert_eq!(
        (report["train_examples"].as_u64(), report["test_examples"].as_u64()),
        (Some(10003), Some(3080))
    );
    assert_eq!(report["intents"], 77);
    let accuracy = report["accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.92, "accuracy {accuracy}");
    assert!(report["macro_f1"].as_f64().unwrap() >= 0.92, "{report}");
    // Banking77 has no out-of-scope examples, so there is nothing to score.
    assert_eq!(report["out_of_scope_recall"], Value::Null);
    let confusions = report["confusions"].as_array().unwrap();
    assert!(!confusions.is_empty());
    let counts: Vec<u64> = confusions.iter().map(|c| c["count"].as_u64().unwrap()).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "costliest first: {counts:?}");
    assert!(report["predictions_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn eval_sentiment_on_both_files_reports_correlations_above_the_floors() {
    let Some(data) = shared_data() else {
        eprintln!("skipped: ../shared/data is not beside the repository");
        return;
    };
    for (file, messages, floor) in [
        ("sentiment/tweets_GroundTruth.txt", 4200, 0.87),
        ("sentiment/movieReviewSnippets_GroundTruth.txt", 10605, 0.50),
    ] {
        let path = data.join(file);
        let report = eval(&["sentiment", "--data", path.to_str().unwrap()]);
        assert_eq!(report["messages"], messages, "{file}");
        let pearson = report["pearson"].as_f64().unwrap();
        assert!(pearson >= floor, "{file}: r {pearson}");
    }
}
