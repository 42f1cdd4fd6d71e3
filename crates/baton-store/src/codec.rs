//! How records become column values and back, shared by every back end.
//!
//! Both back ends store the same columns with the same text forms, so the
//! rows they read are the same plain structs; only the SQL differs. Anything
//! that does not decode is [`StoreError::Corrupt`], never a panic.

use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use baton_core::{Actor, AgentId, ConversationId, CustomerId, Event, EventKind, Stage};

use crate::{
    Agent, AgentRole, AgentStatus, ConversationSummary, Customer, StoreError, TokenRecord,
    TokenSubject,
};

/// A timestamp as stored: RFC 3339 in UTC with nine fractional digits, so
/// that text order is time order and nanoseconds survive the round trip.
pub(crate) fn time_text(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(crate) fn parse_time(text: &str, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| corrupt(what, format!("bad timestamp `{text}`: {e}")))
}

fn parse_time_opt(text: Option<String>, what: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.map(|t| parse_time(&t, what)).transpose()
}

fn parse_id<T: FromStr>(text: &str, what: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| corrupt(what, format!("bad id `{text}`: {e}")))
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(what, format!("bad JSON: {e}")))
}

fn corrupt(what: &str, problem: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {problem}"))
}

/// Sequence numbers are `u64` in Rust and signed 64-bit integers in SQL.
pub(crate) fn seq_to_sql(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::InvalidAppend(format!("seq {seq} is too large")))
}

fn seq_from_sql(seq: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|_| corrupt(what, format!("negative seq {seq}")))
}

/// The compact text form of an actor: `bot`, `system`, `customer:<id>`,
/// `agent:<id>`; for filters and for reading the table by hand.
pub(crate) fn actor_text(actor: &Actor) -> String {
    match actor {
        Actor::Customer(id) => format!("customer:{id}"),
        Actor::Bot => "bot".into(),
        Actor::Agent(id) => format!("agent:{id}"),
        Actor::System => "system".into(),
    }
}

/// The client id that the uniqueness rule covers: only a customer's own
/// messages are deduplicated, since only customers retry a POST blindly.
pub(crate) fn customer_client_id(event: &Event) -> Option<&str> {
    match (&event.actor, &event.kind) {
        (Actor::Customer(_), EventKind::MessagePosted { client_id: Some(client_id), .. }) => {
            Some(client_id)
        }
        _ => None,
    }
}

/// An event ready to insert.
pub(crate) struct EventValues<'a> {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub kind: &'static str,
    pub client_id: Option<&'a str>,
    pub body: String,
}

/// Check that `events` continue the log of `summary`'s conversation right
/// after `expected_last_seq`, and turn them into column values.
pub(crate) fn append_values<'a>(
    expected_last_seq: u64,
    events: &'a [Event],
    summary: &ConversationSummary,
) -> Result<Vec<EventValues<'a>>, StoreError> {
    let mut values = Vec::with_capacity(events.len());
    for (offset, event) in (1u64..).zip(events) {
        if event.conversation_id != summary.id {
            return Err(StoreError::InvalidAppend(format!(
                "event {} belongs to conversation {}, not {}",
                event.seq, event.conversation_id, summary.id
            )));
        }
        let wanted = expected_last_seq + offset;
        if event.seq != wanted {
            return Err(StoreError::InvalidAppend(format!(
                "event seq {} does not continue the log: expected {wanted}",
                event.seq
            )));
        }
        let body = serde_json::to_string(event)
            .map_err(|e| StoreError::InvalidAppend(format!("event {}: {e}", event.seq)))?;
        values.push(EventValues {
            seq: seq_to_sql(event.seq)?,
            at: time_text(&event.at),
            actor: actor_text(&event.actor),
            kind: event.kind.type_name(),
            client_id: customer_client_id(event),
            body,
        });
    }
    let last = expected_last_seq + events.len() as u64;
    if summary.last_seq != last {
        return Err(StoreError::InvalidAppend(format!(
            "the summary says last seq {}, but the log would end at {last}",
            summary.last_seq
        )));
    }
    Ok(values)
}

