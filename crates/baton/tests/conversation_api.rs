//! The conversation loop over the real binary: the AI answers first,
//! escalates with a reason, an agent takes over, and nothing is lost.

mod common;

use common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

async fn events(client: &Client, server: &Server, id: &str, token: &str) -> Vec<Value> {
    let (status, body) =
        client.get(&server.url(&format!("/api/v1/conversations/{id}/events")), Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// Escalate a fresh conversation by asking for a person.
async fn escalated(client: &Client, server: &Server) -> Conversation {
    let conversation = start_conversation(client, server, json!({"name": "Dana Fielding"})).await;
    let (status, body) = say(client, server, &conversation, "Where is my order #W2378156?").await;
    assert_eq!(status, 201, "{body}");
    let (_, body) = say(client, server, &conversation, "I want to talk to a real person").await;
    assert_eq!(body["stage"], "queued", "{body}");
    conversation
}

#[tokio::test]
async fn a_routine_question_is_answered_by_the_ai_with_its_source() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;

    let (status, body) = say(&client, &server, &conversation, "How long does shipping take?").await;

    assert_eq!(status, 201, "{body}");
    assert_eq!(body["stage"], "bot");
    assert_eq!(body["message"]["author"], "customer");
    let replies = body["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 1, "{body}");
    assert_eq!(replies[0]["author"], "bot");
    assert_eq!(replies[0]["citations"][0]["article_id"], "shipping");
    assert!(replies[0]["text"].as_str().unwrap().contains("3 to 5 business days"), "{body}");
}

#[tokio::test]
async fn every_common_wording_of_asking_for_a_person_escalates_with_its_words() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let agent = login_demo_agent(&client, &server).await;

    let wordings = [
        "agent please",
        "I want to talk to a human",
        "can I speak to a real person",
        "representative",
        "let me talk to someone",
        "I need to speak to a manager",
    ];
    for text in wordings {
        let conversation = start_conversation(&client, &server, json!({})).await;
        let (_, body) = say(&client, &server, &conversation, text).await;
        assert_eq!(body["stage"], "queued", "`{text}` did not escalate: {body}");

        let log = events(&client, &server, &conversation.id, &agent).await;
        let escalations = of_type(&log, "escalated");
        assert_eq!(escalations.len(), 1, "{text}");
        assert_eq!(escalations[0]["reason"], "human_requested", "{text}");
        let words = escalations[0]["evidence"]["words"].as_array().unwrap();
        assert!(!words.is_empty(), "`{text}` escalated without naming its words");
        for word in words {
            let word = word.as_str().unwrap().to_lowercase();
            assert!(text.to_lowercase().contains(&word), "`{word}` is not in `{text}`");
        }
    }
}

#[tokio::test]
async fn the_agent_takes_over_with_the_handoff_packet_and_the_bot_stays_silent() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = escalated(&client, &server).await;
    let agent = login_demo_agent(&client, &server).await;

    // The queue shows it with its reason.
    let (status, queue) = client.get(&server.url("/api/v1/queue"), Some(&agent)).await;
    assert_eq!(status, 200);
    let entries = queue["conversations"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["id"], conversation.id.as_str());
    assert_eq!(entries[0]["reason"], "human_requested");
    assert_eq!(entries[0]["position"], 1);

    // The packet holds the order number from the first turn.
    let path = format!("/api/v1/conversations/{}", conversation.id);
    let (_, view) = client.get(&server.url(&path), Some(&agent)).await;
    let handoff = &view["handoff"];
    assert_eq!(handoff["reason"], "human_requested");
    let entities = handoff["entities"].as_array().unwrap();
    assert!(entities.iter().any(|e| e["kind"] == "order_number" && e["value"] == "W2378156"));
    assert!(handoff["summary"].as_str().unwrap().contains("Dana Fielding"));
    assert!(!handoff["suggested_reply"].as_str().unwrap().contains('?'));

    // Take it and reply.
    let (status, taken) =
        client.post(&server.url(&format!("{path}/assign")), Some(&agent), json!({})).await;
    assert_eq!(status, 200, "{taken}");
    assert_eq!(taken["stage"], "human");
    assert_eq!(taken["assigned_agent"]["name"], "Robin Ashdown");
    let (status, reply) = client
        .post(
            &server.url(&format!("{path}/messages")),
            Some(&agent),
            json!({"text": "Hi Dana, I'm looking at your order now."}),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["message"]["author"], "agent");
    assert_eq!(reply["message"]["agent_name"], "Robin Ashdown");

    // The customer writes again: no bot reply, now or in the log.
    let (_, body) = say(&client, &server, &conversation, "How long does shipping take?").await;
    assert_eq!(body["stage"], "human");
    assert_eq!(body["replies"], json!([]));
    let (_, view) = client.get(&server.url(&path), Some(&conversation.token)).await;
    let authors = authors(&view);
    let joined = authors.iter().position(|a| a == "system").unwrap();
    assert!(authors[joined..].iter().all(|a| a != "bot"), "{authors:?}");
    assert_eq!(authors.last().unwrap(), "customer");
    // The customer's own view holds no packet.
    assert_eq!(view["handoff"], Value::Null);
}

