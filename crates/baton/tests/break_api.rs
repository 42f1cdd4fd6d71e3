//! Black-box regressions found by breaking the HTTP API from the outside.
//! Each test asserts the correct behaviour; the ones that fail today are
//! ignored with the bug they pin down.

mod common;

use common::*;
use serde_json::{json, Value};

/// A fresh conversation, escalated by asking for a person (stage `queued`).
async fn queued(client: &Client, server: &Server) -> Conversation {
    let conversation = start_conversation(client, server, json!({"name": "Dana Fielding"})).await;
    let (_, body) = say(client, server, &conversation, "I want to talk to a real person").await;
    assert_eq!(body["stage"], "queued", "{body}");
    conversation
}

fn conv_url(server: &Server, conversation: &Conversation, action: &str) -> String {
    server.url(&format!("/api/v1/conversations/{}/{action}", conversation.id))
}

/// Every error is a JSON body `{"error": {"code", "message"}}` with the code
/// that goes with its status, never a 500.
fn assert_error(status: u16, body: &Value, expected_status: u16, expected_code: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"]["code"], expected_code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

#[tokio::test]
async fn resolving_a_queued_conversation_is_a_conflict() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let agent = login_demo_agent(&client, &server).await;
    let conversation = queued(&client, &server).await;

    let (status, body) =
        client.post(&conv_url(&server, &conversation, "resolve"), Some(&agent), json!({})).await;

    assert_error(status, &body, 409, "conflict");
}

#[tokio::test]
async fn resolving_twice_is_a_conflict() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let agent = login_demo_agent(&client, &server).await;
    let conversation = queued(&client, &server).await;
    let (status, body) =
        client.post(&conv_url(&server, &conversation, "assign"), Some(&agent), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        client.post(&conv_url(&server, &conversation, "resolve"), Some(&agent), json!({})).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) =
        client.post(&conv_url(&server, &conversation, "resolve"), Some(&agent), json!({})).await;

    assert_error(status, &body, 409, "conflict");
}

#[tokio::test]
async fn handing_back_twice_is_a_conflict() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let agent = login_demo_agent(&client, &server).await;
    let conversation = queued(&client, &server).await;
    let (status, body) =
        client.post(&conv_url(&server, &conversation, "assign"), Some(&agent), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        client.post(&conv_url(&server, &conversation, "handback"), Some(&agent), json!({})).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) =
        client.post(&conv_url(&server, &conversation, "handback"), Some(&agent), json!({})).await;

    assert_error(status, &body, 409, "conflict");
}

#[tokio::test]
async fn an_out_of_range_after_is_a_client_error_not_a_500() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;

    let url = server.url(&format!(
        "/api/v1/conversations/{}/events?after=18446744073709551615",
        conversation.id
    ));
    let (status, body) = client.get(&url, Some(&conversation.token)).await;

    // Either "nothing after that" or "malformed query string"; never internal.
    if status == 200 {
        assert_eq!(body["events"], json!([]), "{body}");
    } else {
        assert_error(status, &body, 400, "bad_request");
    }
}

#[tokio::test]
async fn a_message_of_only_nul_characters_is_refused_as_empty() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;

    let (status, body) = say(&client, &server, &conversation, "\u{0}\u{0}").await;

    assert_error(status, &body, 422, "invalid");
}

#[tokio::test]
async fn a_json_array_does_not_start_a_conversation() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();

    let (status, body) = client.post(&server.url("/api/v1/conversations"), None, json!([])).await;

    assert_error(status, &body, 422, "invalid");
    assert_eq!(body["error"]["message"], "the JSON body must be an object (`{...}`), not an array");
}

#[tokio::test]
async fn a_plain_get_of_the_socket_is_told_to_upgrade_in_the_json_error_shape() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();

    let (status, body) = client.get(&server.url("/api/v1/ws?token=x"), None).await;

    assert_error(status, &body, 400, "bad_request");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("this is a WebSocket endpoint: open it with"), "{message}");
}

