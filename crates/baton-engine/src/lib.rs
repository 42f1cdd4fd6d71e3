//! The conversation engine: reads the workspace, decides what the AI does
//! with each customer message, escalates with a handoff packet, and replays
//! recorded conversations.

pub mod workspace;
