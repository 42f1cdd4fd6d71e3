//! Handing a conversation back to the AI over the real binary: who may,
//! when it is refused, and what the customer sees of the note.

mod common;

use common::*;
use serde_json::{json, Value};

/// Add a plain agent with the CLI before the server starts.
fn add_agent(data: &std::path::Path, email: &str, name: &str, skills: &str) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["agent", "add", "--email", email, "--name", name, "--password-env"])
        .args(["HANDBACK_AGENT_PASSWORD", "--capacity", "3", "--skills", skills, "--data"])
        .arg(data)
        .env("HANDBACK_AGENT_PASSWORD", "handback-password-1")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

fn url(server: &Server, conversation: &Conversation, action: &str) -> String {
    server.url(&format!("/api/v1/conversations/{}/{action}", conversation.id))
}

async fn escalated(client: &Client, server: &Server) -> Conversation {
    let conversation = start_conversation(client, server, json!({})).await;
    let (status, body) = say(client, server, &conversation, "I want to talk to a human").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["stage"], "queued", "{body}");
    conversation
}

#[tokio::test]
async fn a_plain_agent_cannot_hand_back_a_queued_conversation_but_a_supervisor_can() {
    let data = tempfile::tempdir().unwrap();
    add_agent(data.path(), "pat@example.com", "Pat Lindqvist", "fr");
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = escalated(&client, &server).await;
    let pat = login(&client, &server, "pat@example.com", "handback-password-1").await;

    let (status, body) =
        client.post(&url(&server, &conversation, "handback"), Some(&pat), json!({})).await;

    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(
        body["error"]["message"],
        "the conversation is `queued`: only the agent who holds it, or a supervisor, can hand \
         it back to the AI"
    );
    let shown_url = server.url(&format!("/api/v1/conversations/{}", conversation.id));
    let (_, shown) = client.get(&shown_url, Some(&pat)).await;
    assert_eq!(shown["stage"], "queued", "{shown}");

    // The demo agent is a supervisor.
    let supervisor = login_demo_agent(&client, &server).await;
    let (status, body) =
        client.post(&url(&server, &conversation, "handback"), Some(&supervisor), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stage"], "bot");
}

#[tokio::test]
async fn a_hand_back_while_an_approval_waits_is_refused_and_the_approval_stays() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let agent = login_demo_agent(&client, &server).await;
    let conversation = start_conversation(&client, &server, json!({})).await;
    say(&client, &server, &conversation, "refund my order #W0420662, the full $349.96 please")
        .await;
    say(&client, &server, &conversation, "ivo.pemberley90@example.com").await;
    let (_, body) = say(&client, &server, &conversation, "yes").await;
    assert_eq!(body["stage"], "queued", "{body}");
    let (_, approvals) = client.get(&url(&server, &conversation, "approvals"), Some(&agent)).await;
    let approval = approvals["approvals"][0]["id"].as_str().unwrap().to_string();
    // The refund waits in `billing`, an auto queue: the demo agent holds it now.
    let shown_url = server.url(&format!("/api/v1/conversations/{}", conversation.id));
    let (_, shown) = client.get(&shown_url, Some(&agent)).await;
    assert_eq!(shown["stage"], "human", "{shown}");

    let (status, body) =
        client.post(&url(&server, &conversation, "handback"), Some(&agent), json!({})).await;

    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(
        body["error"]["message"],
        format!(
            "the call to `refund_order` waits for approval (`{approval}`): approve or reject it \
             first, with POST /api/v1/conversations/{}/approvals/{approval}",
            conversation.id
        )
    );
    let (_, after) = client.get(&url(&server, &conversation, "approvals"), Some(&agent)).await;
    assert_eq!(after, approvals);
}

#[tokio::test]
async fn the_hand_back_note_is_kept_for_agents_and_never_shown_to_the_customer() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let agent = login_demo_agent(&client, &server).await;
    let conversation = escalated(&client, &server).await;
    client.post(&url(&server, &conversation, "assign"), Some(&agent), json!({})).await;
    let note = "Bored of waiting, check the refund twice";

    let (status, body) = client
        .post(&url(&server, &conversation, "handback"), Some(&agent), json!({"note": note}))
        .await;
    assert_eq!(status, 200, "{body}");

    let (_, customer) =
        client.get(&url(&server, &conversation, "events"), Some(&conversation.token)).await;
    assert!(!customer.to_string().contains(note), "{customer}");
    let handed: Vec<&Value> = customer["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "handed_back")
        .collect();
    assert_eq!(handed.len(), 1);
    assert_eq!(handed[0]["note"], Value::Null);

    let (_, log) = client.get(&url(&server, &conversation, "events"), Some(&agent)).await;
    let notes: Vec<&Value> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "note_added")
        .map(|e| &e["text"])
        .collect();
    assert_eq!(notes, vec![&json!(note)]);
}

#[tokio::test]
async fn an_approval_decided_while_queued_hands_back_without_showing_its_label() {
    // workspaces/demo/README.md: Ivo's delivered order #W0420662, $349.96,
    // above the $250 the AI may refund. Pat, without the billing skill,
    // decides while it waits, so it goes back to the AI with a label.
    let data = tempfile::tempdir().unwrap();
    add_agent(data.path(), "pat@example.com", "Pat Lindqvist", "en");
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;
    say(&client, &server, &conversation, "refund my order #W0420662, the full $349.96 please")
        .await;
    say(&client, &server, &conversation, "ivo.pemberley90@example.com").await;
    let (_, body) = say(&client, &server, &conversation, "yes").await;
    assert_eq!(body["stage"], "queued", "{body}");
    let pat = login(&client, &server, "pat@example.com", "handback-password-1").await;
    let (_, held) = client.get(&url(&server, &conversation, "approvals"), Some(&pat)).await;
    let approval = held["approvals"][0]["id"].as_str().unwrap().to_string();

    let (status, body) = client
        .post(
            &url(&server, &conversation, &format!("approvals/{approval}")),
            Some(&pat),
            json!({"decision": "reject"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let handed_back = |events: &Value| {
        events["events"].as_array().unwrap().iter().find(|e| e["type"] == "handed_back").cloned()
    };
    let (_, for_agent) = client.get(&url(&server, &conversation, "events"), Some(&pat)).await;
    assert_eq!(handed_back(&for_agent).unwrap()["note"], "approval_rejected");
    let customer = Some(conversation.token.as_str());
    let (_, for_customer) = client.get(&url(&server, &conversation, "events"), customer).await;
    let seen = handed_back(&for_customer).unwrap();
    assert!(seen.get("note").is_none_or(Value::is_null), "{seen}");
}
