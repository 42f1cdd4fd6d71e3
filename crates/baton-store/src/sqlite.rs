//! The embedded back end: one SQLite file, `baton.db`, in the data directory.
//!
//! Durability comes first: the journal is a write-ahead log synchronised in
//! full at every commit, so a customer message that `append` accepted is on
//! disk before the server acknowledges it. Writes take SQLite's write lock
//! when their transaction begins, so two appends to the same conversation
//! queue up and the second sees the first's seq instead of failing halfway.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

use baton_core::{AgentId, ConversationId, CustomerId, Event};

use crate::codec::{
    append_values, email_key, seq_to_sql, skills_text, subject_columns, time_text, AgentRow,
    CustomerRow, EventRow, PulseRow, SummaryRow, TokenRow,
};
use crate::{
    Agent, AgentStatus, ConversationFilter, ConversationSummary, CopilotPulse, Customer, Store,
    StoreError, TokenRecord,
};

/// The name of the database file inside the data directory.
pub const DATABASE_FILE: &str = "baton.db";

/// How long a writer waits for another process's write lock (a CLI command
/// next to a running server, say) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Readers run side by side under WAL; writers queue on the file lock.
const MAX_CONNECTIONS: u32 = 8;

const SUMMARY_COLUMNS: &str = "id, customer_id, channel, stage, assigned_agent, queue, \
     priority, reason, intent, created_at, stage_since, updated_at, last_seq, preview";

const AGENT_COLUMNS: &str =
    "id, email, name, password_hash, role, status, capacity, skills, working_hours, created_at";

