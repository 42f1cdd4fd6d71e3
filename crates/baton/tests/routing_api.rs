//! Routing over the real binary and the demo workspace's queues: taking
//! the next conversation, capacity, the queue listing, an agent's routing
//! profile set by a supervisor, and an auto queue assigning on escalation.

mod common;

use common::*;
use serde_json::{json, Value};

/// Add an agent with the CLI before the server starts; returns nothing, the
/// agent logs in with `password`.
fn add_agent(data: &std::path::Path, email: &str, name: &str, capacity: u32, skills: &str) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["agent", "add", "--email", email, "--name", name, "--password-env"])
        .args(["ROUTING_AGENT_PASSWORD", "--capacity", &capacity.to_string()])
        .args(["--skills", skills, "--data"])
        .arg(data)
        .env("ROUTING_AGENT_PASSWORD", "routing-password-1")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

async fn login(client: &Client, server: &Server, email: &str) -> (String, String) {
    let (status, body) = client
        .post(
            &server.url("/api/v1/auth/login"),
            None,
            json!({"email": email, "password": "routing-password-1"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (body["token"].as_str().unwrap().to_string(), body["agent"]["id"].as_str().unwrap().into())
}

async fn escalate(client: &Client, server: &Server, text: &str) -> Conversation {
    let conversation = start_conversation(client, server, json!({})).await;
    let (status, body) = say(client, server, &conversation, text).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["stage"], "queued", "{body}");
    conversation
}

fn queue_named<'a>(queues: &'a Value, name: &str) -> &'a Value {
    queues["queues"].as_array().unwrap().iter().find(|q| q["name"] == name).unwrap()
}

#[tokio::test]
async fn take_next_gives_the_most_urgent_conversation_and_refuses_a_full_agent_with_409() {
    let data = tempfile::tempdir().unwrap();
    add_agent(data.path(), "pat@example.com", "Pat Lindqvist", 1, "en");
    let server = Server::start(data.path());
    let client = Client::new();

    // A calm request first, then a furious one: both land in `general`.
    let calm = escalate(&client, &server, "I want to talk to a human").await;
    let angry = escalate(
        &client,
        &server,
        "This is ridiculous, I am furious and fed up! Let me talk to a human now!",
    )
    .await;
    let (pat, _) = login(&client, &server, "pat@example.com").await;

    let (status, queue) = client.get(&server.url("/api/v1/queue"), Some(&pat)).await;
    assert_eq!(status, 200, "{queue}");
    let entries = queue["conversations"].as_array().unwrap();
    let order: Vec<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(order, vec![angry.id.as_str(), calm.id.as_str()]);
    assert_eq!(entries[0]["queue"], "general");
    assert_eq!(entries[1]["position"], 2);
    assert_eq!(entries[0]["sla_breached"], false);
    assert!(entries[0]["sla_due_at"].is_string(), "{queue}");

    let (status, taken) =
        client.post(&server.url("/api/v1/queue/next"), Some(&pat), json!({})).await;
    assert_eq!(status, 200, "{taken}");
    assert_eq!(taken["id"], angry.id.as_str());
    assert_eq!(taken["stage"], "human");
    assert_eq!(taken["assigned_agent"]["name"], "Pat Lindqvist");

    // Her one seat is taken: the next take is refused, and says why.
    let (status, refused) =
        client.post(&server.url("/api/v1/queue/next"), Some(&pat), json!({})).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "conflict");
    assert_eq!(
        refused["error"]["message"],
        "Pat Lindqvist is at capacity (1 of 1 conversations); resolve or hand back one first"
    );

    let (status, queues) = client.get(&server.url("/api/v1/queues"), Some(&pat)).await;
    assert_eq!(status, 200, "{queues}");
    let general = queue_named(&queues, "general");
    assert_eq!(general["length"], 1);
    assert_eq!(general["assignment"], "pull");
    assert_eq!(general["sla_first_response_minutes"], 30);
    assert_eq!(queue_named(&queues, "billing")["assignment"], "auto");
}

