//! The stage machine of a conversation.
//!
//! ```text
//!  bot ──escalate──▶ queued ──assign──▶ human ──resolve──▶ resolved
//!   │  ▲                                 │                    │
//!   │  └──────────────hand back──────────┘                    │
//!   └──────────────resolve (by AI)──────────────▶ resolved ◀──┘ reopen
//! ```
//!
//! Routing adds one move: `requeue` puts a conversation a person holds (or
//! one already waiting) back in a queue, the same or another one.
//!
//! The stage is never stored on its own: it is derived from the event log by
//! folding every event's transition through [`Stage::apply`], which is the
//! one place that says what may follow what.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Who owns the customer-visible side of the conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The AI replies to the customer.
    Bot,
    /// Waiting for a person; the AI only tells the customer where they stand.
    Queued,
    /// A person owns the conversation; the AI only assists them.
    Human,
    /// Closed; a new customer message reopens it.
    Resolved,
}

/// A change of stage that an event asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// The AI (or a rule) hands the conversation to the human queue.
    Escalate,
    /// An agent takes a queued conversation, or it moves to another agent.
    Assign,
    /// The agent gives the conversation back to the AI.
    HandBack,
    /// The conversation is closed, by the AI or by an agent.
    Resolve,
    /// A customer wrote again after resolution: back to the AI.
    ReopenToBot,
    /// A customer wrote again after resolution: back to the same agent.
    ReopenToHuman,
    /// Back to waiting, in the same queue or another one: an agent's
    /// transfer to a queue, or a move between queues.
    Requeue,
}

impl Transition {
    /// Every transition, for exhaustive checks.
    pub const ALL: [Transition; 7] = [
        Transition::Escalate,
        Transition::Assign,
        Transition::HandBack,
        Transition::Resolve,
        Transition::ReopenToBot,
        Transition::ReopenToHuman,
        Transition::Requeue,
    ];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("a conversation in stage `{from}` cannot {transition}")]
pub struct TransitionError {
    pub from: Stage,
    pub transition: Transition,
}

impl Stage {
    /// Every stage, for exhaustive checks.
    pub const ALL: [Stage; 4] = [Stage::Bot, Stage::Queued, Stage::Human, Stage::Resolved];

    /// The stage after `transition`, or why it is not allowed from here.
    pub fn apply(self, transition: Transition) -> Result<Stage, TransitionError> {
        use Stage::*;
        use Transition::*;
        let next = match (self, transition) {
            (Bot, Escalate) => Queued,
            // Assigning from the queue is the takeover; assigning while in
            // `human` is a transfer to another agent.
            (Queued, Assign) | (Human, Assign) => Human,
            // An agent may also pick a conversation straight from the bot
            // stage (proactive takeover from the live view).
            (Bot, Assign) => Human,
            (Human, HandBack) | (Queued, HandBack) => Bot,
            (Bot, Resolve) | (Human, Resolve) => Resolved,
            (Resolved, ReopenToBot) => Bot,
            (Resolved, ReopenToHuman) => Human,
            // A transfer to a queue; the packet and the log stay.
            (Human, Requeue) | (Queued, Requeue) => Queued,
            _ => return Err(TransitionError { from: self, transition }),
        };
        Ok(next)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Bot => "bot",
            Stage::Queued => "queued",
            Stage::Human => "human",
            Stage::Resolved => "resolved",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.as_str() == s)
            .ok_or_else(|| format!("unknown stage `{s}`: expected bot, queued, human or resolved"))
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transition::Escalate => "be escalated",
            Transition::Assign => "be assigned to an agent",
            Transition::HandBack => "be handed back to the AI",
            Transition::Resolve => "be resolved",
            Transition::ReopenToBot => "be reopened to the AI",
            Transition::ReopenToHuman => "be reopened to an agent",
            Transition::Requeue => "be put back in a queue",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Stage::*;
    use super::Transition::*;
    use super::*;

    /// The whole table of allowed moves; anything absent is forbidden.
    const ALLOWED: [(Stage, Transition, Stage); 12] = [
        (Bot, Escalate, Queued),
        (Bot, Assign, Human),
        (Bot, Resolve, Resolved),
        (Queued, Assign, Human),
        (Queued, HandBack, Bot),
        (Queued, Requeue, Queued),
        (Human, Assign, Human),
        (Human, Requeue, Queued),
        (Human, HandBack, Bot),
        (Human, Resolve, Resolved),
        (Resolved, ReopenToBot, Bot),
        (Resolved, ReopenToHuman, Human),
    ];

    #[test]
    fn every_allowed_transition_lands_on_its_stage() {
        for (from, transition, to) in ALLOWED {
            assert_eq!(from.apply(transition), Ok(to), "{from} --{transition:?}-->");
        }
    }

    #[test]
    fn every_other_transition_is_refused_with_its_stage_and_name() {
        let mut refused = 0;
        for from in Stage::ALL {
            for transition in Transition::ALL {
                if ALLOWED.iter().any(|(f, t, _)| *f == from && *t == transition) {
                    continue;
                }
                assert_eq!(from.apply(transition), Err(TransitionError { from, transition }));
                refused += 1;
            }
        }
        assert_eq!(refused, 4 * 7 - ALLOWED.len());
    }

    #[test]
    fn a_queued_conversation_cannot_be_resolved_before_someone_takes_it() {
        let err = Queued.apply(Resolve).unwrap_err();
        assert_eq!(err.to_string(), "a conversation in stage `queued` cannot be resolved");
    }

    #[test]
    fn a_conversation_can_go_back_to_a_queue_but_not_from_the_bot_or_once_resolved() {
        assert_eq!(Human.apply(Requeue), Ok(Queued));
        assert_eq!(Bot.apply(Requeue), Err(TransitionError { from: Bot, transition: Requeue }));
        let err = Resolved.apply(Requeue).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a conversation in stage `resolved` cannot be put back in a queue"
        );
    }

    #[test]
    fn stage_names_parse_back() {
        for stage in Stage::ALL {
            assert_eq!(stage.as_str().parse::<Stage>(), Ok(stage));
        }
        assert!("closed".parse::<Stage>().is_err());
    }
}