#[tokio::test]
async fn an_internal_note_never_reaches_the_customer() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = escalated(&client, &server).await;
    let agent = login_demo_agent(&client, &server).await;
    let path = format!("/api/v1/conversations/{}", conversation.id);

    let (status, _) = client
        .post(&server.url(&format!("{path}/notes")), Some(&agent), json!({"text": "VIP, be kind"}))
        .await;
    assert_eq!(status, 201);

    let customer_log = events(&client, &server, &conversation.id, &conversation.token).await;
    assert!(of_type(&customer_log, "note_added").is_empty());
    assert!(of_type(&customer_log, "message_analysed").is_empty());
    let agent_log = events(&client, &server, &conversation.id, &agent).await;
    assert_eq!(of_type(&agent_log, "note_added")[0]["text"], "VIP, be kind");
}

#[tokio::test]
async fn a_conversation_handed_back_is_answered_by_the_ai_again() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = escalated(&client, &server).await;
    let agent = login_demo_agent(&client, &server).await;
    let path = format!("/api/v1/conversations/{}", conversation.id);
    client.post(&server.url(&format!("{path}/assign")), Some(&agent), json!({})).await;

    let (status, back) =
        client.post(&server.url(&format!("{path}/handback")), Some(&agent), json!({})).await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["stage"], "bot");

    let (_, body) = say(&client, &server, &conversation, "How long does shipping take?").await;
    assert_eq!(body["stage"], "bot");
    assert_eq!(body["replies"][0]["citations"][0]["article_id"], "shipping");
}

