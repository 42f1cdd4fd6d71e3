//! The demo store over a real socket on 127.0.0.1, loaded from the demo
//! workspace's own store files.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use baton_demo_store::StoreData;

/// Starts the store on a free loopback port and returns its base URL.
async fn spawn_store() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo/store");
    let data = StoreData::load(&dir).expect("the demo store loads");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let store = Arc::new(Mutex::new(data));
    tokio::spawn(baton_demo_store::serve(listener, store, std::future::pending()));
    format!("http://{addr}")
}

async fn status_and_body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_customer_is_found_by_email_and_by_name_and_zip() {
    let base = spawn_store().await;
    let client = reqwest::Client::new();
    let by_email = client
        .get(format!("{base}/users"))
        .query(&[("email", "jonah.bellweather66@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_and_body(by_email).await,
        (200, json!({"user_id": "jonah_bellweather_8285"}))
    );

    let by_name = client
        .get(format!("{base}/users"))
        .query(&[("first_name", "Jonah"), ("last_name", "Bellweather"), ("zip", "43215")])
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_body(by_name).await.1["user_id"], "jonah_bellweather_8285");
}

#[tokio::test]
async fn cancelling_a_pending_order_shows_in_its_state_and_a_second_cancel_conflicts() {
    let base = spawn_store().await;
    let client = reqwest::Client::new();
    let url = format!("{base}/orders/W7363125/cancel");
    let first = client.post(&url).json(&json!({"reason": "no longer needed"})).send().await;
    assert_eq!(first.unwrap().status().as_u16(), 200);

    let order: Value = client
        .get(format!("{base}/orders/%23W7363125"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["cancel_reason"], "no longer needed");

    let again = client.post(&url).json(&json!({"reason": "no longer needed"})).send().await;
    let (status, body) = status_and_body(again.unwrap()).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["message"], "order #W7363125 is cancelled, so it cannot be cancelled");
}

#[tokio::test]
async fn unknown_orders_are_404_and_bad_bodies_are_refused_with_a_message() {
    let base = spawn_store().await;
    let client = reqwest::Client::new();
    let missing = client.get(format!("{base}/orders/W0000000")).send().await.unwrap();
    let (status, body) = status_and_body(missing).await;
    assert_eq!((status, body["error"]["message"].as_str()), (404, Some("no order #W0000000")));

    let bad = client
        .post(format!("{base}/orders/W7363125/cancel"))
        .header("content-type", "application/json")
        .body("{\"why\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422);
    let order: Value =
        client.get(format!("{base}/orders/W7363125")).send().await.unwrap().json().await.unwrap();
    assert_eq!(order["status"], "pending");
}

#[tokio::test]
async fn a_delivered_item_is_returned_to_the_original_card() {
    let base = spawn_store().await;
    let client = reqwest::Client::new();
    let body = json!({"item_ids": ["8440408474"], "payment_method_id": "credit_card_9275233"});
    let returned = client.post(format!("{base}/orders/W0420662/return")).json(&body).send().await;
    let (status, order) = status_and_body(returned.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(order["status"], "return requested");
    assert_eq!(order["return_items"], json!(["8440408474"]));
}

#[tokio::test]
async fn a_saving_store_writes_each_accepted_change_so_a_restart_keeps_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo/store");
    let saved = tempfile::tempdir().unwrap();
    let store = Arc::new(Mutex::new(StoreData::load(&dir).unwrap()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let to = saved.path().to_path_buf();
    tokio::spawn(baton_demo_store::serve_saving(listener, store, to, std::future::pending()));
    let client = reqwest::Client::new();

    // A read and a refused write save nothing.
    let read = client.get(format!("{base}/orders/W7363125")).send().await.unwrap();
    assert_eq!(read.status().as_u16(), 200);
    let refused =
        client.post(format!("{base}/orders/W7363125/cancel")).json(&json!({"reason": "?"}));
    assert_eq!(refused.send().await.unwrap().status().as_u16(), 422);
    assert!(!saved.path().join("orders.json").exists());

    let url = format!("{base}/orders/W7363125/cancel");
    let cancel = client.post(&url).json(&json!({"reason": "ordered by mistake"})).send().await;
    assert_eq!(cancel.unwrap().status().as_u16(), 200);

    // What a restart would load: the cancellation, and the rest untouched.
    let reloaded = StoreData::load(saved.path()).unwrap();
    assert_eq!(reloaded.orders["#W7363125"]["status"], "cancelled");
    assert_eq!(reloaded.orders["#W7363125"]["cancel_reason"], "ordered by mistake");
    let original = StoreData::load(&dir).unwrap();
    assert_eq!(reloaded.users, original.users);
    assert_eq!(reloaded.products, original.products);
    assert_eq!(reloaded.orders.len(), original.orders.len());
}
