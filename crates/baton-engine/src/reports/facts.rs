//! One conversation's log folded into the facts every metric is computed
//! from: when it started and on which channel, its main intent, when the AI
//! and the people answered, its escalations, assignments, resolutions,
//! ratings and tool calls.
//!
//! Only the events before the report's end are folded, so that a report on
//! a closed period says the same whenever it is run.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use baton_core::{
    Actor, AgentId, Author, CueKind, EscalationReason, Event, EventKind, FeedbackKind,
};

use super::{APPROVAL_GRANTED, APPROVAL_REJECTED, SUGGESTION_OUTCOMES, SUGGESTION_RATED};

/// A stretch of time during which one agent owned the conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub agent: AgentId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Segment {
    pub fn seconds(&self) -> i64 {
        (self.end - self.start).num_seconds()
    }
}

/// What the metrics need to know about one conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub channel: String,
    pub started_at: DateTime<Utc>,
    /// The top intent of the first in-scope analysed customer message that
    /// is not small talk.
    pub intent: Option<String>,
    /// Every queue it waited in: escalated to, or moved to (`requeued`, by
    /// an agent's transfer or an agent going offline).
    pub queues: BTreeSet<String>,
    /// Every agent it was assigned to.
    pub agents: BTreeSet<AgentId>,
    /// Seconds from the first customer message to the first bot message
    /// after it.
    pub bot_first_response: Option<i64>,
    /// Seconds from the first escalation to the first agent message after it.
    pub human_first_response: Option<i64>,
    /// Each escalation with the seconds until an agent was assigned after
    /// it, if one was.
    pub escalations: Vec<(EscalationReason, Option<i64>)>,
    /// Agent ownership that ended (by resolution, hand-back or transfer).
    pub segments: Vec<Segment>,
    /// Seconds from the start to the first resolution.
    pub resolution: Option<i64>,
    /// Who resolved it, each time.
    pub resolved_by: Vec<Actor>,
    /// Whether a customer message reopened it within the reopen window.
    pub reopened_within_window: bool,
    /// Whether an agent wrote to the customer.
    pub human_message: bool,
    pub customer_messages: u32,
    /// Customer messages asking the same as the one before, or saying so.
    pub repeated_questions: u32,
    /// Assignments from one agent to another.
    pub transfers: u32,
    pub csat_requests: u32,
    pub csat_scores: Vec<u8>,
    /// `(tool, ok)` per call.
    pub tools: Vec<(String, bool)>,
    pub approvals_requested: u32,
    pub approvals_granted: u32,
    pub approvals_rejected: u32,
    /// `(suggestion id, kind, outcome)` per reply sent from a suggestion and
    /// per suggestion dismissed (once each).
    pub suggestions: Vec<(Option<String>, String, String)>,
    /// `(suggestion id, kind, helpful)` per suggestion an agent rated; a
    /// second rating of the same suggestion replaces the first, so that a
    /// double click or a change of mind counts once.
    pub suggestion_ratings: Vec<(Option<String>, String, bool)>,
    /// Customer messages with frustration, a churn threat, or legal or
    /// safety language.
    pub emotional_messages: u32,
    /// Answers the AI sent from knowledge articles (bot messages that cite
    /// one).
    pub knowledge_answers: u32,
    /// Bot answers an agent marked wrong, less those a supervisor rejected
    /// the mark on.
    pub answers_marked_wrong: u32,
}

impl Facts {
    pub fn resolved(&self) -> bool {
        !self.resolved_by.is_empty()
    }

    pub fn escalated(&self) -> bool {
        !self.escalations.is_empty()
    }

    /// Resolved with no agent message and not reopened within the window.
    pub fn contained(&self) -> bool {
        self.resolved() && !self.human_message && !self.reopened_within_window
    }

    /// Seconds of agent ownership, summed over the ended segments.
    pub fn handle_seconds(&self) -> Option<i64> {
        if self.segments.is_empty() {
            return None;
        }
        Some(self.segments.iter().map(Segment::seconds).sum())
    }

