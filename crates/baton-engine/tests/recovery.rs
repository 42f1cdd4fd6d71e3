//! A customer message stored just before the server stopped, whose turn
//! never ran, is answered: at start-up, or before the customer's next
//! message, and never twice.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use baton_core::{Actor, Author, Clock, ConversationId, Event, EventKind, ManualClock, Stage};
use baton_engine::workspace::Workspace;
use baton_engine::{CustomerDetails, Engine, LocalBus};
use baton_store::{SqliteStore, Store};
use common::{analyzer, demo_dir};

/// Tuesday 2026-01-06 09:00 in Chicago: the demo desk is open.
fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-06T15:00:00Z").unwrap().to_utc()
}

struct App {
    engine: Engine,
    clock: Arc<ManualClock>,
    db: Arc<dyn Store>,
}

async fn app() -> App {
    let workspace = Workspace::load(&demo_dir()).unwrap();
    let db: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let clock = Arc::new(ManualClock::new(start_time()));
    let analyzer = analyzer(&workspace);
    let engine = Engine::new(
        Arc::new(workspace),
        analyzer,
        db.clone(),
        clock.clone(),
        Arc::new(LocalBus::new()),
    );
    App { engine, clock, db }
}

/// A conversation with one answered question, then `text` stored the way
/// the first half of a turn stores it, as if the server stopped right after.
async fn interrupted(app: &App, text: &str) -> (ConversationId, u64) {
    interrupted_with(app, text, None).await
}

async fn interrupted_with(app: &App, text: &str, client_id: Option<&str>) -> (ConversationId, u64) {
    let details = CustomerDetails { name: Some("Dana Fielding".into()), ..Default::default() };
    let id = app.engine.start_conversation("web", details).await.unwrap().id;
    app.engine.customer_message(id, "hello", None).await.unwrap();

    let state = app.engine.conversation(id).await.unwrap();
    let seq = state.last_seq + 1;
    let message = Event {
        conversation_id: id,
        seq,
        at: app.clock.now(),
        actor: Actor::Customer(state.customer_id),
        kind: EventKind::MessagePosted {
            author: Author::Customer,
            text: text.into(),
            client_id: client_id.map(String::from),
            quick_replies: vec![],
            citations: vec![],
        },
    };
    let mut summary = app.db.conversation(id).await.unwrap().unwrap();
    summary.last_seq = seq;
    summary.updated_at = message.at;
    app.db.append(state.last_seq, &[message], &summary).await.unwrap();
    (id, seq)
}

/// The customer message an event is the analysis of, if it is one.
fn analysed_message(event: &Event) -> Option<u64> {
    match event.kind {
        EventKind::MessageAnalysed { message_seq, .. } => Some(message_seq),
        _ => None,
    }
}

#[tokio::test]
async fn a_message_a_stop_left_unanswered_is_answered_once_at_start_up() {
    let app = app().await;
    let (id, seq) = interrupted(&app, "I want to talk to a real person").await;
    app.clock.advance(Duration::minutes(3));

    let answered = app.engine.answer_interrupted(start_time()).await.unwrap();

    assert_eq!(answered, 1);
    let events = app.engine.events(id, seq).await.unwrap();
    assert_eq!(analysed_message(&events[0]), Some(seq));
    let state = app.engine.conversation(id).await.unwrap();
    assert_eq!(state.stage, Stage::Queued);
    let reply = state.messages.iter().find(|m| m.seq > seq).unwrap();
    assert_eq!(reply.author, Author::Bot);
    assert_eq!(reply.text, app.engine.workspace().templates.render("handoff", &[]).unwrap());

    // Nothing is answered twice.
    let last_seq = state.last_seq;
    assert_eq!(app.engine.answer_interrupted(start_time()).await.unwrap(), 0);
    assert_eq!(app.engine.conversation(id).await.unwrap().last_seq, last_seq);
}

#[tokio::test]
async fn a_message_older_than_the_window_is_left_alone() {
    let app = app().await;
    let (id, seq) = interrupted(&app, "How long does shipping take?").await;

    let later = start_time() + Duration::hours(1);
    assert_eq!(app.engine.answer_interrupted(later).await.unwrap(), 0);
    assert_eq!(app.engine.conversation(id).await.unwrap().last_seq, seq);
}

#[tokio::test]
async fn the_next_message_is_answered_after_the_one_a_stop_left_unanswered() {
    let app = app().await;
    let (id, seq) = interrupted(&app, "I want to talk to a real person").await;

    let outcome = app.engine.customer_message(id, "hello? is anyone there?", None).await.unwrap();

    // The request for a person was read first, so the new message finds
    // the conversation already in the queue.
    assert_eq!(outcome.stage, Stage::Queued);
    assert_eq!(outcome.message.text, "hello? is anyone there?");
    let events = app.engine.events(id, seq).await.unwrap();
    assert_eq!(analysed_message(&events[0]), Some(seq));
    let escalated = events.iter().find(|e| e.kind.type_name() == "escalated").unwrap();
    assert!(escalated.seq < outcome.message.seq, "escalated at {}", escalated.seq);
    let analysed: Vec<u64> = events.iter().filter_map(analysed_message).collect();
    assert_eq!(analysed, vec![seq, outcome.message.seq]);
}

#[tokio::test]
async fn two_nodes_answering_the_same_retry_give_one_answer_and_no_error() {
    let app = app().await;
    let (id, seq) = interrupted_with(&app, "I want to talk to a real person", Some("k-1")).await;
    // A second node: its own engine and locks on the same store.
    let workspace = Workspace::load(&demo_dir()).unwrap();
    let other = Engine::new(
        Arc::new(workspace),
        app.engine.analyzer(),
        app.db.clone(),
        app.clock.clone(),
        Arc::new(LocalBus::new()),
    );

    let text = "I want to talk to a real person";
    let (a, b) = tokio::join!(
        app.engine.customer_message(id, text, Some("k-1")),
        other.customer_message(id, text, Some("k-1")),
    );

    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.message.seq, b.message.seq), (seq, seq));
    assert_eq!((a.stage, b.stage), (Stage::Queued, Stage::Queued));
    let events = app.engine.events(id, seq).await.unwrap();
    let analysed = events.iter().filter(|e| analysed_message(e) == Some(seq)).count();
    assert_eq!(analysed, 1);
}