#[tokio::test]
async fn a_supervisor_gives_an_agent_the_billing_skill_and_the_auto_queue_assigns_to_them() {
    let data = tempfile::tempdir().unwrap();
    add_agent(data.path(), "lou@example.com", "Lou Brandt", 2, "en");
    let server = Server::start(data.path());
    let client = Client::new();
    let supervisor = login_demo_agent(&client, &server).await;
    let (lou, lou_id) = login(&client, &server, "lou@example.com").await;
    let profile = server.url(&format!("/api/v1/agents/{lou_id}"));

    // Only a supervisor may change a profile, and bad hours name the problem.
    let (status, body) = client.http_put(&profile, &lou, json!({"capacity": 9})).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) =
        client.http_put(&profile, &supervisor, json!({"working_hours": "weekdays"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["message"],
        "`working_hours`: `weekdays` is not a period like \"mon-fri 09:00-17:00\"; \
         a time zone goes last"
    );

    let (status, body) = client
        .http_put(&profile, &supervisor, json!({"skills": ["en", "Billing"], "capacity": 4}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["skills"], json!(["en", "billing"]));
    assert_eq!(body["capacity"], 4);
    assert_eq!(body["working_hours"], Value::Null);

    // A charge dispute goes to `billing`, which assigns it to Lou at once.
    let conversation = escalate(&client, &server, "I was charged twice for my order").await;
    let path = format!("/api/v1/conversations/{}", conversation.id);
    let (_, view) = client.get(&server.url(&path), Some(&supervisor)).await;
    assert_eq!(view["queue"], "billing", "{view}");
    assert_eq!(view["stage"], "human", "{view}");
    assert_eq!(view["assigned_agent"]["name"], "Lou Brandt");

    // Lou puts it back in `general` with a note; the packet stays.
    let (status, moved) = client
        .post(
            &server.url(&format!("{path}/transfer")),
            Some(&lou),
            json!({"queue": "general", "note": "Not a billing matter after all"}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["stage"], "queued");
    assert_eq!(moved["queue"], "general");
    assert_eq!(moved["handoff"], view["handoff"]);
    let (_, log) = client.get(&server.url(&format!("{path}/events")), Some(&lou)).await;
    let notes: Vec<&Value> =
        log["events"].as_array().unwrap().iter().filter(|e| e["type"] == "note_added").collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["text"], "Not a billing matter after all");
}

#[tokio::test]
async fn a_conversation_waiting_in_an_auto_queue_goes_to_the_agent_who_logs_in() {
    let data = tempfile::tempdir().unwrap();
    add_agent(data.path(), "kim@example.com", "Kim Abara", 2, "en,billing");
    let server = Server::start(data.path());
    let client = Client::new();

    // Nobody with the billing skill is online: it waits.
    let conversation = escalate(&client, &server, "I was charged twice for my order").await;
    let (kim, _) = login(&client, &server, "kim@example.com").await;

    let path = format!("/api/v1/conversations/{}", conversation.id);
    let (_, view) = client.get(&server.url(&path), Some(&kim)).await;
    assert_eq!(view["queue"], "billing", "{view}");
    assert_eq!(view["stage"], "human", "{view}");
    assert_eq!(view["assigned_agent"]["name"], "Kim Abara");
    let (_, queue) = client.get(&server.url("/api/v1/queue"), Some(&kim)).await;
    assert_eq!(queue["conversations"], json!([]));
}

#[tokio::test]
async fn the_demo_agent_can_take_every_queue_of_the_demo() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let robin = login_demo_agent(&client, &server).await;

    let (status, queues) = client.get(&server.url("/api/v1/queues"), Some(&robin)).await;
    assert_eq!(status, 200, "{queues}");
    for name in ["general", "billing", "returns"] {
        assert_eq!(queue_named(&queues, name)["agents_available"], 1, "{name}: {queues}");
    }

    // A charge dispute lands in the auto queue `billing` and goes to Robin.
    let customer = json!({"name": "Dana Fielding", "email": "dana@example.com"});
    let conversation = start_conversation(&client, &server, customer).await;
    let (_, body) = say(&client, &server, &conversation, "I was charged twice for my order").await;
    assert_eq!(body["stage"], "queued", "{body}");
    let path = format!("/api/v1/conversations/{}", conversation.id);
    let (_, view) = client.get(&server.url(&path), Some(&robin)).await;
    assert_eq!(view["queue"], "billing", "{view}");
    assert_eq!(view["assigned_agent"]["name"], "Robin Ashdown", "{view}");

    // It never waited in the queue, so the console finds it among Robin's own.
    let (status, mine) =
        client.get(&server.url("/api/v1/agents/me/conversations"), Some(&robin)).await;
    assert_eq!(status, 200, "{mine}");
    let held = mine["conversations"].as_array().unwrap();
    assert_eq!(held.len(), 1, "{mine}");
    assert_eq!(held[0]["id"], conversation.id.as_str());
    assert_eq!(
        (held[0]["stage"].as_str(), held[0]["reason"].as_str()),
        (Some("human"), Some("human_only_intent"))
    );
    assert_eq!(held[0]["customer"], json!({"name": "Dana Fielding", "email": "dana@example.com"}));
    let (status, _) = client.get(&server.url("/api/v1/agents/me/conversations"), None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_agent_going_offline_puts_the_conversations_they_hold_back_in_the_queue() {
    let data = tempfile::tempdir().unwrap();
    add_agent(data.path(), "pat@example.com", "Pat Lindqvist", 3, "en");
    let server = Server::start(data.path());
    let client = Client::new();
    let first = escalate(&client, &server, "I want to talk to a human").await;
    let (pat, pat_id) = login(&client, &server, "pat@example.com").await;
    let next = server.url("/api/v1/queue/next");
    let (status, taken) = client.post(&next, Some(&pat), json!({})).await;
    assert_eq!((status, taken["id"].as_str()), (200, Some(first.id.as_str())), "{taken}");

    let status_url = server.url("/api/v1/agents/me/status");
    let (status, body) = client.http_put(&status_url, &pat, json!({"status": "offline"})).await;
    assert_eq!(status, 200, "{body}");

    let show = server.url(&format!("/api/v1/conversations/{}", first.id));
    let (_, shown) = client.get(&show, Some(&pat)).await;
    assert_eq!((&shown["stage"], &shown["assigned_agent"]), (&json!("queued"), &Value::Null));
    assert_eq!(shown["queue"], "general");
    let (_, queue) = client.get(&server.url("/api/v1/queue"), Some(&pat)).await;
    assert_eq!(queue["conversations"][0]["id"], first.id.as_str(), "{queue}");
    let (status, body) = say(&client, &server, &first, "Hello? Is anyone still there?").await;
    assert_eq!((status, &body["stage"]), (201, &json!("queued")), "{body}");
    let reply = client
        .post(
            &server.url(&format!("/api/v1/conversations/{}/messages", first.id)),
            Some(&pat),
            json!({"text": "Back now"}),
        )
        .await;
    assert_eq!(reply.0, 409, "{}", reply.1);

    // A supervisor setting an agent offline does the same.
    let (pat, _) = login(&client, &server, "pat@example.com").await;
    let (status, taken) = client.post(&next, Some(&pat), json!({})).await;
    assert_eq!((status, taken["id"].as_str()), (200, Some(first.id.as_str())), "{taken}");
    let supervisor = login_demo_agent(&client, &server).await;
    let agent_url = server.url(&format!("/api/v1/agents/{pat_id}"));
    let (status, body) =
        client.http_put(&agent_url, &supervisor, json!({"status": "offline"})).await;
    assert_eq!(status, 200, "{body}");
    let (_, shown) = client.get(&show, Some(&supervisor)).await;
    assert_eq!((&shown["stage"], &shown["assigned_agent"]), (&json!("queued"), &Value::Null));
}
