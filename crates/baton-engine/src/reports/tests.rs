//! Every metric asserted to its exact value on a fixture of conversations
//! driven through the real engine on the demo workspace, with a manual
//! clock so that each timestamp is known; and the metrics no engine path
//! writes yet (tool calls, approvals, suggestions) on a hand-built log.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use baton_core::{Actor, AgentId, ConversationId, CustomerId, Event, EventKind, ManualClock};
use baton_nlu::Analyzer;
use baton_store::{Agent, AgentRole, AgentStatus, SqliteStore, Store};

use super::audit::{audit, Recommendation};
use super::*;
use crate::engine::{CustomerDetails, Engine};
use crate::workspace::Workspace;
use crate::LocalBus;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(seconds)
}

fn demo() -> &'static (Workspace, Arc<Analyzer>) {
    static DEMO: OnceLock<(Workspace, Arc<Analyzer>)> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo");
        let workspace = Workspace::load(&dir).unwrap();
        let (analyzer, _) = crate::model::load_or_train(&workspace, None).unwrap();
        (workspace, Arc::new(analyzer))
    })
}

/// The log of the fixture and the two agents in it.
struct Fixture {
    events: Vec<Event>,
    avery: AgentId,
    blake: AgentId,
}

fn agent(name: &str, email: &str) -> Agent {
    Agent {
        id: AgentId::new(),
        email: email.into(),
        name: name.into(),
        password_hash: "not used in this test".into(),
        role: AgentRole::Agent,
        status: AgentStatus::Online,
        capacity: 3,
        skills: vec![],
        working_hours: None,
        created_at: t0(),
    }
}

/// Five conversations, their times in seconds after 09:00 UTC:
///
/// - A (web, 0): order question twice (a repeated question), goodbye at 60:
///   resolved by the AI, rated 5 at 90. Contained.
/// - B (web, 600): asks for a person at 620; Avery takes it at 740, writes
///   at 770; Blake takes it over at 800 and resolves at 1070; rated 2.
/// - C (email, 1200): order question, goodbye at 1230, back at 1830 with a
///   new question (reopened within the window), goodbye at 1860. Unrated.
/// - D (email, 2400): a complaint at 2410, a human-only intent; never taken.
/// - E (web, 3000): asks for an agent at 3010; Avery takes it at 3070,
///   writes at 3100, hands it back at 3370; goodbye to the AI at 3430.
async fn fixture() -> Fixture {
    let (workspace, analyzer) = demo();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = Engine::new(
        Arc::new(workspace.clone()),
        analyzer.clone(),
        store.clone(),
        clock.clone(),
        Arc::new(LocalBus::new()),
    );
    let (avery, blake) =
        (agent("Avery Quill", "avery@example.com"), agent("Blake Fenn", "blake@example.com"));
    store.create_agent(&avery).await.unwrap();
    store.create_agent(&blake).await.unwrap();
    let (avery, blake) = (avery.id, blake.id);
    let start = |channel: &'static str| {
        let engine = &engine;
        async move { engine.start_conversation(channel, CustomerDetails::default()).await }
    };
    let set = |seconds: i64| clock.set(at(seconds));

    set(0);
    let a = start("web").await.unwrap().id;
    set(10);
    engine.customer_message(a, "where is my order", None).await.unwrap();
    set(30);
    engine.customer_message(a, "where is my order", None).await.unwrap();
    set(60);
    engine.customer_message(a, "thanks, that's all", None).await.unwrap();
    set(90);
    engine.csat(a, 5, None).await.unwrap();

    set(600);
    let b = start("web").await.unwrap().id;
    set(620);
    engine.customer_message(b, "I want to talk to a human", None).await.unwrap();
    set(740);
    engine.assign(b, avery, Actor::Agent(avery), false).await.unwrap();
    set(770);
    engine.agent_message(b, avery, "Hello, I can help with that.", None).await.unwrap();
    set(800);
    engine.assign(b, blake, Actor::Agent(avery), true).await.unwrap();
    set(1070);
    engine.resolve(b, Actor::Agent(blake)).await.unwrap();
    set(1130);
    engine.csat(b, 2, Some("slow".into())).await.unwrap();

    set(1200);
    let c = start("email").await.unwrap().id;
    set(1210);
    engine.customer_message(c, "where is my order", None).await.unwrap();
    set(1230);
    engine.customer_message(c, "thanks, that's all", None).await.unwrap();
    set(1830);
    engine.customer_message(c, "where is my order", None).await.unwrap();
    set(1860);
    engine.customer_message(c, "thanks, that's all", None).await.unwrap();

    set(2400);
    let d = start("email").await.unwrap().id;
    set(2410);
    engine.customer_message(d, "I want to make a complaint", None).await.unwrap();

    set(3000);
    let e = start("web").await.unwrap().id;
    set(3010);
    engine.customer_message(e, "agent please", None).await.unwrap();
    set(3070);
    engine.assign(e, avery, Actor::Agent(avery), false).await.unwrap();
    set(3100);
    engine.agent_message(e, avery, "Hi, Avery here.", None).await.unwrap();
    set(3370);
    engine.hand_back(e, avery, None).await.unwrap();
    set(3430);
    engine.customer_message(e, "thanks, that's all", None).await.unwrap();

    let events = store.events_between(None, None).await.unwrap();
    Fixture { events, avery, blake }
}

