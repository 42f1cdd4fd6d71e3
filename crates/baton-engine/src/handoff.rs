//! The handoff packet: everything the agent needs to take over without
//! asking the customer again.
//!
//! The packet is assembled from the event log only. Its summary is a list
//! of facts, each carrying the seqs of the events it was read from, and the
//! paragraph is those facts joined; the suggested first reply is built from
//! the same facts. So every claim in them traces back to a message or an
//! event. The engine builds the packet at escalation and builds it again on
//! each customer message while the conversation waits in the queue.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use baton_core::{Actor, Analysis, Author, CueKind, EscalationReason, Event, EventKind, Stage};
use baton_store::{ConversationSummary, Customer};

/// What the agent reads first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandoffPacket {
    pub reason: EscalationReason,
    pub evidence: Value,
    /// Intents seen in the current segment, most recent last, with the
    /// highest confidence each reached.
    pub intents: Vec<SeenIntent>,
    /// Entities the customer gave, first mention first; never ask again.
    pub entities: Vec<SeenEntity>,
    /// What the AI already told or did, in order.
    pub ai_actions: Vec<AiAction>,
    /// One point per customer message: its seq and sentiment.
    pub sentiment: Vec<SentimentPoint>,
    /// Cues seen, with their words.
    pub cues: Vec<SeenCue>,
    pub customer: CustomerCard,
    pub earlier_conversations: Vec<EarlierConversation>,
    /// The customer sentences that matter most, as written.
    pub key_sentences: Vec<String>,
    /// The summary's sentences, each with the events it rests on.
    pub summary_facts: Vec<SummaryFact>,
    /// `summary_facts` as one paragraph.
    pub summary: String,
    pub suggested_reply: String,
    pub built_at: DateTime<Utc>,
}

