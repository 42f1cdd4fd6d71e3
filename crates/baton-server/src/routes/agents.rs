//! Agents: log in, list the team, set one's own status, and (supervisors)
//! set an agent's routing profile: status, capacity, skills, working hours.

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Duration;
use serde::Deserialize;
use serde_json::{json, Value};

use baton_core::AgentId;
use baton_core::Stage;
use baton_engine::routing::{clean_skills, parse_working_hours};
use baton_store::{AgentRole, AgentStatus, ConversationFilter, TokenSubject};

use crate::auth::{issue_token, verify_password, Caller, AGENT_SESSION_HOURS};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/agents", get(list))
        .route("/api/v1/agents/me", get(me))
        .route("/api/v1/agents/me/conversations", get(my_conversations))
        .route("/api/v1/agents/me/status", put(set_status))
        .route("/api/v1/agents/{id}", put(update))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<Value>, ApiError> {
    // One message for an unknown e-mail and a wrong password, so that the
    // login does not reveal which accounts exist.
    let refused = || ApiError::Unauthorized("wrong e-mail or password".into());
    let email = body.email.trim().to_lowercase();
    let agent = state.store.agent_by_email(&email).await?.ok_or_else(refused)?;
    let password = body.password;
    let hash = agent.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("password check: {e}")))?;
    if !ok {
        return Err(refused());
    }
    let (token, record) = issue_token(
        TokenSubject::Agent(agent.id),
        state.engine.now(),
        Some(Duration::hours(AGENT_SESSION_HOURS)),
    );
    state.store.create_token(&record).await?;
    if agent.status == AgentStatus::Offline {
        state.store.set_agent_status(agent.id, AgentStatus::Online).await?;
        state.engine.dispatch_after_change().await;
    }
    Ok(Json(json!({
        "token": token,
        "agent": {"id": agent.id, "email": agent.email, "name": agent.name, "role": agent.role},
    })))
}

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let agents = state.store.agents().await?;
    Ok(Json(json!({"agents": agents})))
}

async fn me(caller: Caller) -> Result<Json<Value>, ApiError> {
    let agent = caller.agent()?;
    Ok(Json(serde_json::to_value(agent).unwrap_or(Value::Null)))
}

/// The conversations the caller holds now, however they came to them:
/// taken, transferred, or assigned by an `auto` queue while the console
/// was closed. Each is its summary row with the customer's name and e-mail.
async fn my_conversations(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let agent = caller.agent()?;
    let filter = ConversationFilter {
        stages: vec![Stage::Human],
        assigned_agent: Some(agent.id),
        ..Default::default()
    };
    let mut held = Vec::new();
    for summary in state.store.conversations(&filter).await? {
        let customer = state.store.customer(summary.customer_id).await?;
        let mut entry = serde_json::to_value(&summary).unwrap_or(Value::Null);
        entry["customer"] = json!({
            "name": customer.as_ref().and_then(|c| c.name.clone()),
            "email": customer.as_ref().and_then(|c| c.email.clone()),
        });
        held.push(entry);
    }
    Ok(Json(json!({"conversations": held})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
}

async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Json<Value>, ApiError> {
    let agent = caller.agent()?;
    let status = AgentStatus::parse(&body.status).ok_or_else(|| {
        ApiError::Unprocessable(format!(
            "`status` must be online, away or offline, got `{}`",
            body.status
        ))
    })?;
    // Going offline puts what the agent holds back in its queue; coming
    // online may be what an auto queue waits for.
    state.engine.set_agent_status(agent.id, status).await?;
    Ok(Json(json!({"status": status})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    capacity: Option<u32>,
    #[serde(default)]
    skills: Option<Vec<String>>,
    /// A schedule, or `null` to clear it; absent leaves it as it is.
    #[serde(default, deserialize_with = "present")]
    working_hours: Option<Option<String>>,
}

/// Tells an absent field (outer `None`) from an explicit `null`.
fn present<'de, D>(deserializer: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<String>::deserialize(deserializer).map(Some)
}

/// A supervisor sets another agent's (or their own) routing profile.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Json<Value>, ApiError> {
    let me = caller.agent()?;
    if me.role != AgentRole::Supervisor {
        return Err(ApiError::Forbidden(
            "only a supervisor can change an agent's status, capacity, skills or hours".into(),
        ));
    }
    let id: AgentId =
        id.parse().map_err(|_| ApiError::NotFound(format!("no agent with id `{id}`")))?;
    let agent =
        state.store.agent(id).await?.ok_or_else(|| ApiError::NotFound(format!("no agent {id}")))?;

    // Every value is checked before anything is written.
    let status = match &body.status {
        None => None,
        Some(s) => Some(AgentStatus::parse(s).ok_or_else(|| {
            ApiError::Unprocessable(format!("`status` must be online, away or offline, got `{s}`"))
        })?),
    };
    let capacity = body.capacity.unwrap_or(agent.capacity);
    if capacity == 0 || capacity > 100 {
        return Err(ApiError::Unprocessable(format!(
            "`capacity` must be 1 to 100 conversations, got {capacity}"
        )));
    }
    let skills = match body.skills {
        None => agent.skills.clone(),
        Some(skills) => clean_skills(&skills).map_err(ApiError::Unprocessable)?,
    };
    let hours = match body.working_hours {
        None => agent.working_hours.clone(),
        Some(None) => None,
        Some(Some(text)) => {
            parse_working_hours(&text)
                .map_err(|e| ApiError::Unprocessable(format!("`working_hours`: {e}")))?;
            Some(text.trim().to_string())
        }
    };

    state.store.set_agent_routing(id, capacity, &skills, hours.as_deref()).await?;
    if let Some(status) = status {
        state.engine.set_agent_status(id, status).await?;
    }
    state.engine.dispatch_after_change().await;
    let agent =
        state.store.agent(id).await?.ok_or_else(|| ApiError::NotFound(format!("no agent {id}")))?;
    Ok(Json(serde_json::to_value(agent).unwrap_or(Value::Null)))
}