fn durations(count: usize, median: i64, p90: i64) -> Durations {
    Durations { count, median_seconds: Some(median), p90_seconds: Some(p90) }
}

fn distribution(counts: [usize; 5]) -> BTreeMap<String, usize> {
    (1..=5).map(|s| s.to_string()).zip(counts).collect()
}

#[tokio::test]
async fn the_summary_of_the_fixture_has_every_metric_at_its_exact_value() {
    let f = fixture().await;
    let settings = &demo().0.settings;
    let s = summary(&f.events, &Filter::default(), settings);

    assert_eq!(s.conversations, 5);
    assert_eq!(s.resolved, 4);
    assert_eq!(s.contained, 1);
    assert_eq!(s.containment_rate, Some(0.2));
    assert_eq!(s.escalated, 3);
    assert_eq!(s.escalation_rate, Some(0.6));
    let reasons: Vec<(&str, usize)> = s
        .escalations_by_reason
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| (r.as_str(), *n))
        .collect();
    assert_eq!(reasons, vec![("human_only_intent", 1), ("human_requested", 2)]);
    assert_eq!(s.escalations_by_reason.len(), EscalationReason::ALL.len());

    // Every first reply of the AI is written in the customer's own turn.
    assert_eq!(s.first_response_bot, durations(5, 0, 0));
    // B: 770 - 620; E: 3100 - 3010.
    assert_eq!(s.first_response_human, durations(2, 90, 150));
    // B: 740 - 620; E: 3070 - 3010; D still waits and has no sample.
    assert_eq!(s.time_to_human, durations(2, 60, 120));
    // B: 60 with Avery + 270 with Blake; E: 300 with Avery.
    assert_eq!(s.handle_time, durations(2, 300, 330));
    // A 60, B 470, C 30 (its first resolution), E 430.
    assert_eq!(s.resolution_time, durations(4, 60, 470));

    // Asked once on A, B and E, twice on C; answered on A and B.
    assert_eq!(s.csat.requested, 5);
    assert_eq!(s.csat.received, 2);
    assert_eq!(s.csat.response_rate, Some(0.4));
    assert_eq!(s.csat.average, Some(3.5));
    assert_eq!(s.csat.distribution, distribution([0, 1, 0, 0, 1]));

    // Customer messages in resolved conversations: A 3, B 1, C 4, E 2.
    assert_eq!(s.effort.turns_per_resolution, Some(2.5));
    assert_eq!(s.effort.repeated_questions, 1);
    assert_eq!(s.effort.transfers, 1);

    assert!(s.tools.is_empty());
    assert_eq!(s.approvals, Approvals::default());
    assert!(s.suggestions.is_empty());

    // The period runs from A's start to E's hand-back: 3370 seconds.
    let occupancy: Vec<(String, f64)> = s.agent_occupancy.into_iter().collect();
    let mut expected =
        vec![(f.avery.to_string(), 360.0 / 3370.0), (f.blake.to_string(), 270.0 / 3370.0)];
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(occupancy, expected);

    assert_eq!(s.roi.agent_hours_saved, 8.0 / 60.0);
    assert_eq!(
        s.roi.agent_hours_saved_assumption,
        "1 contained conversations x 8 agent minutes each \
         ([reports] agent_minutes_per_conversation)"
    );
    // (630 s at 30 USD/hour = 5.25) + 5 x 0.10 = 5.75, over 4 resolutions.
    let cost = s.roi.cost_per_resolution.unwrap();
    assert!((cost - 1.4375).abs() < 1e-9, "{cost}");
    assert_eq!(
        s.roi.cost_per_resolution_assumption,
        "(630 s of agent handle time at 30 USD/hour + 5 conversations at 0.1 USD of AI each) \
         / 4 resolved"
    );
}

