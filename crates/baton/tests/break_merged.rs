//! Black-box regressions found by breaking routing, the copilot and the
//! learning loop from the outside.

mod common;

use std::process::Command;

use common::*;
use serde_json::json;

/// A fresh conversation, escalated by asking for a person (stage `queued`).
async fn queued(client: &Client, server: &Server, name: &str) -> Conversation {
    let conversation = start_conversation(client, server, json!({"name": name})).await;
    let (_, body) = say(client, server, &conversation, "I want to talk to a real person").await;
    assert_eq!(body["stage"], "queued", "{body}");
    conversation
}

#[tokio::test]
async fn concurrent_queue_next_calls_past_capacity_say_409_not_that_nothing_waits() {
    let data = tempfile::tempdir().unwrap();
    let added = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["agent", "add", "--email", "bea@example.com", "--name", "Bea Marsh"])
        .args(["--password-env", "BEA_PASSWORD", "--capacity", "1", "--data"])
        .arg(data.path())
        .env("BEA_PASSWORD", "marsh-password")
        .output()
        .expect("the baton binary runs");
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let server = Server::start(data.path());
    let client = Client::new();
    let token = login(&client, &server, "bea@example.com", "marsh-password").await;
    for name in ["Ann Lee", "Cal Moss", "Dee Park"] {
        queued(&client, &server, name).await;
    }

    // Four calls at once with one seat: one takes a conversation, the
    // others are told the seat is full while two conversations still wait.
    let url = server.url("/api/v1/queue/next");
    let calls = (0..4).map(|_| client.post(&url, Some(&token), json!({})));
    let mut statuses: Vec<u16> =
        futures_util::future::join_all(calls).await.into_iter().map(|(s, _)| s).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 409, 409, 409]);
    let (_, queue) = client.get(&server.url("/api/v1/queue"), Some(&token)).await;
    assert_eq!(queue["conversations"].as_array().unwrap().len(), 2, "{queue}");
}

#[tokio::test]
async fn reloading_a_garbage_promoted_json_is_a_409_naming_the_file() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data.path(), &["--model-poll-seconds", "0"]);
    let client = Client::new();
    let supervisor = login_demo_agent(&client, &server).await;
    std::fs::create_dir_all(data.path().join("models")).unwrap();
    std::fs::write(data.path().join("models/promoted.json"), "garbage{").unwrap();

    let url = server.url("/api/v1/models/reload");
    let (status, body) = client.post(&url, Some(&supervisor), json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("promoted.json is not a model manifest"), "{message}");
    assert!(message.ends_with("; the model in service stays"), "{message}");

    // The server still answers customers with the model it had.
    let conversation = start_conversation(&client, &server, json!({})).await;
    let (status, _) = say(&client, &server, &conversation, "where is my order").await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn rating_the_same_suggestion_twice_counts_once_with_the_last_verdict() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let agent = login_demo_agent(&client, &server).await;
    let conversation = queued(&client, &server, "Ann Lee").await;
    let url = |path: &str| server.url(&format!("/api/v1/conversations/{}{path}", conversation.id));
    let (status, _) = client.post(&url("/assign"), Some(&agent), json!({})).await;
    assert_eq!(status, 200);
    let (_, assist) = client.get(&url("/assist"), Some(&agent)).await;
    let suggestion = assist["replies"][0]["id"].as_str().unwrap().to_string();

    // A double click on "helpful", then a change of mind.
    let rating = url(&format!("/assist/{suggestion}/rating"));
    for helpful in [true, true, false] {
        let (status, _) = client.post(&rating, Some(&agent), json!({"helpful": helpful})).await;
        assert_eq!(status, 200);
    }

    let (_, summary) = client.get(&server.url("/api/v1/reports/summary"), Some(&agent)).await;
    let copilot = &summary["copilot"];
    assert_eq!((&copilot["helpful"], &copilot["not_helpful"]), (&json!(0), &json!(1)), "{summary}");
    assert_eq!(copilot["helpful_rate"], 0.0);
}

