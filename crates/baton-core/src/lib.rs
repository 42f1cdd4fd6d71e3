//! Baton's domain: who takes part in a conversation, what happens in it, and
//! which stage it is in.
//!
//! This crate owns the vocabulary every other crate speaks: identifiers
//! ([`ids`]), the append-only event log of a conversation ([`event`]), the
//! stage machine that says which transitions are allowed ([`stage`]), the
//! result of reading one customer message ([`analysis`]) and the clock that
//! time-dependent rules read ([`clock`]). It performs no I/O and knows nothing
//! of storage, HTTP or language models.

pub mod analysis;
pub mod clock;
pub mod event;
pub mod ids;
pub mod stage;

pub use analysis::{Analysis, Cue, CueKind, Entity, EntityKind, IntentScore, Language, Sentiment};
pub use clock::{Clock, ManualClock, SystemClock};
pub use event::{
    Actor, Author, Citation, EscalationReason, Event, EventKind, FeedbackKind, Message, Projection,
    ProjectionError,
};
pub use ids::{AgentId, ConversationId, CustomerId};
pub use stage::{Stage, Transition, TransitionError};
