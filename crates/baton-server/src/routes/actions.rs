//! The agent's tools on a conversation they own: the suggestions with their
//! parameters filled in, and running one under the same rules as the AI.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use baton_engine::assist::parse_suggestion_id;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{conversation_id, OptionalJson};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations/{id}/actions", get(suggestions))
        .route("/api/v1/conversations/{id}/actions/{tool}", post(run))
}

async fn suggestions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let id = conversation_id(&id)?;
    let actions = state.engine.suggested_actions(id).await?;
    Ok(Json(json!({"actions": actions})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    /// Left out: the parameters the conversation gives.
    parameters: Option<Map<String, Value>>,
    /// The copilot suggestion the call was run from, recorded as used.
    #[serde(default)]
    suggestion_id: Option<String>,
}

async fn run(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, tool)): Path<(String, String)>,
    OptionalJson(body): OptionalJson<RunBody>,
) -> Result<Json<Value>, ApiError> {
    let agent = caller.agent()?;
    let id = conversation_id(&id)?;
    let (parameters, suggestion) = match body {
        Some(body) => (body.parameters, body.suggestion_id),
        None => (None, None),
    };
    // A bad id is refused before anything runs.
    if let Some(bad) = suggestion.as_deref().filter(|s| parse_suggestion_id(s).is_none()) {
        return Err(ApiError::Unprocessable(format!(
            "`suggestion_id` {bad:?} is not a suggestion id from the assist panel"
        )));
    }
    let call = state.engine.agent_tool_call(id, agent.id, &tool, parameters).await?;
    if let Some(suggestion) = suggestion {
        let used = baton_engine::assist::Feedback::Used;
        state.engine.suggestion_feedback(id, agent.id, &suggestion, used).await?;
    }
    Ok(Json(json!(call)))
}
