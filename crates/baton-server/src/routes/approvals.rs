//! Approvals: the calls the AI holds for a person, and the agent's decision
//! on one in a single step.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use baton_engine::{latest_state, Pending};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{conversation_id, ApiJson};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations/{id}/approvals", get(pending))
        .route("/api/v1/conversations/{id}/approvals/{approval_id}", post(decide))
}

/// The call waiting for approval in a conversation, if any, with the exact
/// parameters and the policy that stopped it.
async fn pending(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let id = conversation_id(&id)?;
    let events = state.engine.events(id, 0).await?;
    let flow = latest_state(&events);
    let approvals: Vec<Value> = match flow.pending {
        Some(Pending::Approval { id: approval_id, tool, parameters, .. }) => {
            // The policy sentence is in the escalation that queued it.
            let policy = events.iter().rev().find_map(|e| match &e.kind {
                baton_core::EventKind::Escalated { evidence, .. }
                    if evidence["approval_id"] == json!(approval_id) =>
                {
                    Some(evidence["policy"].clone())
                }
                _ => None,
            });
            vec![json!({
                "id": approval_id,
                "tool": tool,
                "parameters": parameters,
                "policy": policy.unwrap_or(Value::Null),
            })]
        }
        _ => vec![],
    };
    Ok(Json(json!({"approvals": approvals})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    decision: String,
}

async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, approval_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Json<Value>, ApiError> {
    let agent = caller.agent()?;
    let id = conversation_id(&id)?;
    let approve = match body.decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(ApiError::Unprocessable(format!(
                "`decision` must be \"approve\" or \"reject\", got \"{other}\""
            )))
        }
    };
    let conversation = state.engine.decide_approval(id, &approval_id, agent.id, approve).await?;
    Ok(Json(json!({
        "id": conversation.id,
        "stage": conversation.stage,
        "decision": body.decision,
        "messages": conversation.messages,
    })))
}
