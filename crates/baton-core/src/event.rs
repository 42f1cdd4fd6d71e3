//! The append-only event log of a conversation and the projection of it that
//! the rest of Baton reads.
//!
//! Every message, every decision of the AI with its reason, and every change
//! of stage is an [`Event`] with a per-conversation sequence number. Nothing
//! is ever updated in place: the current state is [`Projection::from_events`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::analysis::Analysis;
use crate::ids::{AgentId, ConversationId, CustomerId};
use crate::stage::{Stage, Transition, TransitionError};

/// One entry of a conversation's log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub conversation_id: ConversationId,
    /// 1 for the first event of a conversation, then +1 per event, no gaps.
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Who caused an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    Customer(CustomerId),
    Bot,
    Agent(AgentId),
    /// Baton itself: timers, routing, start-up.
    System,
}

/// Who wrote a message the customer can see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Customer,
    Bot,
    Agent,
    System,
}

impl Author {
    pub fn as_str(self) -> &'static str {
        match self {
            Author::Customer => "customer",
            Author::Bot => "bot",
            Author::Agent => "agent",
            Author::System => "system",
        }
    }
}

/// Why a conversation went to a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    /// The customer asked for a person.
    HumanRequested,
    /// The message's sentiment fell below the workspace's threshold.
    NegativeSentiment,
    /// Anger or exasperation cues.
    Frustration,
    /// The AI did not understand twice in a row.
    RepeatedMisunderstanding,
    /// The workspace says this intent is handled by people only.
    HumanOnlyIntent,
    /// Legal, regulatory, safety or vulnerability language.
    SensitiveTopic,
    /// The customer's profile says they always want a person.
    CustomerPreference,
    /// An action above the AI's authority waits for a person's approval.
    ApprovalRequired,
    /// An action failed and the AI could not complete the request.
    ActionFailed,
    /// The customer writes in a language the AI was not trained on.
    UnsupportedLanguage,
    /// The customer wrote again soon after an agent resolved the
    /// conversation, and that agent is not online to take it back.
    AgentUnavailable,
}

impl EscalationReason {
    pub const ALL: [EscalationReason; 11] = [
        EscalationReason::HumanRequested,
        EscalationReason::NegativeSentiment,
        EscalationReason::Frustration,
        EscalationReason::RepeatedMisunderstanding,
        EscalationReason::HumanOnlyIntent,
        EscalationReason::SensitiveTopic,
        EscalationReason::CustomerPreference,
        EscalationReason::ApprovalRequired,
        EscalationReason::ActionFailed,
        EscalationReason::UnsupportedLanguage,
        EscalationReason::AgentUnavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EscalationReason::HumanRequested => "human_requested",
            EscalationReason::NegativeSentiment => "negative_sentiment",
            EscalationReason::Frustration => "frustration",
            EscalationReason::RepeatedMisunderstanding => "repeated_misunderstanding",
            EscalationReason::HumanOnlyIntent => "human_only_intent",
            EscalationReason::SensitiveTopic => "sensitive_topic",
            EscalationReason::CustomerPreference => "customer_preference",
            EscalationReason::ApprovalRequired => "approval_required",
            EscalationReason::ActionFailed => "action_failed",
            EscalationReason::UnsupportedLanguage => "unsupported_language",
            EscalationReason::AgentUnavailable => "agent_unavailable",
        }
    }
}

