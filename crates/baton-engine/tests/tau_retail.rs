//! Scenarios on the tau-retail example workspace against the demo store
//! loaded with the shared tau-bench retail data, over HTTP on 127.0.0.1.
//! Each asserts the store's state afterwards.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use baton_core::{EventKind, ManualClock};
use baton_demo_store::StoreData;
use baton_engine::workspace::Workspace;
use baton_engine::{CustomerDetails, Engine, LocalBus};
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

    /// The first (email, order, user) in the data, by user id, for which
    /// `fits` holds of the user and one of their orders.
    fn find(&self, skip: usize, fits: impl Fn(&Value, &Value) -> bool) -> (String, String, Value) {
        let data = self.store.lock().unwrap();
        data.users
            .values()
            .filter_map(|user| {
                let email = user["email"].as_str()?.to_string();
                let order = user["orders"].as_array()?.iter().find_map(|o| {
                    let order = data.orders.get(o.as_str()?)?;
                    fits(user, order).then(|| order.clone())
                })?;
                let id = order["order_id"].as_str()?.to_string();
                Some((email, id, user.clone()))
            })
            .nth(skip)
            .expect("the tau data has such a user")
    }

    fn user_by_email(&self, email: &str) -> Value {
        let data = self.store.lock().unwrap();
        data.users.values().find(|u| u["email"] == email).unwrap().clone()
    }

    fn product(&self, id: &str) -> Value {
        self.store.lock().unwrap().products[id].clone()
    }

    fn pending_orders(&self, user: &Value) -> Vec<String> {
        let data = self.store.lock().unwrap();
        user["orders"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o.as_str())
            .filter(|o| data.orders[*o]["status"] == "pending")
            .map(str::to_string)
            .collect()
    }

    /// A conversation whose cancellation of a user's pending order waits
    /// for the customer's yes, and that order.
    async fn cancel_waiting_for_yes(&self, skip: usize) -> (baton_core::ConversationId, String) {
        let (email, order) = self.user_with_pending_order(skip);
        let id = self.start().await;
        self.say(id, &format!("I'd like to cancel order {order}, I don't need it anymore")).await;
        let reply = self.say(id, &email).await;
        assert!(reply.starts_with(&format!("To confirm: I'll cancel order {order}")), "{reply}");
        (id, order)
    }

    async fn start(&self) -> baton_core::ConversationId {
        self.engine.start_conversation("web", Default::default()).await.unwrap().id
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

/// The item of an order whose product has another available variant that
/// no other variant's options contain, with that variant: what a customer
/// can name without ambiguity.
fn swappable(tau: &Tau, order: &Value) -> Option<(Value, Value)> {
    swappables(tau, order).into_iter().next()
}

/// Every such item of an order, each with its variant, in the order's
/// order.
fn swappables(tau: &Tau, order: &Value) -> Vec<(Value, Value)> {
    let Some(items) = order["items"].as_array() else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| {
            let name = item["name"].as_str()?;
            // One item of its kind in the order, so that its name says which.
            let same_name = order["items"].as_array()?.iter().filter(|i| i["name"] == name).count();
            if same_name != 1 || name.contains(' ') {
                return None;
            }
            let product = tau.product(item["product_id"].as_str()?);
            let variants: Vec<Value> = product["variants"].as_object()?.values().cloned().collect();
            let words = |v: &Value| -> Vec<String> {
                v["options"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(_, o)| o.as_str())
                    .map(str::to_lowercase)
                    .collect()
            };
            variants.iter().find_map(|v| {
                let wanted = words(v);
                let unique = v["available"] == true
                    && v["item_id"] != item["item_id"]
                    && wanted.iter().all(|w| w.len() >= 3 && w.chars().all(char::is_alphabetic))
                    && !variants.iter().any(|o| {
                        o["item_id"] != v["item_id"] && wanted.iter().all(|w| words(o).contains(w))
                    });
                unique.then(|| (item.clone(), v.clone()))
            })
        })
        .collect()
}

fn options_text(variant: &Value) -> String {
    let options = variant["options"].as_object().unwrap();
    options.values().filter_map(|o| o.as_str()).collect::<Vec<_>>().join(", ")
}

#[tokio::test]
async fn the_other_of_two_pending_orders_is_cancelled_after_a_change_of_mind() {
    let tau = tau().await;
    let (email, first, second) = (0..400)
        .find_map(|skip| {
            let (email, _, user) = tau.find(skip, |_, _| true);
            match tau.pending_orders(&user).as_slice() {
                [a, b] => Some((email, a.clone(), b.clone())),
                _ => None,
            }
        })
        .expect("a user with exactly two pending orders");
    let id = tau.start().await;
    tau.say(id, &format!("please cancel order {first}, I ordered it by mistake")).await;
    let reply = tau.say(id, &email).await;
    assert!(reply.starts_with(&format!("To confirm: I'll cancel order {first}")), "{reply}");

    let reply = tau.say(id, "sorry, actually the other order").await;
    assert!(reply.starts_with(&format!("To confirm: I'll cancel order {second}")), "{reply}");
    let reply = tau.say(id, "yes").await;
    assert!(reply.starts_with(&format!("Done: order {second} is cancelled")), "{reply}");
    assert_eq!(tau.order(&second)["status"], "cancelled");
    assert_eq!(tau.order(&first)["status"], "pending");
    assert_eq!(tau.writes(id).await, 1);
}