/// One sentence of the summary and where it comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryFact {
    pub text: String,
    /// The seqs of this conversation's events the sentence was read from.
    pub seqs: Vec<u64>,
    /// Other conversations it was read from (the customer's history).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conversations: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeenIntent {
    pub intent: String,
    pub confidence: f32,
    pub seq: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeenEntity {
    pub kind: String,
    pub value: String,
    pub text: String,
    pub seq: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AiAction {
    pub seq: u64,
    /// `replied`, `clarified`, `answered_from_knowledge`, `tool_call`, ...
    pub action: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SentimentPoint {
    pub seq: u64,
    pub score: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeenCue {
    pub kind: CueKind,
    pub words: Vec<String>,
    pub seq: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerCard {
    pub name: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
    /// The profile's `tier`, if it has one.
    pub tier: Option<String>,
    /// The profile's `lifetime_value`, if the workspace provides it.
    pub lifetime_value: Option<f64>,
    /// The profile's `language`, else the language the customer writes in.
    pub language: Option<String>,
    /// The profile's `preferences`, plus `prefers_human` when set.
    pub preferences: Value,
    /// The whole profile as stored.
    pub profile: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlierConversation {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub stage: Stage,
    pub intent: Option<String>,
    pub reason: Option<String>,
    /// `resolved_by_ai`, `resolved_by_agent`, `escalated`, `open`.
    pub outcome: String,
    /// The customer's last rating of it.
    pub csat: Option<u8>,
}

impl EarlierConversation {
    /// An earlier conversation from its summary row and its log.
    pub fn from_log(summary: &ConversationSummary, events: &[Event]) -> Self {
        let mut outcome = "open";
        let mut csat = None;
        for event in events {
            match &event.kind {
                EventKind::Escalated { .. } => outcome = "escalated",
                EventKind::Resolved => {
                    outcome = match event.actor {
                        Actor::Agent(_) => "resolved_by_agent",
                        _ if outcome == "escalated" => "resolved_by_agent",
                        _ => "resolved_by_ai",
                    }
                }
                EventKind::Reopened { .. } => outcome = "open",
                EventKind::CsatReceived { score, .. } => csat = Some(*score),
                _ => {}
            }
        }
        EarlierConversation {
            id: summary.id.to_string(),
            started_at: summary.created_at,
            stage: summary.stage,
            intent: summary.intent.clone(),
            reason: summary.reason.clone(),
            outcome: outcome.into(),
            csat,
        }
    }
}

/// Build the packet for a conversation whose log ends with its escalation.
/// `segment_start` is the seq after which signals count: sentiment, cues,
/// the AI's actions and the escalation. The facts (what the customer wrote,
/// their intents and entities, and so the summary and key sentences) count
/// from the last resolution: a hand-back settles nothing, and a customer
/// escalated again must not have to repeat their order number.
pub fn build(
    events: &[Event],
    segment_start: u64,
    reason: EscalationReason,
    evidence: Value,
    customer: Option<&Customer>,
    earlier: &[EarlierConversation],
    now: DateTime<Utc>,
) -> HandoffPacket {
    let facts_start = events
        .iter()
        .filter(|e| e.seq <= segment_start && matches!(e.kind, EventKind::Resolved))
        .map(|e| e.seq)
        .max()
        .unwrap_or(0);
    let unresolved: Vec<&Event> = events.iter().filter(|e| e.seq > facts_start).collect();

    let mut intents: Vec<SeenIntent> = Vec::new();
    let mut entities: Vec<SeenEntity> = Vec::new();
    let mut sentiment = Vec::new();
    let mut cues = Vec::new();
    let mut ai_actions = Vec::new();
    let mut customer_text: BTreeMap<u64, String> = BTreeMap::new();
    let mut language = None;
    let mut escalated_at = None;

    for event in &unresolved {
        let in_segment = event.seq > segment_start;
        match &event.kind {
            EventKind::MessagePosted { author: Author::Customer, text, .. } => {
                customer_text.insert(event.seq, text.clone());
            }
            // Before the segment only the customer's facts count.
            EventKind::MessageAnalysed { message_seq, analysis } if !in_segment => {
                note_topic(&mut intents, &customer_text, *message_seq, analysis);
                note_entities(&mut entities, *message_seq, analysis);
            }
            _ if !in_segment => {}
            EventKind::MessagePosted { author: Author::Bot, text, .. } => {
                ai_actions.push(AiAction {
                    seq: event.seq,
                    action: "replied".into(),
                    detail: text.clone(),
                });
            }
            EventKind::MessageAnalysed { message_seq, analysis } => {
                if analysis.language.code != "und" {
                    language = Some(analysis.language.code.clone());
                }
                sentiment
                    .push(SentimentPoint { seq: *message_seq, score: analysis.sentiment.score });
                note_topic(&mut intents, &customer_text, *message_seq, analysis);
                note_entities(&mut entities, *message_seq, analysis);
                for cue in &analysis.cues {
                    cues.push(SeenCue {
                        kind: cue.kind,
                        words: cue.words.clone(),
                        seq: *message_seq,
                    });
                }
            }
            EventKind::Decided { action, reason, .. }
                if event.actor == Actor::Bot && action != "answer" =>
            {
                ai_actions.push(AiAction {
                    seq: event.seq,
                    action: action.clone(),
                    detail: reason.clone(),
                });
            }
            EventKind::Escalated { .. } => escalated_at = Some(event.seq),
            EventKind::ToolCalled { tool, ok, outcome, .. } => {
                ai_actions.push(AiAction {
                    seq: event.seq,
                    action: if *ok { "tool_call".into() } else { "tool_call_failed".into() },
                    detail: format!("{tool}: {}", short(&outcome.to_string(), 160)),
                });
            }
            _ => {}
        }
    }

    let key_sentences = key_sentences(&customer_text, &sentiment, &cues, &entities);
    let mut card = customer.map(card_of).unwrap_or_default();
    if card.language.is_none() {
        card.language = language;
    }
    let earlier_conversations = earlier.to_vec();

    let mut packet = HandoffPacket {
        reason,
        evidence,
        intents,
        entities,
        ai_actions,
        sentiment,
        cues,
        customer: card,
        earlier_conversations,
        key_sentences,
        summary_facts: Vec::new(),
        summary: String::new(),
        suggested_reply: String::new(),
        built_at: now,
    };
    let messages: Vec<u64> = customer_text.keys().copied().collect();
    packet.summary_facts = summary_facts(&packet, &messages, escalated_at);
    packet.summary =
        packet.summary_facts.iter().map(|f| f.text.as_str()).collect::<Vec<_>>().join(" ");
    packet.suggested_reply = suggested_reply(&packet);
    packet
}

/// Add the topic of an analysed customer message to the intents seen.
fn note_topic(
    intents: &mut Vec<SeenIntent>,
    customer_text: &BTreeMap<u64, String>,
    message_seq: u64,
    analysis: &Analysis,
) {
    // A message that asks for a person, short or after the topic was
    // named, says nothing about the topic: its intent would read "about
    // talk to human" in the summary.
    let only_asks_for_person = analysis.cue(CueKind::HumanRequest).is_some()
        && analysis.entities.is_empty()
        && (!intents.is_empty()
            || customer_text.get(&message_seq).is_some_and(|t| t.split_whitespace().count() <= 8));
    let topic = analysis.top_intent().filter(|_| !analysis.out_of_scope && !only_asks_for_person);
    if let Some(top) = topic {
        match intents.iter_mut().find(|i| i.intent == top.intent) {
            Some(seen) => seen.confidence = seen.confidence.max(top.confidence),
            None => intents.push(SeenIntent {
                intent: top.intent.clone(),
                confidence: top.confidence,
                seq: message_seq,
            }),
        }
    }
}

/// Add the entities of an analysed customer message, each value once.
fn note_entities(entities: &mut Vec<SeenEntity>, message_seq: u64, analysis: &Analysis) {
    for entity in &analysis.entities {
        let kind = entity.kind.as_str();
        if !entities.iter().any(|e| e.kind == kind && e.value == entity.value) {
            entities.push(SeenEntity {
                kind: kind.into(),
                value: entity.value.clone(),
                text: entity.text.clone(),
                seq: message_seq,
            });
        }
    }
}

/// The customer's card: the stored details and the profile fields an agent
/// looks for first.
fn card_of(customer: &Customer) -> CustomerCard {
    let profile = &customer.profile;
    let text = |key: &str| match profile.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut preferences = match profile.get("preferences") {
        Some(Value::Object(map)) => Value::Object(map.clone()),
        Some(Value::Null) | None => Value::Object(Default::default()),
        Some(other) => serde_json::json!({ "note": other }),
    };
    if let Some(prefers) = profile.get("prefers_human").and_then(Value::as_bool) {
        preferences["prefers_human"] = Value::Bool(prefers);
    }
    CustomerCard {
        name: customer.name.clone(),
        email: customer.email.clone(),
        external_id: customer.external_id.clone(),
        tier: text("tier"),
        lifetime_value: profile.get("lifetime_value").and_then(Value::as_f64),
        language: text("language"),
        preferences,
        profile: profile.clone(),
    }
}

/// Up to three customer sentences: those with cues or entities first, then
/// the most negative, each shown once, in the order they were written.
fn key_sentences(
    texts: &BTreeMap<u64, String>,
    sentiment: &[SentimentPoint],
    cues: &[SeenCue],
    entities: &[SeenEntity],
) -> Vec<String> {
    let mut scored: Vec<(f32, u64)> = texts
        .keys()
        .map(|seq| {
            let cue_weight = cues.iter().filter(|c| c.seq == *seq).count() as f32;
            let entity_weight = entities.iter().filter(|e| e.seq == *seq).count() as f32 * 0.5;
            let negativity = sentiment
                .iter()
                .find(|p| p.seq == *seq)
                .map(|p| (-p.score).max(0.0))
                .unwrap_or(0.0);
            (cue_weight + entity_weight + negativity, *seq)
        })
        .filter(|(weight, _)| *weight > 0.0)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<u64> = scored.into_iter().take(3).map(|(_, seq)| seq).collect();
    if chosen.is_empty() {
        chosen.extend(texts.keys().next_back());
    }
    chosen.sort_unstable();
    chosen.into_iter().filter_map(|seq| texts.get(&seq)).map(|t| short(t, 300)).collect()
}

/// The summary's sentences from the packet's facts, each with the seqs it
/// was read from; nothing in them is invented.
fn summary_facts(
    packet: &HandoffPacket,
    messages: &[u64],
    escalated_at: Option<u64>,
) -> Vec<SummaryFact> {
    let fact = |text: String, seqs: Vec<u64>| SummaryFact { text, seqs, conversations: vec![] };
    let who = packet.customer.name.clone().unwrap_or_else(|| "The customer".into());
    let mut facts = Vec::new();

    let topic = match packet.intents.as_slice() {
        [] => String::new(),
        intents => format!(
            " about {}",
            intents.iter().map(|i| humanise(&i.intent)).collect::<Vec<_>>().join(" and ")
        ),
    };
    let n = messages.len();
    facts.push(fact(format!("{who} sent {n} message{}{topic}.", plural_s(n)), messages.to_vec()));

    if !packet.entities.is_empty() {
        let given = packet
            .entities
            .iter()
            .map(|e| format!("{} {}", humanise(&e.kind), e.value))
            .collect::<Vec<_>>()
            .join(", ");
        let mut seqs: Vec<u64> = packet.entities.iter().map(|e| e.seq).collect();
        seqs.dedup();
        facts.push(fact(format!("They gave: {given}."), seqs));
    }

    let of = |action: &str| -> Vec<u64> {
        packet.ai_actions.iter().filter(|a| a.action == action).map(|a| a.seq).collect()
    };
    let (replies, calls, failed) = (of("replied"), of("tool_call"), of("tool_call_failed"));
    if !replies.is_empty() || !calls.is_empty() || !failed.is_empty() {
        let r = replies.len();
        let mut did = vec![format!("replied {r} time{}", plural_s(r))];
        if !calls.is_empty() {
            let c = calls.len();
            did.push(format!("made {c} successful system call{}", plural_s(c)));
        }
        if !failed.is_empty() {
            let f = failed.len();
            did.push(format!("had {f} system call{} fail", plural_s(f)));
        }
        let mut seqs = [replies, calls, failed].concat();
        seqs.sort_unstable();
        facts.push(fact(format!("The AI {}.", did.join(", ")), seqs));
    }

    let reason = reason_sentence(packet.reason, &packet.evidence);
    facts.push(fact(format!("Escalated: {reason}."), escalated_at.into_iter().collect()));

    if let (Some(first), Some(last)) = (packet.sentiment.first(), packet.sentiment.last()) {
        // `+ 0.0` turns a negative zero into a plain one.
        if packet.sentiment.len() > 1 {
            let (from, to) = (first.score + 0.0, last.score + 0.0);
            facts.push(fact(
                format!("Sentiment went from {from:.2} to {to:.2}."),
                vec![first.seq, last.seq],
            ));
        } else {
            facts.push(fact(format!("Sentiment {:.2}.", last.score + 0.0), vec![last.seq]));
        }
    }
    if !packet.earlier_conversations.is_empty() {
        let n = packet.earlier_conversations.len();
        facts.push(SummaryFact {
            text: format!("{n} earlier conversation{} on record.", plural_s(n)),
            seqs: vec![],
            conversations: packet.earlier_conversations.iter().map(|c| c.id.clone()).collect(),
        });
    }
    facts
}

/// A first reply that acknowledges the situation and asks nothing the
/// packet already holds.
fn suggested_reply(packet: &HandoffPacket) -> String {
    let greeting = match packet.customer.name.as_deref().and_then(|n| n.split_whitespace().next()) {
        Some(first) => format!("Hi {first},"),
        None => "Hi,".to_string(),
    };
    let mut sentences = vec![greeting];

    let repeated = packet.cues.iter().any(|c| c.kind == CueKind::RepeatedContact);
    let upset = packet.cues.iter().any(|c| c.kind == CueKind::Frustration)
        || packet.sentiment.iter().any(|p| p.score <= -0.4);
    let topic = packet.intents.last();
    let before = topic.map_or(0, |t| {
        packet.earlier_conversations.iter().filter(|c| c.intent.as_ref() == Some(&t.intent)).count()
    });
    if let (Some(topic), Some(nth)) = (topic, ordinal(before + 1).filter(|_| before > 0)) {
        sentences.push(format!(
            "I can see this is the {nth} time you've contacted us about {}, \
             and I'm sorry you've had to come back.",
            humanise(&topic.intent)
        ));
    } else if repeated {
        sentences.push(
            "I can see this is not the first time you've had to contact us about this, \
             and I'm sorry for that."
                .into(),
        );
    } else if upset {
        sentences.push("I'm sorry this has been frustrating.".into());
    }

    let order = packet.entities.iter().find(|e| e.kind == "order_number");
    let topic = packet.intents.last().map(|i| humanise(&i.intent));
    let context = match (topic, order) {
        (Some(topic), Some(order)) => format!(
            "I've read your conversation so far about {topic} for order {}, \
             and I'm looking into it now.",
            order.value
        ),
        (Some(topic), None) => {
            format!("I've read your conversation so far about {topic}, and I'm on it now.")
        }
        (None, Some(order)) => format!(
            "I've read your conversation so far about order {}, and I'm looking into it now.",
            order.value
        ),
        (None, None) => "I've read your conversation so far and I'm here to help.".into(),
    };
    sentences.push(context);
    sentences.join(" ")
}

/// A readable sentence for an escalation reason and its evidence.
pub fn reason_sentence(reason: EscalationReason, evidence: &Value) -> String {
    let words = evidence
        .get("words")
        .and_then(Value::as_array)
        .map(|w| w.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\", \""))
        .filter(|w| !w.is_empty());
    let quoted = words.map(|w| format!(" (\"{w}\")")).unwrap_or_default();
    match reason {
        EscalationReason::HumanRequested => format!("the customer asked for a person{quoted}"),
        EscalationReason::NegativeSentiment => format!(
            "strongly negative sentiment ({}){quoted}",
            evidence
                .get("sentiment")
                .and_then(Value::as_f64)
                .map_or("?".into(), |s| format!("{s:.2}"))
        ),
        EscalationReason::Frustration => format!("the customer is frustrated{quoted}"),
        EscalationReason::RepeatedMisunderstanding => {
            "the AI did not understand twice in a row".to_string()
        }
        EscalationReason::HumanOnlyIntent => format!(
            "`{}` is handled by people only",
            evidence.get("intent").and_then(Value::as_str).unwrap_or("this topic")
        ),
        EscalationReason::SensitiveTopic => format!("sensitive topic{quoted}"),
        EscalationReason::CustomerPreference => "the customer prefers a person".to_string(),
        EscalationReason::ApprovalRequired => "an action needs a person's approval".to_string(),
        EscalationReason::ActionFailed => "an action failed".to_string(),
        EscalationReason::UnsupportedLanguage => format!(
            "the customer writes in `{}`",
            evidence.get("language").and_then(Value::as_str).unwrap_or("another language")
        ),
        EscalationReason::AgentUnavailable => format!(
            "the customer wrote again after a resolution and their agent is {}",
            evidence.get("status").and_then(Value::as_str).unwrap_or("not available")
        ),
    }
}

/// "second" to "tenth"; beyond that the count is not worth spelling out.
fn ordinal(n: usize) -> Option<&'static str> {
    const WORDS: [&str; 9] =
        ["second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"];
    n.checked_sub(2).and_then(|i| WORDS.get(i).copied())
}

fn humanise(name: &str) -> String {
    name.replace('_', " ")
}

fn plural_s(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Shorten text to at most `max` characters on a character boundary.
pub fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::{
        Analysis, ConversationId, Cue, CustomerId, Entity, EntityKind, IntentScore, Sentiment,
    };
    use chrono::TimeZone;
    use serde_json::json;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 10, minute, 0).unwrap()
    }

    struct Log {
        id: ConversationId,
        customer: CustomerId,
        events: Vec<Event>,
    }

    impl Log {
        fn push(&mut self, actor: Actor, kind: EventKind) {
            let seq = self.events.len() as u64 + 1;
            self.events.push(Event {
                conversation_id: self.id,
                seq,
                at: at(seq as u32),
                actor,
                kind,
            });
        }

        fn customer_says(&mut self, text: &str, analysis: Analysis) {
            let actor = Actor::Customer(self.customer);
            self.push(
                actor,
                EventKind::MessagePosted {
                    author: Author::Customer,
                    text: text.into(),
                    client_id: None,
                    quick_replies: vec![],
                    citations: vec![],
                },
            );
            let message_seq = self.events.len() as u64;
            self.push(Actor::Bot, EventKind::MessageAnalysed { message_seq, analysis });
        }

        fn bot_says(&mut self, text: &str) {
            self.push(
                Actor::Bot,
                EventKind::MessagePosted {
                    author: Author::Bot,
                    text: text.into(),
                    client_id: None,
                    quick_replies: vec![],
                    citations: vec![],
                },
            );
        }
    }

    fn analysis(intent: &str, sentiment: f32) -> Analysis {
        Analysis {
            intents: vec![IntentScore { intent: intent.into(), confidence: 0.9 }],
            sentiment: Sentiment { score: sentiment, evidence: vec![] },
            ..Analysis::default()
        }
    }

    /// Three turns: an order number, a failed lookup, then frustration.
    fn frustrated_conversation() -> Log {
        let mut log =
            Log { id: ConversationId::new(), customer: CustomerId::new(), events: vec![] };
        log.push(
            Actor::System,
            EventKind::ConversationStarted { channel: "web".into(), customer_id: log.customer },
        );

        let mut first = analysis("order_status", -0.1);
        first.entities.push(Entity {
            kind: EntityKind::OrderNumber,
            text: "#W2378156".into(),
            value: "W2378156".into(),
            start: 22,
            end: 31,
        });
        log.customer_says("Where is my order #W2378156?", first);
        log.bot_says("Let me look that up.");

        log.customer_says("Any news?", analysis("order_status", -0.2));
        log.push(
            Actor::Bot,
            EventKind::ToolCalled {
                tool: "order_details".into(),
                parameters: json!({"order_id": "W2378156"}),
                outcome: json!({"error": "timeout after 5 s"}),
                ok: false,
            },
        );

        let mut third = analysis("order_status", -0.8);
        third.cues.push(Cue {
            kind: CueKind::Frustration,
            words: vec!["ridiculous".into()],
            strength: 0.9,
        });
        log.customer_says("This is ridiculous, where is it?", third);
        log.push(
            Actor::Bot,
            EventKind::Escalated {
                reason: EscalationReason::Frustration,
                evidence: json!({"words": ["ridiculous"]}),
                priority: 2,
                queue: "general".into(),
            },
        );
        log
    }

    fn earlier(intent: &str, outcome: &str, csat: Option<u8>) -> EarlierConversation {
        EarlierConversation {
            id: ConversationId::new().to_string(),
            started_at: at(0),
            stage: Stage::Resolved,
            intent: Some(intent.into()),
            reason: None,
            outcome: outcome.into(),
            csat,
        }
    }

    #[test]
    fn the_packet_keeps_the_first_turns_order_and_the_second_turns_failed_call() {
        let log = frustrated_conversation();
        let evidence = json!({"cue": "frustration", "words": ["ridiculous"]});

        let packet =
            build(&log.events, 0, EscalationReason::Frustration, evidence, None, &[], at(30));

        assert_eq!(packet.entities.len(), 1);
        assert_eq!(packet.entities[0].value, "W2378156");
        assert_eq!(packet.entities[0].seq, 2);
        let failed: Vec<_> =
            packet.ai_actions.iter().filter(|a| a.action == "tool_call_failed").collect();
        assert_eq!(failed.len(), 1);
        assert!(failed[0].detail.starts_with("order_details:"));
        assert_eq!(
            packet.sentiment.iter().map(|p| p.score).collect::<Vec<_>>(),
            vec![-0.1, -0.2, -0.8]
        );
        assert_eq!(packet.key_sentences.last().unwrap(), "This is ridiculous, where is it?");
    }

    #[test]
    fn the_summary_states_only_what_the_events_hold() {
        let log = frustrated_conversation();
        let evidence = json!({"words": ["ridiculous"]});

        let packet =
            build(&log.events, 0, EscalationReason::Frustration, evidence, None, &[], at(30));

        assert_eq!(
            packet.summary,
            "The customer sent 3 messages about order status. They gave: order number W2378156. \
             The AI replied 1 time, had 1 system call fail. Escalated: the customer is \
             frustrated (\"ridiculous\"). Sentiment went from -0.10 to -0.80."
        );
        assert_eq!(
            packet.suggested_reply,
            "Hi, I'm sorry this has been frustrating. I've read your conversation so far about \
             order status for order W2378156, and I'm looking into it now."
        );
    }

    #[test]
    fn every_sentence_of_the_summary_rests_on_events_that_say_it() {
        let log = frustrated_conversation();
        let evidence = json!({"words": ["ridiculous"]});

        let packet =
            build(&log.events, 0, EscalationReason::Frustration, evidence, None, &[], at(30));

        let joined: Vec<&str> = packet.summary_facts.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(packet.summary, joined.join(" "));
        let event = |seq: u64| log.events.iter().find(|e| e.seq == seq).unwrap();
        let seqs: Vec<Vec<u64>> = packet.summary_facts.iter().map(|f| f.seqs.clone()).collect();
        assert_eq!(seqs, vec![vec![2, 5, 8], vec![2], vec![4, 7], vec![10], vec![2, 8]]);
        for fact in &packet.summary_facts {
            for seq in &fact.seqs {
                let kind = &event(*seq).kind;
                let backed = match kind {
                    EventKind::MessagePosted { author: Author::Customer, text, .. } => {
                        !fact.text.contains("W2378156") || text.contains("#W2378156")
                    }
                    EventKind::MessagePosted { author: Author::Bot, .. } => {
                        fact.text.starts_with("The AI replied 1 time")
                    }
                    EventKind::ToolCalled { ok: false, .. } => {
                        fact.text.contains("1 system call fail")
                    }
                    EventKind::Escalated { reason, .. } => {
                        *reason == EscalationReason::Frustration && fact.text.contains("frustrated")
                    }
                    _ => false,
                };
                assert!(backed, "`{}` cites event {seq}: {kind:?}", fact.text);
            }
        }
    }

    #[test]
    fn the_first_reply_counts_earlier_contacts_about_the_same_topic() {
        let log = frustrated_conversation();
        let history = [
            earlier("order_status", "resolved_by_ai", Some(2)),
            earlier("order_status", "resolved_by_agent", None),
            earlier("reset_password", "resolved_by_ai", Some(5)),
        ];

        let packet =
            build(&log.events, 0, EscalationReason::Frustration, json!({}), None, &history, at(30));

        assert_eq!(
            packet.suggested_reply,
            "Hi, I can see this is the third time you've contacted us about order status, and \
             I'm sorry you've had to come back. I've read your conversation so far about order \
             status for order W2378156, and I'm looking into it now."
        );
        let last = packet.summary_facts.last().unwrap();
        assert_eq!(last.text, "3 earlier conversations on record.");
        assert_eq!(last.conversations.len(), 3);
    }

    #[test]
    fn the_card_reads_tier_value_language_and_preferences_from_the_profile() {
        let log = frustrated_conversation();
        let customer = Customer {
            id: log.customer,
            name: Some("Mia Lopez".into()),
            email: None,
            external_id: None,
            profile: json!({"tier": "gold", "lifetime_value": 1250.5, "prefers_human": true}),
            created_at: at(0),
        };

        let packet = build(
            &log.events,
            0,
            EscalationReason::Frustration,
            json!({}),
            Some(&customer),
            &[],
            at(30),
        );

        assert_eq!(packet.customer.tier.as_deref(), Some("gold"));
        assert_eq!(packet.customer.lifetime_value, Some(1250.5));
        assert_eq!(packet.customer.preferences, json!({"prefers_human": true}));
        assert!(packet.summary.starts_with("Mia Lopez sent 3 messages"));
    }

    #[test]
    fn an_earlier_conversation_reads_its_outcome_and_rating_from_its_log() {
        let mut log = frustrated_conversation();
        log.push(Actor::Agent(baton_core::AgentId::new()), EventKind::Resolved);
        log.push(
            Actor::Customer(log.customer),
            EventKind::CsatReceived { score: 2, comment: None },
        );
        let summary = ConversationSummary {
            id: log.id,
            customer_id: log.customer,
            channel: "web".into(),
            stage: Stage::Resolved,
            assigned_agent: None,
            queue: None,
            priority: 0,
            reason: Some("frustration".into()),
            intent: Some("order_status".into()),
            created_at: at(0),
            stage_since: at(12),
            updated_at: at(13),
            last_seq: 13,
            preview: None,
        };

        let earlier = EarlierConversation::from_log(&summary, &log.events);

        assert_eq!(earlier.outcome, "resolved_by_agent");
        assert_eq!(earlier.csat, Some(2));
    }

    /// The frustrated conversation handed back to the AI at seq 11, then
    /// a request for a person (seqs 12 and 13) escalated at seq 14.
    fn escalated_again_after_a_hand_back() -> Log {
        let mut log = frustrated_conversation();
        let agent = baton_core::AgentId::new();
        log.push(Actor::Agent(agent), EventKind::HandedBack { note: None });
        let mut again = analysis("talk_to_human", -0.6);
        again.cues.push(Cue {
            kind: CueKind::HumanRequest,
            words: vec!["a person".into()],
            strength: 0.9,
        });
        log.customer_says("Still nothing, get me a person", again);
        log.push(
            Actor::Bot,
            EventKind::Escalated {
                reason: EscalationReason::HumanRequested,
                evidence: json!({}),
                priority: 1,
                queue: "general".into(),
            },
        );
        log
    }

    #[test]
    fn after_a_hand_back_the_signals_restart_but_the_facts_are_kept() {
        let log = escalated_again_after_a_hand_back();

        let packet =
            build(&log.events, 11, EscalationReason::HumanRequested, json!({}), None, &[], at(30));

        // Signals: only the new segment's.
        assert_eq!(packet.sentiment, vec![SentimentPoint { seq: 12, score: -0.6 }]);
        assert_eq!(packet.cues.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![12]);
        assert_eq!(packet.ai_actions, vec![]);
        // Facts: the order and the problem from before the hand-back.
        assert_eq!(
            packet.entities,
            vec![SeenEntity {
                kind: "order_number".into(),
                value: "W2378156".into(),
                text: "#W2378156".into(),
                seq: 2,
            }]
        );
        assert_eq!(
            packet.intents.iter().map(|i| (i.intent.as_str(), i.seq)).collect::<Vec<_>>(),
            vec![("order_status", 2)]
        );
        // The order's sentence for its fact; the old frustration was a
        // signal of the first segment, so its sentence no longer weighs.
        assert_eq!(
            packet.key_sentences,
            vec!["Where is my order #W2378156?", "Still nothing, get me a person"]
        );
        assert_eq!(
            packet.summary,
            "The customer sent 4 messages about order status. They gave: order number \
             W2378156. Escalated: the customer asked for a person. Sentiment -0.60."
        );
        let seqs: Vec<Vec<u64>> = packet.summary_facts.iter().map(|f| f.seqs.clone()).collect();
        assert_eq!(seqs, vec![vec![2, 5, 8, 12], vec![2], vec![14], vec![12]]);
    }

    #[test]
    fn facts_before_the_last_resolution_are_left_out() {
        let mut log = frustrated_conversation();
        log.push(Actor::Agent(baton_core::AgentId::new()), EventKind::Resolved);
        log.customer_says("I forgot my password", analysis("reset_password", -0.1));
        log.push(
            Actor::Bot,
            EventKind::Escalated {
                reason: EscalationReason::HumanRequested,
                evidence: json!({}),
                priority: 1,
                queue: "general".into(),
            },
        );

        let packet =
            build(&log.events, 11, EscalationReason::HumanRequested, json!({}), None, &[], at(30));

        assert_eq!(packet.entities, vec![]);
        assert_eq!(packet.key_sentences, vec!["I forgot my password"]);
        assert_eq!(
            packet.summary,
            "The customer sent 1 message about reset password. Escalated: the customer asked \
             for a person. Sentiment -0.10."
        );
    }
}
