//! The behaviour every [`Store`] back end must show, written once over
//! `&dyn Store` and run against each back end by [`conformance_tests!`].
//!
//! Each case gets a fresh, empty store of its own: a temporary directory,
//! an in-memory database, or a PostgreSQL database created for the case and
//! dropped after it. The PostgreSQL cases read `BATON_TEST_POSTGRES_URL`
//! (default [`DEFAULT_POSTGRES_URL`]) and are skipped, with a note on
//! standard error, only when no server answers there.

use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use baton_core::{Actor, AgentId, Author, ConversationId, CustomerId, Event, EventKind, Stage};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

use crate::{
    Agent, AgentRole, AgentStatus, ConversationFilter, ConversationSummary, Customer,
    PostgresStore, SqliteStore, Store, StoreError, TokenRecord, TokenSubject,
};

/// Where the PostgreSQL cases look for a server when the environment does
/// not say.
pub(crate) const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// 10:`minute` on a fixed day, with nanoseconds so that a store that
/// rounds timestamps fails the equality checks.
fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, minute, 0).unwrap() + Duration::nanoseconds(123_456_789)
}

fn started(id: ConversationId, customer: CustomerId, minute: u32) -> Event {
    Event {
        conversation_id: id,
        seq: 1,
        at: at(minute),
        actor: Actor::System,
        kind: EventKind::ConversationStarted { channel: "web".into(), customer_id: customer },
    }
}

fn message(
    id: ConversationId,
    seq: u64,
    minute: u32,
    actor: Actor,
    text: &str,
    client_id: Option<&str>,
) -> Event {
    let author = match actor {
        Actor::Customer(_) => Author::Customer,
        Actor::Agent(_) => Author::Agent,
        Actor::Bot => Author::Bot,
        Actor::System => Author::System,
    };
    Event {
        conversation_id: id,
        seq,
        at: at(minute),
        actor,
        kind: EventKind::MessagePosted {
            author,
            text: text.into(),
            client_id: client_id.map(Into::into),
            quick_replies: vec![],
            citations: vec![],
        },
    }
}

fn summary(id: ConversationId, customer: CustomerId, last_seq: u64) -> ConversationSummary {
    ConversationSummary {
        id,
        customer_id: customer,
        channel: "web".into(),
        stage: Stage::Bot,
        assigned_agent: None,
        queue: None,
        priority: 0,
        reason: None,
        intent: None,
        created_at: at(0),
        stage_since: at(0),
        updated_at: at(0),
        last_seq,
        preview: None,
    }
}

/// A new conversation with its start and one customer message carrying
/// client id `c-1`; returns the summary as stored.
async fn two_event_conversation(store: &dyn Store) -> ConversationSummary {
    let id = ConversationId::new();
    let customer = CustomerId::new();
    let events = [
        started(id, customer, 0),
        message(id, 2, 1, Actor::Customer(customer), "where is my order?", Some("c-1")),
    ];
    let mut row = summary(id, customer, 2);
    row.preview = Some("where is my order?".into());
    store.append(0, &events, &row).await.unwrap();
    row
}

fn agent(email: &str) -> Agent {
    Agent {
        id: AgentId::new(),
        email: email.into(),
        name: "Ana Silva".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role: AgentRole::Agent,
        status: AgentStatus::Offline,
        capacity: 3,
        skills: vec!["en".into(), "billing".into()],
        working_hours: None,
        created_at: at(0),
    }
}

