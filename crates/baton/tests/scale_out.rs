//! Two `baton serve` nodes on one PostgreSQL database with NATS between
//! them: a customer's socket on one node sees an agent's reply written on
//! the other.

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use sqlx::Connection;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use common::*;

const NATS: &str = "nats://127.0.0.1:4222";

fn admin_url() -> String {
    std::env::var("BATON_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn database_name() -> String {
    format!("baton_scale_{}", std::process::id())
}

/// A fresh database on the local PostgreSQL, or `None` when there is none.
async fn fresh_database() -> Option<String> {
    let admin = admin_url();
    let mut connection = sqlx::PgConnection::connect(&admin).await.ok()?;
    let name = database_name();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut connection).await.ok()?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut connection).await.ok()?;
    let base = admin.rsplit_once('/').map(|(base, _)| base.to_string())?;
    Some(format!("{base}/{name}"))
}

fn nats_is_up() -> bool {
    std::net::TcpStream::connect_timeout(&"127.0.0.1:4222".parse().unwrap(), Duration::from_secs(2))
        .is_ok()
}

#[tokio::test]
async fn an_agent_on_one_node_reaches_a_customer_on_another() {
    let Some(database) = fresh_database().await else {
        eprintln!("skipped: no PostgreSQL on 127.0.0.1:5432");
        return;
    };
    if !nats_is_up() {
        eprintln!("skipped: no NATS on 127.0.0.1:4222");
        return;
    }
    let subject = format!("baton.test.{}", std::process::id());
    let flags = ["--database-url", &database, "--nats-url", NATS, "--nats-subject", &subject];
    let (data_a, data_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let node_a = Server::start_with(data_a.path(), &flags);
    let node_b = Server::start_with(data_b.path(), &flags);
    let client = Client::new();

    // The customer talks to node A and listens on its socket.
    let conversation = start_conversation(&client, &node_a, json!({"name": "Dana Fielding"})).await;
    say(&client, &node_a, &conversation, "agent please").await;
    let url = node_a.ws_url(&format!("token={}&after=0", conversation.token));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();

    // The agent works on node B.
    let agent = login_demo_agent(&client, &node_b).await;
    let (_, queue) = client.get(&node_b.url("/api/v1/queue"), Some(&agent)).await;
    assert_eq!(queue["conversations"][0]["id"], conversation.id.as_str());
    let path = format!("/api/v1/conversations/{}", conversation.id);
    let (status, _) =
        client.post(&node_b.url(&format!("{path}/assign")), Some(&agent), json!({})).await;
    assert_eq!(status, 200);
    let text = "Hi Dana, Robin here from the team.";
    let (status, _) = client
        .post(&node_b.url(&format!("{path}/messages")), Some(&agent), json!({"text": text}))
        .await;
    assert_eq!(status, 201);

    // Node A's socket delivers it live.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("the agent's message reached node A's socket in time")
            .unwrap()
            .unwrap();
        let WsMessage::Text(frame) = frame else { continue };
        let frame: Value = serde_json::from_str(&frame).unwrap();
        if frame["type"] != "event" {
            continue;
        }
        let event = &frame["event"];
        seen.push(event["seq"].as_u64().unwrap());
        if event["type"] == "message_posted" && event["author"] == "agent" {
            assert_eq!(event["text"], text);
            break;
        }
    }
    // Each event arrived once, in order.
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(seen, sorted);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");

    // Stop the nodes, then remove the database they shared.
    drop(socket);
    drop(node_a);
    drop(node_b);
    let mut connection = sqlx::PgConnection::connect(&admin_url()).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", database_name()))
        .execute(&mut connection)
        .await
        .unwrap();
}
