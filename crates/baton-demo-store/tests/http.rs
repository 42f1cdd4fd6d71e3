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
async fn a_store_with_a_state_file_keeps_its_changes_across_a_restart() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo/store");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");

    // First run: a cancellation is saved as it is made.
    let data = StoreData::load_with_state(&demo, &file).unwrap();
    assert!(!file.exists());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let store = Arc::new(Mutex::new(data));
    let server = tokio::spawn(baton_demo_store::serve(listener, store, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let cancel = client
        .post(format!("{base}/orders/W7363125/cancel"))
        .json(&json!({"reason": "no longer needed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status().as_u16(), 200);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["orders"]["#W7363125"]["status"], "cancelled");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();

    // Second run on the same file: the order is still cancelled, and the
    // state shows it.
    let data = StoreData::load_with_state(&demo, &file).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let store = Arc::new(Mutex::new(data));
    tokio::spawn(baton_demo_store::serve(listener, store, std::future::pending()));
    let state: Value =
        client.get(format!("{base}/state")).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["orders"]["#W7363125"]["status"], "cancelled");
    assert_eq!(state["orders"]["#W7363125"]["cancel_reason"], "no longer needed");
}

#[tokio::test]
async fn a_refused_change_leaves_the_state_file_as_it_was() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo/store");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let store = Arc::new(Mutex::new(StoreData::load_with_state(&demo, &file).unwrap()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(baton_demo_store::serve(listener, store, std::future::pending()));
    let refused = reqwest::Client::new()
        .post(format!("{base}/orders/W7363125/cancel"))
        .json(&json!({"reason": "too expensive"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    assert!(!file.exists());
}

#[tokio::test]
async fn a_customers_orders_are_listed_whole_oldest_first() {
    let base = spawn_store().await;
    let user: Value = reqwest::get(format!("{base}/users/jonah_bellweather_8285"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Value = reqwest::get(format!("{base}/users/jonah_bellweather_8285/orders"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&Value> =
        listed["orders"].as_array().unwrap().iter().map(|o| &o["order_id"]).collect();
    let expected: Vec<&Value> = user["orders"].as_array().unwrap().iter().collect();
    assert_eq!(ids, expected);
    assert!(listed["orders"][0]["items"].is_array());
    let missing = reqwest::get(format!("{base}/users/nobody_1/orders")).await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn address_changes_and_password_resets_show_in_the_state_and_a_shipped_order_keeps_its_address(
) {
    let base = spawn_store().await;
    let client = reqwest::Client::new();
    let before: Value =
        client.get(format!("{base}/state")).send().await.unwrap().json().await.unwrap();
    let address = json!({
        "address1": "48 Tamarack Road", "address2": "", "city": "Bemidji",
        "state": "MN", "country": "USA", "zip": "56601"
    });

    // A pending order takes a new address; a processed one has shipped.
    let pending = client.post(format!("{base}/orders/W7363125/address")).json(&address).send();
    let (status, body) = status_and_body(pending.await.unwrap()).await;
    assert_eq!((status, &body["address"]), (200, &address));
    let shipped = client.post(format!("{base}/orders/W8930109/address")).json(&address).send();
    let (status, body) = status_and_body(shipped.await.unwrap()).await;
    assert_eq!(status, 409);
    assert_eq!(
        body["error"]["message"],
        "order #W8930109 is processed, so it cannot be given a new address"
    );

    // The customer's own address, and two reset e-mails.
    let user = format!("{base}/users/jonah_bellweather_8285");
    let moved = client.post(format!("{user}/address")).json(&address).send().await.unwrap();
    assert_eq!(moved.status().as_u16(), 200);
    for _ in 0..2 {
        let sent = client.post(format!("{user}/password-reset")).send().await.unwrap();
        assert_eq!(sent.status().as_u16(), 200);
    }

    let state: Value =
        client.get(format!("{base}/state")).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["orders"]["#W7363125"]["address"], address);
    assert_eq!(state["orders"]["#W8930109"], before["orders"]["#W8930109"]);
    let jonah = &state["users"]["jonah_bellweather_8285"];
    assert_eq!((&jonah["address"], &jonah["password_resets"]), (&address, &json!(2)));
}
