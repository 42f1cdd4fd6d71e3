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
use baton_engine::routing::AssignOptions;
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
        .route("/api/v1/conversations/{id}/transfer", post(transfer))
        .route("/api/v1/queue", get(queue))
        .route("/api/v1/queue/next", post(take_next))
        .route("/api/v1/queues", get(queues))
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
    let visible: Vec<Event> = match caller {
        Caller::Agent(_) => events,
        Caller::Customer(_) => events.iter().filter_map(customer_copy).collect(),
    };
    Ok(Json(json!({"events": visible})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// Another agent to transfer to; the caller when absent.
    #[serde(default)]
    agent_id: Option<AgentId>,
    /// A note for the agent who takes it, kept in the log.
    #[serde(default)]
    note: Option<String>,
    /// A supervisor's assignment past the agent's capacity.
    #[serde(default)]
    over_capacity: bool,
}

async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<AssignBody>,
) -> Result<Json<Value>, ApiError> {
    let id = conversation_id(&id)?;
    let agent = caller.agent()?;
    let body = body.unwrap_or_default();
    let target = body.agent_id.unwrap_or(agent.id);
    let options = AssignOptions {
        transfer: target != agent.id,
        over_capacity: body.over_capacity,
        note: body.note,
    };
    let transfer = options.transfer;
    let conversation =
        state.engine.assign_with(id, target, Actor::Agent(agent.id), options).await?;
    if transfer {
        // The caller may have freed a seat an auto queue can use.
        state.engine.dispatch_after_change().await;
    }
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

/// The caller takes the most urgent waiting conversation they may work:
/// 200 with it, or 204 when there is none for them.
async fn take_next(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let agent = caller.agent()?;
    match state.engine.take_next(agent.id).await? {
        Some(conversation) => {
            let names = agent_names(&state).await?;
            let body = conversation_json(&state, &conversation, &caller, &names).await?;
            Ok((StatusCode::OK, Json(body)))
        }
        None => Ok((StatusCode::NO_CONTENT, Json(Value::Null))),
    }
}

/// Every queue with its length, oldest wait and SLA.
async fn queues(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let queues = state.engine.queue_stats().await?;
    Ok(Json(json!({"queues": queues})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    /// The queue to put it back in...
    #[serde(default)]
    queue: Option<String>,
    /// ...or the agent to hand it to.
    #[serde(default)]
    agent_id: Option<AgentId>,
    #[serde(default)]
    note: Option<String>,
}

/// Hand the conversation to another agent or put it back in a queue,
/// keeping the packet and adding the note.
async fn transfer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TransferBody>,
) -> Result<Json<Value>, ApiError> {
    let id = conversation_id(&id)?;
    let agent = caller.agent()?;
    let conversation = match (body.queue, body.agent_id) {
        (Some(queue), None) => {
            state.engine.transfer_to_queue(id, &queue, agent.id, body.note).await?
        }
        (None, Some(target)) => {
            let options = AssignOptions { transfer: true, over_capacity: false, note: body.note };
            let moved =
                state.engine.assign_with(id, target, Actor::Agent(agent.id), options).await?;
            state.engine.dispatch_after_change().await;
            moved
        }
        _ => {
            return Err(ApiError::Unprocessable(
                "give exactly one of `queue` and `agent_id`".into(),
            ))
        }
    };
    let names = agent_names(&state).await?;
    Ok(Json(conversation_json(&state, &conversation, &caller, &names).await?))
}

/// Events a customer's own view may include: what was said to them and
/// the changes of who is talking, never notes, analyses or decisions.
/// The event as the customer reads it, `None` for one they never see. A
/// hand-back's note is an agent's word and stays out (notes are kept as
/// `note_added` now; older logs and approval labels still carry one).
pub(crate) fn customer_copy(event: &Event) -> Option<Event> {
    if !customer_may_see(event) {
        return None;
    }
    let mut copy = event.clone();
    if let EventKind::HandedBack { note } = &mut copy.kind {
        *note = None;
    }
    Some(copy)
}

fn customer_may_see(event: &Event) -> bool {
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
        body["queue"] = json!(conversation.queue);
        body["follow_up"] = json!(conversation.follow_up);
        body["sla_breached"] = json!(conversation.sla_breached);
        let customer = state.store.customer(conversation.customer_id).await?;
        body["customer"] = serde_json::to_value(customer).unwrap_or(Value::Null);
        body["csat"] = match &conversation.csat {
            Some((score, comment)) => json!({"score": score, "comment": comment}),
            None => Value::Null,
        };
    }
    Ok(body)
}