#[tokio::test]
async fn my_most_recent_order_is_looked_up_without_asking_for_its_number() {
    let tau = tau().await;
    let (email, _, user) = tau.find(0, |user, order| {
        user["orders"].as_array().and_then(|o| o.last()) == Some(&order["order_id"])
            && order["status"] == "pending"
            && user["orders"].as_array().is_some_and(|o| o.len() >= 2)
    });
    let last = user["orders"].as_array().unwrap().last().unwrap().as_str().unwrap().to_string();
    let id = tau.start().await;
    tau.say(id, "what's the status of my most recent order?").await;
    let reply = tau.say(id, &email).await;
    assert!(reply.starts_with(&format!("Order {last} (")), "{reply}");
    assert!(reply.contains("is pending"), "{reply}");
}

#[tokio::test]
async fn a_delivered_item_is_returned_to_the_original_payment_method_after_a_yes() {
    let tau = tau().await;
    let (email, order_id, _) =
        tau.find(0, |_, order| order["status"] == "delivered" && swappable_name(order).is_some());
    let order = tau.order(&order_id);
    let item = swappable_name(&order).unwrap();
    let paid_with = order["payment_history"][0]["payment_method_id"].clone();
    let id = tau.start().await;

    tau.say(
        id,
        &format!("I want to return the {} from order {order_id}", item["name"].as_str().unwrap()),
    )
    .await;
    let reply = tau.say(id, &email).await;
    assert_eq!(reply, "Should the refund go to the original payment method, or to a gift card?");
    let reply = tau.say(id, "the original payment method please").await;
    assert!(reply.starts_with("To confirm: I'll start a return of"), "{reply}");
    assert_eq!(tau.order(&order_id)["status"], "delivered");

    let reply = tau.say(id, "yes").await;
    assert!(reply.starts_with("Done: the return of"), "{reply}");
    let after = tau.order(&order_id);
    assert_eq!(after["status"], "return requested");
    assert_eq!(after["return_items"], json!([item["item_id"]]));
    assert_eq!(after["return_payment_method_id"], paid_with);
}

/// An item whose name is one word and unique in its order.
fn swappable_name(order: &Value) -> Option<Value> {
    let items = order["items"].as_array()?;
    items
        .iter()
        .find(|i| {
            let name = i["name"].as_str().unwrap_or(" ");
            !name.contains(' ')
                && !name.contains('-')
                && items.iter().filter(|o| o["name"] == name).count() == 1
        })
        .cloned()
}

#[tokio::test]
async fn a_return_refunded_to_a_gift_card_uses_the_customers_gift_card() {
    let tau = tau().await;
    let (email, order_id, user) = tau.find(0, |user, order| {
        let cards = user["payment_methods"]
            .as_object()
            .map_or(0, |m| m.values().filter(|p| p["source"] == "gift_card").count());
        let paid_by_card = order["payment_history"][0]["payment_method_id"]
            .as_str()
            .is_some_and(|m| m.starts_with("gift_card"));
        cards == 1
            && !paid_by_card
            && order["status"] == "delivered"
            && swappable_name(order).is_some()
    });
    let card = user["payment_methods"]
        .as_object()
        .unwrap()
        .values()
        .find(|p| p["source"] == "gift_card")
        .unwrap()["id"]
        .clone();
    let item = swappable_name(&tau.order(&order_id)).unwrap();
    let id = tau.start().await;
    let name = item["name"].as_str().unwrap();
    tau.say(id, &format!("return the {name} of order {order_id}, refund to my gift card")).await;
    let reply = tau.say(id, &email).await;
    assert!(
        reply.contains(&format!("refunded to gift_card ({})", card.as_str().unwrap())),
        "{reply}"
    );
    tau.say(id, "yes").await;
    let after = tau.order(&order_id);
    assert_eq!(after["status"], "return requested");
    assert_eq!(after["return_payment_method_id"], card);
}

#[tokio::test]
async fn a_delivered_item_is_exchanged_for_the_variant_named_and_nothing_before_a_yes() {
    let tau = tau().await;
    let mut found = None;
    for skip in 0..200 {
        let (email, order_id, _) = tau.find(skip, |_, order| order["status"] == "delivered");
        if let Some((item, variant)) = swappable(&tau, &tau.order(&order_id)) {
            found = Some((email, order_id, item, variant));
            break;
        }
    }
    let (email, order_id, item, variant) = found.expect("an exchangeable item");
    let name = item["name"].as_str().unwrap();
    let id = tau.start().await;
    tau.say(id, &format!("I'd like to exchange the {name} from order {order_id}")).await;
    let reply = tau.say(id, &email).await;
    assert!(reply.starts_with(&format!("Which {name} would you like instead?")), "{reply}");
    let reply = tau.say(id, &format!("the one with {}", options_text(&variant))).await;
    assert!(reply.starts_with("Which payment method"), "{reply}");
    let reply = tau.say(id, "the original one").await;
    assert!(
        reply.starts_with(&format!("To confirm: in order {order_id} I'll exchange")),
        "{reply}"
    );

    // A question instead of a yes changes nothing; the summary stands.
    assert_eq!(tau.order(&order_id)["status"], "delivered");
    assert_eq!(tau.writes(id).await, 0);

    let reply = tau.say(id, "yes").await;
    assert!(reply.starts_with(&format!("Done: the exchange in order {order_id}")), "{reply}");
    let after = tau.order(&order_id);
    assert_eq!(after["status"], "exchange requested");
    assert_eq!(after["exchange_items"], json!([item["item_id"]]));
    assert_eq!(after["exchange_new_items"], json!([variant["item_id"]]));
}

