//! The handoff packet: everything the agent needs to take over without
//! asking the customer again.
//!
//! The packet is assembled from the event log only. Its summary and its
//! suggested first reply are sentences built from those facts, so every
//! claim in them traces back to a message or an event.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use baton_core::{Actor, Author, CueKind, EscalationReason, Event, EventKind, Stage};
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
    pub summary: String,
    pub suggested_reply: String,
    pub built_at: DateTime<Utc>,
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
    pub profile: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlierConversation {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub stage: Stage,
    pub intent: Option<String>,
    pub reason: Option<String>,
}

/// Build the packet for a conversation whose log ends with its escalation.
/// `segment_start` is the seq after which signals count.
pub fn build(
    events: &[Event],
    segment_start: u64,
    reason: EscalationReason,
    evidence: Value,
    customer: Option<&Customer>,
    earlier: &[ConversationSummary],
    now: DateTime<Utc>,
) -> HandoffPacket {
    let segment: Vec<&Event> = events.iter().filter(|e| e.seq > segment_start).collect();

    let mut intents: Vec<SeenIntent> = Vec::new();
    let mut entities: Vec<SeenEntity> = Vec::new();
    let mut sentiment = Vec::new();
    let mut cues = Vec::new();
    let mut ai_actions = Vec::new();
    let mut customer_text: BTreeMap<u64, String> = BTreeMap::new();

    for event in &segment {
        match &event.kind {
            EventKind::MessagePosted { author: Author::Customer, text, .. } => {
                customer_text.insert(event.seq, text.clone());
            }
            EventKind::MessagePosted { author: Author::Bot, text, .. } => {
                ai_actions.push(AiAction {
                    seq: event.seq,
                    action: "replied".into(),
                    detail: text.clone(),
                });
            }
            EventKind::MessageAnalysed { message_seq, analysis } => {
                sentiment
                    .push(SentimentPoint { seq: *message_seq, score: analysis.sentiment.score });
                // A short message that only asks for a person says nothing
                // about the topic: its intent would read "about talk to
                // human" in the summary.
                let only_asks_for_person = analysis.cue(CueKind::HumanRequest).is_some()
                    && analysis.entities.is_empty()
                    && customer_text
                        .get(message_seq)
                        .is_some_and(|t| t.split_whitespace().count() <= 8);
                let topic = analysis
                    .top_intent()
                    .filter(|_| !analysis.out_of_scope && !only_asks_for_person);
                if let Some(top) = topic {
                    match intents.iter_mut().find(|i| i.intent == top.intent) {
                        Some(seen) => seen.confidence = seen.confidence.max(top.confidence),
                        None => intents.push(SeenIntent {
                            intent: top.intent.clone(),
                            confidence: top.confidence,
                            seq: *message_seq,
                        }),
                    }
                }
                for entity in &analysis.entities {
                    let kind = entity.kind.as_str();
                    if !entities.iter().any(|e| e.kind == kind && e.value == entity.value) {
                        entities.push(SeenEntity {
                            kind: kind.into(),
                            value: entity.value.clone(),
                            text: entity.text.clone(),
                            seq: *message_seq,
                        });
                    }
                }
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
    let card = customer
        .map(|c| CustomerCard {
            name: c.name.clone(),
            email: c.email.clone(),
            external_id: c.external_id.clone(),
            profile: c.profile.clone(),
        })
        .unwrap_or_default();
    let earlier_conversations = earlier
        .iter()
        .map(|c| EarlierConversation {
            id: c.id.to_string(),
            started_at: c.created_at,
            stage: c.stage,
            intent: c.intent.clone(),
            reason: c.reason.clone(),
        })
        .collect::<Vec<_>>();

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
        summary: String::new(),
        suggested_reply: String::new(),
        built_at: now,
    };
    packet.summary = summary(&packet, customer_text.len());
    packet.suggested_reply = suggested_reply(&packet);
    packet
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

/// One paragraph from the packet's facts; nothing in it is invented.
fn summary(packet: &HandoffPacket, customer_messages: usize) -> String {
    let who = packet.customer.name.clone().unwrap_or_else(|| "The customer".into());
    let mut parts = Vec::new();

    let topic = match packet.intents.as_slice() {
        [] => String::new(),
        intents => format!(
            " about {}",
            intents.iter().map(|i| humanise(&i.intent)).collect::<Vec<_>>().join(" and ")
        ),
    };
    let plural = if customer_messages == 1 { "" } else { "s" };
    parts.push(format!("{who} sent {customer_messages} message{plural}{topic}."));

    if !packet.entities.is_empty() {
        let given = packet
            .entities
            .iter()
            .map(|e| format!("{} {}", humanise(&e.kind), e.value))
            .collect::<Vec<_>>()
            .join(", ");
        parts.push(format!("They gave: {given}."));
    }

    let replies = packet.ai_actions.iter().filter(|a| a.action == "replied").count();
    let failed = packet.ai_actions.iter().filter(|a| a.action == "tool_call_failed").count();
    let calls = packet.ai_actions.iter().filter(|a| a.action == "tool_call").count();
    if replies > 0 || calls > 0 || failed > 0 {
        let mut did =
            vec![format!("replied {replies} time{}", if replies == 1 { "" } else { "s" })];
        if calls > 0 {
            did.push(format!("made {calls} successful system call{}", plural_s(calls)));
        }
        if failed > 0 {
            did.push(format!("had {failed} system call{} fail", plural_s(failed)));
        }
        parts.push(format!("The AI {}.", did.join(", ")));
    }

    parts.push(format!("Escalated: {}.", reason_sentence(packet.reason, &packet.evidence)));

    if let (Some(first), Some(last)) = (packet.sentiment.first(), packet.sentiment.last()) {
        if packet.sentiment.len() > 1 {
            let (from, to) = (first.score + 0.0, last.score + 0.0);
            parts.push(format!("Sentiment went from {from:.2} to {to:.2}."));
        } else {
            parts.push(format!("Sentiment {:.2}.", last.score + 0.0));
        }
    }
    if !packet.earlier_conversations.is_empty() {
        let n = packet.earlier_conversations.len();
        parts.push(format!("{n} earlier conversation{} on record.", plural_s(n)));
    }
    parts.join(" ")
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
    if repeated {
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
        log
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
    fn signals_before_the_segment_start_are_left_out() {
        let log = frustrated_conversation();

        // Count only from the third customer message on.
        let packet =
            build(&log.events, 7, EscalationReason::Frustration, json!({}), None, &[], at(30));

        assert!(packet.entities.is_empty());
        assert_eq!(packet.sentiment.len(), 1);
        assert!(packet.ai_actions.iter().all(|a| a.action != "tool_call_failed"));
    }
}