#[tokio::test]
async fn listing_models_with_a_damaged_version_manifest_is_a_409_naming_the_file() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data.path(), &["--model-poll-seconds", "0"]);
    let client = Client::new();
    let supervisor = login_demo_agent(&client, &server).await;
    std::fs::create_dir_all(data.path().join("models/versions")).unwrap();
    std::fs::write(data.path().join("models/versions/v1.json"), "{").unwrap();

    let (status, body) = client.get(&server.url("/api/v1/models"), Some(&supervisor)).await;
    assert_eq!(status, 409, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("v1.json is not a model manifest"), "{message}");
}

#[tokio::test]
async fn an_agent_who_does_not_hold_the_conversation_cannot_rate_or_dismiss_its_suggestions() {
    let data = tempfile::tempdir().unwrap();
    let added = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["agent", "add", "--email", "bea@example.com", "--name", "Bea Marsh"])
        .args(["--password-env", "BEA_PASSWORD", "--data"])
        .arg(data.path())
        .env("BEA_PASSWORD", "marsh-password")
        .output()
        .expect("the baton binary runs");
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let server = Server::start(data.path());
    let client = Client::new();
    let holder = login_demo_agent(&client, &server).await;
    let other = login(&client, &server, "bea@example.com", "marsh-password").await;
    let conversation = queued(&client, &server, "Ann Lee").await;
    let url = |path: &str| server.url(&format!("/api/v1/conversations/{}{path}", conversation.id));
    let (status, _) = client.post(&url("/assign"), Some(&holder), json!({})).await;
    assert_eq!(status, 200);
    let (_, assist) = client.get(&url("/assist"), Some(&holder)).await;
    let suggestion = assist["replies"][0]["id"].as_str().unwrap().to_string();

    let rating = url(&format!("/assist/{suggestion}/rating"));
    let (status, body) = client.post(&rating, Some(&other), json!({"helpful": false})).await;
    assert_eq!(status, 403, "{body}");
    let dismiss = url(&format!("/assist/{suggestion}/dismiss"));
    let (status, _) = client.post(&dismiss, Some(&other), json!({})).await;
    assert_eq!(status, 403);
    let (status, _) = client.post(&rating, Some(&holder), json!({"helpful": true})).await;
    assert_eq!(status, 200);

    let (_, summary) = client.get(&server.url("/api/v1/reports/summary"), Some(&holder)).await;
    assert_eq!(
        (&summary["copilot"]["helpful"], &summary["copilot"]["not_helpful"]),
        (&json!(1), &json!(0))
    );
    assert_eq!(summary["suggestions_total"]["dismissed"], 0, "{summary}");
}

#[tokio::test]
async fn a_client_id_reused_for_another_text_is_a_409_and_the_first_message_stands() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = queued(&client, &server, "Ann Lee").await;
    let messages = server.url(&format!("/api/v1/conversations/{}/messages", conversation.id));
    let token = Some(conversation.token.as_str());

    let first = json!({"text": "My parcel is late", "client_id": "m-1"});
    let (status, _) = client.post(&messages, token, first.clone()).await;
    assert_eq!(status, 201);
    // The same text again is a retry and answers as before.
    let (status, _) = client.post(&messages, token, first).await;
    assert_eq!(status, 200);
    let other = json!({"text": "Also, change my address", "client_id": "m-1"});
    let (status, body) = client.post(&messages, token, other).await;
    assert_eq!(status, 409, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("client_id `m-1` was already used"), "{message}");

    let (_, shown) =
        client.get(&server.url(&format!("/api/v1/conversations/{}", conversation.id)), token).await;
    let texts: Vec<&str> = shown["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == "customer")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.iter().filter(|t| **t == "My parcel is late").count(), 1);
    assert!(!texts.contains(&"Also, change my address"));
}

#[tokio::test]
async fn a_channel_that_is_not_a_plain_name_is_refused_with_what_it_may_be() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let url = server.url("/api/v1/conversations");

    for channel in ["<img src=x>", "web chat", "", "x".repeat(33).as_str()] {
        let (status, body) = client.post(&url, None, json!({"channel": channel})).await;
        assert_eq!(status, 422, "{channel}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("`channel` must be 1 to 32 letters"), "{message}");
    }
    let (status, body) = client.post(&url, None, json!({"channel": "web-signed-in"})).await;
    assert_eq!(status, 201, "{body}");
}