/// What happened. Serialised with a `type` tag beside the event's envelope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    ConversationStarted {
        channel: String,
        customer_id: CustomerId,
    },
    /// A message the customer can see.
    MessagePosted {
        author: Author,
        text: String,
        /// The sender's idempotency key, if it gave one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        /// Buttons offered with a bot message (clarifications, yes/no).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        quick_replies: Vec<String>,
        /// The knowledge articles a bot answer was taken from.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        citations: Vec<Citation>,
    },
    /// An agent's note; never shown to the customer.
    NoteAdded {
        text: String,
    },
    /// What the language layer read in the customer message at `message_seq`.
    MessageAnalysed {
        message_seq: u64,
        analysis: Analysis,
    },
    /// A decision of the AI with its explanation ("why did the AI do that?").
    Decided {
        /// `answer`, `clarify`, `escalate`, `fallback`, `queue_update`, ...
        action: String,
        /// One sentence a person can read.
        reason: String,
        /// The numbers and words the decision was taken on.
        #[serde(default)]
        detail: Value,
    },
    Escalated {
        reason: EscalationReason,
        /// The cue words, scores or rule that triggered the escalation.
        evidence: Value,
        /// Higher is more urgent.
        priority: i32,
        queue: String,
    },
    /// The handoff packet as built for the agent at escalation time.
    HandoffPrepared {
        packet: Value,
    },
    Assigned {
        agent_id: AgentId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<AgentId>,
    },
    HandedBack {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    Resolved,
    Reopened {
        /// The agent it went back to, or none for the AI.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_id: Option<AgentId>,
    },
    CsatRequested,
    CsatReceived {
        score: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// A call to one of the company's systems, with what came back.
    ToolCalled {
        tool: String,
        parameters: Value,
        outcome: Value,
        ok: bool,
    },
    /// An agent's correction of the AI, or a reply of theirs offered for
    /// reuse. The actor is the agent; the event's time is when they said it.
    /// Its id is the conversation's id and this event's seq.
    FeedbackGiven {
        kind: FeedbackKind,
        /// The message the feedback is about.
        message_seq: u64,
        /// For a relabel: the intent the agent says the message has.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        intent: Option<String>,
        /// For a relabel: the intent the model had given it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_intent: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// For a saved reply: the file it was written to, under the data
        /// folder's `drafts/`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        draft: Option<String>,
    },
    /// A supervisor's verdict on the feedback given at `feedback_seq` of the
    /// same conversation. Only accepted relabels train the next model.
    FeedbackReviewed {
        feedback_seq: u64,
        accepted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Back to waiting in a queue (an agent's transfer to a queue, or a
    /// move between queues); the handoff packet stays.
    Requeued {
        queue: String,
        /// The new priority, higher is more urgent.
        priority: i32,
        /// How the priority was reached, as in `Escalated::evidence`.
        #[serde(default)]
        evidence: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// No person answered within the queue's first-response target. Raised
    /// once per wait in a queue.
    SlaBreached {
        queue: String,
        /// When the first response was due.
        due_at: DateTime<Utc>,
        target_minutes: u32,
    },
    /// The customer left a message while nobody who could take it was at
    /// work; someone is to follow it up.
    FollowUpRequested {
        /// The customer message the follow-up is about.
        message_seq: u64,
    },
}

/// What an agent's feedback says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// The customer message meant another intent than the model read.
    Relabel,
    /// The bot's answer was wrong.
    AnswerWrong,
    /// The agent's reply should become a reply template.
    SaveTemplate,
    /// The agent's reply should become a knowledge article.
    SaveArticleDraft,
}

impl FeedbackKind {
    pub const ALL: [FeedbackKind; 4] = [
        FeedbackKind::Relabel,
        FeedbackKind::AnswerWrong,
        FeedbackKind::SaveTemplate,
        FeedbackKind::SaveArticleDraft,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackKind::Relabel => "relabel",
            FeedbackKind::AnswerWrong => "answer_wrong",
            FeedbackKind::SaveTemplate => "save_template",
            FeedbackKind::SaveArticleDraft => "save_article_draft",
        }
    }
}

impl EventKind {
    /// The stage transition this event makes, if any.
    pub fn transition(&self) -> Option<Transition> {
        match self {
            EventKind::Escalated { .. } => Some(Transition::Escalate),
            EventKind::Assigned { .. } => Some(Transition::Assign),
            EventKind::HandedBack { .. } => Some(Transition::HandBack),
            EventKind::Resolved => Some(Transition::Resolve),
            EventKind::Reopened { agent_id: Some(_) } => Some(Transition::ReopenToHuman),
            EventKind::Reopened { agent_id: None } => Some(Transition::ReopenToBot),
            EventKind::Requeued { .. } => Some(Transition::Requeue),
            _ => None,
        }
    }

    /// The name of the event type as serialised, for storage and filters.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::ConversationStarted { .. } => "conversation_started",
            EventKind::MessagePosted { .. } => "message_posted",
            EventKind::NoteAdded { .. } => "note_added",
            EventKind::MessageAnalysed { .. } => "message_analysed",
            EventKind::Decided { .. } => "decided",
            EventKind::Escalated { .. } => "escalated",
            EventKind::HandoffPrepared { .. } => "handoff_prepared",
            EventKind::Assigned { .. } => "assigned",
            EventKind::HandedBack { .. } => "handed_back",
            EventKind::Resolved => "resolved",
            EventKind::Reopened { .. } => "reopened",
            EventKind::CsatRequested => "csat_requested",
            EventKind::CsatReceived { .. } => "csat_received",
            EventKind::ToolCalled { .. } => "tool_called",
            EventKind::FeedbackGiven { .. } => "feedback_given",
            EventKind::FeedbackReviewed { .. } => "feedback_reviewed",
            EventKind::Requeued { .. } => "requeued",
            EventKind::SlaBreached { .. } => "sla_breached",
            EventKind::FollowUpRequested { .. } => "follow_up_requested",
        }
    }
}