pub(crate) async fn appended_events_read_back_equal(store: &dyn Store) {
    let id = ConversationId::new();
    let customer = CustomerId::new();
    let events = vec![
        started(id, customer, 0),
        message(id, 2, 1, Actor::Customer(customer), "where is my order?", Some("c-1")),
        Event {
            conversation_id: id,
            seq: 3,
            at: at(2),
            actor: Actor::Bot,
            kind: EventKind::Decided {
                action: "answer".into(),
                reason: "order status intent at 0.93".into(),
                detail: json!({"intent": "order_status", "confidence": 0.93, "tags": ["a", "b"]}),
            },
        },
    ];
    let mut row = summary(id, customer, 3);
    row.intent = Some("order_status".into());
    row.preview = Some("where is my order?".into());

    store.append(0, &events, &row).await.unwrap();

    assert_eq!(store.events(id, 0).await.unwrap(), events);
    assert_eq!(store.events(id, 1).await.unwrap(), events[1..].to_vec());
    assert_eq!(store.events(id, 3).await.unwrap(), Vec::<Event>::new());
    assert_eq!(store.conversation(id).await.unwrap(), Some(row));
    assert_eq!(store.conversation(ConversationId::new()).await.unwrap(), None);
}

pub(crate) async fn message_text_reads_back_exactly_whatever_its_characters(store: &dyn Store) {
    let row = two_event_conversation(store).await;
    let text = "naïve \"quoted\" 🚀 \\ back\\slash, a NUL \u{0} and\r\na new line";
    let odd = message(row.id, 3, 2, Actor::Customer(row.customer_id), text, Some("c-✓"));
    let mut next = row.clone();
    next.last_seq = 3;

    store.append(2, std::slice::from_ref(&odd), &next).await.unwrap();

    assert_eq!(store.events(row.id, 2).await.unwrap(), vec![odd]);
}

pub(crate) async fn a_second_append_continues_the_log_and_replaces_the_summary(store: &dyn Store) {
    let mut row = two_event_conversation(store).await;
    let agent = AgentId::new();
    let reply = message(row.id, 3, 5, Actor::Agent(agent), "It ships today.", None);
    row.stage = Stage::Human;
    row.assigned_agent = Some(agent);
    row.priority = 2;
    row.last_seq = 3;
    row.updated_at = at(5);

    store.append(2, std::slice::from_ref(&reply), &row).await.unwrap();

    assert_eq!(store.events(row.id, 2).await.unwrap(), vec![reply]);
    assert_eq!(store.conversation(row.id).await.unwrap(), Some(row));
}

pub(crate) async fn a_stale_expected_last_seq_is_a_conflict_and_writes_nothing(store: &dyn Store) {
    let row = two_event_conversation(store).await;
    let before = store.events(row.id, 0).await.unwrap();
    let late = message(row.id, 2, 3, Actor::Bot, "Let me check.", None);
    let mut stale = row.clone();
    stale.last_seq = 2;
    stale.preview = Some("Let me check.".into());

    let err = store.append(1, &[late], &stale).await.unwrap_err();

    assert!(matches!(err, StoreError::Conflict { expected: 1, found: 2 }), "{err:?}");
    assert_eq!(store.events(row.id, 0).await.unwrap(), before);
    assert_eq!(store.conversation(row.id).await.unwrap(), Some(row));
}

pub(crate) async fn appending_to_an_existing_conversation_as_new_is_a_conflict(store: &dyn Store) {
    let row = two_event_conversation(store).await;
    let again = started(row.id, row.customer_id, 9);

    let err = store.append(0, &[again], &summary(row.id, row.customer_id, 1)).await.unwrap_err();

    assert!(matches!(err, StoreError::Conflict { expected: 0, found: 2 }), "{err:?}");
    assert_eq!(store.events(row.id, 0).await.unwrap().len(), 2);
}

pub(crate) async fn a_duplicate_client_id_is_refused_and_writes_nothing(store: &dyn Store) {
    let row = two_event_conversation(store).await;
    let customer = Actor::Customer(row.customer_id);
    let batch = [
        message(row.id, 3, 2, Actor::Bot, "It ships today.", None),
        message(row.id, 4, 3, customer, "where is my order?", Some("c-1")),
    ];
    let mut next = row.clone();
    next.last_seq = 4;

    let err = store.append(2, &batch, &next).await.unwrap_err();

    assert!(matches!(&err, StoreError::DuplicateClientId(c) if c == "c-1"), "{err:?}");
    assert_eq!(store.events(row.id, 0).await.unwrap().len(), 2);
    assert_eq!(store.conversation(row.id).await.unwrap(), Some(row));
}