#[tokio::test]
async fn each_filter_keeps_only_its_conversations() {
    let f = fixture().await;
    let settings = &demo().0.settings;
    let count = |filter: Filter| summary(&f.events, &filter, settings).conversations;

    assert_eq!(count(Filter { channel: Some("email".into()), ..Default::default() }), 2);
    assert_eq!(count(Filter { agent: Some(f.blake), ..Default::default() }), 1);
    assert_eq!(count(Filter { agent: Some(f.avery), ..Default::default() }), 2);
    assert_eq!(count(Filter { queue: Some("general".into()), ..Default::default() }), 3);
    assert_eq!(count(Filter { queue: Some("billing".into()), ..Default::default() }), 0);
    assert_eq!(count(Filter { intent: Some("order_status".into()), ..Default::default() }), 2);
    // `from` is inclusive and `to` exclusive: B and C, not D at 2400.
    assert_eq!(count(Filter { from: Some(at(600)), to: Some(at(2400)), ..Default::default() }), 2);
}

/// The headline figures of one report, for comparing filters at a glance:
/// conversations, resolved, contained, escalated, time to a human,
/// resolution time and the CSAT (requested, received, average).
type Headline = (usize, usize, usize, usize, Durations, Durations, (usize, usize, Option<f64>));

fn headline(s: &Summary) -> Headline {
    let c = &s.csat;
    (
        s.conversations,
        s.resolved,
        s.contained,
        s.escalated,
        s.time_to_human.clone(),
        s.resolution_time.clone(),
        (c.requested, c.received, c.average),
    )
}