#[tokio::test]
async fn unknown_routes_answer_with_the_json_error_shape() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();

    let (status, body) = client.get(&server.url("/api/v1/no-such-route"), None).await;
    assert_error(status, &body, 404, "not_found");
}

#[tokio::test]
async fn an_order_question_with_its_number_gets_the_status_once_the_customer_is_verified() {
    // workspaces/demo/README.md: "where is my order #W7363125?"; the order
    // is Priya's and is pending.
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;

    let (status, body) = say(&client, &server, &conversation, "where is my order #W7363125?").await;
    assert_eq!(status, 201, "{body}");
    let reply = body["replies"][0]["text"].as_str().unwrap_or_default().to_lowercase();
    assert!(!reply.contains("order number"), "asked again for the number: {body}");
    assert!(reply.contains("e-mail"), "identity comes first: {body}");

    let (_, body) = say(&client, &server, &conversation, "priya.okonkwo15@example.com").await;
    let reply = body["replies"][0]["text"].as_str().unwrap_or_default().to_lowercase();
    assert!(reply.contains("pending"), "the reply does not give the order's status: {body}");
}

#[tokio::test]
async fn the_order_number_given_when_asked_is_understood() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;
    say(&client, &server, &conversation, "where is my order").await;
    say(&client, &server, &conversation, "priya.okonkwo15@example.com").await;

    let (status, body) = say(&client, &server, &conversation, "#W7363125").await;

    assert_eq!(status, 201, "{body}");
    let reply = body["replies"][0]["text"].as_str().unwrap_or_default();
    assert!(!reply.contains("outside what I can help with"), "{body}");
    assert!(reply.to_lowercase().contains("pending"), "{body}");
}

#[tokio::test]
async fn taking_a_conversation_another_agent_holds_is_a_conflict() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let robin = login_demo_agent(&client, &server).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["agent", "add", "--email", "sam@example.com", "--name", "Sam Okafor"])
        .args(["--password-env", "BREAK_SAM_PASSWORD", "--data"])
        .arg(data.path())
        .env("BREAK_SAM_PASSWORD", "sam-password-1")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (status, body) = client
        .post(
            &server.url("/api/v1/auth/login"),
            None,
            json!({"email": "sam@example.com", "password": "sam-password-1"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let sam = body["token"].as_str().unwrap().to_string();
    let conversation = queued(&client, &server).await;
    let (status, body) =
        client.post(&conv_url(&server, &conversation, "assign"), Some(&robin), json!({})).await;
    assert_eq!(status, 200, "{body}");

    // Sam did not ask for a transfer; he tried to take what he saw in the queue.
    let (status, body) =
        client.post(&conv_url(&server, &conversation, "assign"), Some(&sam), json!({})).await;

    assert_error(status, &body, 409, "conflict");
    let (_, conversation) = client
        .get(&server.url(&format!("/api/v1/conversations/{}", conversation.id)), Some(&robin))
        .await;
    assert_eq!(conversation["assigned_agent"]["name"], "Robin Ashdown", "{conversation}");
}

#[tokio::test]
async fn an_agent_reply_is_not_swallowed_by_a_customer_client_id() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let agent = login_demo_agent(&client, &server).await;
    let conversation = start_conversation(&client, &server, json!({})).await;
    let messages = conv_url(&server, &conversation, "messages");
    let (status, body) = client
        .post(
            &messages,
            Some(&conversation.token),
            json!({"text": "I want to talk to a real person", "client_id": "k1"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) =
        client.post(&conv_url(&server, &conversation, "assign"), Some(&agent), json!({})).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = client
        .post(&messages, Some(&agent), json!({"text": "Robin here, hello!", "client_id": "k1"}))
        .await;

    // Keys are the sender's own: a different author's key is not a retry.
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["author"], "agent", "{body}");
    assert_eq!(body["message"]["text"], "Robin here, hello!", "{body}");
}