#[tokio::test]
async fn resolution_asks_for_a_rating_once_and_stores_it() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = escalated(&client, &server).await;
    let agent = login_demo_agent(&client, &server).await;
    let path = format!("/api/v1/conversations/{}", conversation.id);
    client.post(&server.url(&format!("{path}/assign")), Some(&agent), json!({})).await;

    let (status, resolved) =
        client.post(&server.url(&format!("{path}/resolve")), Some(&agent), json!({})).await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["stage"], "resolved");
    assert_eq!(resolved["awaits_csat"], true);
    let question = resolved["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(question["quick_replies"], json!(["1", "2", "3", "4", "5"]));

    let csat = server.url(&format!("{path}/csat"));
    let (status, body) = client.post(&csat, Some(&conversation.token), json!({"score": 6})).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = client
        .post(&csat, Some(&conversation.token), json!({"score": 4, "comment": "quick, thanks"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = client.post(&csat, Some(&conversation.token), json!({"score": 1})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["message"], "this conversation has already been rated");

    let log = events(&client, &server, &conversation.id, &agent).await;
    let ratings = of_type(&log, "csat_received");
    assert_eq!(ratings.len(), 1);
    assert_eq!(ratings[0]["score"], 4);
    assert_eq!(ratings[0]["comment"], "quick, thanks");
}

#[tokio::test]
async fn a_typed_digit_after_the_rating_question_is_the_rating() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = escalated(&client, &server).await;
    let agent = login_demo_agent(&client, &server).await;
    let path = format!("/api/v1/conversations/{}", conversation.id);
    client.post(&server.url(&format!("{path}/assign")), Some(&agent), json!({})).await;
    client.post(&server.url(&format!("{path}/resolve")), Some(&agent), json!({})).await;

    let (_, body) = say(&client, &server, &conversation, "5").await;

    assert_eq!(body["stage"], "resolved", "{body}");
    let log = events(&client, &server, &conversation.id, &agent).await;
    assert_eq!(of_type(&log, "csat_received")[0]["score"], 5);
    assert!(of_type(&log, "reopened").is_empty());

    // A digit typed again is kept as a message; the first rating stands and
    // nothing is reopened.
    let (_, body) = say(&client, &server, &conversation, "4").await;
    assert_eq!(body["stage"], "resolved", "{body}");
    assert_eq!(body["replies"], json!([]));
    let log = events(&client, &server, &conversation.id, &agent).await;
    let ratings = of_type(&log, "csat_received");
    assert_eq!((ratings.len(), ratings[0]["score"].as_u64()), (1, Some(5)));
    assert!(of_type(&log, "reopened").is_empty());
    assert_eq!(of_type(&log, "decided").last().unwrap()["action"], "rating_repeated");
}

#[tokio::test]
async fn a_resolved_conversation_reopens_to_its_agent_while_online_and_to_the_queue_after() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = escalated(&client, &server).await;
    let agent = login_demo_agent(&client, &server).await;
    let path = format!("/api/v1/conversations/{}", conversation.id);
    client.post(&server.url(&format!("{path}/assign")), Some(&agent), json!({})).await;
    client.post(&server.url(&format!("{path}/resolve")), Some(&agent), json!({})).await;

    let (_, body) = say(&client, &server, &conversation, "Sorry, one more thing about it").await;
    assert_eq!(body["stage"], "human", "{body}");

    // Once the agent goes offline, a reopening within the window goes back
    // to the queue for another person, saying why.
    client.post(&server.url(&format!("{path}/resolve")), Some(&agent), json!({})).await;
    let (status, _) = client
        .http_put(&server.url("/api/v1/agents/me/status"), &agent, json!({"status": "offline"}))
        .await;
    assert_eq!(status, 200);
    let (_, body) = say(&client, &server, &conversation, "How long does shipping take?").await;
    assert_eq!(body["stage"], "queued", "{body}");
    let log = events(&client, &server, &conversation.id, &agent).await;
    let escalations = of_type(&log, "escalated");
    assert_eq!(escalations.last().unwrap()["reason"], "agent_unavailable");
    assert_eq!(escalations.last().unwrap()["evidence"]["status"], "offline");
}

#[tokio::test]
async fn a_retried_message_with_the_same_client_id_returns_the_first_result() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;
    let url = server.url(&format!("/api/v1/conversations/{}/messages", conversation.id));
    let body = json!({"text": "How long does shipping take?", "client_id": "m-1"});

    let (first_status, first) = client.post(&url, Some(&conversation.token), body.clone()).await;
    let (second_status, second) = client.post(&url, Some(&conversation.token), body).await;

    assert_eq!(first_status, 201);
    assert_eq!(second_status, 200);
    assert_eq!(first, second);
    let log = events(&client, &server, &conversation.id, &conversation.token).await;
    let customer_messages: Vec<_> =
        of_type(&log, "message_posted").into_iter().filter(|e| e["author"] == "customer").collect();
    assert_eq!(customer_messages.len(), 1);
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_conversation_loses_nothing() {
    let data = tempfile::tempdir().unwrap();
    let client = Client::new();
    let server = Server::start(data.path());
    let conversation = escalated(&client, &server).await;
    let path = format!("/api/v1/conversations/{}", conversation.id);
    let (_, before) = client.get(&server.url(&path), Some(&conversation.token)).await;

    server.kill();
    let server = Server::start(data.path());

    let (status, after) = client.get(&server.url(&path), Some(&conversation.token)).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["messages"], before["messages"]);
    assert_eq!(after["stage"], "queued");

    // The conversation carries on where it was.
    let agent = login_demo_agent(&client, &server).await;
    let (_, queue) = client.get(&server.url("/api/v1/queue"), Some(&agent)).await;
    assert_eq!(queue["conversations"][0]["id"], conversation.id.as_str());
    let (_, body) = say(&client, &server, &conversation, "Are you still there?").await;
    assert_eq!(body["stage"], "queued");
    assert_eq!(body["message"]["seq"], before["last_seq"].as_u64().unwrap() + 1);
}