pub(crate) async fn a_client_id_repeated_within_one_batch_is_refused_and_writes_nothing(
    store: &dyn Store,
) {
    let id = ConversationId::new();
    let customer = CustomerId::new();
    let person = Actor::Customer(customer);
    let batch = [
        started(id, customer, 0),
        message(id, 2, 1, person, "hello", Some("c-9")),
        message(id, 3, 2, person, "hello", Some("c-9")),
    ];

    let err = store.append(0, &batch, &summary(id, customer, 3)).await.unwrap_err();

    assert!(matches!(&err, StoreError::DuplicateClientId(c) if c == "c-9"), "{err:?}");
    assert_eq!(store.events(id, 0).await.unwrap(), Vec::<Event>::new());
    assert_eq!(store.conversation(id).await.unwrap(), None);
}

pub(crate) async fn a_client_id_is_unique_per_conversation_and_only_for_customers(
    store: &dyn Store,
) {
    let first = two_event_conversation(store).await;
    let second = two_event_conversation(store).await;
    let agent = Actor::Agent(AgentId::new());
    let mut next = first.clone();
    next.last_seq = 3;

    // An agent's message with the customer's key is not a retry of it.
    let reply = message(first.id, 3, 4, agent, "Hello", Some("c-1"));
    store.append(2, &[reply], &next).await.unwrap();

    assert_eq!(store.events(first.id, 0).await.unwrap().len(), 3);
    assert_eq!(store.events(second.id, 0).await.unwrap().len(), 2);
    assert_eq!(store.message_by_client_id(first.id, "c-1").await.unwrap(), Some(2));
}

pub(crate) async fn message_by_client_id_finds_the_seq_of_the_message(store: &dyn Store) {
    let row = two_event_conversation(store).await;
    let customer = Actor::Customer(row.customer_id);
    let mut next = row.clone();
    next.last_seq = 4;
    let batch = [
        message(row.id, 3, 2, Actor::Bot, "Which order?", None),
        message(row.id, 4, 3, customer, "A-1001", Some("c-2")),
    ];
    store.append(2, &batch, &next).await.unwrap();

    assert_eq!(store.message_by_client_id(row.id, "c-1").await.unwrap(), Some(2));
    assert_eq!(store.message_by_client_id(row.id, "c-2").await.unwrap(), Some(4));
    assert_eq!(store.message_by_client_id(row.id, "c-3").await.unwrap(), None);
    assert_eq!(store.message_by_client_id(ConversationId::new(), "c-1").await.unwrap(), None);
}

pub(crate) async fn an_append_that_skips_a_seq_is_invalid_and_writes_nothing(store: &dyn Store) {
    let row = two_event_conversation(store).await;
    let mut next = row.clone();
    next.last_seq = 4;

    let err =
        store.append(2, &[message(row.id, 4, 2, Actor::Bot, "Hi", None)], &next).await.unwrap_err();

    assert!(matches!(err, StoreError::InvalidAppend(_)), "{err:?}");
    assert_eq!(store.conversation(row.id).await.unwrap(), Some(row));
}

