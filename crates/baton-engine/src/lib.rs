//! The conversation engine: reads the workspace, decides what the AI does
//! with each customer message, escalates with a handoff packet, and replays
//! recorded conversations.
//!
//! - [`workspace`]: the workspace folder (settings, intents, templates,
//!   knowledge) loaded and validated.
//! - [`policy`]: the pure decision for one turn, with its explanation.
//! - [`handoff`]: the packet an agent reads when they take over.
//! - [`assist`]: the agent's copilot: suggested replies, next-best actions,
//!   empathy prompts and knowledge, and the agent's feedback on them.
//! - [`engine`]: the orchestration of every operation on a conversation,
//!   from the customer's message to the committed events.
//! - [`bus`]: how committed events reach every open socket.
//! - [`replay`]: recorded conversations run through the same engine.
//! - [`reports`]: the metrics, breakdowns and journey audit, from events.
//! - [`feedback`]: agents' corrections and saved replies, and their review.
//! - [`model`]: the intent model in service and its trained versions.
//! - [`routing`]: queues, priorities, eligibility, automatic and pulled
//!   assignment, transfers to a queue and the SLA sweep.
//! - [`whatif`]: two replays of the same input under two workspaces, compared.
//! - `flows`: the workspace's flows run turn by turn (slots, identity,
//!   calls, replies), and the agent's approval of a held call.
//! - [`tools`]: the HTTP calls to the company's systems.
//! - [`tls`]: the HTTPS client those calls and the webhooks use, and which
//!   URLs may be called.
//! - [`guardrails`]: the pure checks a call passes before it runs.

pub mod assist;
pub mod bus;
pub mod engine;
pub mod feedback;
mod flows;
pub mod guardrails;
pub mod handoff;
pub mod model;
pub mod policy;
pub mod replay;
pub mod reports;
pub mod routing;
pub mod tls;
pub mod tools;
pub mod whatif;
pub mod workspace;

pub use bus::{Bus, LocalBus};
pub use engine::{CustomerDetails, Engine, EngineError, QueueEntry, TurnOutcome};
pub use flows::{latest_state, AgentCall, FlowState, Pending, SuggestedAction};