#[tokio::test]
async fn tokens_are_checked_on_every_call() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let mine = start_conversation(&client, &server, json!({})).await;
    let theirs = start_conversation(&client, &server, json!({})).await;
    let their_path = format!("/api/v1/conversations/{}", theirs.id);

    let (status, body) = client.get(&server.url(&their_path), Some(&mine.token)).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, _) = say(
        &client,
        &server,
        &Conversation { id: theirs.id.clone(), token: mine.token.clone() },
        "hi",
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = client.get(&server.url(&their_path), None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, _) = client.get(&server.url(&their_path), Some("forged-token")).await;
    assert_eq!(status, 401);
    let (status, _) = client.get(&server.url("/api/v1/queue"), Some(&mine.token)).await;
    assert_eq!(status, 403);
    let (status, _) = client
        .post(&server.url(&format!("{their_path}/resolve")), Some(&theirs.token), json!({}))
        .await;
    assert_eq!(status, 403);
    let (status, body) = client
        .post(
            &server.url("/api/v1/auth/login"),
            None,
            json!({"email": "agent@example.com", "password": "wrong password"}),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["message"], "wrong e-mail or password");
}

#[tokio::test]
async fn bad_input_gets_an_error_that_names_the_problem() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;
    let url = server.url(&format!("/api/v1/conversations/{}/messages", conversation.id));
    let token = Some(conversation.token.as_str());

    let (status, body) =
        client.post_raw(&url, token, "application/json", b"{\"text\": ".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");

    let (status, body) = client.post(&url, token, json!({"txt": "hello"})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("txt"), "{body}");

    let (status, body) = client.post(&url, token, json!({"text": "   "})).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["message"], "`text` must not be empty");

    let huge = "a".repeat(300 * 1024);
    let (status, body) = client.post(&url, token, json!({"text": huge})).await;
    assert_eq!(status, 413, "{body}");

    let (status, body) = client.get(&server.url("/api/v1/conversations/not-an-id"), token).await;
    assert_eq!(status, 404, "{body}");

    let (status, body) = client
        .post(&server.url("/api/v1/conversations"), None, json!({"customer": {"email": "nope"}}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["message"], "`customer.email` is not an e-mail address: `nope`");

    // The conversation is unharmed by all of the above.
    let (status, _) = say(&client, &server, &conversation, "How long does shipping take?").await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_long_pasted_complaint_is_accepted_and_analysed_whole() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;
    let sentence = "The parcel arrived late and the box was crushed, which was disappointing. ";
    let complaint = sentence.repeat(6000 / sentence.len() + 1);
    assert!(complaint.len() > 6000);

    let (status, body) = say(&client, &server, &conversation, &complaint).await;

    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["text"], complaint.trim());
}

