//! Knowledge answers on the demo workspace: a question about how something
//! works is answered from the article even when its intent is a request
//! with a flow, the reply is plain text led by its section heading, and a
//! question asked while a flow waits is answered before the flow's
//! question is asked again.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use baton_core::ManualClock;
use baton_engine::workspace::Workspace;
use baton_engine::{CustomerDetails, Engine, LocalBus};
use baton_store::{SqliteStore, Store};
use common::{analyzer, demo_dir};

/// Tuesday 2026-01-06 09:00 in Chicago: the demo desk is open.
fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-06T15:00:00Z").unwrap().to_utc()
}

async fn engine() -> Engine {
    let workspace = Workspace::load(&demo_dir()).unwrap();
    let db: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let analyzer = analyzer(&workspace);
    Engine::new(
        Arc::new(workspace),
        analyzer,
        db,
        Arc::new(ManualClock::new(start_time())),
        Arc::new(LocalBus::new()),
    )
}

/// The bot's replies to each message, in one new conversation.
async fn replies(engine: &Engine, messages: &[&str]) -> Vec<Vec<String>> {
    let details = CustomerDetails {
        name: Some("Dana Fielding".into()),
        email: Some("dana@example.com".into()),
        ..Default::default()
    };
    let id = engine.start_conversation("web", details).await.unwrap().id;
    let mut out = Vec::new();
    for message in messages {
        let outcome = engine.customer_message(id, message, None).await.unwrap();
        out.push(outcome.replies.into_iter().map(|m| m.text).collect());
    }
    out
}

const REFUND_TIMES: &str = "How long a refund takes to show: Refunds go back to the payment \
    method you paid with. Card refunds take 3 to 5 business days to show on your statement, \
    PayPal refunds usually appear within a day, and gift card refunds are added to the card \
    straight away.\n\nSource: Refunds";

const WARRANTY: &str = "What the warranty covers: Every product carries a two-year warranty \
    against faults in materials and workmanship, counted from the day of delivery. Electrical \
    goods such as the Electric Kettle, the Coffee Grinder and the Desk Lamp have three years.\
    \n\nSource: Warranty";

#[tokio::test]
async fn a_question_about_how_refunds_work_is_answered_not_started_as_a_refund() {
    let engine = engine().await;
    let got = replies(&engine, &["how long do refunds take to show up?"]).await;
    assert_eq!(got, vec![vec![REFUND_TIMES.to_string()]]);
}

#[tokio::test]
async fn asking_for_ones_own_refund_still_starts_the_refund_flow() {
    let engine = engine().await;
    let got = replies(&engine, &["where is my refund?"]).await;
    assert_eq!(
        got,
        vec![vec!["Before I look at your account: is dana@example.com the e-mail address on it?"
            .to_string()]]
    );
}

#[tokio::test]
async fn a_knowledge_question_while_a_flow_waits_is_answered_then_the_question_repeated() {
    let engine = engine().await;
    let identity = "Before I look at your account: is dana@example.com the e-mail address on it?";
    let got = replies(&engine, &["I want a refund", "what's your warranty on the tent?"]).await;
    assert_eq!(
        got,
        vec![vec![identity.to_string()], vec![WARRANTY.to_string(), identity.to_string()]]
    );
}

#[tokio::test]
async fn a_list_in_an_article_is_replied_as_lines_without_markdown() {
    let engine = engine().await;
    let got = replies(&engine, &["How long does shipping take?"]).await;
    assert_eq!(
        got,
        vec![vec!["Delivery options and costs: How long delivery takes and what it costs \
                   depends on the option you choose at checkout:\n\
                   • Standard delivery takes 3 to 5 business days and costs $5.95. We offer \
                   free shipping on orders of $60 or more.\n\
                   • Express delivery takes 1 to 2 business days and costs $14.95.\n\
                   • Next-day delivery costs $24.95 for orders placed before 1 pm Central \
                   time, Monday to Thursday.\n\nSource: Shipping and delivery"
            .to_string()]]
    );
}
