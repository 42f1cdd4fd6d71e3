//! The conversation engine: reads the workspace, decides what the AI does
//! with each customer message, escalates with a handoff packet, and replays
//! recorded conversations.
//!
//! - [`workspace`]: the workspace folder (settings, intents, templates,
//!   knowledge) loaded and validated.
//! - [`policy`]: the pure decision for one turn, with its explanation.
//! - [`handoff`]: the packet an agent reads when they take over.
//! - [`engine`]: the orchestration of every operation on a conversation,
//!   from the customer's message to the committed events.
//! - [`bus`]: how committed events reach every open socket.
//! - [`replay`]: recorded conversations run through the same engine.
//! - [`reports`]: the metrics, breakdowns and journey audit, from events.
//! - [`whatif`]: two replays of the same input under two workspaces, compared.

pub mod bus;
pub mod engine;
pub mod handoff;
pub mod model;
pub mod policy;
pub mod replay;
pub mod reports;
pub mod whatif;
pub mod workspace;

pub use bus::{Bus, LocalBus};
pub use engine::{CustomerDetails, Engine, EngineError, QueueEntry, TurnOutcome};