#[tokio::test]
async fn the_socket_streams_new_events_and_resumes_after_a_reconnect() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;

    let url = server.ws_url(&format!("token={}&after=0", conversation.token));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let backlog = read_until_ready(&mut socket).await;
    assert_eq!(backlog.iter().map(|e| e["seq"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2]);

    say(&client, &server, &conversation, "How long does shipping take?").await;
    let live = read_frames(&mut socket, 2).await;
    assert_eq!(live[0]["type"], "message_posted");
    assert_eq!(live[0]["author"], "customer");
    assert_eq!(live[1]["author"], "bot");
    let last_seen = live[1]["seq"].as_u64().unwrap();
    drop(socket);

    // While disconnected, the conversation moves on.
    say(&client, &server, &conversation, "agent please").await;

    let url = server.ws_url(&format!("token={}&after={last_seen}", conversation.token));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let missed = read_until_ready(&mut socket).await;
    let texts: Vec<&str> = missed
        .iter()
        .filter(|e| e["type"] == "message_posted")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts[0], "agent please");
    assert!(missed.iter().all(|e| e["seq"].as_u64().unwrap() > last_seen));
    assert!(missed.iter().all(|e| e["type"] != "message_analysed" && e["type"] != "escalated"));
}

#[tokio::test]
async fn a_socket_with_a_bad_token_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let err = tokio_tungstenite::connect_async(server.ws_url("token=nope")).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Event frames up to the `ready` marker.
async fn read_until_ready(socket: &mut Socket) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let frame = next_frame(socket).await;
        if frame["type"] == "ready" {
            return events;
        }
        events.push(frame["event"].clone());
    }
}

/// The next `n` event frames.
async fn read_frames(socket: &mut Socket, n: usize) -> Vec<Value> {
    let mut events = Vec::new();
    while events.len() < n {
        let frame = next_frame(socket).await;
        if frame["type"] == "event" {
            events.push(frame["event"].clone());
        }
    }
    events
}

async fn next_frame(socket: &mut Socket) -> Value {
    let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
        .await
        .expect("a frame within 10 s")
        .expect("the socket is open")
        .expect("a valid frame");
    match message {
        WsMessage::Text(text) => serde_json::from_str(&text).unwrap(),
        other => panic!("unexpected frame {other:?}"),
    }
}

/// The first escalation event of a conversation, read with an agent token.
async fn escalation_of(client: &Client, server: &Server, conversation: &Conversation) -> Value {
    let agent = login_demo_agent(client, server).await;
    let log = events(client, server, &conversation.id, &agent).await;
    let escalations = of_type(&log, "escalated");
    assert_eq!(escalations.len(), 1, "expected one escalation: {log:?}");
    escalations[0].clone()
}

#[tokio::test]
async fn an_angry_customer_is_escalated_with_the_words_and_score_that_showed_it() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;

    let text = "This is absolutely ridiculous. Worst service ever, I am furious!!!";
    let (_, body) = say(&client, &server, &conversation, text).await;

    assert_eq!(body["stage"], "queued", "{body}");
    let escalation = escalation_of(&client, &server, &conversation).await;
    let reason = escalation["reason"].as_str().unwrap();
    assert!(["negative_sentiment", "frustration"].contains(&reason), "{escalation}");
    let evidence = &escalation["evidence"];
    assert!(evidence["sentiment"].as_f64().unwrap() < 0.0, "{evidence}");
    assert!(!evidence["words"].as_array().unwrap().is_empty(), "{evidence}");
}

#[tokio::test]
async fn two_misunderstood_turns_in_a_row_are_escalated() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;

    let (_, first) = say(&client, &server, &conversation, "blorp fizzle wump quax").await;
    assert_eq!(first["stage"], "bot", "{first}");
    let (_, second) = say(&client, &server, &conversation, "zibber zabber flonk").await;

    assert_eq!(second["stage"], "queued", "{second}");
    let escalation = escalation_of(&client, &server, &conversation).await;
    assert_eq!(escalation["reason"], "repeated_misunderstanding");
    assert_eq!(escalation["evidence"]["misunderstood_in_a_row"], 2);
}