#[tokio::test]
async fn every_report_answers_every_filter_with_the_figures_of_its_conversations() {
    let f = fixture().await;
    let settings = &demo().0.settings;
    let none = Durations::default();
    let cases: Vec<(&str, Filter, Headline, Vec<&str>)> = vec![
        (
            "period: B and C",
            Filter { from: Some(at(600)), to: Some(at(2400)), ..Default::default() },
            (2, 2, 0, 1, durations(1, 120, 120), durations(2, 30, 470), (3, 1, Some(2.0))),
            vec!["order_status", "talk_to_human"],
        ),
        (
            "queue general: B, D and E",
            Filter { queue: Some("general".into()), ..Default::default() },
            (3, 2, 0, 3, durations(2, 60, 120), durations(2, 430, 470), (2, 1, Some(2.0))),
            vec!["talk_to_human", "complaint"],
        ),
        (
            "intent order_status: A and C",
            Filter { intent: Some("order_status".into()), ..Default::default() },
            (2, 2, 1, 0, none.clone(), durations(2, 30, 60), (3, 1, Some(5.0))),
            vec!["order_status"],
        ),
        (
            "channel email: C and D",
            Filter { channel: Some("email".into()), ..Default::default() },
            (2, 1, 0, 1, none.clone(), durations(1, 30, 30), (2, 0, None)),
            vec!["complaint", "order_status"],
        ),
        (
            "agent Avery: B and E",
            Filter { agent: Some(f.avery), ..Default::default() },
            (2, 2, 0, 2, durations(2, 60, 120), durations(2, 430, 470), (2, 1, Some(2.0))),
            vec!["talk_to_human"],
        ),
    ];
    for (name, filter, expected, intent_names) in cases {
        let s = summary(&f.events, &filter, settings);
        assert_eq!(headline(&s), expected, "{name}");

        // The breakdowns, the series and the audit cover the same set.
        let rows = intents(&f.events, &filter, settings);
        let names: Vec<&str> = rows.iter().map(|r| r.intent.as_str()).collect();
        assert_eq!(names, intent_names, "{name}");
        let audited: Vec<String> =
            audit(&f.events, &filter, settings).into_iter().map(|r| r.intent).collect();
        assert_eq!(audited, intent_names, "{name}");
        let series = timeseries(&f.events, &filter, settings, Bucket::Day);
        let total: usize = series.iter().map(|p| p.conversations).sum();
        assert_eq!(total, s.conversations, "{name}");
        let escalated: usize = series.iter().map(|p| p.escalated).sum();
        assert_eq!(escalated, s.escalated, "{name}");
    }

    // The agent breakdown under a filter: Avery's own figures are those of
    // B and E, and Blake appears through B.
    let names = HashMap::new();
    let filter = Filter { agent: Some(f.avery), ..Default::default() };
    let rows = agents(&f.events, &filter, settings, &names);
    let shape: Vec<(AgentId, usize, usize)> =
        rows.iter().map(|r| (r.agent_id, r.conversations, r.resolved)).collect();
    let mut expected = vec![(f.avery, 2, 0), (f.blake, 1, 1)];
    expected.sort_by_key(|(id, _, _)| *id);
    assert_eq!(shape, expected);
    let filter = Filter { channel: Some("email".into()), ..Default::default() };
    assert!(agents(&f.events, &filter, settings, &names).is_empty());
}

#[test]
fn the_intent_filter_dash_keeps_the_conversations_without_a_main_intent() {
    let events = hand_log(vec![EventKind::Resolved]);
    let settings = Settings::default();
    let dash = Filter { intent: Some(NO_INTENT.into()), ..Default::default() };
    let s = summary(&events, &dash, &settings);
    assert_eq!((s.conversations, s.resolved), (1, 1));
    let rows = intents(&events, &dash, &settings);
    assert_eq!(rows.iter().map(|r| r.intent.as_str()).collect::<Vec<_>>(), vec!["-"]);
    let other = Filter { intent: Some("order_status".into()), ..Default::default() };
    assert_eq!(summary(&events, &other, &settings).conversations, 0);
}

#[tokio::test]
async fn events_after_the_end_of_the_period_are_not_read() {
    let f = fixture().await;
    let settings = &demo().0.settings;
    // At 1000 B is with Blake: escalated, not yet resolved.
    let s = summary(&f.events, &Filter { to: Some(at(1000)), ..Default::default() }, settings);
    assert_eq!(s.conversations, 2);
    assert_eq!(s.resolved, 1);
    assert_eq!(s.escalated, 1);
    assert_eq!(s.time_to_human, durations(1, 120, 120));
    // Avery's 60 seconds ended with the transfer; Blake's are still open.
    assert_eq!(s.handle_time, durations(1, 60, 60));
}

#[tokio::test]
async fn the_intent_breakdown_ranks_by_volume_with_each_intent_figures() {
    let f = fixture().await;
    let rows = intents(&f.events, &Filter::default(), &demo().0.settings);
    let shape: Vec<(&str, usize, usize, usize)> = rows
        .iter()
        .map(|r| (r.intent.as_str(), r.conversations, r.contained, r.escalated))
        .collect();
    assert_eq!(
        shape,
        vec![("order_status", 2, 1, 0), ("talk_to_human", 2, 0, 2), ("complaint", 1, 0, 1)]
    );
    assert_eq!(rows[0].csat.average, Some(5.0));
    assert_eq!(rows[0].csat_ai_only, Some(5.0));
    assert_eq!(rows[1].csat.average, Some(2.0));
    assert_eq!(rows[1].csat_ai_only, None);
    assert_eq!(rows[1].escalations_by_reason, BTreeMap::from([("human_requested".into(), 2)]));
}

