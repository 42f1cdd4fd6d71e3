//! The learning loop over HTTP: agents' feedback on a conversation, a
//! supervisor's review of it, the saved reply drafts, and the model
//! versions with the reload that puts a newly promoted one into service.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use baton_core::FeedbackKind;
use baton_engine::feedback::{self, FeedbackInput, FeedbackStatus};
use baton_engine::model::versions::{self, Reloader};
use baton_store::{Agent, AgentRole};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{conversation_id, ApiJson, ApiQuery, OptionalJson};
use crate::AppState;

/// Where the learning loop keeps its files: the data folder's `drafts/`
/// and the reloader of its `models/`.
pub struct Learning {
    pub drafts_dir: PathBuf,
    pub reloader: Arc<Reloader>,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations/{id}/feedback", post(give).get(of_conversation))
        .route("/api/v1/feedback", get(list))
        .route("/api/v1/feedback/{id}/accept", post(accept))
        .route("/api/v1/feedback/{id}/reject", post(reject))
        .route("/api/v1/intents", get(intents))
        .route("/api/v1/drafts", get(drafts))
        .route("/api/v1/models", get(models))
        .route("/api/v1/models/reload", post(reload))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    kind: String,
    message_seq: u64,
    #[serde(default)]
    intent: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

fn parse_kind(raw: &str) -> Result<FeedbackKind, ApiError> {
    FeedbackKind::ALL.into_iter().find(|k| k.as_str() == raw).ok_or_else(|| {
        ApiError::Unprocessable(format!(
            "`kind` must be one of relabel, answer_wrong, save_template, save_article_draft; \
             got \"{raw}\""
        ))
    })
}

async fn give(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<FeedbackBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let agent = caller.agent()?;
    let id = conversation_id(&id)?;
    let input = FeedbackInput {
        kind: parse_kind(&body.kind)?,
        message_seq: body.message_seq,
        intent: body.intent,
        note: body.note,
        title: body.title,
    };
    let drafts = state.learning.as_ref().map(|l| l.drafts_dir.as_path());
    let record = state.engine.give_feedback(id, agent.id, input, drafts).await?;
    Ok((StatusCode::CREATED, Json(json!(record))))
}

async fn of_conversation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let id = conversation_id(&id)?;
    let events = state.engine.events(id, 0).await?;
    Ok(Json(json!({"feedback": feedback::records(&events)})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

fn supervisor(caller: &Caller) -> Result<&Agent, ApiError> {
    let agent = caller.agent()?;
    if agent.role != AgentRole::Supervisor {
        return Err(ApiError::Forbidden("only a supervisor may review feedback and models".into()));
    }
    Ok(agent)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    supervisor(&caller)?;
    let status = match query.status.as_deref() {
        None | Some("all") => None,
        Some(raw) => Some(FeedbackStatus::parse(raw).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "`status` must be pending, accepted, rejected or all; got \"{raw}\""
            ))
        })?),
    };
    let kind = query.kind.as_deref().map(parse_kind).transpose()?;
    // TODO: every event is read to find the feedback; fine for a support
    // team's log of weeks, slow for years of it. An index of feedback
    // events in the store would make this one query.
    let events = state.store.events_between(None, None).await?;
    let records: Vec<_> = feedback::records(&events)
        .into_iter()
        .filter(|r| status.is_none_or(|s| r.status == s))
        .filter(|r| kind.is_none_or(|k| r.kind == k))
        .collect();
    Ok(Json(json!({"feedback": records})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    #[serde(default)]
    note: Option<String>,
}

async fn accept(
    state: State<AppState>,
    caller: Caller,
    id: Path<String>,
    body: OptionalJson<ReviewBody>,
) -> Result<Json<Value>, ApiError> {
    review(state, caller, id, body, true).await
}

async fn reject(
    state: State<AppState>,
    caller: Caller,
    id: Path<String>,
    body: OptionalJson<ReviewBody>,
) -> Result<Json<Value>, ApiError> {
    review(state, caller, id, body, false).await
}

async fn review(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    OptionalJson(body): OptionalJson<ReviewBody>,
    accepted: bool,
) -> Result<Json<Value>, ApiError> {
    let reviewer = supervisor(&caller)?;
    let missing = || ApiError::NotFound(format!("no feedback with id `{raw}`"));
    let (id, seq) = feedback::parse_id(&raw).ok_or_else(missing)?;
    let events = match state.engine.events(id, 0).await {
        Err(baton_engine::EngineError::NotFound(_)) => return Err(missing()),
        other => other?,
    };
    if !feedback::records(&events).iter().any(|r| r.seq == seq) {
        return Err(missing());
    }
    let note = body.unwrap_or_default().note;
    let record = state.engine.review_feedback(id, seq, reviewer.id, accepted, note).await?;
    Ok(Json(json!(record)))
}

/// The workspace's intents, for the console's relabel choice.
async fn intents(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let intents: Vec<Value> = state
        .engine
        .workspace()
        .intents
        .iter()
        .map(|i| json!({"name": i.name, "label": i.label, "description": i.description}))
        .collect();
    Ok(Json(json!({"intents": intents})))
}

async fn drafts(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let Some(learning) = &state.learning else {
        return Ok(Json(json!({"drafts": []})));
    };
    let events = state.store.events_between(None, None).await?;
    let records = feedback::records(&events);
    let drafts: Vec<Value> = feedback::list_drafts(&learning.drafts_dir)
        .into_iter()
        .map(|(kind, path)| {
            let record = records.iter().find(|r| r.draft.as_deref() == Some(path.as_str()));
            let text = std::fs::read_to_string(learning.drafts_dir.join(&path)).ok();
            json!({
                "kind": kind,
                "path": format!("drafts/{path}"),
                "feedback_id": record.map(|r| r.id.clone()),
                "status": record.map(|r| r.status),
                "saved_by": record.and_then(|r| r.given_by),
                "saved_at": record.map(|r| r.given_at),
                "content": text,
            })
        })
        .collect();
    Ok(Json(json!({"drafts": drafts})))
}

async fn models(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    supervisor(&caller)?;
    let Some(learning) = &state.learning else {
        return Ok(Json(json!({"in_service": null, "versions": []})));
    };
    let list = versions::list(learning.reloader.models_dir()).map_err(version_error)?;
    Ok(Json(json!({"in_service": learning.reloader.current(), "versions": list})))
}

async fn reload(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    supervisor(&caller)?;
    let learning = state.learning.clone().ok_or_else(|| {
        ApiError::Conflict("this server keeps no model versions to reload".into())
    })?;
    let engine = state.engine.clone();
    let reloader = learning.reloader.clone();
    let outcome = tokio::task::spawn_blocking(move || reloader.reload(&engine))
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    let outcome = outcome.map_err(version_error)?;
    Ok(Json(json!(outcome)))
}

/// A version that does not fit, or a damaged file under `models/`, is the
/// admin's to fix: a `409` naming it, the model in service staying.
fn version_error(err: versions::VersionError) -> ApiError {
    use versions::VersionError::{BadManifest, Incompatible, Nlu};
    match err {
        Incompatible { .. } => ApiError::Conflict(err.to_string()),
        BadManifest { .. } | Nlu(_) => {
            ApiError::Conflict(format!("{err}; the model in service stays"))
        }
        other => ApiError::Internal(anyhow::Error::new(other)),
    }
}
