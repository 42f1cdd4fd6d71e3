//! The journey audit: intents ranked by volume, with their containment,
//! escalation reasons and CSAT, and what to do next for each one, with the
//! reason in words.
//!
//! The rules, tried in order (the first that fits wins):
//!
//! 1. **keep human** when customers show strong feeling: at least half of
//!    the intent's escalations are for negative sentiment, frustration or a
//!    sensitive topic, or at least half of its conversations hold a
//!    frustrated, churning, legal or safety message.
//! 2. **fix the knowledge** when agents marked any of the intent's bot
//!    answers wrong (and no supervisor rejected the mark), or when the AI
//!    answered from articles and still lost most conversations: knowledge
//!    answers were given and fewer than half of the conversations were
//!    contained.
//! 3. **keep human** when the conversations the AI handled alone were
//!    rated below 3 on average.
//! 4. when more conversations escalated than were contained: **automate**
//!    if the most frequent reason is one a flow could remove (a human-only
//!    intent, repeated misunderstanding, a failed action), else **keep
//!    human** (the customers asked for a person, or the AI needed approval).
//! 5. **automate** when the AI contained at least one conversation and at
//!    least half of them: it already keeps most of them.
//! 6. **fix the knowledge** otherwise: fewer than half were contained and
//!    no more escalated than were contained, so the rest ended with neither
//!    a resolution nor a person (the customer left, or the AI still holds
//!    them): its answers did not settle them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use baton_core::Event;

use super::{intents, Filter, IntentRow};
use crate::workspace::Settings;

/// What to do next with an intent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    Automate,
    KeepHuman,
    FixTheKnowledge,
}

impl Recommendation {
    pub fn as_str(self) -> &'static str {
        match self {
            Recommendation::Automate => "automate",
            Recommendation::KeepHuman => "keep human",
            Recommendation::FixTheKnowledge => "fix the knowledge",
        }
    }
}

/// One intent of the audit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub rank: usize,
    pub intent: String,
    pub conversations: usize,
    pub containment_rate: Option<f64>,
    pub escalations_by_reason: BTreeMap<String, usize>,
    /// The most frequent escalation reason, if any.
    pub top_reason: Option<String>,
    pub csat_average: Option<f64>,
    pub recommendation: Recommendation,
    pub why: String,
}

/// Escalation reasons a flow or a tool could remove: the intent is kept
/// from the AI by configuration, or the AI did not understand or could not
/// act.
const FLOW_CAN_HANDLE: [&str; 3] =
    ["human_only_intent", "repeated_misunderstanding", "action_failed"];

/// Escalation reasons that speak of the customer's feelings.
const EMOTIONAL: [&str; 3] = ["negative_sentiment", "frustration", "sensitive_topic"];

/// The audit of the conversations a filter admits, most frequent intent
/// first. Conversations with no main intent are left out: there is no
/// journey to act on.
pub fn audit(events: &[Event], filter: &Filter, settings: &Settings) -> Vec<AuditRow> {
    intents(events, filter, settings)
        .into_iter()
        .filter(|row| row.intent != super::NO_INTENT)
        .enumerate()
        .map(|(i, row)| {
            let (recommendation, why) = recommend(&row);
            let top_reason = row
                .escalations_by_reason
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(reason, _)| reason.clone());
            AuditRow {
                rank: i + 1,
                intent: row.intent,
                conversations: row.conversations,
                containment_rate: row.containment_rate,
                escalations_by_reason: row.escalations_by_reason,
                top_reason,
                csat_average: row.csat.average,
                recommendation,
                why,
            }
        })
        .collect()
}