#[tokio::test]
async fn the_agent_breakdown_gives_each_agent_their_own_share() {
    let f = fixture().await;
    let names = HashMap::from([(f.avery, "Avery Quill".into()), (f.blake, "Blake Fenn".into())]);
    let rows = agents(&f.events, &Filter::default(), &demo().0.settings, &names);
    assert_eq!(rows.len(), 2);
    let (avery, blake) = (&rows[0], &rows[1]);
    assert_eq!(avery.name.as_deref(), Some("Avery Quill"));
    assert_eq!((avery.conversations, avery.resolved), (2, 0));
    assert_eq!(avery.handle_time, durations(2, 60, 300));
    assert_eq!(avery.csat.received, 0);
    assert_eq!(avery.occupancy, Some(360.0 / 3370.0));
    assert_eq!((blake.conversations, blake.resolved), (1, 1));
    assert_eq!(blake.handle_time, durations(1, 270, 270));
    assert_eq!(blake.csat.average, Some(2.0));
}

#[tokio::test]
async fn the_time_series_counts_conversations_by_the_hour_they_started() {
    let f = fixture().await;
    let settings = &demo().0.settings;
    let hours = timeseries(&f.events, &Filter::default(), settings, Bucket::Hour);
    let shape: Vec<(DateTime<Utc>, usize, usize, usize, usize)> = hours
        .iter()
        .map(|p| (p.start, p.conversations, p.resolved, p.contained, p.escalated))
        .collect();
    // A to D start between 09:00 and 09:40; E at 09:50.
    assert_eq!(shape, vec![(at(0), 5, 4, 1, 3)]);
    let days = timeseries(&f.events, &Filter::default(), settings, Bucket::Day);
    assert_eq!(days[0].start, Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap());
    assert_eq!(days[0].csat_average, Some(3.5));
}

#[tokio::test]
async fn the_audit_names_a_next_step_and_its_reason_for_each_intent() {
    let f = fixture().await;
    let rows = audit(&f.events, &Filter::default(), &demo().0.settings);
    let shape: Vec<(usize, &str, Recommendation, &str)> = rows
        .iter()
        .map(|r| (r.rank, r.intent.as_str(), r.recommendation, r.why.as_str()))
        .collect();
    assert_eq!(
        shape,
        vec![
            (
                1,
                "order_status",
                Recommendation::Automate,
                "the AI already contains 1 of 2 conversations"
            ),
            (
                2,
                "talk_to_human",
                Recommendation::KeepHuman,
                "2 of 2 conversations escalated, 2 for human_requested"
            ),
            (
                3,
                "complaint",
                Recommendation::Automate,
                "1 of 1 conversations escalated, 1 for human_only_intent, which a flow \
                 could handle"
            ),
        ]
    );
}

#[test]
fn a_bucket_other_than_hour_or_day_is_refused_by_name() {
    assert_eq!("day".parse::<Bucket>().unwrap(), Bucket::Day);
    assert_eq!(
        "week".parse::<Bucket>().unwrap_err().to_string(),
        "unknown bucket `week`: use `hour` or `day`"
    );
}

#[test]
fn percentiles_take_the_nearest_rank() {
    assert_eq!(nearest_rank(&[], 50), None);
    assert_eq!(nearest_rank(&[7], 90), Some(7));
    let ten: Vec<i64> = (1..=10).collect();
    assert_eq!(nearest_rank(&ten, 50), Some(5));
    assert_eq!(nearest_rank(&ten, 90), Some(9));
    assert_eq!(nearest_rank(&[1, 2, 3], 50), Some(2));
}

/// A log written by hand, for the events no engine path writes yet.
fn hand_log(kinds: Vec<EventKind>) -> Vec<Event> {
    let id = ConversationId::new();
    let started =
        EventKind::ConversationStarted { channel: "web".into(), customer_id: CustomerId::new() };
    std::iter::once(started)
        .chain(kinds)
        .enumerate()
        .map(|(i, kind)| Event {
            conversation_id: id,
            seq: i as u64 + 1,
            at: at(i as i64),
            actor: Actor::Bot,
            kind,
        })
        .collect()
}