/// A stored event: the body is the whole event as serialised.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    pub conversation_id: String,
    pub seq: i64,
    pub body: String,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        let what = format!("event {}#{}", row.conversation_id, row.seq);
        let event: Event = parse_json(&row.body, &what)?;
        // The key columns are what constraints and lookups trust; a body
        // that disagrees with them would be served under the wrong key.
        if event.conversation_id.to_string() != row.conversation_id
            || event.seq != seq_from_sql(row.seq, &what)?
        {
            return Err(corrupt(&what, "the body does not match its key"));
        }
        Ok(event)
    }
}

/// A summary's values, in the order of the `conversations` columns.
#[derive(sqlx::FromRow)]
pub(crate) struct SummaryRow {
    pub id: String,
    pub customer_id: String,
    pub channel: String,
    pub stage: String,
    pub assigned_agent: Option<String>,
    pub queue: Option<String>,
    pub priority: i64,
    pub reason: Option<String>,
    pub intent: Option<String>,
    pub created_at: String,
    pub stage_since: String,
    pub updated_at: String,
    pub last_seq: i64,
    pub preview: Option<String>,
}

impl SummaryRow {
    pub fn from_summary(s: &ConversationSummary) -> Result<Self, StoreError> {
        Ok(SummaryRow {
            id: s.id.to_string(),
            customer_id: s.customer_id.to_string(),
            channel: s.channel.clone(),
            stage: s.stage.as_str().into(),
            assigned_agent: s.assigned_agent.map(|a| a.to_string()),
            queue: s.queue.clone(),
            priority: s.priority.into(),
            reason: s.reason.clone(),
            intent: s.intent.clone(),
            created_at: time_text(&s.created_at),
            stage_since: time_text(&s.stage_since),
            updated_at: time_text(&s.updated_at),
            last_seq: seq_to_sql(s.last_seq)?,
            preview: s.preview.clone(),
        })
    }
}

impl TryFrom<SummaryRow> for ConversationSummary {
    type Error = StoreError;