    pub fn handle_seconds_of(&self, agent: AgentId) -> i64 {
        self.segments.iter().filter(|s| s.agent == agent).map(Segment::seconds).sum()
    }
}

/// Fold one conversation's events, in seq order, keeping those before
/// `until`. `None` when the log does not begin with its start.
pub fn fold(
    events: &[&Event],
    until: Option<DateTime<Utc>>,
    reopen_window: Duration,
    small_talk: &[String],
) -> Option<Facts> {
    let first = events.first()?;
    let EventKind::ConversationStarted { channel, .. } = &first.kind else {
        return None;
    };
    let mut facts = Facts {
        channel: channel.clone(),
        started_at: first.at,
        intent: None,
        queues: BTreeSet::new(),
        agents: BTreeSet::new(),
        bot_first_response: None,
        human_first_response: None,
        escalations: Vec::new(),
        segments: Vec::new(),
        resolution: None,
        resolved_by: Vec::new(),
        reopened_within_window: false,
        human_message: false,
        customer_messages: 0,
        repeated_questions: 0,
        transfers: 0,
        csat_requests: 0,
        csat_scores: Vec::new(),
        tools: Vec::new(),
        approvals_requested: 0,
        approvals_granted: 0,
        approvals_rejected: 0,
        suggestions: Vec::new(),
        suggestion_ratings: Vec::new(),
        emotional_messages: 0,
        knowledge_answers: 0,
        answers_marked_wrong: 0,
    };

    // Running state of the fold.
    let mut first_customer_at: Option<DateTime<Utc>> = None;
    let mut first_escalated_at: Option<DateTime<Utc>> = None;
    let mut waiting_since: Option<(usize, DateTime<Utc>)> = None;
    let mut owner: Option<(AgentId, DateTime<Utc>)> = None;
    let mut last_resolved_at: Option<DateTime<Utc>> = None;
    let mut previous_intent: Option<String> = None;
    let mut marked_wrong: BTreeSet<u64> = BTreeSet::new();

    for event in events.iter().take_while(|e| until.is_none_or(|u| e.at < u)) {
        let at = event.at;
        match &event.kind {
            EventKind::MessagePosted { author: Author::Customer, .. } => {
                facts.customer_messages += 1;
                first_customer_at.get_or_insert(at);
            }
            EventKind::MessagePosted { author: Author::Bot, citations, .. } => {
                if let (Some(asked), None) = (first_customer_at, facts.bot_first_response) {
                    facts.bot_first_response = Some((at - asked).num_seconds());
                }
                // An answer from knowledge is one the customer read with
                // its sources; a decision to answer that a flow then took
                // over sent nothing.
                if !citations.is_empty() {
                    facts.knowledge_answers += 1;
                }
            }
            EventKind::MessagePosted { author: Author::Agent, .. } => {
                facts.human_message = true;
                if let (Some(escalated), None) = (first_escalated_at, facts.human_first_response) {
                    facts.human_first_response = Some((at - escalated).num_seconds());
                }
            }
            EventKind::MessageAnalysed { analysis, .. } => {
                let top = analysis.top_intent().filter(|_| !analysis.out_of_scope);
                let top = top.map(|t| t.intent.clone());
                let repeated_cue = analysis.cue(CueKind::RepeatedContact).is_some();
                if repeated_cue || (top.is_some() && top == previous_intent) {
                    facts.repeated_questions += 1;
                }
                let emotional = [CueKind::Frustration, CueKind::ChurnThreat]
                    .into_iter()
                    .chain([CueKind::Legal, CueKind::Safety])
                    .any(|kind| analysis.cue(kind).is_some());
                if emotional {
                    facts.emotional_messages += 1;
                }
                if let Some(intent) = &top {
                    if facts.intent.is_none() && !small_talk.contains(intent) {
                        facts.intent = Some(intent.clone());
                    }
                    previous_intent = top;
                }
            }
            EventKind::Decided { action, detail, .. } => match action.as_str() {
                APPROVAL_GRANTED => facts.approvals_granted += 1,
                APPROVAL_REJECTED => facts.approvals_rejected += 1,
                SUGGESTION_RATED => {
                    let kind = detail.get("kind").and_then(|k| k.as_str()).unwrap_or("other");
                    let id = detail.get("suggestion_id").and_then(|i| i.as_str());
                    if let Some(helpful) = detail.get("helpful").and_then(|h| h.as_bool()) {
                        let id = id.map(str::to_string);
                        if id.is_some() {
                            facts.suggestion_ratings.retain(|(rated, _, _)| *rated != id);
                        }
                        facts.suggestion_ratings.push((id, kind.to_string(), helpful));
                    }
                }
                other => {
                    if let Some(outcome) = SUGGESTION_OUTCOMES.iter().find(|o| o.0 == other) {
                        let kind = detail.get("kind").and_then(|k| k.as_str()).unwrap_or("other");
                        // Each reply sent from a suggestion counts, but a
                        // suggestion is dismissed once: a second click on
                        // "dismiss" says nothing new.
                        let id = detail.get("suggestion_id").and_then(|i| i.as_str());
                        let dismissed = outcome.1 == "dismissed";
                        let again = dismissed
                            && id.is_some()
                            && facts.suggestions.iter().any(|(done, _, what)| {
                                done.as_deref() == id && what == "dismissed"
                            });
                        if !again {
                            let id = id.map(str::to_string);
                            facts.suggestions.push((id, kind.to_string(), outcome.1.to_string()));
                        }
                    }
                }
            },
            EventKind::Escalated { reason, queue, .. } => {
                facts.queues.insert(queue.clone());
                first_escalated_at.get_or_insert(at);
                if *reason == EscalationReason::ApprovalRequired {
                    facts.approvals_requested += 1;
                }
                facts.escalations.push((*reason, None));
                waiting_since = Some((facts.escalations.len() - 1, at));
            }
            EventKind::Assigned { agent_id, previous } => {
                facts.agents.insert(*agent_id);
                if previous.is_some() {
                    facts.transfers += 1;
                }
                if let Some((index, since)) = waiting_since.take() {
                    facts.escalations[index].1 = Some((at - since).num_seconds());
                }
                if let Some((agent, start)) = owner.take() {
                    facts.segments.push(Segment { agent, start, end: at });
                }
                owner = Some((*agent_id, at));
            }
            EventKind::HandedBack { .. } => {
                if let Some((agent, start)) = owner.take() {
                    facts.segments.push(Segment { agent, start, end: at });
                }
            }
            EventKind::Requeued { queue, .. } => {
                // A transfer puts it in the queue's hands as much as an
                // escalation does: that team worked it.
                // TODO: the wait after a requeue is not a sample of
                // `time_to_human`, which counts escalations only.
                facts.queues.insert(queue.clone());
            }
            EventKind::Resolved => {
                if let Some((agent, start)) = owner.take() {
                    facts.segments.push(Segment { agent, start, end: at });
                }
                waiting_since = None;
                facts.resolved_by.push(event.actor);
                facts.resolution.get_or_insert((at - facts.started_at).num_seconds());
                last_resolved_at = Some(at);
            }
            EventKind::Reopened { agent_id } => {
                if last_resolved_at.is_some_and(|r| at - r <= reopen_window) {
                    facts.reopened_within_window = true;
                }
                if let Some(agent) = agent_id {
                    owner = Some((*agent, at));
                }
            }
            EventKind::CsatRequested => facts.csat_requests += 1,
            EventKind::CsatReceived { score, .. } => facts.csat_scores.push(*score),
            EventKind::ToolCalled { tool, ok, .. } => facts.tools.push((tool.clone(), *ok)),
            EventKind::FeedbackGiven { kind: FeedbackKind::AnswerWrong, .. } => {
                marked_wrong.insert(event.seq);
                facts.answers_marked_wrong += 1;
            }
            EventKind::FeedbackReviewed { feedback_seq, accepted: false, .. }
                if marked_wrong.remove(feedback_seq) =>
            {
                facts.answers_marked_wrong -= 1;
            }
            _ => {}
        }
    }
    Some(facts)
}