fn decided(action: &str, detail: serde_json::Value) -> EventKind {
    EventKind::Decided { action: action.into(), reason: "test".into(), detail }
}

fn tool(name: &str, ok: bool) -> EventKind {
    EventKind::ToolCalled { tool: name.into(), parameters: json!({}), outcome: json!({}), ok }
}

#[test]
fn tool_calls_approvals_and_suggestions_are_counted_by_their_kind() {
    let events = hand_log(vec![
        tool("lookup_order", true),
        tool("lookup_order", true),
        tool("lookup_order", false),
        tool("refund", false),
        EventKind::Escalated {
            reason: baton_core::EscalationReason::ApprovalRequired,
            evidence: json!({}),
            priority: 2,
            queue: "general".into(),
        },
        decided(APPROVAL_GRANTED, json!({})),
        decided("suggestion_used", json!({"kind": "reply"})),
        decided("suggestion_edited", json!({"kind": "reply"})),
        decided("suggestion_dismissed", json!({"kind": "reply"})),
        decided("suggestion_dismissed", json!({"kind": "action"})),
    ]);
    let s = summary(&events, &Filter::default(), &Settings::default());
    let all = &s.tools_total;
    assert_eq!((all.calls, all.succeeded, all.failed, all.success_rate), (4, 2, 2, Some(0.5)));
    let every = &s.suggestions_total;
    assert_eq!((every.used, every.edited, every.dismissed), (1, 1, 2));
    assert_eq!(every.acceptance_rate, Some(0.5));
    let lookup = &s.tools["lookup_order"];
    assert_eq!((lookup.calls, lookup.succeeded, lookup.failed), (3, 2, 1));
    assert_eq!(lookup.success_rate, Some(2.0 / 3.0));
    assert_eq!(s.tools["refund"].success_rate, Some(0.0));
    assert_eq!(s.approvals, Approvals { requested: 1, granted: 1, rejected: 0, pending: 0 });
    let reply = &s.suggestions["reply"];
    assert_eq!((reply.used, reply.edited, reply.dismissed), (1, 1, 1));
    assert_eq!(reply.acceptance_rate, Some(2.0 / 3.0));
    assert_eq!(s.suggestions["action"].acceptance_rate, Some(0.0));
}

#[test]
fn an_empty_log_gives_zeros_and_no_rates() {
    let s = summary(&[], &Filter::default(), &Settings::default());
    assert_eq!(s.conversations, 0);
    assert_eq!(s.containment_rate, None);
    assert_eq!(s.escalation_rate, None);
    assert_eq!(s.resolution_time, Durations::default());
    assert_eq!(s.csat.response_rate, None);
    assert_eq!(s.roi.cost_per_resolution, None);
    assert_eq!(s.roi.agent_hours_saved, 0.0);
    assert!(s.agent_occupancy.is_empty());
}

#[test]
fn a_log_that_does_not_begin_with_its_start_is_left_out() {
    let mut events = hand_log(vec![EventKind::Resolved]);
    events.remove(0);
    assert_eq!(summary(&events, &Filter::default(), &Settings::default()).conversations, 0);
}

#[test]
fn a_filter_query_reads_dates_instants_and_agent_ids() {
    let agent = AgentId::new();
    let query = FilterQuery {
        from: Some("2026-03-02".into()),
        to: Some("2026-03-02T09:30:00+01:00".into()),
        channel: Some(" web ".into()),
        agent: Some(agent.to_string()),
        queue: Some(String::new()),
        ..Default::default()
    };
    let filter = query.resolve().unwrap();
    assert_eq!(filter.from, Some(Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()));
    assert_eq!(filter.to, Some(Utc.with_ymd_and_hms(2026, 3, 2, 8, 30, 0).unwrap()));
    assert_eq!(filter.channel.as_deref(), Some("web"));
    assert_eq!(filter.queue, None);
    assert_eq!(filter.agent, Some(agent));
}