pub(crate) async fn the_queue_is_ordered_by_priority_then_by_waiting_time(store: &dyn Store) {
    let agent = AgentId::new();
    let customer = CustomerId::new();
    // (stage, priority, minute it entered the stage, assigned agent)
    let shapes = [
        (Stage::Queued, 1, 5, None),
        (Stage::Queued, 3, 10, None),
        (Stage::Queued, 1, 1, None),
        (Stage::Bot, 0, 0, None),
        (Stage::Human, 5, 2, Some(agent)),
    ];
    let mut ids = Vec::new();
    for (stage, priority, minute, assigned) in shapes {
        let id = ConversationId::new();
        let mut row = summary(id, customer, 1);
        row.stage = stage;
        row.priority = priority;
        row.stage_since = at(minute);
        row.assigned_agent = assigned;
        store.append(0, &[started(id, customer, 0)], &row).await.unwrap();
        ids.push(id);
    }
    let listed = |filter: ConversationFilter| async move {
        let rows = store.conversations(&filter).await.unwrap();
        rows.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };

    let queued = ConversationFilter { stages: vec![Stage::Queued], ..Default::default() };
    assert_eq!(listed(queued.clone()).await, vec![ids[1], ids[2], ids[0]]);

    let first_two = ConversationFilter { limit: Some(2), ..queued };
    assert_eq!(listed(first_two).await, vec![ids[1], ids[2]]);

    let waiting_or_worked =
        ConversationFilter { stages: vec![Stage::Queued, Stage::Human], ..Default::default() };
    assert_eq!(listed(waiting_or_worked).await, vec![ids[4], ids[1], ids[2], ids[0]]);

    let mine = ConversationFilter { assigned_agent: Some(agent), ..Default::default() };
    assert_eq!(listed(mine).await, vec![ids[4]]);

    let everything_of_the_customer =
        ConversationFilter { customer_id: Some(customer), ..Default::default() };
    assert_eq!(
        listed(everything_of_the_customer).await,
        vec![ids[4], ids[1], ids[2], ids[0], ids[3]]
    );

    let nobody = ConversationFilter { customer_id: Some(CustomerId::new()), ..Default::default() };
    assert_eq!(listed(nobody).await, Vec::<ConversationId>::new());
}

pub(crate) async fn events_between_returns_the_range_by_conversation_then_seq(store: &dyn Store) {
    let (a, b) = (ConversationId::new(), ConversationId::new());
    let customer = CustomerId::new();
    let person = Actor::Customer(customer);
    // Interleaved in time: a at minutes 0, 2, 4 and b at minutes 1, 3, 5.
    let log_a = vec![
        started(a, customer, 0),
        message(a, 2, 2, person, "a two", None),
        message(a, 3, 4, person, "a three", None),
    ];
    let log_b = vec![
        started(b, customer, 1),
        message(b, 2, 3, person, "b two", None),
        message(b, 3, 5, person, "b three", None),
    ];
    store.append(0, &log_a, &summary(a, customer, 3)).await.unwrap();
    store.append(0, &log_b, &summary(b, customer, 3)).await.unwrap();
    let (first, second) = if a < b { (&log_a, &log_b) } else { (&log_b, &log_a) };
    let in_range = |log: &Vec<Event>, from: u32, to: u32| -> Vec<Event> {
        log.iter().filter(|e| e.at >= at(from) && e.at < at(to)).cloned().collect()
    };

    let all = store.events_between(None, None).await.unwrap();
    assert_eq!(all, [first.clone(), second.clone()].concat());

    // `from` is included, `to` is not: minutes 2, 3 and 4.
    let middle = store.events_between(Some(at(2)), Some(at(5))).await.unwrap();
    assert_eq!(middle.len(), 3);
    assert_eq!(middle, [in_range(first, 2, 5), in_range(second, 2, 5)].concat());

    let since = store.events_between(Some(at(4)), None).await.unwrap();
    assert_eq!(since, [in_range(first, 4, 59), in_range(second, 4, 59)].concat());

    let until = store.events_between(None, Some(at(1))).await.unwrap();
    assert_eq!(until, vec![log_a[0].clone()]);

    // A nanosecond past an event's time leaves it out.
    let just_after = at(5) + Duration::nanoseconds(1);
    let tail = store.events_between(Some(just_after), None).await.unwrap();
    assert_eq!(tail, Vec::<Event>::new());
}