/// Where a bot answer came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    pub article_id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A message as the customer and the agent see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub seq: u64,
    pub author: Author,
    pub text: String,
    pub at: DateTime<Utc>,
    /// The agent who wrote it, for agent messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
}

/// The current state of a conversation, derived from its events.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    pub id: ConversationId,
    pub customer_id: CustomerId,
    pub channel: String,
    pub started_at: DateTime<Utc>,
    pub stage: Stage,
    /// When the conversation entered its current stage.
    pub stage_since: DateTime<Utc>,
    pub assigned_agent: Option<AgentId>,
    /// The agent who last owned it, kept after resolution for reopening.
    pub last_agent: Option<AgentId>,
    pub messages: Vec<Message>,
    /// The sequence number of the last event.
    pub last_seq: u64,
    pub last_event_at: DateTime<Utc>,
    /// When the conversation last entered `resolved`, if it is there now.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The event of the current escalation, while queued or human.
    pub escalation: Option<Event>,
    /// The latest handoff packet, if any was prepared since the last reset.
    pub handoff: Option<Value>,
    /// The seq after which signals count: the last resolution or hand-back.
    /// An old request for a person before it must not escalate a new topic.
    pub segment_start: u64,
    pub csat_requested: bool,
    pub csat: Option<(u8, Option<String>)>,
    /// The top intent of the latest analysed customer message.
    pub last_intent: Option<String>,
    /// The language of the latest analysed customer message (ISO 639-1),
    /// when it could be told.
    pub language: Option<String>,
    /// The queue it waits in or was last routed to, and its priority there.
    pub queue: Option<String>,
    pub priority: i32,
    /// When the current wait for a first human response began: set on
    /// entering a queue, cleared by the first agent message, a hand-back
    /// or a resolution. The SLA clock.
    pub awaiting_response_since: Option<DateTime<Utc>>,
    /// Whether the current wait already broke its first-response target.
    pub sla_breached: bool,
    /// Whether the customer left a message for a follow-up while waiting.
    pub follow_up: bool,
}

/// Why a log could not be folded into a conversation.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProjectionError {
    #[error("the log is empty or does not start with conversation_started")]
    NoStart,
    #[error("event {seq} breaks the sequence: expected {expected}")]
    BadSequence { seq: u64, expected: u64 },
    #[error("event {seq}: {source}")]
    Transition { seq: u64, source: TransitionError },
    #[error(
        "event {seq}: the AI may not write to the customer while a person owns the conversation"
    )]
    BotSpokeDuringHuman { seq: u64 },
}

impl Projection {
    /// Fold a conversation's whole log, checking its order and every stage
    /// transition on the way.
    pub fn from_events(events: &[Event]) -> Result<Self, ProjectionError> {
        let first = events.first().ok_or(ProjectionError::NoStart)?;
        let EventKind::ConversationStarted { channel, customer_id } = &first.kind else {
            return Err(ProjectionError::NoStart);
        };
        let mut state = Projection {
            id: first.conversation_id,
            customer_id: *customer_id,
            channel: channel.clone(),
            started_at: first.at,
            stage: Stage::Bot,
            stage_since: first.at,
            assigned_agent: None,
            last_agent: None,
            messages: Vec::new(),
            last_seq: 0,
            last_event_at: first.at,
            resolved_at: None,
            escalation: None,
            handoff: None,
            segment_start: 0,
            csat_requested: false,
            csat: None,
            last_intent: None,
            language: None,
            queue: None,
            priority: 0,
            awaiting_response_since: None,
            sla_breached: false,
            follow_up: false,
        };
        for event in events {
            state.apply(event)?;
        }
        Ok(state)
    }

