//! Conversations: start one, post messages, read it, its events, and the
//! agent's actions on it (take, reply, note, hand back, resolve) and the
//! customer's rating.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Duration;
use serde::Deserialize;
use serde_json::{json, Value};

use baton_core::{Actor, AgentId, Event, EventKind, Message, Projection};
use baton_engine::CustomerDetails;
use baton_store::TokenSubject;

use crate::auth::{issue_token, Caller};
use crate::error::ApiError;
use crate::extract::{conversation_id, ApiJson, ApiQuery, OptionalJson};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations", post(start))
        .route("/api/v1/conversations/{id}", get(show))
        .route("/api/v1/conversations/{id}/messages", post(post_message))
        .route("/api/v1/conversations/{id}/events", get(events))
        .route("/api/v1/conversations/{id}/assign", post(assign))
        .route("/api/v1/conversations/{id}/notes", post(note))
        .route("/api/v1/conversations/{id}/handback", post(hand_back))
        .route("/api/v1/conversations/{id}/resolve", post(resolve))
        .route("/api/v1/conversations/{id}/csat", post(csat))
        .route("/api/v1/queue", get(queue))
}

/// How long a customer's token lasts: long enough to come back to an open
/// conversation days later.
const CUSTOMER_TOKEN_DAYS: i64 = 30;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    #[serde(default = "web")]
    channel: String,
    #[serde(default)]
    customer: Option<CustomerBody>,
}

fn web() -> String {
    "web".into()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CustomerBody {
    name: Option<String>,
    email: Option<String>,
    external_id: Option<String>,
}

async fn start(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // Serde would read a JSON array as a struct's fields in order; only an
    // object is a valid body here.
    if !body.is_object() {
        return Err(ApiError::Unprocessable("the body must be a JSON object".into()));
    }
    let body: StartBody = serde_json::from_value(body)
        .map_err(|e| ApiError::Unprocessable(format!("the JSON body does not fit: {e}")))?;
    let customer = body.customer.unwrap_or_default();
    let conversation = state
        .engine
        .start_conversation(
            &body.channel,
            CustomerDetails {
                name: customer.name,
                email: customer.email,
                external_id: customer.external_id,
            },
        )
        .await?;
    let (token, record) = issue_token(
        TokenSubject::Customer(conversation.id),
        state.engine.now(),
        Some(Duration::days(CUSTOMER_TOKEN_DAYS)),
    );
    state.store.create_token(&record).await?;
    let names = agent_names(&state).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": conversation.id,
            "customer_token": token,
            "stage": conversation.stage,
            "messages": messages_json(&conversation.messages, &names),
        })),
    ))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = conversation_id(&id)?;
    caller.may_access(id)?;
    let conversation = state.engine.conversation(id).await?;
    let names = agent_names(&state).await?;
    Ok(Json(conversation_json(&state, &conversation, &caller, &names).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    text: String,
    #[serde(default)]
    client_id: Option<String>,
    /// For agents: the copilot suggestion the reply started from.
    #[serde(default)]
    suggestion_id: Option<String>,
}

async fn post_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MessageBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = conversation_id(&id)?;
    caller.may_access(id)?;
    let names = agent_names(&state).await?;
    match &caller {
        Caller::Customer(_) => {
            if body.suggestion_id.is_some() {
                return Err(ApiError::Unprocessable(
                    "`suggestion_id` is for agents' replies; leave it out".into(),
                ));
            }
            let outcome =
                state.engine.customer_message(id, &body.text, body.client_id.as_deref()).await?;
            let status = if outcome.duplicate { StatusCode::OK } else { StatusCode::CREATED };
            Ok((
                status,
                Json(json!({
                    "message": message_json(&outcome.message, &names),
                    "replies": messages_json(&outcome.replies, &names),
                    "stage": outcome.stage,
                })),
            ))
        }
        Caller::Agent(agent) => {
            let client_id = body.client_id.as_deref();
            let (conversation, message) = match body.suggestion_id.as_deref() {
                Some(suggestion) => {
                    state
                        .engine
                        .agent_reply_from_suggestion(
                            id, agent.id, &body.text, client_id, suggestion,
                        )
                        .await?
                }
                None => state.engine.agent_message(id, agent.id, &body.text, client_id).await?,
            };
            Ok((
                StatusCode::CREATED,
                Json(json!({
                    "message": message_json(&message, &names),
                    "replies": [],
                    "stage": conversation.stage,
                })),
            ))
        }
    }
}

#[derive(Deserialize)]
struct EventsQuery {
    #[serde(default)]
    after: u64,
}

