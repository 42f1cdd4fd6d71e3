//! The copilot over the real binary: the assist panel of a conversation a
//! person owns, its refresh on each customer message (over HTTP and pushed
//! on the agent's socket), what the agent does with its suggestions, the
//! weekly copilot question, and the report figures they add up to.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A conversation about an order that an agent took over; returns it and
/// the agent's token.
async fn taken(client: &Client, server: &Server) -> (Conversation, String) {
    let agent = login_demo_agent(client, server).await;
    let conversation = start_conversation(client, server, json!({"name": "Dana Fielding"})).await;
    say(client, server, &conversation, "Where is my order #W2378156?").await;
    let (_, body) = say(client, server, &conversation, "This is ridiculous, get me a person").await;
    assert_eq!(body["stage"], "queued", "{body}");
    let assign = format!("/api/v1/conversations/{}/assign", conversation.id);
    let (status, body) = client.post(&server.url(&assign), Some(&agent), json!({})).await;
    assert_eq!(status, 200, "{body}");
    (conversation, agent)
}

async fn assist(client: &Client, server: &Server, id: &str, token: &str) -> Value {
    let (status, body) =
        client.get(&server.url(&format!("/api/v1/conversations/{id}/assist")), Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn decisions(client: &Client, server: &Server, id: &str, token: &str) -> Vec<Value> {
    let url = server.url(&format!("/api/v1/conversations/{id}/events"));
    let (_, body) = client.get(&url, Some(token)).await;
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["type"] == "decided" && e["action"].as_str().unwrap().starts_with("suggestion")
        })
        .cloned()
        .collect()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame, within a bounded wait.
async fn next_frame(socket: &mut Socket) -> Value {
    let frame = tokio::time::timeout(Duration::from_secs(20), socket.next()).await;
    match frame.expect("a frame in time").expect("the socket stays open").unwrap() {
        WsMessage::Text(text) => serde_json::from_str::<Value>(&text).unwrap(),
        other => panic!("unexpected frame {other:?}"),
    }
}

#[tokio::test]
async fn the_assist_panel_answers_agents_only_and_names_unknown_conversations() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let (conversation, agent) = taken(&client, &server).await;
    let url = server.url(&format!("/api/v1/conversations/{}/assist", conversation.id));

    let (as_customer, _) = client.get(&url, Some(&conversation.token)).await;
    let (anonymous, _) = client.get(&url, None).await;
    let unknown = server.url("/api/v1/conversations/01a2421e-0087-70cf-962c-d4cc946c4643/assist");
    let (missing, body) = client.get(&unknown, Some(&agent)).await;

    assert_eq!(as_customer, 403);
    assert_eq!(anonymous, 401);
    assert_eq!(missing, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    let dismiss = format!("{url}/first_reply:handoff:00000000/dismiss");
    let (status, _) = client.post(&dismiss, Some(&conversation.token), json!({})).await;
    assert_eq!(status, 403);
    let (status, body) =
        client.post(&format!("{url}/nonsense/dismiss"), Some(&agent), json!({})).await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn a_new_customer_message_refreshes_the_panel_and_pushes_it_to_the_owner() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let (conversation, agent) = taken(&client, &server).await;
    let before = assist(&client, &server, &conversation.id, &agent).await;
    assert_eq!(before["stage"], "human");
    assert_eq!(before["replies"][0]["kind"], "first_reply");
    let ids = |panel: &Value| -> Vec<String> {
        panel["empathy"].as_array().unwrap().iter().map(|s| s["id"].to_string()).collect()
    };
    assert!(ids(&before).iter().all(|id| !id.contains("repeated_contact")));

    let (mut socket, _) =
        tokio_tungstenite::connect_async(server.ws_url(&format!("token={agent}"))).await.unwrap();
    assert_eq!(next_frame(&mut socket).await["type"], "ready");
    say(&client, &server, &conversation, "This is the third time I'm asking about it").await;

    // Bounded: the message's own events come first, then the panel.
    let mut pushed = None;
    for _ in 0..20 {
        let frame = next_frame(&mut socket).await;
        if frame["type"] == "assist" {
            pushed = Some(frame);
            break;
        }
    }
    let pushed = pushed.expect("an assist frame after the customer message");
    let after = assist(&client, &server, &conversation.id, &agent).await;
    assert_eq!(pushed["conversation_id"], json!(conversation.id));
    assert_eq!(pushed["assist"]["last_seq"], after["last_seq"]);
    assert!(after["last_seq"].as_u64() > before["last_seq"].as_u64());
    assert!(ids(&after).iter().any(|id| id.contains("repeated_contact")), "{after}");
    let why = after["empathy"].as_array().unwrap().last().unwrap()["why"].clone();
    assert!(why.as_str().unwrap().contains("\"third time\""), "{why}");
}

#[tokio::test]
async fn used_edited_dismissed_and_rated_suggestions_are_recorded_and_reported() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let (conversation, agent) = taken(&client, &server).await;
    let id = conversation.id.clone();
    let panel = assist(&client, &server, &id, &agent).await;
    let first = panel["replies"][0].clone();
    assert_eq!(first["kind"], "first_reply");
    let empathy = panel["empathy"][0].clone();
    let messages = server.url(&format!("/api/v1/conversations/{id}/messages"));

    // As suggested, then edited.
    let text = first["text"].as_str().unwrap();
    let body = json!({"text": text, "suggestion_id": first["id"]});
    let (status, sent) = client.post(&messages, Some(&agent), body).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["message"]["text"], json!(text));
    let edited = json!({"text": format!("{text} One moment."), "suggestion_id": first["id"]});
    let (status, _) = client.post(&messages, Some(&agent), edited).await;
    assert_eq!(status, 201);

    // Dismissed, and rated.
    let base = server.url(&format!("/api/v1/conversations/{id}/assist"));
    let eid = empathy["id"].as_str().unwrap();
    let (status, body) =
        client.post(&format!("{base}/{eid}/dismiss"), Some(&agent), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recorded"], "suggestion_dismissed");
    let rating = format!("{base}/{}/rating", first["id"].as_str().unwrap());
    let (status, body) = client.post(&rating, Some(&agent), json!({"helpful": true})).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = client.post(&rating, Some(&agent), json!({"helpful": "yes"})).await;
    assert_eq!(status, 422);

    // A customer cannot claim a suggestion.
    let spoof = json!({"text": "hi", "suggestion_id": first["id"]});
    let (status, _) = client.post(&messages, Some(&conversation.token), spoof).await;
    assert_eq!(status, 422);

    let recorded: Vec<(String, String)> = decisions(&client, &server, &id, &agent)
        .await
        .iter()
        .map(|e| {
            (e["action"].as_str().unwrap().into(), e["detail"]["kind"].as_str().unwrap().into())
        })
        .collect();
    let pair = |a: &str, k: &str| (a.to_string(), k.to_string());
    assert_eq!(
        recorded,
        vec![
            pair("suggestion_used", "first_reply"),
            pair("suggestion_edited", "first_reply"),
            pair("suggestion_dismissed", "empathy"),
            pair("suggestion_rated", "first_reply"),
        ]
    );

    // The weekly question: once per agent and week.
    let pulse = server.url("/api/v1/agents/me/pulse");
    let (status, asked) = client.get(&pulse, Some(&agent)).await;
    assert_eq!(status, 200);
    assert_eq!(asked["answered"], false);
    assert_eq!(asked["question"], "Did the copilot save you time this week?");
    let (status, body) = client.post(&pulse, Some(&agent), json!({"score": 6})).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = client.post(&pulse, Some(&agent), json!({"score": 4})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["week"], asked["week"]);
    let (status, _) = client.post(&pulse, Some(&agent), json!({"score": 5})).await;
    assert_eq!(status, 409);
    let (_, answered) = client.get(&pulse, Some(&agent)).await;
    assert_eq!((answered["answered"].clone(), answered["score"].clone()), (json!(true), json!(4)));

    let (status, report) = client.get(&server.url("/api/v1/reports/summary"), Some(&agent)).await;
    assert_eq!(status, 200, "{report}");
    let replies = &report["suggestions"]["first_reply"];
    assert_eq!((replies["used"].clone(), replies["edited"].clone()), (json!(1), json!(1)));
    assert_eq!(report["suggestions"]["empathy"]["dismissed"], 1);
    assert_eq!(
        report["copilot"],
        json!({
            "helpful": 1,
            "not_helpful": 0,
            "helpful_rate": 1.0,
            "pulse_responses": 1,
            "pulse_average": 4.0,
        })
    );
}

#[tokio::test]
async fn the_packet_is_rebuilt_with_what_the_customer_adds_while_queued() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let agent = login_demo_agent(&client, &server).await;
    let conversation = start_conversation(&client, &server, json!({})).await;
    let (_, body) = say(&client, &server, &conversation, "Get me a person please").await;
    assert_eq!(body["stage"], "queued", "{body}");

    say(&client, &server, &conversation, "It's about order #W2378156, it never came").await;

    let url = server.url(&format!("/api/v1/conversations/{}", conversation.id));
    let (_, shown) = client.get(&url, Some(&agent)).await;
    let packet = &shown["handoff"];
    let entities: Vec<&str> = packet["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(entities, vec!["W2378156"]);
    assert_eq!(packet["sentiment"].as_array().unwrap().len(), 2);
    let log = server.url(&format!("/api/v1/conversations/{}/events", conversation.id));
    let (_, events) = client.get(&log, Some(&agent)).await;
    let prepared =
        events["events"].as_array().unwrap().iter().filter(|e| e["type"] == "handoff_prepared");
    assert_eq!(prepared.count(), 2);
}