    /// Apply one more event; the same check as [`Projection::from_events`].
    pub fn apply(&mut self, event: &Event) -> Result<(), ProjectionError> {
        let expected = self.last_seq + 1;
        if event.seq != expected {
            return Err(ProjectionError::BadSequence { seq: event.seq, expected });
        }
        let bot_speaks = matches!(event.kind, EventKind::MessagePosted { author: Author::Bot, .. });
        if bot_speaks && self.stage == Stage::Human {
            return Err(ProjectionError::BotSpokeDuringHuman { seq: event.seq });
        }
        if let Some(transition) = event.kind.transition() {
            self.stage = self
                .stage
                .apply(transition)
                .map_err(|source| ProjectionError::Transition { seq: event.seq, source })?;
            self.stage_since = event.at;
        }
        self.last_seq = event.seq;
        self.last_event_at = event.at;

        match &event.kind {
            EventKind::MessagePosted { author, text, quick_replies, citations, .. } => {
                self.messages.push(Message {
                    seq: event.seq,
                    author: *author,
                    text: text.clone(),
                    at: event.at,
                    agent_id: match event.actor {
                        Actor::Agent(id) => Some(id),
                        _ => None,
                    },
                    quick_replies: quick_replies.clone(),
                    citations: citations.clone(),
                });
                if *author == Author::Agent {
                    self.awaiting_response_since = None;
                }
            }
            EventKind::MessageAnalysed { analysis, .. } => {
                if let Some(top) = analysis.top_intent().filter(|_| !analysis.out_of_scope) {
                    self.last_intent = Some(top.intent.clone());
                }
                if analysis.language.code != "und" {
                    self.language = Some(analysis.language.code.clone());
                }
            }
            EventKind::Escalated { queue, priority, .. } => {
                self.escalation = Some(event.clone());
                self.enter_queue(queue, *priority, event.at);
            }
            EventKind::Requeued { queue, priority, .. } => {
                self.assigned_agent = None;
                self.enter_queue(queue, *priority, event.at);
            }
            EventKind::SlaBreached { .. } => self.sla_breached = true,
            EventKind::FollowUpRequested { .. } => self.follow_up = true,
            EventKind::HandoffPrepared { packet } => {
                self.handoff = Some(packet.clone());
            }
            EventKind::Assigned { agent_id, .. } => {
                self.assigned_agent = Some(*agent_id);
                self.last_agent = Some(*agent_id);
            }
            EventKind::HandedBack { .. } => {
                self.assigned_agent = None;
                self.escalation = None;
                self.handoff = None;
                self.segment_start = event.seq;
                self.leave_queue();
            }
            EventKind::Resolved => {
                self.assigned_agent = None;
                self.escalation = None;
                self.leave_queue();
                self.resolved_at = Some(event.at);
                self.segment_start = event.seq;
                self.csat_requested = false;
            }
            EventKind::Reopened { agent_id } => {
                self.assigned_agent = *agent_id;
                self.resolved_at = None;
                self.handoff = None;
            }
            EventKind::CsatRequested => self.csat_requested = true,
            EventKind::CsatReceived { score, comment } => {
                self.csat = Some((*score, comment.clone()));
            }
            _ => {}
        }
        Ok(())
    }

    /// A new wait in a queue: a new SLA clock and no follow-up yet.
    fn enter_queue(&mut self, queue: &str, priority: i32, at: DateTime<Utc>) {
        self.queue = Some(queue.to_string());
        self.priority = priority;
        self.awaiting_response_since = Some(at);
        self.sla_breached = false;
        self.follow_up = false;
    }

    /// The person's part is over: no clock runs any more.
    fn leave_queue(&mut self) {
        self.awaiting_response_since = None;
        self.follow_up = false;
    }