#[test]
fn bad_filter_values_are_refused_with_the_field_they_came_in() {
    let bad_date = FilterQuery { from: Some("yesterday".into()), ..Default::default() };
    assert_eq!(
        bad_date.resolve().unwrap_err().to_string(),
        "`from` is not a date or an instant: `yesterday`; write 2026-03-02 or 2026-03-02T09:00:00Z"
    );
    let bad_agent = FilterQuery { agent: Some("robin".into()), ..Default::default() };
    assert_eq!(bad_agent.resolve().unwrap_err(), FilterError::BadAgent("robin".into()));
    let backwards = FilterQuery {
        from: Some("2026-03-03".into()),
        to: Some("2026-03-02".into()),
        ..Default::default()
    };
    assert!(matches!(backwards.resolve(), Err(FilterError::EmptyPeriod { .. })));
}

#[test]
fn copilot_ratings_and_the_weekly_question_add_up_in_the_summary() {
    let events = hand_log(vec![
        decided(SUGGESTION_RATED, json!({"kind": "flow_reply", "helpful": true})),
        decided(SUGGESTION_RATED, json!({"kind": "flow_reply", "helpful": true})),
        decided(SUGGESTION_RATED, json!({"kind": "action", "helpful": false})),
        decided("suggestion_used", json!({"kind": "flow_reply"})),
        decided("suggestion_edited", json!({"kind": "past_reply"})),
    ]);

    let s =
        summary(&events, &Filter::default(), &Settings::default()).with_pulse_scores(&[4, 5, 2]);

    assert_eq!(
        s.copilot,
        CopilotFeedback {
            helpful: 2,
            not_helpful: 1,
            helpful_rate: Some(2.0 / 3.0),
            pulse_responses: 3,
            pulse_average: Some(11.0 / 3.0),
        }
    );
    assert_eq!(s.suggestions["flow_reply"].used, 1);
    assert_eq!(s.suggestions["past_reply"].edited, 1);
    assert_eq!(s.suggestions["past_reply"].acceptance_rate, Some(1.0));
}

#[test]
fn a_second_rating_of_the_same_suggestion_replaces_the_first() {
    let rated = |helpful: bool| {
        decided(
            SUGGESTION_RATED,
            json!({"kind": "flow_reply", "suggestion_id": "s1", "helpful": helpful}),
        )
    };
    let events = hand_log(vec![rated(true), rated(true), rated(false)]);

    let s = summary(&events, &Filter::default(), &Settings::default());

    assert_eq!((s.copilot.helpful, s.copilot.not_helpful), (0, 1));
    assert_eq!(s.copilot.helpful_rate, Some(0.0));
}

#[test]
fn a_suggestion_dismissed_twice_counts_once_and_each_reply_sent_from_one_counts() {
    let acted = |action: &str, id: &str| {
        decided(action, json!({"kind": "flow_reply", "suggestion_id": id}))
    };
    let events = hand_log(vec![
        acted("suggestion_dismissed", "s1"),
        acted("suggestion_dismissed", "s1"),
        acted("suggestion_used", "s2"),
        acted("suggestion_edited", "s2"),
    ]);

    let s = summary(&events, &Filter::default(), &Settings::default());

    let flow = &s.suggestions["flow_reply"];
    assert_eq!((flow.used, flow.edited, flow.dismissed), (1, 1, 1));
    assert_eq!(flow.acceptance_rate, Some(2.0 / 3.0));
}

