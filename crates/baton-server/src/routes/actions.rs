//! The agent's tools on a conversation they own: the suggestions with their
//! parameters filled in, and running one under the same rules as the AI.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

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
}

async fn run(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, tool)): Path<(String, String)>,
    OptionalJson(body): OptionalJson<RunBody>,
) -> Result<Json<Value>, ApiError> {
    let agent = caller.agent()?;
    let id = conversation_id(&id)?;
    let parameters = body.and_then(|b| b.parameters);
    let call = state.engine.agent_tool_call(id, agent.id, &tool, parameters).await?;
    Ok(Json(json!(call)))
}