fn recommend(row: &IntentRow) -> (Recommendation, String) {
    let n = row.conversations;
    let escalations: usize = row.escalations_by_reason.values().sum();
    let emotional: usize = EMOTIONAL.iter().filter_map(|r| row.escalations_by_reason.get(*r)).sum();
    if escalations > 0 && emotional * 2 >= escalations {
        return (
            Recommendation::KeepHuman,
            format!("{emotional} of {escalations} escalations were for the customer's feelings"),
        );
    }
    if row.emotional_messages * 2 >= n && row.emotional_messages > 0 {
        return (
            Recommendation::KeepHuman,
            format!(
                "{} messages in {n} conversations showed frustration, churn, legal or safety cues",
                row.emotional_messages
            ),
        );
    }
    if row.answers_marked_wrong > 0 {
        return (
            Recommendation::FixTheKnowledge,
            format!(
                "agents marked {} of the AI's answers wrong in {n} conversations",
                row.answers_marked_wrong
            ),
        );
    }
    if row.knowledge_answers > 0 && row.contained * 2 < n {
        return (
            Recommendation::FixTheKnowledge,
            format!(
                "the AI answered from articles {} times, yet only {} of {n} conversations \
                 were contained",
                row.knowledge_answers, row.contained
            ),
        );
    }
    if let Some(average) = row.csat_ai_only.filter(|a| *a < 3.0) {
        return (
            Recommendation::KeepHuman,
            format!("conversations the AI handled alone were rated {average:.1} on average"),
        );
    }
    let top = row.escalations_by_reason.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
    match top {
        Some((reason, count)) if row.escalated > row.contained => {
            if FLOW_CAN_HANDLE.contains(&reason.as_str()) {
                (
                    Recommendation::Automate,
                    format!(
                        "{} of {n} conversations escalated, {count} for {reason}, which a flow \
                         could handle",
                        row.escalated
                    ),
                )
            } else {
                (
                    Recommendation::KeepHuman,
                    format!(
                        "{} of {n} conversations escalated, {count} for {reason}",
                        row.escalated
                    ),
                )
            }
        }
        _ if row.contained > 0 && row.contained * 2 >= n => (
            Recommendation::Automate,
            format!("the AI already contains {} of {n} conversations", row.contained),
        ),
        _ => (
            Recommendation::FixTheKnowledge,
            format!(
                "the AI contains only {} of {n} conversations ({} escalated); its answers \
                 did not settle the others",
                row.contained, row.escalated
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::Csat;

    /// An intent's row with only the counts the rules read.
    fn row(conversations: usize, contained: usize, escalations: &[(&str, usize)]) -> IntentRow {
        let escalations_by_reason: BTreeMap<String, usize> =
            escalations.iter().map(|(r, c)| (r.to_string(), *c)).collect();
        IntentRow {
            intent: "return_item".into(),
            conversations,
            contained,
            containment_rate: Some(contained as f64 / conversations as f64),
            escalated: escalations_by_reason.values().sum(),
            escalation_rate: None,
            escalations_by_reason,
            csat: Csat::default(),
            csat_ai_only: None,
            emotional_messages: 0,
            knowledge_answers: 0,
            answers_marked_wrong: 0,
        }
    }

    #[test]
    fn no_contained_conversation_is_never_advice_to_automate() {
        assert_eq!(
            recommend(&row(1, 0, &[])),
            (
                Recommendation::FixTheKnowledge,
                "the AI contains only 0 of 1 conversations (0 escalated); its answers did not \
                 settle the others"
                    .to_string()
            )
        );
    }

    #[test]
    fn fewer_than_half_contained_and_few_escalated_asks_to_fix_the_knowledge() {
        let (recommendation, why) = recommend(&row(5, 2, &[("human_requested", 1)]));
        assert_eq!(recommendation, Recommendation::FixTheKnowledge);
        assert_eq!(
            why,
            "the AI contains only 2 of 5 conversations (1 escalated); its answers did not \
             settle the others"
        );
    }

    #[test]
    fn half_or_more_contained_is_advice_to_automate() {
        assert_eq!(
            recommend(&row(2, 1, &[])),
            (Recommendation::Automate, "the AI already contains 1 of 2 conversations".to_string())
        );
        assert_eq!(recommend(&row(3, 3, &[])).0, Recommendation::Automate);
    }
}