pub(crate) async fn concurrent_appends_with_the_same_expected_seq_let_exactly_one_win(
    store: &dyn Store,
) {
    let row = two_event_conversation(store).await;
    let customer = Actor::Customer(row.customer_id);
    let mut next = row.clone();
    next.last_seq = 3;
    let mut contenders = Vec::new();
    for n in 0..8 {
        let text = format!("attempt {n}");
        contenders.push(message(row.id, 3, 2, customer, &text, None));
    }

    let outcomes = all_at_once(store, &contenders, &next).await;

    let winners: Vec<usize> = (0..outcomes.len()).filter(|&i| outcomes[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    for outcome in &outcomes {
        if let Err(err) = outcome {
            assert!(matches!(err, StoreError::Conflict { expected: 2, found: 3 }), "{err:?}");
        }
    }
    let log = store.events(row.id, 0).await.unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[2], contenders[winners[0]]);
}

async fn a_copilot_pulse_is_kept_once_per_agent_and_week(store: &dyn Store) {
    let (agent, other) = (AgentId::new(), AgentId::new());
    let pulse = |agent, week: &str, score, minute| crate::CopilotPulse {
        agent_id: agent,
        week: week.into(),
        score,
        at: at(minute),
    };

    assert!(store.record_pulse(&pulse(agent, "2026-W10", 4, 1)).await.unwrap());
    assert!(!store.record_pulse(&pulse(agent, "2026-W10", 1, 2)).await.unwrap());
    assert!(store.record_pulse(&pulse(other, "2026-W10", 2, 3)).await.unwrap());
    assert!(store.record_pulse(&pulse(agent, "2026-W11", 5, 9)).await.unwrap());

    assert_eq!(store.pulse(agent, "2026-W10").await.unwrap(), Some(pulse(agent, "2026-W10", 4, 1)));
    assert_eq!(store.pulse(other, "2026-W11").await.unwrap(), None);
    let scores =
        |pulses: Vec<crate::CopilotPulse>| pulses.iter().map(|p| p.score).collect::<Vec<_>>();
    assert_eq!(scores(store.pulses(None, None).await.unwrap()), vec![4, 2, 5]);
    assert_eq!(scores(store.pulses(Some(at(2)), Some(at(9))).await.unwrap()), vec![2]);
}

/// Run one append per contender at the same time, on one task, so that the
/// back end (not the test's scheduling) decides who wins.
async fn all_at_once(
    store: &dyn Store,
    contenders: &[Event],
    summary: &ConversationSummary,
) -> Vec<Result<(), StoreError>> {
    let mut pending: Vec<_> = contenders
        .iter()
        .map(|event| store.append(2, std::slice::from_ref(event), summary))
        .collect();
    let mut outcomes: Vec<Option<Result<(), StoreError>>> =
        (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (future, outcome) in pending.iter_mut().zip(outcomes.iter_mut()) {
            if outcome.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(result) => *outcome = Some(result),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outcomes.into_iter().flatten().collect()
}

pub(crate) async fn an_agent_email_differing_only_in_case_is_refused(store: &dyn Store) {
    let ana = agent("ana@example.com");
    store.create_agent(&ana).await.unwrap();

    let twin = agent("ANA@Example.com");
    let err = store.create_agent(&twin).await.unwrap_err();

    assert!(matches!(&err, StoreError::DuplicateEmail(e) if e == "ANA@Example.com"), "{err:?}");
    assert_eq!(store.agents().await.unwrap(), vec![ana.clone()]);
    assert_eq!(store.agent_by_email("Ana@EXAMPLE.com").await.unwrap(), Some(ana.clone()));
    assert_eq!(store.agent(twin.id).await.unwrap(), None);
}

pub(crate) async fn agents_read_back_and_change_status(store: &dyn Store) {
    let mut ana = agent("ana@example.com");
    let mut bo = agent("bo@example.com");
    bo.role = AgentRole::Supervisor;
    bo.skills = vec![];
    bo.created_at = at(1);
    store.create_agent(&bo).await.unwrap();
    store.create_agent(&ana).await.unwrap();

    store.set_agent_status(ana.id, AgentStatus::Online).await.unwrap();
    ana.status = AgentStatus::Online;

    assert_eq!(store.agent(ana.id).await.unwrap(), Some(ana.clone()));
    assert_eq!(store.agents().await.unwrap(), vec![ana, bo]);
    assert_eq!(store.agent_by_email("cy@example.com").await.unwrap(), None);
    let err = store.set_agent_status(AgentId::new(), AgentStatus::Away).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

pub(crate) async fn an_agents_capacity_skills_and_hours_are_replaced_together(store: &dyn Store) {
    let mut ana = agent("ana@example.com");
    store.create_agent(&ana).await.unwrap();
    let skills = vec!["es".to_string(), "returns".to_string()];

    store.set_agent_routing(ana.id, 5, &skills, Some("mon-fri 09:00-17:00 UTC")).await.unwrap();
    ana.capacity = 5;
    ana.skills = skills.clone();
    ana.working_hours = Some("mon-fri 09:00-17:00 UTC".into());
    assert_eq!(store.agent(ana.id).await.unwrap(), Some(ana.clone()));

    store.set_agent_routing(ana.id, 1, &[], None).await.unwrap();
    let back = store.agent(ana.id).await.unwrap().unwrap();
    assert_eq!((back.capacity, back.skills, back.working_hours), (1, vec![], None));
    let err = store.set_agent_routing(AgentId::new(), 1, &[], None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

pub(crate) async fn a_token_reads_back_by_its_hash(store: &dyn Store) {
    let customer_token = TokenRecord {
        hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        subject: TokenSubject::Customer(ConversationId::new()),
        created_at: at(0),
        expires_at: Some(at(30)),
    };
    let agent_token = TokenRecord {
        hash: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752".into(),
        subject: TokenSubject::Agent(AgentId::new()),
        created_at: at(1),
        expires_at: None,
    };
    store.create_token(&customer_token).await.unwrap();
    store.create_token(&agent_token).await.unwrap();

    assert_eq!(store.token(&customer_token.hash).await.unwrap(), Some(customer_token));
    assert_eq!(store.token(&agent_token.hash).await.unwrap(), Some(agent_token));
    assert_eq!(store.token("00").await.unwrap(), None);
}

pub(crate) async fn customers_are_found_by_email_in_any_case_or_by_external_id(store: &dyn Store) {
    let mut mia = Customer {
        id: CustomerId::new(),
        name: Some("Mia".into()),
        email: Some("mia@example.com".into()),
        external_id: Some("crm-42".into()),
        profile: json!({"tier": "gold", "always_human": false}),
        created_at: at(0),
    };
    let anonymous = Customer {
        id: CustomerId::new(),
        name: None,
        email: None,
        external_id: None,
        profile: json!({}),
        created_at: at(1),
    };
    store.upsert_customer(&mia).await.unwrap();
    store.upsert_customer(&anonymous).await.unwrap();

    mia.name = Some("Mia Lund".into());
    mia.profile = json!({"tier": "platinum"});
    store.upsert_customer(&mia).await.unwrap();

    assert_eq!(store.customer(mia.id).await.unwrap(), Some(mia.clone()));
    assert_eq!(store.customer(anonymous.id).await.unwrap(), Some(anonymous));
    assert_eq!(
        store.find_customer(Some("MIA@example.COM"), None).await.unwrap(),
        Some(mia.clone())
    );
    assert_eq!(store.find_customer(None, Some("crm-42")).await.unwrap(), Some(mia.clone()));
    assert_eq!(
        store.find_customer(Some("nobody@example.com"), Some("crm-42")).await.unwrap(),
        Some(mia)
    );
    assert_eq!(store.find_customer(Some("x@example.com"), None).await.unwrap(), None);
    assert_eq!(store.find_customer(None, None).await.unwrap(), None);
}

/// A fresh store for one case, and whatever must be cleaned up after it.
pub(crate) struct Backend {
    pub store: Arc<dyn Store>,
    /// Kept so that the directory lives as long as the store.
    _dir: Option<tempfile::TempDir>,
    /// The server and name of a database created for this case alone.
    database: Option<(PgConnectOptions, String)>,
}

impl Backend {
    pub async fn sqlite_file() -> Option<Backend> {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("data")).await.unwrap();
        Some(Backend { store: Arc::new(store), _dir: Some(dir), database: None })
    }

    pub async fn sqlite_memory() -> Option<Backend> {
        let store = SqliteStore::in_memory().await.unwrap();
        Some(Backend { store: Arc::new(store), _dir: None, database: None })
    }

    /// A new database on the test server, or `None` (after saying so) when
    /// there is no server to connect to.
    pub async fn postgres() -> Option<Backend> {
        let url = std::env::var("BATON_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let server = PgConnectOptions::from_str(&url)
            .unwrap_or_else(|e| panic!("BATON_TEST_POSTGRES_URL is not a PostgreSQL URL: {e}"));
        let connecting = PgConnection::connect_with(&server);
        let mut admin =
            match tokio::time::timeout(std::time::Duration::from_secs(5), connecting).await {
                Ok(Ok(admin)) => admin,
                Ok(Err(e)) => return skip(&server, &e.to_string()),
                Err(_) => return skip(&server, "no answer within 5 s"),
            };

        let name = format!("baton_test_{}", ConversationId::new().to_string().replace('-', ""));
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
        admin.close().await.unwrap();
        let store = PostgresStore::connect_with(server.clone().database(&name)).await.unwrap();
        Some(Backend { store: Arc::new(store), _dir: None, database: Some((server, name)) })
    }

    /// Drop the case's database, if it had one.
    pub async fn finish(self) {
        drop(self.store);
        let Some((server, name)) = self.database else {
            return;
        };
        let mut admin = PgConnection::connect_with(&server).await.unwrap();
        // FORCE ends the store's pooled connections that are still closing.
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
    }
}

/// Say on the real standard error (the test harness hides `eprintln!` of
/// passing tests) that a PostgreSQL case did not run, and why.
/// The server is named without the URL, which may hold a password.
fn skip(server: &PgConnectOptions, why: &str) -> Option<Backend> {
    let (host, port) = (server.get_host(), server.get_port());
    let database = server.get_database().unwrap_or("(default)");
    let note = format!(
        "note: PostgreSQL store case skipped: cannot connect to database {database} on \
         {host}:{port} ({why}); \
         set BATON_TEST_POSTGRES_URL to a server where databases may be created\n"
    );
    let _ = std::io::stderr().write_all(note.as_bytes());
    None
}

/// One `#[tokio::test]` per conformance case, in a module per back end.
macro_rules! conformance_tests {
    ($($backend:ident),* $(,)?) => {
        $(
            conformance_tests!(@backend $backend;
                appended_events_read_back_equal,
                a_second_append_continues_the_log_and_replaces_the_summary,
                message_text_reads_back_exactly_whatever_its_characters,
                a_stale_expected_last_seq_is_a_conflict_and_writes_nothing,
                appending_to_an_existing_conversation_as_new_is_a_conflict,
                a_duplicate_client_id_is_refused_and_writes_nothing,
                a_client_id_repeated_within_one_batch_is_refused_and_writes_nothing,
                a_client_id_is_unique_per_conversation_and_only_for_customers,
                message_by_client_id_finds_the_seq_of_the_message,
                an_append_that_skips_a_seq_is_invalid_and_writes_nothing,
                the_queue_is_ordered_by_priority_then_by_waiting_time,
                events_between_returns_the_range_by_conversation_then_seq,
                concurrent_appends_with_the_same_expected_seq_let_exactly_one_win,
                an_agent_email_differing_only_in_case_is_refused,
                agents_read_back_and_change_status,
                a_token_reads_back_by_its_hash,
                an_agents_capacity_skills_and_hours_are_replaced_together,
                customers_are_found_by_email_in_any_case_or_by_external_id,
                a_copilot_pulse_is_kept_once_per_agent_and_week,
            );
        )*
    };
    (@backend $backend:ident; $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(backend) = super::Backend::$backend().await else {
                        return;
                    };
                    let store = backend.store.clone();
                    // On its own task so that a failed assertion still lets
                    // the back end clean up before the test reports it.
                    let outcome = tokio::spawn(async move {
                        super::$case(store.as_ref()).await
                    })
                    .await;
                    backend.finish().await;
                    if let Err(failure) = outcome {
                        std::panic::resume_unwind(failure.into_panic());
                    }
                }
            )*
        }
    };
}

conformance_tests!(sqlite_file, sqlite_memory, postgres);
