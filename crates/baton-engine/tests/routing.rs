//! Routing through the whole engine on a copy of the demo workspace with
//! its queues replaced: which queue, in what order, to which agent, and
//! when an SLA breaks, on a manual clock.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use baton_core::{Actor, AgentId, ConversationId, EventKind, ManualClock, Stage};
use baton_engine::routing::AssignOptions;
use baton_engine::workspace::Workspace;
use baton_engine::{CustomerDetails, Engine, EngineError, LocalBus};
use baton_store::{Agent, AgentRole, AgentStatus, SqliteStore, Store};
use common::{analyzer, copy_dir, demo_dir};

/// Tuesday 2026-01-06 09:00 in Chicago: the demo desk is open.
fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-06T15:00:00Z").unwrap().to_utc()
}

struct App {
    engine: Engine,
    clock: Arc<ManualClock>,
    db: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

/// The engine on the demo workspace whose `[queues.*]` are replaced by
/// `queues`; requests for a person route to the `desk` queue.
async fn app(queues: &str) -> App {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&demo_dir(), dir.path());
    let settings_path = dir.path().join("workspace.toml");
    let settings = std::fs::read_to_string(&settings_path).unwrap();
    let from = settings.find("[queues.general]").unwrap();
    let to = settings.find("[knowledge]").unwrap();
    let edited = format!("{}{queues}\n{}", &settings[..from], &settings[to..]);
    std::fs::write(&settings_path, edited).unwrap();
    let workspace = Workspace::load(dir.path()).unwrap();

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
    App { engine, clock, db, _dir: dir }
}

const AUTO_DESK: &str = "[queues.desk]\nintents = [\"talk_to_human\"]\nassignment = \"auto\"\n\
                         sla_first_response_minutes = 10\n";
const PULL_DESK: &str = "[queues.desk]\nintents = [\"talk_to_human\"]\nassignment = \"pull\"\n\
                         sla_first_response_minutes = 10\n";

impl App {
    async fn agent(&self, name: &str, status: AgentStatus, capacity: u32) -> AgentId {
        self.account(name, AgentRole::Agent, status, capacity).await
    }

    async fn supervisor(&self, name: &str) -> AgentId {
        self.account(name, AgentRole::Supervisor, AgentStatus::Online, 5).await
    }

    async fn account(
        &self,
        name: &str,
        role: AgentRole,
        status: AgentStatus,
        capacity: u32,
    ) -> AgentId {
        let agent = Agent {
            id: AgentId::new(),
            email: format!("{}@example.com", name.to_lowercase()),
            name: name.into(),
            password_hash: String::new(),
            role,
            status,
            capacity,
            skills: vec!["en".into()],
            working_hours: None,
            created_at: self.clock.now_for_test(),
        };
        self.db.create_agent(&agent).await.unwrap();
        agent.id
    }

    async fn customer(&self, email: Option<&str>) -> ConversationId {
        let details = CustomerDetails { email: email.map(Into::into), ..Default::default() };
        self.engine.start_conversation("web", details).await.unwrap().id
    }

    /// A new conversation whose customer asks for a person at once.
    async fn escalated(&self) -> ConversationId {
        let id = self.customer(None).await;
        self.say(id, "I want to talk to a human").await;
        id
    }

    async fn say(&self, id: ConversationId, text: &str) -> Stage {
        self.engine.customer_message(id, text, None).await.unwrap().stage
    }

    async fn stage_and_agent(&self, id: ConversationId) -> (Stage, Option<AgentId>) {
        let state = self.engine.conversation(id).await.unwrap();
        (state.stage, state.assigned_agent)
    }

