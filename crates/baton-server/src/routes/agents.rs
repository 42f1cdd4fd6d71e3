//! Agents: log in, list the team, set one's own status.

use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Duration;
use serde::Deserialize;
use serde_json::{json, Value};

use baton_store::{AgentStatus, TokenSubject};

use crate::auth::{issue_token, verify_password, Caller, AGENT_SESSION_HOURS};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/agents", get(list))
        .route("/api/v1/agents/me", get(me))
        .route("/api/v1/agents/me/status", put(set_status))
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
    state.store.set_agent_status(agent.id, status).await?;
    Ok(Json(json!({"status": status})))
}