/// [`Store`] on SQLite.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Open (creating if need be) `baton.db` in `data_dir`, which is created
    /// too if missing, and bring its schema up to date.
    pub async fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| StoreError::DataDir { path: data_dir.to_owned(), source })?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join(DATABASE_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool =
            SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS).connect_with(options).await?;
        Self::migrated(pool).await
    }

    /// A throw-away store in memory, for replays and tests.
    ///
    /// It lives on exactly one connection that never closes: each SQLite
    /// connection to `:memory:` is a database of its own, and closing it
    /// loses the data. So calls on it run one at a time.
    pub async fn in_memory() -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        Self::migrated(pool).await
    }

    async fn migrated(pool: SqlitePool) -> Result<SqliteStore, StoreError> {
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    /// Finish the writes in flight and close the file; clones of this store
    /// stop working too.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether `error` is a unique violation whose message names `columns`
/// (SQLite reports `UNIQUE constraint failed: table.col, table.col`).
fn violates(error: &sqlx::Error, columns: &str) -> bool {
    error.as_database_error().is_some_and(|e| {
        e.kind() == sqlx::error::ErrorKind::UniqueViolation && e.message().contains(columns)
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn append(
        &self,
        expected_last_seq: u64,
        events: &[Event],
        summary: &ConversationSummary,
    ) -> Result<(), StoreError> {
        let values = append_values(expected_last_seq, events, summary)?;
        let row = SummaryRow::from_summary(summary)?;

        // IMMEDIATE takes the write lock now: a deferred transaction that read
        // first could not upgrade once another writer had committed.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;

        let found: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE conversation_id = ?",
        )
        .bind(&row.id)
        .fetch_one(&mut *tx)
        .await?;
        let found = u64::try_from(found)
            .map_err(|_| StoreError::Corrupt(format!("conversation {}: negative seq", row.id)))?;
        if found != expected_last_seq {
            return Err(StoreError::Conflict { expected: expected_last_seq, found });
        }

        // The summary row first: the events reference it.
        sqlx::query(
            "INSERT INTO conversations (id, customer_id, channel, stage, assigned_agent, queue, \
             priority, reason, intent, created_at, stage_since, updated_at, last_seq, preview) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, \
             channel = excluded.channel, stage = excluded.stage, \
             assigned_agent = excluded.assigned_agent, queue = excluded.queue, \
             priority = excluded.priority, reason = excluded.reason, intent = excluded.intent, \
             created_at = excluded.created_at, stage_since = excluded.stage_since, \
             updated_at = excluded.updated_at, last_seq = excluded.last_seq, \
             preview = excluded.preview",
        )
        .bind(&row.id)
        .bind(&row.customer_id)
        .bind(&row.channel)
        .bind(&row.stage)
        .bind(&row.assigned_agent)
        .bind(&row.queue)
        .bind(row.priority)
        .bind(&row.reason)
        .bind(&row.intent)
        .bind(&row.created_at)
        .bind(&row.stage_since)
        .bind(&row.updated_at)
        .bind(row.last_seq)
        .bind(&row.preview)
        .execute(&mut *tx)
        .await?;

        for event in &values {
            let inserted = sqlx::query(
                "INSERT INTO events (conversation_id, seq, at, actor, type, client_id, body) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&row.id)
            .bind(event.seq)
            .bind(&event.at)
            .bind(&event.actor)
            .bind(event.kind)
            .bind(event.client_id)
            .bind(&event.body)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {}
                Err(e) if violates(&e, "events.client_id") => {
                    let client_id = event.client_id.unwrap_or_default().to_owned();
                    return Err(StoreError::DuplicateClientId(client_id));
                }
                Err(e) if violates(&e, "events.seq") => {
                    return Err(StoreError::Conflict {
                        expected: expected_last_seq,
                        found: expected_last_seq + 1,
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }

        // Dropping the transaction on any early return above rolls it back.
        tx.commit().await?;
        Ok(())
    }

    async fn events(&self, id: ConversationId, after_seq: u64) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT conversation_id, seq, body FROM events \
             WHERE conversation_id = ? AND seq > ? ORDER BY seq",
        )
        .bind(id.to_string())
        .bind(seq_to_sql(after_seq)?)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Event::try_from).collect()
    }

    async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationSummary>, StoreError> {
        let row: Option<SummaryRow> =
            sqlx::query_as(&format!("SELECT {SUMMARY_COLUMNS} FROM conversations WHERE id = ?"))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(ConversationSummary::try_from).transpose()
    }

    async fn conversations(
        &self,
        filter: &ConversationFilter,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {SUMMARY_COLUMNS} FROM conversations WHERE 1 = 1"
        ));
        if !filter.stages.is_empty() {
            query.push(" AND stage IN (");
            let mut stages = query.separated(", ");
            for stage in &filter.stages {
                stages.push_bind(stage.as_str());
            }
            query.push(")");
        }
        if let Some(customer) = filter.customer_id {
            query.push(" AND customer_id = ").push_bind(customer.to_string());
        }
        if let Some(agent) = filter.assigned_agent {
            query.push(" AND assigned_agent = ").push_bind(agent.to_string());
        }
        // The id breaks ties so that equal rows keep a stable order.
        query.push(" ORDER BY priority DESC, stage_since ASC, id ASC");
        if let Some(limit) = filter.limit {
            query.push(" LIMIT ").push_bind(i64::from(limit));
        }
        let rows: Vec<SummaryRow> = query.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(ConversationSummary::try_from).collect()
    }

    async fn message_by_client_id(
        &self,
        id: ConversationId,
        client_id: &str,
    ) -> Result<Option<u64>, StoreError> {
        let seq: Option<i64> = sqlx::query_scalar(
            "SELECT seq FROM events WHERE conversation_id = ? AND client_id = ?",
        )
        .bind(id.to_string())
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        seq.map(|s| u64::try_from(s).map_err(|_| StoreError::Corrupt(format!("negative seq {s}"))))
            .transpose()
    }

    async fn events_between(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT conversation_id, seq, body FROM events \
             WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at < ?2) \
             ORDER BY conversation_id, seq",
        )
        .bind(from.as_ref().map(time_text))
        .bind(to.as_ref().map(time_text))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Event::try_from).collect()
    }

    async fn upsert_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO customers (id, name, email, email_key, external_id, profile, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, \
             email_key = excluded.email_key, external_id = excluded.external_id, \
             profile = excluded.profile",
        )
        .bind(customer.id.to_string())
        .bind(&customer.name)
        .bind(&customer.email)
        .bind(customer.email.as_deref().map(email_key))
        .bind(&customer.external_id)
        .bind(customer.profile.to_string())
        .bind(time_text(&customer.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        let row: Option<CustomerRow> = sqlx::query_as(
            "SELECT id, name, email, external_id, profile, created_at FROM customers WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(Customer::try_from).transpose()
    }

    async fn find_customer(
        &self,
        email: Option<&str>,
        external_id: Option<&str>,
    ) -> Result<Option<Customer>, StoreError> {
        if email.is_none() && external_id.is_none() {
            return Ok(None);
        }
        // The company's own id is the stronger match, so it wins a tie.
        let row: Option<CustomerRow> = sqlx::query_as(
            "SELECT id, name, email, external_id, profile, created_at FROM customers \
             WHERE (?1 IS NOT NULL AND external_id = ?1) OR (?2 IS NOT NULL AND email_key = ?2) \
             ORDER BY COALESCE(external_id = ?1, 0) DESC, created_at, id \
             LIMIT 1",
        )
        .bind(external_id)
        .bind(email.map(email_key))
        .fetch_optional(&self.pool)
        .await?;
        row.map(Customer::try_from).transpose()
    }

    async fn create_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO agents (id, email, email_key, name, password_hash, role, status, \
             capacity, skills, working_hours, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(agent.id.to_string())
        .bind(&agent.email)
        .bind(email_key(&agent.email))
        .bind(&agent.name)
        .bind(&agent.password_hash)
        .bind(agent.role.as_str())
        .bind(agent.status.as_str())
        .bind(i64::from(agent.capacity))
        .bind(skills_text(&agent.skills))
        .bind(&agent.working_hours)
        .bind(time_text(&agent.created_at))
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if violates(&e, "agents.email_key") => {
                Err(StoreError::DuplicateEmail(agent.email.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn agent(&self, id: AgentId) -> Result<Option<Agent>, StoreError> {
        let row: Option<AgentRow> =
            sqlx::query_as(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?"))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(Agent::try_from).transpose()
    }

    async fn agent_by_email(&self, email: &str) -> Result<Option<Agent>, StoreError> {
        let row: Option<AgentRow> =
            sqlx::query_as(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE email_key = ?"))
                .bind(email_key(email))
                .fetch_optional(&self.pool)
                .await?;
        row.map(Agent::try_from).transpose()
    }

    async fn agents(&self) -> Result<Vec<Agent>, StoreError> {
        let rows: Vec<AgentRow> = sqlx::query_as(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents ORDER BY created_at, email_key"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Agent::try_from).collect()
    }

    async fn set_agent_status(&self, id: AgentId, status: AgentStatus) -> Result<(), StoreError> {
        let updated = sqlx::query("UPDATE agents SET status = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("agent {id}")));
        }
        Ok(())
    }

    async fn set_agent_routing(
        &self,
        id: AgentId,
        capacity: u32,
        skills: &[String],
        working_hours: Option<&str>,
    ) -> Result<(), StoreError> {
        let updated = sqlx::query(
            "UPDATE agents SET capacity = ?, skills = ?, working_hours = ? WHERE id = ?",
        )
        .bind(i64::from(capacity))
        .bind(skills_text(skills))
        .bind(working_hours)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("agent {id}")));
        }
        Ok(())
    }

    async fn create_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let (kind, id) = subject_columns(&token.subject);
        sqlx::query(
            "INSERT INTO tokens (hash, subject_kind, subject_id, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&token.hash)
        .bind(kind)
        .bind(id)
        .bind(time_text(&token.created_at))
        .bind(token.expires_at.as_ref().map(time_text))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn token(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT hash, subject_kind, subject_id, created_at, expires_at FROM tokens \
             WHERE hash = ?",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TokenRecord::try_from).transpose()
    }

    async fn record_pulse(&self, pulse: &CopilotPulse) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO copilot_pulse (agent_id, week, score, at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (agent_id, week) DO NOTHING",
        )
        .bind(pulse.agent_id.to_string())
        .bind(&pulse.week)
        .bind(i64::from(pulse.score))
        .bind(time_text(&pulse.at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn pulse(&self, agent: AgentId, week: &str) -> Result<Option<CopilotPulse>, StoreError> {
        let row: Option<PulseRow> = sqlx::query_as(
            "SELECT agent_id, week, score, at FROM copilot_pulse WHERE agent_id = ? AND week = ?",
        )
        .bind(agent.to_string())
        .bind(week)
        .fetch_optional(&self.pool)
        .await?;
        row.map(CopilotPulse::try_from).transpose()
    }

    async fn pulses(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<CopilotPulse>, StoreError> {
        let rows: Vec<PulseRow> = sqlx::query_as(
            "SELECT agent_id, week, score, at FROM copilot_pulse \
             WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at < ?2) \
             ORDER BY at, agent_id",
        )
        .bind(from.as_ref().map(time_text))
        .bind(to.as_ref().map(time_text))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(CopilotPulse::try_from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::{Actor, EventKind, Stage};
    use chrono::TimeZone;

    fn start(id: ConversationId, customer: CustomerId) -> (Event, ConversationSummary) {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        let event = Event {
            conversation_id: id,
            seq: 1,
            at,
            actor: Actor::System,
            kind: EventKind::ConversationStarted { channel: "web".into(), customer_id: customer },
        };
        let summary = ConversationSummary {
            id,
            customer_id: customer,
            channel: "web".into(),
            stage: Stage::Bot,
            assigned_agent: None,
            queue: None,
            priority: 0,
            reason: None,
            intent: None,
            created_at: at,
            stage_since: at,
            updated_at: at,
            last_seq: 1,
            preview: None,
        };
        (event, summary)
    }

    #[tokio::test]
    async fn data_survives_closing_and_reopening_the_store_on_the_same_dir() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested").join("data");
        let (event, summary) = start(ConversationId::new(), CustomerId::new());

        let store = SqliteStore::open(&data).await.unwrap();
        store.append(0, std::slice::from_ref(&event), &summary).await.unwrap();
        store.close().await;

        let reopened = SqliteStore::open(&data).await.unwrap();
        assert!(data.join(DATABASE_FILE).is_file());
        assert_eq!(reopened.events(summary.id, 0).await.unwrap(), vec![event]);
        assert_eq!(reopened.conversation(summary.id).await.unwrap(), Some(summary));
    }

    #[tokio::test]
    async fn the_file_is_opened_in_wal_mode_with_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        let mut conn = store.pool.acquire().await.unwrap();

        let journal: String =
            sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *conn).await.unwrap();
        let synchronous: i64 =
            sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut *conn).await.unwrap();
        let foreign_keys: i64 =
            sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&mut *conn).await.unwrap();

        assert_eq!(journal, "wal");
        assert_eq!(synchronous, 2, "2 is FULL");
        assert_eq!(foreign_keys, 1);
    }

    #[tokio::test]
    async fn an_event_row_that_is_not_an_event_reads_as_corrupt() {
        let store = SqliteStore::in_memory().await.unwrap();
        let (event, summary) = start(ConversationId::new(), CustomerId::new());
        store.append(0, &[event], &summary).await.unwrap();
        sqlx::query("UPDATE events SET body = '{\"seq\": \"one\"}'")
            .execute(&store.pool)
            .await
            .unwrap();

        let err = store.events(summary.id, 0).await.unwrap_err();

        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    }

    #[tokio::test]
    async fn each_in_memory_store_is_a_database_of_its_own() {
        let first = SqliteStore::in_memory().await.unwrap();
        let second = SqliteStore::in_memory().await.unwrap();
        let (event, summary) = start(ConversationId::new(), CustomerId::new());
        first.append(0, &[event], &summary).await.unwrap();

        assert_eq!(second.conversation(summary.id).await.unwrap(), None);
        assert_eq!(first.events(summary.id, 0).await.unwrap().len(), 1);
    }
}