    async fn count(&self, id: ConversationId, type_name: &str) -> usize {
        let events = self.engine.events(id, 0).await.unwrap();
        events.iter().filter(|e| e.kind.type_name() == type_name).count()
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

trait TestClock {
    fn now_for_test(&self) -> DateTime<Utc>;
}

impl TestClock for ManualClock {
    fn now_for_test(&self) -> DateTime<Utc> {
        baton_core::Clock::now(self)
    }
}

#[tokio::test]
async fn an_auto_queue_fills_an_agent_up_to_capacity_and_no_further() {
    let app = app(AUTO_DESK).await;
    let ana = app.agent("Ana", AgentStatus::Online, 1).await;

    let first = app.escalated().await;
    app.advance(Duration::minutes(1));
    let second = app.escalated().await;

    assert_eq!(app.stage_and_agent(first).await, (Stage::Human, Some(ana)));
    assert_eq!(app.stage_and_agent(second).await, (Stage::Queued, None));
    assert_eq!(app.engine.queue().await.unwrap().len(), 1);

    // A take past capacity is refused with the numbers.
    let by = Actor::Agent(ana);
    let err = app.engine.assign(second, ana, by, false).await.unwrap_err();
    assert!(matches!(&err, EngineError::Conflict(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Ana is at capacity (1 of 1 conversations); resolve or hand back one first"
    );

    // Her seat frees up: the waiting one is hers at once.
    app.engine.resolve(first, by).await.unwrap();
    assert_eq!(app.stage_and_agent(second).await, (Stage::Human, Some(ana)));
}

#[tokio::test]
async fn a_supervisor_may_assign_past_capacity_only_when_asking_for_it() {
    let app = app(PULL_DESK).await;
    let ana = app.agent("Ana", AgentStatus::Online, 1).await;
    let first = app.escalated().await;
    let second = app.escalated().await;
    app.engine.assign(first, ana, Actor::Agent(ana), false).await.unwrap();
    let sam = app.supervisor("Sam").await;
    let by = Actor::Agent(sam);

    let err = app.engine.assign(second, ana, by, true).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Ana is at capacity (1 of 1 conversations); a supervisor can assign anyway with \
         `over_capacity: true`"
    );
    let options = AssignOptions { transfer: true, over_capacity: true, note: None };
    let state = app.engine.assign_with(second, ana, by, options.clone()).await.unwrap();
    assert_eq!((state.stage, state.assigned_agent), (Stage::Human, Some(ana)));

    // An agent cannot override capacity.
    let third = app.escalated().await;
    let err = app.engine.assign_with(third, ana, Actor::Agent(ana), options).await.unwrap_err();
    assert!(matches!(err, EngineError::Forbidden(_)), "{err:?}");
}

#[tokio::test]
async fn within_one_priority_the_first_to_wait_is_the_first_taken() {
    let app = app(PULL_DESK).await;
    let ana = app.agent("Ana", AgentStatus::Online, 5).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(app.escalated().await);
        app.advance(Duration::minutes(2));
    }

    let queue = app.engine.queue().await.unwrap();
    let order: Vec<ConversationId> = queue.iter().map(|e| e.conversation.id).collect();
    let positions: Vec<usize> = queue.iter().map(|e| e.position).collect();
    assert_eq!(order, ids);
    assert_eq!(positions, vec![1, 2, 3]);
    assert!(queue.iter().all(|e| e.conversation.queue.as_deref() == Some("desk")));

    let taken = app.engine.take_next(ana).await.unwrap().unwrap();
    assert_eq!(taken.id, ids[0]);
    let taken = app.engine.take_next(ana).await.unwrap().unwrap();
    assert_eq!(taken.id, ids[1]);
}

#[tokio::test]
async fn an_angry_vip_waits_ahead_of_a_calm_first_time_customer() {
    let app = app(PULL_DESK).await;
    let calm = app.escalated().await;
    app.advance(Duration::minutes(1));

    let vip = app.customer(Some("vera@example.com")).await;
    let mut customer = app.db.find_customer(Some("vera@example.com"), None).await.unwrap().unwrap();
    customer.profile = json!({"tier": "vip"});
    app.db.upsert_customer(&customer).await.unwrap();
    app.say(vip, "This is ridiculous, I am furious! Let me talk to a human now!").await;

    let queue = app.engine.queue().await.unwrap();
    let order: Vec<ConversationId> = queue.iter().map(|e| e.conversation.id).collect();
    assert_eq!(order, vec![vip, calm]);
    assert_eq!(queue[1].conversation.priority, 1);

    // The escalation says why: the reason's base and the tier's two points.
    let state = app.engine.conversation(vip).await.unwrap();
    let Some(EventKind::Escalated { evidence, priority, .. }) = state.escalation.map(|e| e.kind)
    else {
        panic!("the VIP was not escalated")
    };
    let factors = evidence["priority"]["factors"].as_array().unwrap();
    let tier = factors.iter().find(|f| f["factor"] == "tier").unwrap();
    assert_eq!(tier["points"], 2);
    assert_eq!(tier["why"], "the customer's tier is `vip`");
    let sum: i64 = factors.iter().map(|f| f["points"].as_i64().unwrap()).sum();
    assert_eq!(sum, i64::from(priority));
    assert_eq!(evidence["priority"]["value"], priority);
    assert!(priority >= 3, "{evidence}");
}

#[tokio::test]
async fn waiting_raises_the_priority_until_an_old_conversation_overtakes_a_louder_new_one() {
    let app = app(PULL_DESK).await;
    let calm = app.escalated().await;
    app.advance(Duration::minutes(31));
    let vip = app.customer(Some("vic@example.com")).await;
    let mut customer = app.db.find_customer(Some("vic@example.com"), None).await.unwrap().unwrap();
    customer.profile = json!({"tier": "vip"});
    app.db.upsert_customer(&customer).await.unwrap();
    app.say(vip, "I want to talk to a human").await;

    // 31 minutes of waiting are two points (one per 15): 1 + 2 = 3, level
    // with the VIP's 1 + 2, and the older one goes first.
    let queue = app.engine.queue().await.unwrap();
    let order: Vec<(ConversationId, i32)> =
        queue.iter().map(|e| (e.conversation.id, e.effective_priority)).collect();
    assert_eq!(order, vec![(calm, 3), (vip, 3)]);
}

#[tokio::test]
async fn an_offline_or_away_agent_is_never_given_a_conversation() {
    let app = app(AUTO_DESK).await;
    let off = app.agent("Otto", AgentStatus::Offline, 3).await;
    let _away = app.agent("Ada", AgentStatus::Away, 3).await;

    let id = app.escalated().await;
    assert_eq!(app.stage_and_agent(id).await, (Stage::Queued, None));
    assert_eq!(app.engine.dispatch().await.unwrap(), 0);
    let err = app.engine.assign(id, off, Actor::System, false).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Otto is offline; conversations go only to agents who are online or away"
    );

    // Otto comes online: the next dispatch gives it to him.
    app.db.set_agent_status(off, AgentStatus::Online).await.unwrap();
    assert_eq!(app.engine.dispatch().await.unwrap(), 1);
    assert_eq!(app.stage_and_agent(id).await, (Stage::Human, Some(off)));
}

#[tokio::test]
async fn an_agent_outside_their_working_hours_is_not_auto_assigned() {
    let app = app(AUTO_DESK).await;
    let ana = app.agent("Ana", AgentStatus::Online, 3).await;
    // 15:00 UTC on a Tuesday is before her 16:00 start.
    app.db
        .set_agent_routing(ana, 3, &["en".into()], Some("mon-fri 16:00-22:00 UTC"))
        .await
        .unwrap();

    let id = app.escalated().await;
    assert_eq!(app.stage_and_agent(id).await, (Stage::Queued, None));

    app.advance(Duration::hours(1));
    let swept = app.engine.sweep(app.clock.now_for_test()).await.unwrap();
    assert_eq!(swept.assigned, 1);
    assert_eq!(app.stage_and_agent(id).await, (Stage::Human, Some(ana)));
}

#[tokio::test]
async fn a_reopened_conversation_whose_agent_is_offline_goes_back_to_the_queue() {
    let app = app(PULL_DESK).await;
    let ana = app.agent("Ana", AgentStatus::Online, 3).await;
    let id = app.escalated().await;
    app.engine.take_next(ana).await.unwrap().unwrap();
    app.engine.agent_message(id, ana, "Hello, I'm on it.", None).await.unwrap();
    app.engine.resolve(id, Actor::Agent(ana)).await.unwrap();

    app.db.set_agent_status(ana, AgentStatus::Offline).await.unwrap();
    app.advance(Duration::minutes(10));
    let stage = app.say(id, "Sorry, one more thing about my order").await;

    assert_eq!(stage, Stage::Queued);
    let state = app.engine.conversation(id).await.unwrap();
    let Some(EventKind::Escalated { reason, evidence, queue, .. }) =
        state.escalation.map(|e| e.kind)
    else {
        panic!("not escalated again")
    };
    assert_eq!(reason.as_str(), "agent_unavailable");
    assert_eq!(evidence["status"], "offline");
    assert_eq!(queue, "general");
    assert_eq!(app.count(id, "reopened").await, 1);
}

#[tokio::test]
async fn a_reopened_conversation_goes_back_to_its_agent_when_they_are_online() {
    let app = app(PULL_DESK).await;
    let ana = app.agent("Ana", AgentStatus::Online, 3).await;
    let id = app.escalated().await;
    app.engine.take_next(ana).await.unwrap().unwrap();
    app.engine.resolve(id, Actor::Agent(ana)).await.unwrap();

    app.advance(Duration::minutes(10));
    assert_eq!(app.say(id, "Sorry, one more thing").await, Stage::Human);
    assert_eq!(app.stage_and_agent(id).await, (Stage::Human, Some(ana)));
}

#[tokio::test]
async fn an_sla_breach_is_raised_once_and_not_before_the_target_has_passed() {
    let app = app(PULL_DESK).await;
    let id = app.escalated().await;
    let escalated_at = start_time();
    let due = escalated_at + Duration::minutes(10);

    let entry = app.engine.queue().await.unwrap().remove(0);
    assert_eq!(entry.sla_due_at, Some(due));
    assert!(!entry.sla_breached);

    // At the due instant the target is still met.
    assert_eq!(app.engine.sweep(due).await.unwrap().breaches, vec![]);
    assert_eq!(app.count(id, "sla_breached").await, 0);

    app.clock.set(due + Duration::seconds(1));
    assert_eq!(app.engine.sweep(due + Duration::seconds(1)).await.unwrap().breaches, vec![id]);
    app.clock.set(due + Duration::minutes(30));
    assert_eq!(app.engine.sweep(due + Duration::minutes(30)).await.unwrap().breaches, vec![]);

    let events = app.engine.events(id, 0).await.unwrap();
    let breaches: Vec<&EventKind> =
        events.iter().map(|e| &e.kind).filter(|k| k.type_name() == "sla_breached").collect();
    assert_eq!(
        breaches,
        vec![&EventKind::SlaBreached { queue: "desk".into(), due_at: due, target_minutes: 10 }]
    );
    let entry = app.engine.queue().await.unwrap().remove(0);
    assert!(entry.sla_breached);
}

#[tokio::test]
async fn a_first_agent_reply_in_time_stops_the_sla_clock() {
    let app = app(PULL_DESK).await;
    let ana = app.agent("Ana", AgentStatus::Online, 3).await;
    let id = app.escalated().await;
    app.advance(Duration::minutes(5));
    app.engine.take_next(ana).await.unwrap().unwrap();
    app.engine.agent_message(id, ana, "Hi, I'm here.", None).await.unwrap();

    let later = start_time() + Duration::hours(2);
    assert_eq!(app.engine.sweep(later).await.unwrap().breaches, vec![]);
    assert_eq!(app.count(id, "sla_breached").await, 0);
}

#[tokio::test]
async fn a_transfer_to_another_queue_keeps_the_packet_and_adds_the_note() {
    let queues = format!(
        "{PULL_DESK}\n[queues.billing]\nintents = [\"refund_request\"]\nskill = \"billing\"\n\
         sla_first_response_minutes = 15\n"
    );
    let app = app(&queues).await;
    let ana = app.agent("Ana", AgentStatus::Online, 3).await;
    let id = app.escalated().await;
    app.engine.take_next(ana).await.unwrap().unwrap();
    let packet = app.engine.conversation(id).await.unwrap().handoff;
    assert!(packet.is_some());

    let note = Some("Refund over the limit, needs billing".to_string());
    let state = app.engine.transfer_to_queue(id, "billing", ana, note).await.unwrap();

    assert_eq!((state.stage, state.assigned_agent), (Stage::Queued, None));
    assert_eq!(state.queue.as_deref(), Some("billing"));
    assert_eq!(state.handoff, packet);
    let events = app.engine.events(id, 0).await.unwrap();
    let notes: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::NoteAdded { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(notes, vec!["Refund over the limit, needs billing"]);
    // Ana lacks the billing skill, so "take next" has nothing for her.
    assert!(app.engine.take_next(ana).await.unwrap().is_none());

    let err = app.engine.transfer_to_queue(id, "nowhere", ana, None).await.unwrap_err();
    assert_eq!(err.to_string(), "no queue named `nowhere`; the queues are billing, desk, general");
}

#[tokio::test]
async fn a_message_left_while_nobody_can_take_it_becomes_a_follow_up() {
    let app = app(PULL_DESK).await;
    let id = app.escalated().await;

    let stage = app.say(id, "I'll be away, please call me back tomorrow").await;
    app.say(id, "and my order is W2378156").await;

    assert_eq!(stage, Stage::Queued);
    assert_eq!(app.count(id, "follow_up_requested").await, 1);
    let entry = app.engine.queue().await.unwrap().remove(0);
    assert!(entry.follow_up);

    // Still assignable later, by hand.
    let ana = app.agent("Ana", AgentStatus::Online, 3).await;
    let taken = app.engine.take_next(ana).await.unwrap().unwrap();
    assert_eq!((taken.id, taken.stage), (id, Stage::Human));
}

#[tokio::test]
async fn an_agent_going_offline_puts_what_they_hold_back_and_an_auto_queue_gives_it_on() {
    let app = app(AUTO_DESK).await;
    let ana = app.agent("Ana", AgentStatus::Online, 3).await;
    let id = app.escalated().await;
    assert_eq!(app.stage_and_agent(id).await, (Stage::Human, Some(ana)));
    let ben = app.agent("Ben", AgentStatus::Online, 3).await;

    let requeued = app.engine.set_agent_status(ana, AgentStatus::Offline).await.unwrap();

    assert_eq!(requeued, vec![id]);
    assert_eq!(app.stage_and_agent(id).await, (Stage::Human, Some(ben)));
    let events = app.engine.events(id, 0).await.unwrap();
    let moves: Vec<&EventKind> =
        events.iter().map(|e| &e.kind).filter(|k| k.type_name() == "requeued").collect();
    let expected = EventKind::Requeued {
        queue: "desk".into(),
        priority: 1,
        evidence: json!({
            "reason": "agent_unavailable",
            "status": "offline",
            "from_queue": "desk",
            "from_agent": ana,
        }),
        note: None,
    };
    assert_eq!(moves, vec![&expected]);
    let err = app.engine.agent_message(id, ana, "Still here?", None).await.unwrap_err();
    assert_eq!(err.to_string(), "the conversation is assigned to another agent");
}

#[tokio::test]
async fn an_agent_going_offline_leaves_a_pull_queue_conversation_waiting_for_the_next_taker() {
    let app = app(PULL_DESK).await;
    let ana = app.agent("Ana", AgentStatus::Online, 3).await;
    let id = app.escalated().await;
    app.engine.take_next(ana).await.unwrap().unwrap();
    let packet = app.engine.conversation(id).await.unwrap().handoff;

    app.engine.set_agent_status(ana, AgentStatus::Offline).await.unwrap();

    let state = app.engine.conversation(id).await.unwrap();
    assert_eq!((state.stage, state.assigned_agent), (Stage::Queued, None));
    assert_eq!(state.handoff, packet);
    let queue: Vec<ConversationId> =
        app.engine.queue().await.unwrap().into_iter().map(|e| e.conversation.id).collect();
    assert_eq!(queue, vec![id]);
    // The customer's next message is answered from the queue, not lost.
    assert_eq!(app.say(id, "Hello? Anyone there?").await, Stage::Queued);
    let bob = app.agent("Bob", AgentStatus::Online, 3).await;
    let taken = app.engine.take_next(bob).await.unwrap().unwrap();
    assert_eq!((taken.id, taken.assigned_agent), (id, Some(bob)));
}

#[tokio::test]
async fn a_second_escalation_after_a_hand_back_still_carries_the_order_number() {
    let app = app(PULL_DESK).await;
    let ana = app.agent("Ana", AgentStatus::Online, 3).await;
    let id = app.customer(None).await;
    app.say(id, "My order W2378156 arrived broken, I want to talk to a human").await;
    app.engine.take_next(ana).await.unwrap().unwrap();
    app.engine.hand_back(id, ana, None).await.unwrap();

    assert_eq!(app.say(id, "I want to talk to a human").await, Stage::Queued);

    let packet = app.engine.conversation(id).await.unwrap().handoff.unwrap();
    let orders: Vec<&str> = packet["entities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "order_number")
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(orders, vec!["W2378156"]);
    assert_eq!(
        packet["key_sentences"][0],
        "My order W2378156 arrived broken, I want to talk to a human"
    );
    assert_eq!(packet["sentiment"].as_array().unwrap().len(), 1);
}
