//! Persistence for Baton: the append-only event log of every conversation,
//! the projections the queue and reports read, agents, customers and access
//! tokens.
//!
//! The engine and the server only see the [`Store`] trait. This crate knows
//! nothing of HTTP, language models or policies: it stores what it is given
//! and refuses what would break the log (a duplicate sequence number, a
//! second message with the same client id).
//!
//! - `sqlite`: [`SqliteStore`], the embedded default, one file under the
//!   data directory, or a throw-away database in memory.
//! - `postgres`: [`PostgresStore`], one database shared by several nodes.
//! - `codec`: the column values both back ends store, and their decoding;
//!   rows that do not decode are [`StoreError::Corrupt`].
//! - `types`: the records besides the event log, and [`StoreError`].
//!
//! Both back ends keep the same tables with the same text forms (their
//! migrations live side by side under `migrations/`) and pass the same
//! behaviour tests, written once in `conformance`.

mod codec;
mod postgres;
mod sqlite;
mod types;

#[cfg(test)]
mod conformance;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use types::*;

use async_trait::async_trait;
use baton_core::{AgentId, ConversationId, CustomerId, Event};

/// Everything Baton keeps, behind one trait so that the back end can change
/// without touching the engine.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // Conversations and their logs.

    /// Append events to a conversation whose last stored event has
    /// `expected_last_seq` (0 for a new conversation), and replace its
    /// summary row, in one transaction. The events' `seq` must continue from
    /// `expected_last_seq` without gaps. Fails with [`StoreError::Conflict`]
    /// when another writer got there first, and with
    /// [`StoreError::DuplicateClientId`] when a message with the same client
    /// id is already in the log; in both cases nothing is written.
    async fn append(
        &self,
        expected_last_seq: u64,
        events: &[Event],
        summary: &ConversationSummary,
    ) -> Result<(), StoreError>;

    /// The conversation's events with `seq > after_seq`, in order.
    async fn events(&self, id: ConversationId, after_seq: u64) -> Result<Vec<Event>, StoreError>;

    /// The summary row, or `None` for an unknown conversation.
    async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationSummary>, StoreError>;

    /// Summaries matching a filter, ordered by priority (highest first),
    /// then by the time they entered their stage (oldest first).
    async fn conversations(
        &self,
        filter: &ConversationFilter,
    ) -> Result<Vec<ConversationSummary>, StoreError>;

    /// The seq of the customer message carrying `client_id`, if any.
    async fn message_by_client_id(
        &self,
        id: ConversationId,
        client_id: &str,
    ) -> Result<Option<u64>, StoreError>;

    /// Every event of every conversation in a time range (`from` included,
    /// `to` excluded, either open), for reports and replays, ordered by
    /// conversation then seq.
    async fn events_between(
        &self,
        from: Option<chrono::DateTime<chrono::Utc>>,
        to: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<Event>, StoreError>;

    // Customers.

    async fn upsert_customer(&self, customer: &Customer) -> Result<(), StoreError>;
    async fn customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError>;
    /// Find a known customer by e-mail (case-insensitive) or external id.
    async fn find_customer(
        &self,
        email: Option<&str>,
        external_id: Option<&str>,
    ) -> Result<Option<Customer>, StoreError>;

    // Agents.

    /// Fails with [`StoreError::DuplicateEmail`] if the e-mail is taken.
    async fn create_agent(&self, agent: &Agent) -> Result<(), StoreError>;
    async fn agent(&self, id: AgentId) -> Result<Option<Agent>, StoreError>;
    async fn agent_by_email(&self, email: &str) -> Result<Option<Agent>, StoreError>;
    async fn agents(&self) -> Result<Vec<Agent>, StoreError>;
    async fn set_agent_status(&self, id: AgentId, status: AgentStatus) -> Result<(), StoreError>;
    /// Replace what routing reads of an agent: capacity, skills and working
    /// hours. Fails with [`StoreError::NotFound`] for an unknown agent.
    async fn set_agent_routing(
        &self,
        id: AgentId,
        capacity: u32,
        skills: &[String],
        working_hours: Option<&str>,
    ) -> Result<(), StoreError>;

    // Access tokens (stored as SHA-256 hashes, never in clear).

    async fn create_token(&self, token: &TokenRecord) -> Result<(), StoreError>;
    async fn token(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError>;

    // The weekly copilot question.

    /// Keep an agent's answer; `false` (and nothing written) when they
    /// already answered for that week.
    async fn record_pulse(&self, pulse: &CopilotPulse) -> Result<bool, StoreError>;
    /// The agent's answer for a week, if they gave one.
    async fn pulse(&self, agent: AgentId, week: &str) -> Result<Option<CopilotPulse>, StoreError>;
    /// Every answer given in a time range (`from` included, `to` excluded).
    async fn pulses(
        &self,
        from: Option<chrono::DateTime<chrono::Utc>>,
        to: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<CopilotPulse>, StoreError>;
}