#[tokio::test]
async fn a_pending_orders_item_is_changed_and_a_no_changes_nothing() {
    let tau = tau().await;
    let mut found = Vec::new();
    for skip in 0..300 {
        let (email, order_id, _) = tau.find(skip, |_, order| order["status"] == "pending");
        if let Some((item, variant)) = swappable(&tau, &tau.order(&order_id)) {
            found.push((email, order_id, item, variant));
            if found.len() == 2 {
                break;
            }
        }
    }
    for (n, (email, order_id, item, variant)) in found.into_iter().enumerate() {
        let name = item["name"].as_str().unwrap();
        let id = tau.start().await;
        tau.say(id, &format!("I want to change the {name} in my order {order_id} before it ships"))
            .await;
        tau.say(id, &email).await;
        tau.say(id, &format!("make it the {}", options_text(&variant))).await;
        let reply = tau.say(id, "use the same payment method").await;
        assert!(
            reply.starts_with(&format!("To confirm: in order {order_id} I'll change")),
            "{reply}"
        );
        if n == 0 {
            tau.say(id, "no").await;
            assert_eq!(tau.order(&order_id)["status"], "pending");
            assert_eq!(tau.writes(id).await, 0);
        } else {
            tau.say(id, "yes").await;
            let after = tau.order(&order_id);
            assert_eq!(after["status"], "pending (item modified)");
            let ids: Vec<&Value> =
                after["items"].as_array().unwrap().iter().map(|i| &i["item_id"]).collect();
            assert!(ids.contains(&&variant["item_id"]), "{ids:?}");
            assert!(!ids.contains(&&item["item_id"]), "{ids:?}");
        }
    }
}

#[tokio::test]
async fn a_pending_order_is_paid_with_the_method_named() {
    let tau = tau().await;
    let (email, order_id, user) = tau.find(0, |user, order| {
        let methods = user["payment_methods"].as_object();
        let paypal = methods.map_or(0, |m| m.values().filter(|p| p["source"] == "paypal").count());
        let paid = order["payment_history"].as_array().map_or(0, |h| h.len());
        let by_paypal = order["payment_history"][0]["payment_method_id"]
            .as_str()
            .is_some_and(|m| m.starts_with("paypal"));
        order["status"] == "pending" && paypal == 1 && paid == 1 && !by_paypal
    });
    let paypal = user["payment_methods"]
        .as_object()
        .unwrap()
        .values()
        .find(|p| p["source"] == "paypal")
        .unwrap()["id"]
        .clone();
    let id = tau.start().await;
    tau.say(id, &format!("can I change the payment method of order {order_id} to my paypal?"))
        .await;
    let reply = tau.say(id, &email).await;
    assert!(reply.starts_with(&format!("To confirm: order {order_id}")), "{reply}");
    tau.say(id, "yes please").await;
    let history = tau.order(&order_id)["payment_history"].clone();
    assert_eq!(history[1]["payment_method_id"], paypal);
    assert_eq!(history[2]["transaction_type"], "refund");
}

#[tokio::test]
async fn a_product_question_is_answered_from_the_product_record() {
    let tau = tau().await;
    let (email, order_id, _) = tau.find(0, |_, order| swappable_name(order).is_some());
    let item = swappable_name(&tau.order(&order_id)).unwrap();
    let name = item["name"].as_str().unwrap();
    let id = tau.start().await;
    tau.say(id, &format!("what options does the {name} I bought in order {order_id} come in?"))
        .await;
    let reply = tau.say(id, &email).await;
    assert!(reply.starts_with(&format!("The {name} in order {order_id} has")), "{reply}");
    assert!(reply.contains("Available now:"), "{reply}");
    assert_eq!(tau.writes(id).await, 0);
}

#[tokio::test]
async fn an_unverified_customer_returns_nothing_and_anothers_order_is_refused() {
    let tau = tau().await;
    let (_, order_id, _) =
        tau.find(0, |_, o| o["status"] == "delivered" && swappable_name(o).is_some());
    let (email, _, _) = tau.find(5, |_, o| o["status"] == "delivered");
    let name = swappable_name(&tau.order(&order_id)).unwrap()["name"].as_str().unwrap().to_string();

    let id = tau.start().await;
    tau.say(id, &format!("return the {name} from order {order_id} to the original card")).await;
    let reply = tau.say(id, "nobody.here@example.com").await;
    assert!(reply.starts_with("I couldn't find an account"), "{reply}");
    tau.say(id, "yes").await;

    let id2 = tau.start().await;
    tau.say(id2, &format!("return the {name} from order {order_id} to the original card")).await;
    let reply = tau.say(id2, &email).await;
    assert_eq!(
        reply,
        format!(
            "I can only help with orders on your own account, and {order_id} isn't one of them."
        )
    );
    assert_eq!(tau.order(&order_id)["status"], "delivered");
    assert_eq!(tau.writes(id).await + tau.writes(id2).await, 0);
}