#[test]
fn only_answers_sent_with_their_sources_count_as_knowledge_answers() {
    let (id, customer) = (ConversationId::new(), CustomerId::new());
    let event = |seq: u64, actor: Actor, kind: EventKind| Event {
        conversation_id: id,
        seq,
        at: at(seq as i64),
        actor,
        kind,
    };
    let said = |author: baton_core::Author, text: &str, citations: Vec<baton_core::Citation>| {
        EventKind::MessagePosted {
            author,
            text: text.into(),
            client_id: None,
            quick_replies: vec![],
            citations,
        }
    };
    let decided = |action: &str| EventKind::Decided {
        action: action.into(),
        reason: "test".into(),
        detail: json!({}),
    };
    let shipping = baton_core::Citation {
        article_id: "shipping".into(),
        title: "Shipping and delivery".into(),
        section: None,
        url: None,
    };
    let (me, bot) = (Actor::Customer(customer), Actor::Bot);
    use baton_core::Author::{Bot, Customer};
    let log = [
        event(
            1,
            me,
            EventKind::ConversationStarted { channel: "web".into(), customer_id: customer },
        ),
        event(2, me, said(Customer, "dana@example.com", vec![])),
        // Decided as a knowledge answer, but the flow waiting for the
        // e-mail took the turn: nothing from an article was sent.
        event(3, bot, decided("knowledge_answer")),
        event(4, bot, said(Bot, "Thanks, which order is it?", vec![])),
        event(5, me, said(Customer, "how long does shipping take?", vec![])),
        event(6, bot, decided("knowledge_answer")),
        event(7, bot, said(Bot, "Standard delivery takes 3 to 5 business days.", vec![shipping])),
    ];
    let log: Vec<&Event> = log.iter().collect();

    let facts = facts::fold(&log, None, Duration::minutes(60), &[]).unwrap();

    assert_eq!(facts.knowledge_answers, 1);
}

fn escalated_to(queue: &str) -> EventKind {
    EventKind::Escalated {
        reason: baton_core::EscalationReason::HumanRequested,
        evidence: json!({}),
        priority: 1,
        queue: queue.into(),
    }
}

fn agent_says(text: &str) -> EventKind {
    EventKind::MessagePosted {
        author: baton_core::Author::Agent,
        text: text.into(),
        client_id: None,
        quick_replies: vec![],
        citations: vec![],
    }
}

#[test]
fn a_conversation_counts_for_every_queue_it_waited_in_transfers_included() {
    let agent = AgentId::new();
    // Escalated to `general` at 1 s, transferred to `returns` at 2 s, taken
    // there at 3 s, answered at 4 s and resolved at 5 s.
    let mut events = hand_log(vec![
        escalated_to("general"),
        EventKind::Requeued {
            queue: "returns".into(),
            priority: 1,
            evidence: json!({}),
            note: Some("a return, not a general question".into()),
        },
        EventKind::Assigned { agent_id: agent, previous: None },
        agent_says("I can take the parcel back."),
        EventKind::Resolved,
    ]);
    // Another one that only ever waited in `general`, and was never taken.
    events.extend(hand_log(vec![escalated_to("general")]));
    let of = |queue: &str| {
        let filter = Filter { queue: Some(queue.into()), ..Default::default() };
        summary(&events, &filter, &Settings::default())
    };

    let returns = of("returns");
    assert_eq!(
        (returns.conversations, returns.escalated, returns.resolved, returns.contained),
        (1, 1, 1, 0)
    );
    assert_eq!(returns.handle_time, durations(1, 2, 2));
    assert_eq!(returns.time_to_human, durations(1, 2, 2));
    assert_eq!(returns.first_response_human, durations(1, 3, 3));
    assert_eq!(of("general").conversations, 2);
    assert_eq!(of("general").resolved, 1);
    assert_eq!(of("billing").conversations, 0);
}

#[test]
fn a_queue_the_workspace_does_not_have_is_refused_with_the_queues_it_has() {
    let mut settings = Settings::default();
    settings.queue.queues =
        ["general", "returns"].into_iter().map(crate::workspace::QueueConfig::implicit).collect();
    let query = |queue: &str| FilterQuery { queue: Some(queue.into()), ..Default::default() };

    let err = query("nope").resolve_in(&settings).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`queue` names no queue of the workspace: `nope`; the queues are general, returns"
    );
    let filter = query(" returns ").resolve_in(&settings).unwrap();
    assert_eq!(filter.queue.as_deref(), Some("returns"));
    assert_eq!(query("").resolve_in(&settings).unwrap().queue, None);
}