    fn try_from(row: SummaryRow) -> Result<Self, StoreError> {
        let what = format!("conversation {}", row.id);
        let what = what.as_str();
        Ok(ConversationSummary {
            id: parse_id(&row.id, what)?,
            customer_id: parse_id(&row.customer_id, what)?,
            channel: row.channel,
            stage: Stage::from_str(&row.stage).map_err(|e| corrupt(what, e))?,
            assigned_agent: row
                .assigned_agent
                .map(|a| parse_id::<AgentId>(&a, what))
                .transpose()?,
            queue: row.queue,
            priority: i32::try_from(row.priority)
                .map_err(|_| corrupt(what, format!("priority {} out of range", row.priority)))?,
            reason: row.reason,
            intent: row.intent,
            created_at: parse_time(&row.created_at, what)?,
            stage_since: parse_time(&row.stage_since, what)?,
            updated_at: parse_time(&row.updated_at, what)?,
            last_seq: seq_from_sql(row.last_seq, what)?,
            preview: row.preview,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CustomerRow {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub profile: String,
    pub created_at: String,
}

impl TryFrom<CustomerRow> for Customer {
    type Error = StoreError;

    fn try_from(row: CustomerRow) -> Result<Self, StoreError> {
        let what = format!("customer {}", row.id);
        Ok(Customer {
            id: parse_id::<CustomerId>(&row.id, &what)?,
            name: row.name,
            email: row.email,
            external_id: row.external_id,
            profile: parse_json::<Value>(&row.profile, &what)?,
            created_at: parse_time(&row.created_at, &what)?,
        })
    }
}

/// The key an e-mail address is looked up and kept unique by.
pub(crate) fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

#[derive(sqlx::FromRow)]
pub(crate) struct AgentRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: String,
    pub status: String,
    pub capacity: i64,
    pub skills: String,
    pub working_hours: Option<String>,
    pub created_at: String,
}

impl TryFrom<AgentRow> for Agent {
    type Error = StoreError;

    fn try_from(row: AgentRow) -> Result<Self, StoreError> {
        let what = format!("agent {}", row.id);
        let what = what.as_str();
        Ok(Agent {
            id: parse_id(&row.id, what)?,
            email: row.email,
            name: row.name,
            password_hash: row.password_hash,
            role: AgentRole::parse(&row.role)
                .ok_or_else(|| corrupt(what, format!("unknown role `{}`", row.role)))?,
            status: AgentStatus::parse(&row.status)
                .ok_or_else(|| corrupt(what, format!("unknown status `{}`", row.status)))?,
            capacity: u32::try_from(row.capacity)
                .map_err(|_| corrupt(what, format!("capacity {} out of range", row.capacity)))?,
            skills: parse_json(&row.skills, what)?,
            working_hours: row.working_hours,
            created_at: parse_time(&row.created_at, what)?,
        })
    }
}

pub(crate) fn skills_text(skills: &[String]) -> String {
    // A list of strings always serialises.
    serde_json::to_string(skills).unwrap_or_else(|_| "[]".into())
}

#[derive(sqlx::FromRow)]
pub(crate) struct PulseRow {
    pub agent_id: String,
    pub week: String,
    pub score: i64,
    pub at: String,
}

impl TryFrom<PulseRow> for crate::CopilotPulse {
    type Error = StoreError;

    fn try_from(row: PulseRow) -> Result<Self, StoreError> {
        let what = "copilot pulse";
        let score = u8::try_from(row.score)
            .ok()
            .filter(|s| (1..=5).contains(s))
            .ok_or_else(|| corrupt(what, format!("score {} is not 1 to 5", row.score)))?;
        Ok(crate::CopilotPulse {
            agent_id: parse_id::<AgentId>(&row.agent_id, what)?,
            week: row.week,
            score,
            at: parse_time(&row.at, what)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub hash: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub created_at: String,
    pub expires_at: Option<String>,
}

/// A token's subject as two columns: its kind and its id.
pub(crate) fn subject_columns(subject: &TokenSubject) -> (&'static str, String) {
    match subject {
        TokenSubject::Customer(id) => ("customer", id.to_string()),
        TokenSubject::Agent(id) => ("agent", id.to_string()),
    }
}

impl TryFrom<TokenRow> for TokenRecord {
    type Error = StoreError;

    fn try_from(row: TokenRow) -> Result<Self, StoreError> {
        // Errors do not name the hash: it identifies a live credential.
        let what = "token";
        let subject = match row.subject_kind.as_str() {
            "customer" => {
                TokenSubject::Customer(parse_id::<ConversationId>(&row.subject_id, what)?)
            }
            "agent" => TokenSubject::Agent(parse_id::<AgentId>(&row.subject_id, what)?),
            other => return Err(corrupt(what, format!("unknown subject kind `{other}`"))),
        };
        Ok(TokenRecord {
            hash: row.hash,
            subject,
            created_at: parse_time(&row.created_at, what)?,
            expires_at: parse_time_opt(row.expires_at, what)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stored_timestamps_sort_as_text_in_time_order_and_keep_nanoseconds() {
        let early = Utc.with_ymd_and_hms(2026, 3, 2, 9, 59, 59).unwrap()
            + chrono::Duration::nanoseconds(999_999_999);
        let late = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        assert_eq!(time_text(&early), "2026-03-02T09:59:59.999999999Z");
        assert_eq!(time_text(&late), "2026-03-02T10:00:00.000000000Z");
        assert!(time_text(&early) < time_text(&late));
        assert_eq!(parse_time(&time_text(&early), "t").unwrap(), early);
    }

    #[test]
    fn a_corrupt_event_body_is_a_corrupt_error_not_a_panic() {
        let row = EventRow {
            conversation_id: ConversationId::new().to_string(),
            seq: 1,
            body: "{not json".into(),
        };
        assert!(matches!(Event::try_from(row), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn an_unknown_stage_in_a_summary_row_is_corrupt() {
        let at = time_text(&Utc::now());
        let row = SummaryRow {
            id: ConversationId::new().to_string(),
            customer_id: CustomerId::new().to_string(),
            channel: "web".into(),
            stage: "limbo".into(),
            assigned_agent: None,
            queue: None,
            priority: 0,
            reason: None,
            intent: None,
            created_at: at.clone(),
            stage_since: at.clone(),
            updated_at: at,
            last_seq: 1,
            preview: None,
        };
        assert!(matches!(ConversationSummary::try_from(row), Err(StoreError::Corrupt(_))));
    }
}