#[tokio::test]
async fn an_email_from_a_signed_in_channel_is_not_asked_for_again() {
    let tau = tau().await;
    let (email, order_id) = tau.user_with_pending_order(6);
    let details = CustomerDetails { email: Some(email), ..Default::default() };
    let id = tau.engine.start_conversation("web-signed-in", details).await.unwrap().id;
    let reply = tau.say(id, &format!("what's the status of order {order_id}?")).await;
    assert!(reply.starts_with(&format!("Order {order_id} (")), "{reply}");
}

#[tokio::test]
async fn an_email_from_another_channel_is_confirmed_before_it_is_used() {
    let tau = tau().await;
    let (email, order_id) = tau.user_with_pending_order(7);
    let details = CustomerDetails { email: Some(email.clone()), ..Default::default() };
    let id = tau.engine.start_conversation("web", details).await.unwrap().id;
    let reply = tau.say(id, &format!("what's the status of order {order_id}?")).await;
    assert_eq!(
        reply,
        format!("Before I look at your account: is {email} the e-mail address on it?")
    );
    let calls = tau.engine.events(id, 0).await.unwrap();
    assert!(!calls.iter().any(|e| matches!(e.kind, EventKind::ToolCalled { .. })));
    let reply = tau.say(id, "yes").await;
    assert!(reply.starts_with(&format!("Order {order_id} (")), "{reply}");

    // A "no" asks the usual question and does not offer the e-mail again.
    let id = tau
        .engine
        .start_conversation("web", CustomerDetails { email: Some(email), ..Default::default() })
        .await
        .unwrap()
        .id;
    tau.say(id, &format!("what's the status of order {order_id}?")).await;
    let reply = tau.say(id, "no").await;
    assert!(reply.starts_with("Before I look at your account, I need to confirm"), "{reply}");
}

#[tokio::test]
async fn a_mistyped_email_with_a_name_and_zip_still_finds_the_customer() {
    let tau = tau().await;
    let (email, order_id) = tau.user_with_pending_order(8);
    let user = tau.user_by_email(&email);
    let (first, last) = (&user["name"]["first_name"], &user["name"]["last_name"]);
    let zip = &user["address"]["zip"];
    let id = tau.start().await;
    tau.say(id, &format!("what's the status of order {order_id}?")).await;
    let text = format!(
        "Sure! My name is {} {}, zip {}, e-mail nobody.here@example.com",
        first.as_str().unwrap(),
        last.as_str().unwrap(),
        zip.as_str().unwrap()
    );
    let reply = tau.say(id, &text).await;
    assert!(reply.starts_with(&format!("Order {order_id} (")), "{reply}");
}

#[tokio::test]
async fn the_items_of_another_customers_order_are_never_listed() {
    let tau = tau().await;
    let (_, theirs, _) = tau.find(0, |_, o| o["status"] == "delivered");
    let (email, _, _) = tau.find(9, |_, o| o["status"] == "delivered");
    let id = tau.start().await;
    tau.say(id, &format!("I'd like to return something from order {theirs}")).await;
    let reply = tau.say(id, &email).await;
    assert_eq!(
        reply,
        format!("I can only help with orders on your own account, and {theirs} isn't one of them.")
    );
    assert_eq!(tau.order(&theirs)["status"], "delivered");
}

#[tokio::test]
async fn a_side_question_before_the_yes_keeps_the_change_waiting_for_it() {
    let tau = tau().await;
    let (id, order) = tau.cancel_waiting_for_yes(0).await;

    // A question about where a parcel is, which has a flow of its own, does not
    // start that flow: nothing is written and the cancellation still waits.
    let side = tau.say(id, "Where is my package right now?").await;
    assert!(!side.is_empty());
    assert_eq!(tau.order(&order)["status"], "pending");
    assert_eq!(tau.writes(id).await, 0);

    let reply = tau.say(id, "yes").await;
    assert!(reply.starts_with(&format!("Done: order {order} is cancelled")), "{reply}");
    assert_eq!(tau.order(&order)["status"], "cancelled");
    assert_eq!(tau.writes(id).await, 1);
}

