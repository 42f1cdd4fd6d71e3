//! The shared back end: PostgreSQL, for several stateless `baton serve`
//! nodes in front of one database.
//!
//! It keeps the same tables and text forms as the SQLite back end. Appends
//! to one conversation serialise on its summary row: the row is written
//! (and so locked) before the last seq is read, so a second writer waits for
//! the first to commit and then sees its events.
//!
//! PostgreSQL text cannot hold a NUL character. Inside an event's body it is
//! escaped by the JSON, so message texts are safe; the other text columns
//! (client ids, names, e-mail, previews) are not.
// TODO: refuse NUL in those fields at the HTTP boundary; until then such a
// request fails with a database error on this back end, not silently.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder};

use baton_core::{AgentId, ConversationId, CustomerId, Event};

use crate::codec::{
    append_values, email_key, seq_to_sql, skills_text, subject_columns, time_text, AgentRow,
    CustomerRow, EventRow, PulseRow, SummaryRow, TokenRow,
};
use crate::{
    Agent, AgentStatus, ConversationFilter, ConversationSummary, CopilotPulse, Customer, Store,
    StoreError, TokenRecord,
};

/// Connections per node; PostgreSQL's own default limit is 100 in total.
const MAX_CONNECTIONS: u32 = 10;

/// How long a call waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

const SUMMARY_COLUMNS: &str = "id, customer_id, channel, stage, assigned_agent, queue, \
     priority, reason, intent, created_at, stage_since, updated_at, last_seq, preview";

const AGENT_COLUMNS: &str =
    "id, email, name, password_hash, role, status, capacity, skills::text AS skills, \
     working_hours, created_at";

const CUSTOMER_COLUMNS: &str = "id, name, email, external_id, profile::text AS profile, created_at";

/// [`Store`] on PostgreSQL.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connect to `url` (`postgres://user@host:port/database`) and bring the
    /// schema up to date.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// [`PostgresStore::connect`] with options built in code.
    pub async fn connect_with(options: PgConnectOptions) -> Result<PostgresStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool })
    }

    /// Finish the calls in flight and close every connection; clones of this
    /// store stop working too.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether `error` is a unique violation of the index or constraint `name`.
fn violates(error: &sqlx::Error, name: &str) -> bool {
    error.as_database_error().is_some_and(|e| {
        e.kind() == sqlx::error::ErrorKind::UniqueViolation && e.constraint() == Some(name)
    })
}

fn seq_from_sql(seq: i64) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("negative seq {seq}")))
}

#[async_trait]
impl Store for PostgresStore {
    async fn append(
        &self,
        expected_last_seq: u64,
        events: &[Event],
        summary: &ConversationSummary,
    ) -> Result<(), StoreError> {
        let values = append_values(expected_last_seq, events, summary)?;
        let row = SummaryRow::from_summary(summary)?;
        let mut tx = self.pool.begin().await?;

        // Writing the summary first locks its row until commit, so that the
        // seq read below already includes any concurrent writer's events.
        sqlx::query(
            "INSERT INTO conversations (id, customer_id, channel, stage, assigned_agent, queue, \
             priority, reason, intent, created_at, stage_since, updated_at, last_seq, preview) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
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

        let found: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0)::BIGINT FROM events WHERE conversation_id = $1",
        )
        .bind(&row.id)
        .fetch_one(&mut *tx)
        .await?;
        let found = seq_from_sql(found)?;
        if found != expected_last_seq {
            return Err(StoreError::Conflict { expected: expected_last_seq, found });
        }

        for event in &values {
            let inserted = sqlx::query(
                "INSERT INTO events (conversation_id, seq, at, actor, type, client_id, body) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7::json)",
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
                Err(e) if violates(&e, "events_client_id") => {
                    let client_id = event.client_id.unwrap_or_default().to_owned();
                    return Err(StoreError::DuplicateClientId(client_id));
                }
                Err(e) if violates(&e, "events_pkey") => {
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
            "SELECT conversation_id, seq, body::text AS body FROM events \
             WHERE conversation_id = $1 AND seq > $2 ORDER BY seq",
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
            sqlx::query_as(&format!("SELECT {SUMMARY_COLUMNS} FROM conversations WHERE id = $1"))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(ConversationSummary::try_from).transpose()
    }

    async fn conversations(
        &self,
        filter: &ConversationFilter,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT {SUMMARY_COLUMNS} FROM conversations WHERE TRUE"
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
            "SELECT seq FROM events WHERE conversation_id = $1 AND client_id = $2",
        )
        .bind(id.to_string())
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        seq.map(seq_from_sql).transpose()
    }

    async fn events_between(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT conversation_id, seq, body::text AS body FROM events \
             WHERE ($1::text IS NULL OR at >= $1) \
             AND ($2::text IS NULL OR at < $2) \
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
             VALUES ($1, $2, $3, $4, $5, $6::json, $7) \
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
        let row: Option<CustomerRow> =
            sqlx::query_as(&format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1"))
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
        let row: Option<CustomerRow> = sqlx::query_as(&format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers \
             WHERE ($1::text IS NOT NULL AND external_id = $1) \
             OR ($2::text IS NOT NULL AND email_key = $2) \
             ORDER BY COALESCE(external_id = $1, FALSE) DESC, created_at, \
             id LIMIT 1"
        ))
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::json, $10, $11)",
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
            Err(e) if violates(&e, "agents_email_key") => {
                Err(StoreError::DuplicateEmail(agent.email.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn agent(&self, id: AgentId) -> Result<Option<Agent>, StoreError> {
        let row: Option<AgentRow> =
            sqlx::query_as(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1"))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(Agent::try_from).transpose()
    }

    async fn agent_by_email(&self, email: &str) -> Result<Option<Agent>, StoreError> {
        let row: Option<AgentRow> =
            sqlx::query_as(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE email_key = $1"))
                .bind(email_key(email))
                .fetch_optional(&self.pool)
                .await?;
        row.map(Agent::try_from).transpose()
    }

    async fn agents(&self) -> Result<Vec<Agent>, StoreError> {
        let rows: Vec<AgentRow> = sqlx::query_as(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents \
             ORDER BY created_at, email_key"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Agent::try_from).collect()
    }

    async fn set_agent_status(&self, id: AgentId, status: AgentStatus) -> Result<(), StoreError> {
        let updated = sqlx::query("UPDATE agents SET status = $1 WHERE id = $2")
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
            "UPDATE agents SET capacity = $1, skills = $2::json, working_hours = $3 \
             WHERE id = $4",
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
             VALUES ($1, $2, $3, $4, $5)",
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
             WHERE hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TokenRecord::try_from).transpose()
    }

    async fn record_pulse(&self, pulse: &CopilotPulse) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO copilot_pulse (agent_id, week, score, at) VALUES ($1, $2, $3, $4) \
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
            "SELECT agent_id, week, score, at FROM copilot_pulse WHERE agent_id = $1 AND week = $2",
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
             WHERE ($1::text IS NULL OR at >= $1) AND ($2::text IS NULL OR at < $2) \
             ORDER BY at, agent_id",
        )
        .bind(from.as_ref().map(time_text))
        .bind(to.as_ref().map(time_text))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(CopilotPulse::try_from).collect()
    }
}