#[tokio::test]
async fn an_intent_the_workspace_keeps_for_people_is_escalated_at_once() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;

    let (_, body) =
        say(&client, &server, &conversation, "I was charged twice for the same order").await;

    assert_eq!(body["stage"], "queued", "{body}");
    let escalation = escalation_of(&client, &server, &conversation).await;
    assert_eq!(escalation["reason"], "human_only_intent");
    assert_eq!(escalation["evidence"]["intent"], "billing_dispute");
}

#[tokio::test]
async fn a_message_in_a_language_the_ai_cannot_read_is_told_so_and_escalated() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;

    let (_, body) = say(
        &client,
        &server,
        &conversation,
        "Hola, ¿dónde está mi pedido? Lo compré hace dos semanas y todavía no ha llegado.",
    )
    .await;

    assert_eq!(body["stage"], "queued", "{body}");
    let replies = body["replies"].as_array().unwrap();
    assert_eq!(
        replies[0]["text"],
        "Sorry, I can only help in English for now, so I'm passing you to a colleague.",
        "{body}"
    );
    let escalation = escalation_of(&client, &server, &conversation).await;
    assert_eq!(escalation["reason"], "unsupported_language");
    assert_eq!(escalation["evidence"]["language"], "es");
}

#[tokio::test]
async fn a_waiting_customer_is_told_their_place_and_the_wait_in_minutes() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    login_demo_agent(&client, &server).await;
    let first = start_conversation(&client, &server, json!({})).await;
    let second = start_conversation(&client, &server, json!({})).await;

    let (_, one) = say(&client, &server, &first, "I want to talk to a real person").await;
    let (_, two) = say(&client, &server, &second, "I want to talk to a real person").await;

    // The demo counts 4 minutes a conversation, with one agent online.
    let told = |body: &Value| body["replies"].as_array().unwrap().last().unwrap()["text"].clone();
    assert_eq!(
        told(&one),
        "You're number 1 in the queue. The expected wait is about 4 minutes. You can keep \
         writing here and a colleague will read it all."
    );
    assert_eq!(
        told(&two),
        "You're number 2 in the queue. The expected wait is about 8 minutes. You can keep \
         writing here and a colleague will read it all."
    );
}

#[tokio::test]
async fn the_packet_lists_the_customers_earlier_conversations() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let customer = json!({"name": "Dana Fielding", "email": "dana@example.com"});
    let first = start_conversation(&client, &server, customer.clone()).await;
    say(&client, &server, &first, "How long does shipping take?").await;

    let second = start_conversation(&client, &server, customer).await;
    say(&client, &server, &second, "agent please").await;

    let agent = login_demo_agent(&client, &server).await;
    let (_, view) = client
        .get(&server.url(&format!("/api/v1/conversations/{}", second.id)), Some(&agent))
        .await;
    let earlier = view["handoff"]["earlier_conversations"].as_array().unwrap();
    assert_eq!(earlier.len(), 1);
    assert_eq!(earlier[0]["id"], first.id.as_str());
    assert_eq!(view["handoff"]["customer"]["email"], "dana@example.com");
    assert_eq!(view["customer"]["name"], "Dana Fielding");
}

#[tokio::test]
async fn resolving_a_conversation_nobody_has_taken_is_a_conflict_that_says_why() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = escalated(&client, &server).await;
    let agent = login_demo_agent(&client, &server).await;
    let path = format!("/api/v1/conversations/{}/resolve", conversation.id);

    let (status, body) = client.post(&server.url(&path), Some(&agent), json!({})).await;

    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["message"], "a conversation in stage `queued` cannot be resolved");
}
