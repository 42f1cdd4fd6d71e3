//! The evaluation on the public data in `../shared/data` (see its README):
//! accuracy floors a little below the benchmark's figures, so that a real
//! regression fails and noise does not, and a saved model that reloads and
//! predicts exactly as before. Skips with a note when the folder is absent.

use std::path::PathBuf;
use std::sync::OnceLock;

use baton_nlu::eval::{self, IntentEvalOptions, Role};
use baton_nlu::{IntentModel, TrainOptions, TrainingExample};

fn data() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("note: {} is absent; skipping the shared-data tests", dir.display());
        None
    }
}

/// Banking77's model and test set, trained once for every test here.
fn banking77() -> Option<&'static (IntentModel, Vec<TrainingExample>)> {
    static MODEL: OnceLock<(IntentModel, Vec<TrainingExample>)> = OnceLock::new();
    let dir = data()?.join("banking77");
    Some(MODEL.get_or_init(|| {
        let train = eval::load_examples(&dir.join("train.csv"), Role::Train).unwrap();
        let test = eval::load_examples(&dir.join("test.csv"), Role::Test).unwrap();
        (IntentModel::train(&train, &TrainOptions::default()).unwrap(), test)
    }))
}

#[test]
fn banking77_accuracy_stays_above_its_floor() {
    let Some((model, test)) = banking77() else {
        return;
    };
    let r = eval::evaluate_model(model, test, None);
    println!("{r}");
    assert_eq!(r.test_examples, 3080);
    assert_eq!(r.intents, 77);
    assert!(r.accuracy >= 0.92, "accuracy {}", r.accuracy);
    assert!(r.macro_f1 >= 0.92, "macro-F1 {}", r.macro_f1);
    assert_eq!(r.in_scope_accuracy, None);
}

#[test]
fn a_saved_model_reloads_and_predicts_identically() {
    let Some((model, test)) = banking77() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("baton-nlu-shared-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("banking77.model");
    model.save(&path).unwrap();
    let back = IntentModel::load(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(back.meta(), model.meta());
    assert_eq!(back.meta().n_examples, 10003);
    for e in test {
        assert_eq!(back.predict(&e.text), model.predict(&e.text), "{}", e.text);
    }
}

#[test]
fn clinc150_keeps_in_scope_accuracy_and_out_of_scope_recall_together() {
    let Some(dir) = data() else { return };
    let file = dir.join("clinc150/train_val.json");
    let r = eval::run_intent_eval(&file, &file, &IntentEvalOptions::default()).unwrap();
    println!("{r}");
    assert_eq!((r.train_examples, r.test_examples, r.intents), (15100, 3100, 150));
    let in_scope = r.in_scope_accuracy.unwrap();
    let recall = r.out_of_scope_recall.unwrap();
    assert!(in_scope >= 0.915, "in-scope accuracy {in_scope}");
    assert!(recall >= 0.76, "out-of-scope recall {recall}");
}

#[test]
fn sentiment_correlates_with_human_ratings() {
    let Some(dir) = data() else { return };
    let tweets = eval::run_sentiment_eval(&dir.join("sentiment/tweets_GroundTruth.txt")).unwrap();
    let movies =
        eval::run_sentiment_eval(&dir.join("sentiment/movieReviewSnippets_GroundTruth.txt"))
            .unwrap();
    println!("{tweets}{movies}");
    assert_eq!((tweets.messages, movies.messages), (4200, 10605));
    assert!(tweets.pearson >= 0.87, "tweets r {}", tweets.pearson);
    assert!(movies.pearson >= 0.50, "movies r {}", movies.pearson);
    assert!(tweets.sign_accuracy >= 0.90, "tweets sign {}", tweets.sign_accuracy);
}