    /// Whether the customer may still answer the CSAT question: asked after
    /// the last resolution and not answered since.
    pub fn awaits_csat(&self) -> bool {
        self.stage == Stage::Resolved && self.csat_requested && self.csat.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 10, minute, 0).unwrap()
    }

    fn log(kinds: Vec<(Actor, EventKind)>) -> Vec<Event> {
        let conversation_id = ConversationId::new();
        kinds
            .into_iter()
            .enumerate()
            .map(|(i, (actor, kind))| Event {
                conversation_id,
                seq: i as u64 + 1,
                at: at(i as u32),
                actor,
                kind,
            })
            .collect()
    }

    fn say(author: Author, text: &str) -> EventKind {
        EventKind::MessagePosted {
            author,
            text: text.into(),
            client_id: None,
            quick_replies: vec![],
            citations: vec![],
        }
    }

    #[test]
    fn an_escalated_and_assigned_conversation_is_human_with_its_agent() {
        let customer = CustomerId::new();
        let agent = AgentId::new();
        let events = log(vec![
            (
                Actor::System,
                EventKind::ConversationStarted { channel: "web".into(), customer_id: customer },
            ),
            (Actor::Customer(customer), say(Author::Customer, "agent please")),
            (
                Actor::Bot,
                EventKind::Escalated {
                    reason: EscalationReason::HumanRequested,
                    evidence: serde_json::json!({"words": ["agent"]}),
                    priority: 1,
                    queue: "general".into(),
                },
            ),
            (Actor::Agent(agent), EventKind::Assigned { agent_id: agent, previous: None }),
        ]);
        let state = Projection::from_events(&events).unwrap();
        assert_eq!(state.stage, Stage::Human);
        assert_eq!(state.assigned_agent, Some(agent));
        assert_eq!(state.messages.len(), 1);
        assert_eq!(state.last_seq, 4);
    }

    #[test]
    fn a_log_with_a_forbidden_transition_is_rejected_at_that_event() {
        let customer = CustomerId::new();
        let events = log(vec![
            (
                Actor::System,
                EventKind::ConversationStarted { channel: "web".into(), customer_id: customer },
            ),
            (Actor::System, EventKind::Reopened { agent_id: None }),
        ]);
        let err = Projection::from_events(&events).unwrap_err();
        assert_eq!(
            err,
            ProjectionError::Transition {
                seq: 2,
                source: TransitionError { from: Stage::Bot, transition: Transition::ReopenToBot },
            }
        );
    }

    #[test]
    fn a_bot_message_after_the_takeover_is_rejected() {
        let customer = CustomerId::new();
        let agent = AgentId::new();
        let events = log(vec![
            (
                Actor::System,
                EventKind::ConversationStarted { channel: "web".into(), customer_id: customer },
            ),
            (Actor::Agent(agent), EventKind::Assigned { agent_id: agent, previous: None }),
            (Actor::Bot, say(Author::Bot, "Can I help with anything else?")),
        ]);
        assert_eq!(
            Projection::from_events(&events).unwrap_err(),
            ProjectionError::BotSpokeDuringHuman { seq: 3 }
        );
    }

    #[test]
    fn a_gap_in_the_sequence_is_rejected() {
        let customer = CustomerId::new();
        let mut events = log(vec![
            (
                Actor::System,
                EventKind::ConversationStarted { channel: "web".into(), customer_id: customer },
            ),
            (Actor::Customer(customer), say(Author::Customer, "hi")),
        ]);
        events[1].seq = 3;
        assert_eq!(
            Projection::from_events(&events).unwrap_err(),
            ProjectionError::BadSequence { seq: 3, expected: 2 }
        );
    }

    #[test]
    fn resolution_opens_a_new_segment_and_awaits_csat_once_asked() {
        let customer = CustomerId::new();
        let events = log(vec![
            (
                Actor::System,
                EventKind::ConversationStarted { channel: "web".into(), customer_id: customer },
            ),
            (Actor::Customer(customer), say(Author::Customer, "thanks, that's all")),
            (Actor::Bot, EventKind::Resolved),
            (Actor::Bot, EventKind::CsatRequested),
        ]);
        let state = Projection::from_events(&events).unwrap();
        assert_eq!(state.stage, Stage::Resolved);
        assert_eq!(state.segment_start, 3);
        assert!(state.awaits_csat());
    }

    #[test]
    fn feedback_serialises_with_its_kind_beside_the_type_tag() {
        let agent = AgentId::new();
        let events = log(vec![
            (
                Actor::System,
                EventKind::ConversationStarted {
                    channel: "web".into(),
                    customer_id: CustomerId::new(),
                },
            ),
            (
                Actor::Agent(agent),
                EventKind::FeedbackGiven {
                    kind: FeedbackKind::Relabel,
                    message_seq: 1,
                    intent: Some("refund".into()),
                    previous_intent: Some("order_status".into()),
                    note: None,
                    draft: None,
                },
            ),
        ]);
        let json = serde_json::to_value(&events[1]).unwrap();
        assert_eq!(json["type"], "feedback_given");
        assert_eq!(json["kind"], "relabel");
        assert_eq!(json["intent"], "refund");
        assert_eq!(json.get("note"), None);
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, events[1]);
        assert_eq!(Projection::from_events(&events).unwrap().last_seq, 2);
    }

    #[test]
    fn an_event_serialises_with_its_type_tag_and_reads_back() {
        let customer = CustomerId::new();
        let events = log(vec![(
            Actor::System,
            EventKind::ConversationStarted { channel: "web".into(), customer_id: customer },
        )]);
        let json = serde_json::to_value(&events[0]).unwrap();
        assert_eq!(json["type"], "conversation_started");
        assert_eq!(json["actor"]["kind"], "system");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, events[0]);
    }
}
