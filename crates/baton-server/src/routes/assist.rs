//! The agent's copilot: the assist panel of a conversation, the agent's
//! feedback on its suggestions, and the weekly copilot question.
//!
//! Replies that start from a suggestion go through the ordinary message
//! endpoint with a `suggestion_id`; this router holds the rest.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use baton_engine::assist::Feedback;
use baton_store::CopilotPulse;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{conversation_id, ApiJson};
use crate::AppState;

/// The weekly question, as the console asks it.
pub const PULSE_QUESTION: &str = "Did the copilot save you time this week?";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations/{id}/assist", get(assist))
        .route("/api/v1/conversations/{id}/assist/{suggestion}/dismiss", post(dismiss))
        .route("/api/v1/conversations/{id}/assist/{suggestion}/rating", post(rate))
        .route("/api/v1/agents/me/pulse", get(pulse).post(answer_pulse))
}

async fn assist(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let id = conversation_id(&id)?;
    let assist = state.engine.assist(id).await?;
    Ok(Json(json!(assist)))
}

async fn dismiss(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, suggestion)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let agent = caller.agent()?;
    let id = conversation_id(&id)?;
    let conversation =
        state.engine.suggestion_feedback(id, agent.id, &suggestion, Feedback::Dismissed).await?;
    Ok(Json(json!({"recorded": "suggestion_dismissed", "last_seq": conversation.last_seq})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatingBody {
    helpful: bool,
}

async fn rate(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, suggestion)): Path<(String, String)>,
    ApiJson(body): ApiJson<RatingBody>,
) -> Result<Json<Value>, ApiError> {
    let agent = caller.agent()?;
    let id = conversation_id(&id)?;
    let feedback = Feedback::Rated { helpful: body.helpful };
    let conversation =
        state.engine.suggestion_feedback(id, agent.id, &suggestion, feedback).await?;
    Ok(Json(json!({
        "recorded": baton_engine::assist::SUGGESTION_RATED,
        "helpful": body.helpful,
        "last_seq": conversation.last_seq,
    })))
}

/// `2026-W10`: the ISO week an instant falls in.
pub fn iso_week(at: DateTime<Utc>) -> String {
    let week = at.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

async fn pulse(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let agent = caller.agent()?;
    let week = iso_week(state.engine.now());
    let answer = state.store.pulse(agent.id, &week).await?;
    Ok(Json(json!({
        "week": week,
        "question": PULSE_QUESTION,
        "answered": answer.is_some(),
        "score": answer.map(|a| a.score),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PulseBody {
    score: i64,
}

async fn answer_pulse(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PulseBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let agent = caller.agent()?;
    let score = u8::try_from(body.score).ok().filter(|s| (1..=5).contains(s)).ok_or_else(|| {
        ApiError::Unprocessable(format!("`score` must be 1 to 5, got {}", body.score))
    })?;
    let now = state.engine.now();
    let pulse = CopilotPulse { agent_id: agent.id, week: iso_week(now), score, at: now };
    if !state.store.record_pulse(&pulse).await? {
        return Err(ApiError::Conflict(format!(
            "you already answered the copilot question for {}; it comes back next week",
            pulse.week
        )));
    }
    Ok((StatusCode::CREATED, Json(json!(pulse))))
}
