//! Sentence embeddings through the command line: `eval intents` and `serve`
//! with `--embedding-model`, a folder that is missing (the lexical model,
//! said once) and one that is broken (refused, naming the file). The model
//! folder comes from `BATON_TEST_EMBEDDING_MODEL` (scripts/test installs it).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::{json, Value};

fn model_dir() -> PathBuf {
    baton_nlu::embed::test_model_dir().unwrap_or_else(|e| panic!("{e}"))
}

/// A small labelled set of invented support messages, three intents.
fn write_data(dir: &Path) -> (PathBuf, PathBuf) {
    let train = [
        ("I want my money back", "refund"),
        ("please refund my order", "refund"),
        ("can I get a refund", "refund"),
        ("refund the charge on my card", "refund"),
        ("give me a refund for the shoes", "refund"),
        ("I need a refund now", "refund"),
        ("where is my parcel", "track"),
        ("track my order", "track"),
        ("when will my package arrive", "track"),
        ("has my order shipped yet", "track"),
        ("my delivery is late, where is it", "track"),
        ("tracking number for my order", "track"),
        ("I forgot my password", "password"),
        ("reset my password", "password"),
        ("I cannot log in", "password"),
        ("send me a password reset link", "password"),
        ("locked out of my account", "password"),
        ("change my login password", "password"),
    ];
    let test = [
        ("refund me please", "refund"),
        ("I would like my money back", "refund"),
        ("where is my package", "track"),
        ("track the parcel", "track"),
        ("forgot my password again", "password"),
        ("I can't log in to my account", "password"),
    ];
    let write = |name: &str, rows: &[(&str, &str)]| {
        let mut text = String::from("text,category\n");
        for (t, c) in rows {
            text.push_str(&format!("\"{t}\",{c}\n"));
        }
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    (write("train.csv", &train), write("test.csv", &test))
}

fn eval(dir: &Path, extra: &[&str]) -> Output {
    let (train, test) = write_data(dir);
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["eval", "intents", "--json", "--train"])
        .arg(train)
        .arg("--test")
        .arg(test)
        .args(extra)
        .env_remove("BATON_EMBEDDING_MODEL")
        .env("RUST_LOG", "info")
        .output()
        .unwrap()
}

fn report(output: &Output) -> Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn eval_with_an_embedding_model_reports_the_path_it_took() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_dir();
    let model = model.to_str().unwrap();

    let cascade = report(&eval(dir.path(), &["--embedding-model", model]));
    assert_eq!(cascade["path"], "cascade");
    assert_eq!(cascade["train_examples"], 18);
    assert_eq!(cascade["accuracy"], 1.0);
    assert!(cascade["embedding_seconds"].as_f64().unwrap() > 0.0, "{cascade}");

    let always = report(&eval(dir.path(), &["--embedding-model", model, "--embeddings", "always"]));
    assert_eq!(always["path"], "embeddings_always");
    assert_eq!(always["accuracy"], 1.0);
}

#[test]
fn a_missing_embedding_folder_keeps_the_lexical_model_and_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-model");
    let output = eval(dir.path(), &["--embedding-model", missing.to_str().unwrap()]);

    let result = report(&output);
    assert_eq!(result["path"], "lexical");
    assert_eq!(result["embedding_seconds"], Value::Null);
    let log = String::from_utf8_lossy(&output.stderr);
    let line = format!(
        "sentence embeddings off: {} (from --embedding-model) does not exist; \
         using the lexical intent model",
        missing.display()
    );
    assert_eq!(log.matches(&line).count(), 1, "{log}");
}

#[test]
fn a_broken_embedding_folder_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("model");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("config.json"), "{ not json").unwrap();

    let output = eval(dir.path(), &["--embedding-model", broken.to_str().unwrap()]);

    assert_eq!(output.status.code(), Some(1));
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains(&broken.join("config.json").display().to_string()), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test]
async fn serve_with_embeddings_answers_and_a_restart_without_them_still_does() {
    let data = tempfile::tempdir().unwrap();
    let model = model_dir();
    let client = Client::new();

    let server = Server::start_with(data.path(), &["--embedding-model", model.to_str().unwrap()]);
    let conversation = start_conversation(&client, &server, json!({})).await;
    let (status, body) = say(&client, &server, &conversation, "How long does shipping take?").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["replies"][0]["citations"][0]["article_id"], "shipping", "{body}");
    let (_, body) = say(&client, &server, &conversation, "I want to talk to a real person").await;
    assert_eq!(body["stage"], "queued", "{body}");
    server.kill();

    // The saved model was trained with the encoder; without it the server
    // trains a lexical one rather than refusing to start.
    let server = Server::start(data.path());
    let conversation = start_conversation(&client, &server, json!({})).await;
    let (status, body) = say(&client, &server, &conversation, "How long does shipping take?").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["replies"][0]["citations"][0]["article_id"], "shipping", "{body}");
}