async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = conversation_id(&id)?;
    caller.may_access(id)?;
    let after = crate::extract::sequence_number(query.after)?;
    let events = state.engine.events(id, after).await?;
    let visible: Vec<&Event> = match caller {
        Caller::Agent(_) => events.iter().collect(),
        Caller::Customer(_) => events.iter().filter(|e| customer_may_see(e)).collect(),
    };
    Ok(Json(json!({"events": visible})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// Another agent to transfer to; the caller when absent.
    #[serde(default)]
    agent_id: Option<AgentId>,
}

async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<AssignBody>,
) -> Result<Json<Value>, ApiError> {
    let id = conversation_id(&id)?;
    let agent = caller.agent()?;
    let target = body.and_then(|b| b.agent_id).unwrap_or(agent.id);
    let transfer = target != agent.id;
    let conversation = state.engine.assign(id, target, Actor::Agent(agent.id), transfer).await?;
    let names = agent_names(&state).await?;
    Ok(Json(conversation_json(&state, &conversation, &caller, &names).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

async fn note(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = conversation_id(&id)?;
    let agent = caller.agent()?;
    let conversation = state.engine.add_note(id, agent.id, &body.text).await?;
    Ok((StatusCode::CREATED, Json(json!({"seq": conversation.last_seq}))))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HandBackBody {
    #[serde(default)]
    note: Option<String>,
}

async fn hand_back(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<HandBackBody>,
) -> Result<Json<Value>, ApiError> {
    let id = conversation_id(&id)?;
    let agent = caller.agent()?;
    let note = body.and_then(|b| b.note);
    let conversation = state.engine.hand_back(id, agent.id, note).await?;
    let names = agent_names(&state).await?;
    Ok(Json(conversation_json(&state, &conversation, &caller, &names).await?))
}

async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = conversation_id(&id)?;
    let agent = caller.agent()?;
    let conversation = state.engine.resolve(id, Actor::Agent(agent.id)).await?;
    let names = agent_names(&state).await?;
    Ok(Json(conversation_json(&state, &conversation, &caller, &names).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CsatBody {
    score: u8,
    #[serde(default)]
    comment: Option<String>,
}

async fn csat(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CsatBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = conversation_id(&id)?;
    caller.may_access(id)?;
    if matches!(caller, Caller::Agent(_)) {
        return Err(ApiError::Forbidden("only the customer can rate the conversation".into()));
    }
    let conversation = state.engine.csat(id, body.score, body.comment).await?;
    let (score, comment) = conversation.csat.clone().unwrap_or((body.score, None));
    Ok((StatusCode::CREATED, Json(json!({"score": score, "comment": comment}))))
}

async fn queue(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let entries = state.engine.queue().await?;
    Ok(Json(json!({"conversations": entries})))
}

/// Events a customer's own view may include: what was said to them and
/// the changes of who is talking, never notes, analyses or decisions.
pub(crate) fn customer_may_see(event: &Event) -> bool {
    matches!(
        event.kind,
        EventKind::ConversationStarted { .. }
            | EventKind::MessagePosted { .. }
            | EventKind::Assigned { .. }
            | EventKind::HandedBack { .. }
            | EventKind::Resolved
            | EventKind::Reopened { .. }
            | EventKind::CsatRequested
            | EventKind::CsatReceived { .. }
    )
}

/// Display names of agents, for labelling their messages.
pub(crate) async fn agent_names(state: &AppState) -> Result<HashMap<AgentId, String>, ApiError> {
    Ok(state.store.agents().await?.into_iter().map(|a| (a.id, a.name)).collect())
}

pub(crate) fn message_json(message: &Message, names: &HashMap<AgentId, String>) -> Value {
    let mut value = serde_json::to_value(message).unwrap_or(Value::Null);
    if let Some(name) = message.agent_id.and_then(|id| names.get(&id)) {
        value["agent_name"] = json!(name);
    }
    value
}

fn messages_json(messages: &[Message], names: &HashMap<AgentId, String>) -> Vec<Value> {
    messages.iter().map(|m| message_json(m, names)).collect()
}

/// A conversation as the caller may see it: agents get the handoff packet,
/// the escalation and the customer; customers only their messages.
async fn conversation_json(
    state: &AppState,
    conversation: &Projection,
    caller: &Caller,
    names: &HashMap<AgentId, String>,
) -> Result<Value, ApiError> {
    let assigned = conversation
        .assigned_agent
        .map(|id| json!({"id": id, "name": names.get(&id).cloned().unwrap_or_default()}));
    let mut body = json!({
        "id": conversation.id,
        "stage": conversation.stage,
        "channel": conversation.channel,
        "started_at": conversation.started_at,
        "messages": messages_json(&conversation.messages, names),
        "handoff": Value::Null,
        "assigned_agent": assigned,
        "last_seq": conversation.last_seq,
        "awaits_csat": conversation.awaits_csat(),
    });
    if let Caller::Agent(_) = caller {
        body["handoff"] = conversation.handoff.clone().unwrap_or(Value::Null);
        if let Some(Event {
            kind: EventKind::Escalated { reason, evidence, priority, queue },
            at,
            ..
        }) = &conversation.escalation
        {
            body["escalation"] = json!({
                "reason": reason,
                "evidence": evidence,
                "priority": priority,
                "queue": queue,
                "at": at,
            });
        }
        let customer = state.store.customer(conversation.customer_id).await?;
        body["customer"] = serde_json::to_value(customer).unwrap_or(Value::Null);
        body["csat"] = match &conversation.csat {
            Some((score, comment)) => json!({"score": score, "comment": comment}),
            None => Value::Null,
        };
    }
    Ok(body)
}
