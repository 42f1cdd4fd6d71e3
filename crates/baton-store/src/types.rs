//! The records the store keeps besides the event log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use baton_core::{AgentId, ConversationId, CustomerId, Stage};

/// One row per conversation, rewritten with every append; what the queue,
/// the console's lists and the customer's history read without folding logs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub id: ConversationId,
    pub customer_id: CustomerId,
    pub channel: String,
    pub stage: Stage,
    pub assigned_agent: Option<AgentId>,
    /// The queue it waits in or was last routed to.
    pub queue: Option<String>,
    /// Higher is more urgent; 0 outside the queue.
    pub priority: i32,
    /// Why it was last escalated (`EscalationReason::as_str`), if ever.
    pub reason: Option<String>,
    /// The latest top intent, for lists and reports.
    pub intent: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When it entered its current stage; the queue's waiting time.
    pub stage_since: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_seq: u64,
    /// The last customer-visible message, shortened, for previews.
    pub preview: Option<String>,
}

/// What to list. Empty fields do not filter.
#[derive(Clone, Debug, Default)]
pub struct ConversationFilter {
    pub stages: Vec<Stage>,
    pub customer_id: Option<CustomerId>,
    pub assigned_agent: Option<AgentId>,
    pub limit: Option<u32>,
}

/// A person who writes to support.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: CustomerId,
    pub name: Option<String>,
    /// Lower-cased.
    pub email: Option<String>,
    /// The company's own id for the customer.
    pub external_id: Option<String>,
    /// Workspace-defined profile (tier, lifetime value, language,
    /// preferences such as always wanting a person).
    pub profile: Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    Online,
    Away,
    Offline,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Online => "online",
            AgentStatus::Away => "away",
            AgentStatus::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "online" => Some(AgentStatus::Online),
            "away" => Some(AgentStatus::Away),
            "offline" => Some(AgentStatus::Offline),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentRole {
    Agent,
    Supervisor,
}

impl AgentRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentRole::Agent => "agent",
            AgentRole::Supervisor => "supervisor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "agent" => Some(AgentRole::Agent),
            "supervisor" => Some(AgentRole::Supervisor),
            _ => None,
        }
    }
}

/// A support agent's account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: AgentId,
    /// Lower-cased; the login.
    pub email: String,
    /// The name customers see when the agent joins.
    pub name: String,
    /// A PHC string (Argon2id); never sent anywhere.
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub role: AgentRole,
    pub status: AgentStatus,
    /// How many conversations the agent handles at once.
    pub capacity: u32,
    /// Languages and queues the agent can take.
    pub skills: Vec<String>,
    /// When the agent works, as a weekly schedule the engine reads
    /// (`mon-fri 09:00-17:00 Europe/Berlin`); none means whenever online.
    #[serde(default)]
    pub working_hours: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Whom a token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum TokenSubject {
    /// A customer, for one conversation only.
    Customer(ConversationId),
    Agent(AgentId),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// SHA-256 of the token, hex.
    pub hash: String,
    pub subject: TokenSubject,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the conversation changed meanwhile (expected last seq {expected}, found {found})")]
    Conflict { expected: u64, found: u64 },
    #[error("a message with client id `{0}` is already in this conversation")]
    DuplicateClientId(String),
    #[error("an agent with e-mail `{0}` already exists")]
    DuplicateEmail(String),
    /// The events or summary handed to `append` do not continue the log
    /// (wrong conversation, a gap in `seq`, a summary with another last seq):
    /// a bug in the caller, not a race.
    #[error("invalid append: {0}")]
    InvalidAppend(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// An agent's answer to the weekly copilot question ("Did the copilot save
/// you time this week?"), at most one per agent and ISO week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CopilotPulse {
    pub agent_id: AgentId,
    /// The ISO week, as `2026-W10`.
    pub week: String,
    /// 1 (not at all) to 5 (a lot).
    pub score: u8,
    pub at: DateTime<Utc>,
}
