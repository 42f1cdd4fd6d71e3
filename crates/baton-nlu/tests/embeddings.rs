//! The intent model with sentence embeddings, on the public data in
//! `../shared/data`: accuracy floors a little below the measured figures,
//! the cascade against computing the embedding always, a model file that
//! reloads and predicts identically, and the refusal of a model file used
//! with another encoder. The encoder is named by `BATON_TEST_EMBEDDING_MODEL`
//! or `BATON_EMBEDDING_MODEL` (scripts/test installs it); each data set is embedded and trained once
//! for every test of this file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use baton_nlu::embed::test_model_dir;
use baton_nlu::eval::{self, Role};
use baton_nlu::{
    EmbeddingMode, Encoder, IntentModel, IntentPath, NluError, TrainOptions, TrainingExample,
};

fn data() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("note: {} is absent; skipping the embedding tests", dir.display());
        None
    }
}

/// The encoder, loaded once. Its absence fails the test with the way to get it.
fn encoder() -> Arc<Encoder> {
    static ENCODER: OnceLock<Arc<Encoder>> = OnceLock::new();
    ENCODER
        .get_or_init(|| {
            let dir = test_model_dir().unwrap_or_else(|e| panic!("{e}"));
            Arc::new(Encoder::load(Path::new(&dir)).unwrap_or_else(|e| panic!("{e}")))
        })
        .clone()
}

struct Trained {
    model: IntentModel,
    test: Vec<TrainingExample>,
}

fn train(train: &Path, test: &Path) -> Trained {
    let train_ex = eval::load_examples(train, Role::Train).unwrap();
    let test = eval::load_examples(test, Role::Test).unwrap();
    let model =
        IntentModel::train_with(&train_ex, &TrainOptions::default(), Some(encoder())).unwrap();
    Trained { model, test }
}

fn banking77() -> Option<&'static Trained> {
    static MODEL: OnceLock<Trained> = OnceLock::new();
    let dir = data()?.join("banking77");
    Some(MODEL.get_or_init(|| train(&dir.join("train.csv"), &dir.join("test.csv"))))
}

fn clinc150() -> Option<&'static Trained> {
    static MODEL: OnceLock<Trained> = OnceLock::new();
    let file = data()?.join("clinc150/train_val.json");
    Some(MODEL.get_or_init(|| train(&file, &file)))
}

fn with_mode(model: &IntentModel, mode: EmbeddingMode) -> IntentModel {
    let mut m = model.clone();
    m.set_embedding_mode(mode);
    m
}

#[test]
fn banking77_with_embeddings_stays_above_its_floor() {
    let Some(t) = banking77() else { return };
    let meta = t.model.meta().embedding.as_ref().expect("embedding classifier");
    assert_eq!(meta.model_sha256, encoder().identity());
    assert_eq!(meta.dim, 384);
    let r = eval::evaluate_model(&t.model, &t.test, None);
    println!("{r}");
    assert_eq!(r.path, IntentPath::Cascade);
    assert_eq!((r.test_examples, r.intents), (3080, 77));
    assert!(r.accuracy >= 0.93, "cascade accuracy {}", r.accuracy);
}

#[test]
fn clinc150_with_embeddings_meets_in_scope_and_recall_together() {
    let Some(t) = clinc150() else { return };
    for mode in [EmbeddingMode::Cascade, EmbeddingMode::Always] {
        let r = eval::evaluate_model(&with_mode(&t.model, mode), &t.test, None);
        println!("{r}");
        assert_eq!((r.test_examples, r.intents), (3100, 150));
        let in_scope = r.in_scope_accuracy.unwrap();
        let recall = r.out_of_scope_recall.unwrap();
        assert!(in_scope >= 0.93, "{mode:?}: in-scope accuracy {in_scope}");
        assert!(recall >= 0.78, "{mode:?}: out-of-scope recall {recall}");
    }
}

#[test]
fn a_saved_model_with_embeddings_reloads_and_predicts_identically() {
    let Some(t) = banking77() else { return };
    let dir = std::env::temp_dir().join(format!("baton-nlu-emb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("banking77.model");
    t.model.save(&path).unwrap();
    let back = IntentModel::load_with(&path, Some(encoder())).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(back.meta(), t.model.meta());
    let (a, b) =
        (with_mode(&t.model, EmbeddingMode::Always), with_mode(&back, EmbeddingMode::Always));
    assert_eq!(b.path(), IntentPath::EmbeddingsAlways);
    for e in t.test.iter().take(300) {
        assert_eq!(b.predict(&e.text), a.predict(&e.text), "{}", e.text);
    }
}

#[test]
fn a_model_file_is_refused_with_another_encoder_and_falls_back_without_one() {
    let Some(t) = banking77() else { return };
    let dir = std::env::temp_dir().join(format!("baton-nlu-emb-id-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.model");
    t.model.save(&path).unwrap();

    // The same file as trained by another encoder: its recorded identity
    // is changed, nothing else.
    let id = encoder().identity().to_string();
    let other: String = id.chars().map(|c| if c == '0' { '1' } else { '0' }).collect();
    let bytes = std::fs::read(&path).unwrap();
    let at =
        bytes.windows(id.len()).position(|w| w == id.as_bytes()).expect("identity in the header");
    let mut changed = bytes.clone();
    changed[at..at + id.len()].copy_from_slice(other.as_bytes());
    let other_path = dir.join("other.model");
    std::fs::write(&other_path, &changed).unwrap();
    let err = IntentModel::load_with(&other_path, Some(encoder())).unwrap_err();
    assert!(matches!(err, NluError::EmbeddingMismatch { .. }), "{err}");
    assert!(err.to_string().contains(&other), "{err}");

    // Without an encoder the model reads with its lexical part alone.
    let lexical = IntentModel::load_with(&path, None).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(lexical.path(), IntentPath::Lexical);
    let mut no_encoder = t.model.clone();
    no_encoder.attach_encoder(None).unwrap();
    for e in t.test.iter().take(200) {
        assert_eq!(lexical.predict(&e.text), no_encoder.predict(&e.text), "{}", e.text);
    }
}

#[test]
fn a_lexical_model_is_refused_with_an_encoder() {
    let ex: Vec<TrainingExample> = ["refund please", "money back", "where is my order", "track it"]
        .iter()
        .zip(["refund", "refund", "track", "track"])
        .map(|(t, i)| TrainingExample::new(*t, i))
        .collect();
    let mut opts = TrainOptions::default();
    opts.features.min_df = 1;
    let mut model = IntentModel::train_with(&ex, &opts, None).unwrap();
    assert_eq!(model.path(), IntentPath::Lexical);
    let err = model.attach_encoder(Some(encoder())).unwrap_err();
    assert!(err.to_string().contains("none (a lexical model)"), "{err}");
}