/// The first (email, order) whose order is pending and has two items of
/// different one-word names or more, so that the item is asked for.
fn pending_order_with_items(tau: &Tau, skip: usize) -> (String, String) {
    let (email, order, _) = tau.find(skip, |_, order| {
        let names: Vec<&str> = order["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["name"].as_str())
            .collect();
        order["status"] == "pending"
            && names.len() >= 2
            && names.iter().all(|n| names.iter().filter(|o| *o == n).count() == 1)
    });
    (email, order)
}

#[tokio::test]
async fn a_bare_answer_read_as_another_request_keeps_the_flow_that_asked() {
    let tau = tau().await;
    let (email, order) = pending_order_with_items(&tau, 0);
    let id = tau.start().await;
    tau.say(id, &format!("I'd like to change an item in my order {order}")).await;
    let reply = tau.say(id, &email).await;
    let question = format!("Which item of order {order} would you like to change?");
    assert!(reply.starts_with(&question), "{reply}");

    // An order number without its letter names no other request: the flow
    // that asked goes on, and no other flow's summary is offered.
    let reply = tau.say(id, "Of course! The order ID is 9502127.").await;
    assert!(reply.starts_with(&question), "{reply}");
    let events = tau.engine.events(id, 0).await.unwrap();
    // The model reads it as another request that has a flow of its own.
    let read_as = events.iter().rev().find_map(|e| match &e.kind {
        EventKind::Decided { action, detail, .. } if action == "answer" => {
            detail["intent"].as_str().map(str::to_string)
        }
        _ => None,
    });
    assert_eq!(read_as.as_deref(), Some("change_payment"));
    let state = baton_engine::latest_state(&events);
    assert_eq!(state.flow.as_deref(), Some("change_items"));
    assert_eq!(state.slots.get("order_id"), Some(&json!(order.trim_start_matches('#'))));
    assert_eq!(state.pending, None);
    assert_eq!(tau.writes(id).await, 0);
}

#[tokio::test]
async fn a_new_request_during_a_summary_drops_it_says_so_and_is_done_instead() {
    let tau = tau().await;
    let (id, order) = tau.cancel_waiting_for_yes(0).await;

    let reply = tau.say(id, "Actually, I want to change the shipping address of that order").await;
    let mut lines = reply.lines();
    assert_eq!(
        lines.next(),
        Some("Okay, I won't go ahead with cancelling an order: nothing was changed there.")
    );
    assert_eq!(lines.next(), Some("What's the new address? Please write it as: street, city, state zip (for example 12 Fern Lane, Duluth, MN 55805)."));
    let reply = tau.say(id, "12 Fern Lane, Duluth, MN 55805").await;
    assert!(
        reply.starts_with(&format!("To confirm: order {order} will ship to 12 Fern Lane")),
        "{reply}"
    );
    tau.say(id, "yes").await;

    let after = tau.order(&order);
    assert_eq!(after["status"], "pending");
    assert_eq!(after["address"]["address1"], "12 Fern Lane");
    assert_eq!(after["address"]["city"], "Duluth");
    assert_eq!(after["address"]["zip"], "55805");
    assert_eq!(tau.writes(id).await, 1);
}

#[tokio::test]
async fn no_order_number_at_hand_lists_the_orders_that_fit_instead_of_escalating() {
    let tau = tau().await;
    let (email, orders) = (0..400)
        .find_map(|skip| {
            let (email, _, user) = tau.find(skip, |_, _| true);
            let pending = tau.pending_orders(&user);
            (pending.len() >= 2).then_some((email, pending))
        })
        .expect("a user with two pending orders or more");
    let id = tau.start().await;
    tau.say(id, "I'd like to cancel an order").await;
    let reply = tau.say(id, &email).await;
    assert!(reply.starts_with("Which order would you like to cancel?"), "{reply}");

    let reply = tau.say(id, "Oh, I actually don't have the order ID with me right now.").await;
    assert!(reply.starts_with("No problem, I've looked them up: #W"), "{reply}");
    for order in &orders {
        assert!(reply.contains(order.as_str()), "{order} in {reply}");
    }
    let state = tau.engine.conversation(id).await.unwrap();
    assert_eq!(state.stage, baton_core::Stage::Bot);
    assert_eq!(tau.writes(id).await, 0);
}

#[tokio::test]
async fn a_yes_said_at_length_runs_the_change_and_a_yes_to_another_request_does_not() {
    let tau = tau().await;
    let (id, order) = tau.cancel_waiting_for_yes(0).await;
    let reply = tau.say(id, "Yes, that's correct. Please go ahead with the cancellation.").await;
    assert!(reply.starts_with(&format!("Done: order {order} is cancelled")), "{reply}");
    assert_eq!(tau.order(&order)["status"], "cancelled");
    assert_eq!(tau.writes(id).await, 1);

    // A yes that names another request is no yes to the summary.
    let (id, order) = tau.cancel_waiting_for_yes(1).await;
    let reply = tau.say(id, "Yes, please go ahead and update the shipping address of it").await;
    assert!(
        reply.starts_with("Okay, I won't go ahead with cancelling an order: nothing was changed"),
        "{reply}"
    );
    assert_eq!(tau.order(&order)["status"], "pending");
    assert_eq!(tau.writes(id).await, 0);
}

#[tokio::test]
async fn a_zip_code_corrected_in_the_next_message_goes_with_the_name_given_before() {
    let tau = tau().await;
    let (email, order_id) = tau.user_with_pending_order(8);
    let user = tau.user_by_email(&email);
    let (first, last) = (user["name"]["first_name"].as_str(), user["name"]["last_name"].as_str());
    let zip = user["address"]["zip"].as_str().unwrap();
    let wrong = if zip == "00000" { "11111" } else { "00000" };
    let id = tau.start().await;
    tau.say(id, &format!("what's the status of order {order_id}?")).await;
    let text =
        format!("My name is {} {}, and my zip code is {wrong}.", first.unwrap(), last.unwrap());
    let reply = tau.say(id, &text).await;
    assert!(reply.starts_with("I couldn't find an account"), "{reply}");
    let reply = tau.say(id, &format!("Sorry, I got my zip code wrong. It's actually {zip}.")).await;
    assert!(reply.starts_with(&format!("Order {order_id} (")), "{reply}");
}

/// A user's order with `status` and two items or more that can each be
/// named with a variant (see `swappable`), with the first two of them.
fn two_swappable(tau: &Tau, status: &str, skip: usize) -> (String, String, [(Value, Value); 2]) {
    (0..400)
        .filter_map(|n| {
            let (email, order_id, _) = tau.find(n, |_, order| order["status"] == status);
            match swappables(tau, &tau.order(&order_id)).as_slice() {
                [a, b, ..] => Some((email, order_id, [a.clone(), b.clone()])),
                _ => None,
            }
        })
        .nth(skip)
        .expect("an order with two items that can be swapped")
}

/// A conversation whose customer asks to `verb` the two items of `pairs`
/// from an order and then gives their e-mail, with the reply to that.
async fn ask_for_two(
    tau: &Tau,
    email: &str,
    verb: &str,
    order_id: &str,
    pairs: &[(Value, Value); 2],
) -> (baton_core::ConversationId, String) {
    let id = tau.start().await;
    let (first, second) = (name_of(&pairs[0].0), name_of(&pairs[1].0));
    tau.say(id, &format!("{verb} the {first} and the {second} from order {order_id}")).await;
    let reply = tau.say(id, email).await;
    (id, reply)
}

fn name_of(item: &Value) -> &str {
    item["name"].as_str().unwrap()
}

/// The exchange or change summary of two pairs, as the flows say it.
fn pairs_summary(tau: &Tau, order: &Value, pairs: &[(Value, Value); 2], prep: &str) -> String {
    let line = |(item, variant): &(Value, Value)| {
        let options = |o: &Value| {
            let fields = o.as_object().unwrap();
            fields.iter().map(|(k, v)| format!("{k}: {}", v.as_str().unwrap())).collect::<Vec<_>>()
        };
        let price = tau.product(item["product_id"].as_str().unwrap())["variants"]
            [variant["item_id"].as_str().unwrap()]["price"]
            .as_f64()
            .unwrap();
        let old = order["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["item_id"] == item["item_id"])
            .unwrap();
        format!(
            "the {} ({}) {prep} the one with {} ({price:.2})",
            name_of(item),
            options(&old["options"]).join(", "),
            options(&variant["options"]).join(", ")
        )
    };
    format!("{}; and {}", line(&pairs[0]), line(&pairs[1]))
}

#[tokio::test]
async fn two_delivered_items_are_exchanged_in_one_call_each_for_its_variant() {
    let tau = tau().await;
    let (email, order_id, pairs) = two_swappable(&tau, "delivered", 0);
    let order = tau.order(&order_id);
    let [(first, first_new), (second, second_new)] = &pairs;
    // Each item's new variant is asked for in its own product's words.
    let (id, reply) = ask_for_two(&tau, &email, "I'd like to exchange", &order_id, &pairs).await;
    assert!(
        reply.starts_with(&format!("Which {} would you like instead?", name_of(first))),
        "{reply}"
    );
    let reply = tau.say(id, &format!("the one with {}", options_text(first_new))).await;
    assert!(
        reply.starts_with(&format!("Which {} would you like instead?", name_of(second))),
        "{reply}"
    );
    let reply = tau.say(id, &format!("the one with {}", options_text(second_new))).await;
    assert!(reply.starts_with("Which payment method"), "{reply}");

    // One summary with both pairs, and nothing changed before the yes.
    let reply = tau.say(id, "the original one").await;
    let summary = pairs_summary(&tau, &order, &pairs, "for");
    assert!(
        reply.starts_with(&format!("To confirm: in order {order_id} I'll exchange {summary};")),
        "{reply}\n{summary}"
    );
    assert_eq!(tau.order(&order_id), order);
    assert_eq!(tau.writes(id).await, 0);

    let reply = tau.say(id, "yes").await;
    assert!(reply.starts_with(&format!("Done: the exchange in order {order_id}")), "{reply}");
    let after = tau.order(&order_id);
    assert_eq!(after["status"], "exchange requested");
    assert_eq!(after["exchange_items"], json!([first["item_id"], second["item_id"]]));
    assert_eq!(after["exchange_new_items"], json!([first_new["item_id"], second_new["item_id"]]));
    assert_eq!(tau.writes(id).await, 1);
}

#[tokio::test]
async fn two_items_of_a_pending_order_are_changed_in_one_call_and_only_after_a_yes() {
    let tau = tau().await;
    let (email, order_id, pairs) = two_swappable(&tau, "pending", 0);
    let order = tau.order(&order_id);
    let [(first, first_new), (second, second_new)] = &pairs;
    let request = format!(
        "I want to change both the {} and the {} in my order {order_id} before it ships",
        name_of(first),
        name_of(second)
    );
    let summary = pairs_summary(&tau, &order, &pairs, "to");
    for yes in [false, true] {
        let id = tau.start().await;
        tau.say(id, &request).await;
        tau.say(id, &email).await;
        tau.say(id, &format!("make it the {}", options_text(first_new))).await;
        tau.say(id, &format!("make it the {}", options_text(second_new))).await;
        let reply = tau.say(id, "use the same payment method").await;
        assert!(
            reply.starts_with(&format!("To confirm: in order {order_id} I'll change {summary};")),
            "{reply}\n{summary}"
        );
        assert_eq!(tau.order(&order_id), order);
        if !yes {
            let reply = tau.say(id, "no").await;
            assert!(reply.starts_with("Okay, I haven't changed anything"), "{reply}");
            assert_eq!(tau.order(&order_id), order);
            assert_eq!(tau.writes(id).await, 0);
            continue;
        }
        let reply = tau.say(id, "yes").await;
        let done = format!(
            "Done: order {order_id} now has the {} with {}; and the {} with {}.",
            name_of(first),
            options_text_keyed(first_new),
            name_of(second),
            options_text_keyed(second_new)
        );
        assert_eq!(reply, done);
        let after = tau.order(&order_id);
        assert_eq!(after["status"], "pending (item modified)");
        let ids: Vec<&Value> =
            after["items"].as_array().unwrap().iter().map(|i| &i["item_id"]).collect();
        let before: Vec<&Value> =
            order["items"].as_array().unwrap().iter().map(|i| &i["item_id"]).collect();
        // Each old item's place holds its new variant; the rest is as it was.
        for (n, old) in before.iter().enumerate() {
            let wanted = if *old == &first["item_id"] {
                &first_new["item_id"]
            } else if *old == &second["item_id"] {
                &second_new["item_id"]
            } else {
                old
            };
            assert_eq!(ids[n], wanted, "item {n} of {ids:?}");
        }
        assert_eq!(tau.writes(id).await, 1);
    }
}

/// A variant's options as the flows quote them: "color: blue, size: M".
fn options_text_keyed(variant: &Value) -> String {
    let options = variant["options"].as_object().unwrap();
    options
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test]
async fn an_item_of_another_order_named_for_a_return_is_told_and_nothing_is_returned() {
    let tau = tau().await;
    // A delivered order, and a one-word item of another of the customer's
    // orders whose name no item of this order shares a word with.
    let found = (0..400).find_map(|n| {
        let (email, order_id, user) = tau
            .find(n, |_, order| order["status"] == "delivered" && swappable_name(order).is_some());
        let order = tau.order(&order_id);
        let here: Vec<String> = order["items"]
            .as_array()?
            .iter()
            .map(|i| i["name"].as_str().unwrap_or("").to_lowercase())
            .collect();
        let elsewhere = user["orders"].as_array()?.iter().find_map(|o| {
            let other = tau.order(o.as_str()?);
            other["items"].as_array()?.iter().find_map(|i| {
                let name = i["name"].as_str()?;
                let fits = !name.contains(' ')
                    && !name.contains('-')
                    && !here.iter().any(|h| h.contains(&name.to_lowercase()));
                fits.then(|| name.to_string())
            })
        })?;
        Some((email, order_id, elsewhere))
    });
    let (email, order_id, elsewhere) = found.expect("an item of another order");
    let order = tau.order(&order_id);
    let kept = swappable_name(&order).unwrap();
    let id = tau.start().await;
    tau.say(id, &format!("I want to return the {elsewhere} from order {order_id}")).await;
    let reply = tau.say(id, &email).await;
    assert!(
        reply.starts_with(&format!(
            "Order {order_id} has no {elsewhere}.\nWhich items of order {order_id} would you \
             like to return?"
        )),
        "{reply}"
    );
    assert_eq!(tau.order(&order_id), order);

    // Naming an item it has goes on with that one alone.
    let reply = tau.say(id, &format!("oh, then the {}", name_of(&kept))).await;
    assert_eq!(reply, "Should the refund go to the original payment method, or to a gift card?");
    tau.say(id, "the original payment method").await;
    assert_eq!(tau.order(&order_id), order);
    assert_eq!(tau.writes(id).await, 0);

    // Named with an item the order has, that one goes on and the customer
    // is told of the other.
    let other = tau.start().await;
    let both = format!("return the {} and the {elsewhere} of order {order_id}", name_of(&kept));
    tau.say(other, &both).await;
    let reply = tau.say(other, &email).await;
    assert_eq!(
        reply,
        format!(
            "Order {order_id} has no {elsewhere}.\nShould the refund go to the original payment \
             method, or to a gift card?"
        )
    );
    let reply = tau.say(other, "the original payment method").await;
    assert!(
        reply.starts_with(&format!(
            "To confirm: I'll start a return of {} from order {order_id}",
            name_of(&kept)
        )),
        "{reply}"
    );
    assert_eq!(tau.order(&order_id), order);
    assert_eq!(tau.writes(other).await, 0);

    tau.say(id, "yes").await;
    let after = tau.order(&order_id);
    assert_eq!(after["status"], "return requested");
    assert_eq!(after["return_items"], json!([kept["item_id"]]));
}

#[tokio::test]
async fn two_delivered_items_are_returned_in_one_call() {
    let tau = tau().await;
    let (email, order_id, pairs) = two_swappable(&tau, "delivered", 1);
    let [(first, _), (second, _)] = &pairs;
    let (id, _) = ask_for_two(&tau, &email, "please return", &order_id, &pairs).await;
    let reply = tau.say(id, "to the original payment method").await;
    assert!(
        reply.starts_with(&format!(
            "To confirm: I'll start a return of {}, {} from order {order_id}",
            name_of(first),
            name_of(second)
        )),
        "{reply}"
    );
    assert_eq!(tau.order(&order_id)["status"], "delivered");
    tau.say(id, "yes").await;
    let after = tau.order(&order_id);
    assert_eq!(after["status"], "return requested");
    assert_eq!(after["return_items"], json!([first["item_id"], second["item_id"]]));
    assert_eq!(tau.writes(id).await, 1);
}

#[tokio::test]
async fn one_message_naming_the_new_variant_of_each_item_answers_for_both() {
    let tau = tau().await;
    let (email, order_id, pairs) = two_swappable(&tau, "delivered", 0);
    let [(first, first_new), (second, second_new)] = &pairs;
    let (id, _) = ask_for_two(&tau, &email, "I'd like to exchange", &order_id, &pairs).await;
    let both = format!(
        "the {} with {} and the {} with {}",
        name_of(first),
        options_text(first_new),
        name_of(second),
        options_text(second_new)
    );
    let reply = tau.say(id, &both).await;
    assert!(reply.starts_with("Which payment method"), "{reply}");
    tau.say(id, "the original one").await;
    assert_eq!(tau.writes(id).await, 0);
    tau.say(id, "yes").await;
    let after = tau.order(&order_id);
    assert_eq!(after["exchange_items"], json!([first["item_id"], second["item_id"]]));
    assert_eq!(after["exchange_new_items"], json!([first_new["item_id"], second_new["item_id"]]));
}

#[tokio::test]
async fn the_other_item_of_two_is_changed_after_a_change_of_mind() {
    let tau = tau().await;
    let orders: Vec<Value> = tau.store.lock().unwrap().orders.values().cloned().collect();
    // A customer's only pending order (so that "the other one" can mean no
    // other order), of two items of one-word names, the second of which can
    // be swapped.
    let delivered_of = |user: &Value| {
        let orders = &tau.store.lock().unwrap().orders;
        orders.values().filter(|o| o["user_id"] == *user && o["status"] == "pending").count()
    };
    let (order, first, (second, second_new)) = orders
        .into_iter()
        .filter(|o| o["status"] == "pending" && o["items"].as_array().unwrap().len() == 2)
        .filter(|o| delivered_of(&o["user_id"]) == 1)
        .find_map(|o| {
            let (second, variant) = swappable(&tau, &o)?;
            let first = o["items"].as_array()?.iter().find(|i| i["name"] != second["name"])?;
            let name = first["name"].as_str()?;
            let plain = !name.contains(' ') && !name.contains('-');
            plain.then(|| (o.clone(), first.clone(), (second, variant)))
        })
        .expect("a pending order of two items, one that can be swapped");
    let (first, second, second_new) = (&first, &second, &second_new);
    let order_id = order["order_id"].as_str().unwrap().to_string();
    let user = tau.store.lock().unwrap().users[order["user_id"].as_str().unwrap()].clone();
    let email = user["email"].as_str().unwrap().to_string();
    let id = tau.start().await;
    tau.say(id, &format!("I'd like to change the {} in order {order_id}", name_of(first))).await;
    let reply = tau.say(id, &email).await;
    assert!(
        reply.starts_with(&format!("Which {} would you like instead?", name_of(first))),
        "{reply}"
    );
    let reply = tau.say(id, "sorry, actually the other one").await;
    assert!(
        reply.starts_with(&format!("Which {} would you like instead?", name_of(second))),
        "{reply}"
    );
    tau.say(id, &format!("the one with {}", options_text(second_new))).await;
    let reply = tau.say(id, "the original one").await;
    assert!(
        reply.starts_with(&format!(
            "To confirm: in order {order_id} I'll change the {} (",
            name_of(second)
        )),
        "{reply}"
    );
    assert!(!reply.contains(name_of(first)), "{reply}");
    tau.say(id, "yes").await;
    let after = tau.order(&order_id);
    let ids: Vec<&Value> =
        after["items"].as_array().unwrap().iter().map(|i| &i["item_id"]).collect();
    let wanted: Vec<&Value> =
        order["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                if i["item_id"] == second["item_id"] {
                    &second_new["item_id"]
                } else {
                    &i["item_id"]
                }
            })
            .collect();
    assert_eq!(ids, wanted);
    assert!(ids.contains(&&first["item_id"]), "{ids:?}");
}
