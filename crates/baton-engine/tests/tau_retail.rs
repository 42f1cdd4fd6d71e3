//! Scenarios on the tau-retail example workspace against the demo store
//! loaded with the shared tau-bench retail data, over HTTP on 127.0.0.1.
//! Each asserts the store's state afterwards.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use baton_core::{EventKind, ManualClock};
use baton_demo_store::StoreData;
use baton_engine::workspace::Workspace;
use baton_engine::{Engine, LocalBus};
use baton_store::{SqliteStore, Store};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tau_data() -> PathBuf {
    let dir = root().join("../shared/data/tau-bench-retail");
    assert!(dir.join("orders.json").exists(), "the tau-bench data is missing at {}", dir.display());
    dir
}

struct Tau {
    engine: Engine,
    store: Arc<Mutex<StoreData>>,
}

async fn tau() -> Tau {
    let workspace = Workspace::load(&root().join("examples/tau-retail")).unwrap();
    let data = StoreData::load(&tau_data()).unwrap();
    let store = Arc::new(Mutex::new(data));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(baton_demo_store::serve(listener, store.clone(), std::future::pending()));
    let (analyzer, _) = baton_engine::model::load_or_train(&workspace, None).unwrap();
    let db: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let clock = Arc::new(ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-01-06T15:00:00Z").unwrap().to_utc(),
    ));
    let engine =
        Engine::new(Arc::new(workspace), Arc::new(analyzer), db, clock, Arc::new(LocalBus::new()))
            .with_tool_base_url(url);
    Tau { engine, store }
}

impl Tau {
    /// The first user (by id) with a pending order, and that order.
    fn user_with_pending_order(&self, skip: usize) -> (String, String) {
        let data = self.store.lock().unwrap();
        data.users
            .values()
            .filter_map(|user| {
                let email = user["email"].as_str()?.to_string();
                let pending = user["orders"].as_array()?.iter().find_map(|o| {
                    let id = o.as_str()?;
                    (data.orders.get(id)?["status"] == "pending").then(|| id.to_string())
                })?;
                Some((email, pending))
            })
            .nth(skip)
            .expect("the tau data has users with pending orders")
    }

    fn order(&self, id: &str) -> Value {
        self.store.lock().unwrap().orders[id].clone()
    }

    async fn say(&self, id: baton_core::ConversationId, text: &str) -> String {
        let outcome = self.engine.customer_message(id, text, None).await.unwrap();
        outcome.replies.iter().map(|m| m.text.as_str()).collect::<Vec<_>>().join("\n")
    }

    async fn writes(&self, id: baton_core::ConversationId) -> usize {
        let events = self.engine.events(id, 0).await.unwrap();
        events
            .iter()
            .filter(|e| {
                matches!(&e.kind, EventKind::ToolCalled { outcome, .. }
                if outcome["kind"] == "write")
            })
            .count()
    }
}

#[tokio::test]
async fn the_right_order_is_cancelled_with_the_right_reason_and_only_after_a_yes() {
    let tau = tau().await;
    let (email, order) = tau.user_with_pending_order(0);
    let id = tau.engine.start_conversation("web", Default::default()).await.unwrap().id;

    tau.say(id, &format!("I'd like to cancel order {order}, I don't need it anymore")).await;
    let reply = tau.say(id, &email).await;
    assert!(reply.starts_with(&format!("To confirm: I'll cancel order {order}")), "{reply}");
    assert_eq!(tau.order(&order)["status"], "pending");

    let reply = tau.say(id, "yes, go ahead").await;
    assert!(reply.starts_with(&format!("Done: order {order} is cancelled")), "{reply}");
    let after = tau.order(&order);
    assert_eq!(after["status"], "cancelled");
    assert_eq!(after["cancel_reason"], "no longer needed");
    assert_eq!(tau.writes(id).await, 1);
}

#[tokio::test]
async fn a_no_to_the_summary_leaves_the_order_pending() {
    let tau = tau().await;
    let (email, order) = tau.user_with_pending_order(1);
    let id = tau.engine.start_conversation("web", Default::default()).await.unwrap().id;
    tau.say(id, &format!("please cancel {order}, I ordered it by mistake")).await;
    tau.say(id, &email).await;
    tau.say(id, "no").await;
    assert_eq!(tau.order(&order)["status"], "pending");
    assert_eq!(tau.writes(id).await, 0);
}

#[tokio::test]
async fn an_unauthenticated_customer_changes_nothing() {
    let tau = tau().await;
    let (_, order) = tau.user_with_pending_order(2);
    let id = tau.engine.start_conversation("web", Default::default()).await.unwrap().id;
    tau.say(id, &format!("cancel order {order}, ordered by mistake")).await;
    let reply = tau.say(id, "somebody.else@example.com").await;
    assert!(reply.starts_with("I couldn't find an account"), "{reply}");
    tau.say(id, "yes").await;
    assert_eq!(tau.order(&order)["status"], "pending");
    assert_eq!(tau.writes(id).await, 0);
}

#[tokio::test]
async fn another_customers_order_is_refused() {
    let tau = tau().await;
    let (email, _) = tau.user_with_pending_order(3);
    let (_, theirs) = tau.user_with_pending_order(4);
    let id = tau.engine.start_conversation("web", Default::default()).await.unwrap().id;
    tau.say(id, &format!("cancel order {theirs}, ordered by mistake")).await;
    let reply = tau.say(id, &email).await;
    assert_eq!(
        reply,
        format!("I can only help with orders on your own account, and {theirs} isn't one of them.")
    );
    assert_eq!(tau.order(&theirs)["status"], "pending");
}
