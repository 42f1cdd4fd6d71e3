//! The event stream: `GET /api/v1/ws?token=..&after=..`.
//!
//! A customer's socket carries the customer-visible events of their own
//! conversation; an agent's carries every event, so the console can keep
//! the queue and open conversations current. A client that reconnects
//! passes the last `seq` it saw (with `conversation` for an agent) and first
//! receives what it missed from the store, then the live events. The
//! subscription to the bus starts before the backlog is read, so nothing
//! that lands in between is lost, and sequence numbers drop duplicates.
//! Typing notices ([`crate::live`]) ride along as `typing` frames. The
//! agent who owns a conversation also gets an `assist` frame with the
//! copilot panel after each analysed customer message.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use baton_core::{AgentId, ConversationId, Event, EventKind, Stage};

use crate::auth::{resolve, Caller};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::routes::customer_copy;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/ws", get(upgrade))
}

#[derive(Deserialize)]
struct WsQuery {
    token: String,
    #[serde(default)]
    after: u64,
    /// For agents: the conversation whose backlog to send first.
    #[serde(default)]
    conversation: Option<ConversationId>,
}

async fn upgrade(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<WsQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = ws.map_err(|rejection| {
        ApiError::BadRequest(format!(
            "this is a WebSocket endpoint: open it with a WebSocket client \
             (a GET with `Connection: upgrade` and `Upgrade: websocket`); {}",
            rejection.body_text()
        ))
    })?;
    let caller = resolve(&state, &query.token).await?;
    crate::extract::sequence_number(query.after)?;
    Ok(ws.on_upgrade(move |socket| stream(socket, state, caller, query)))
}

/// Frames queued for one socket before the sender gives up on a client
/// that does not read.
const OUTBOX: usize = 256;

async fn stream(socket: WebSocket, state: AppState, caller: Caller, query: WsQuery) {
    let (mut sink, mut incoming) = socket.split();
    let (outbox, mut outgoing) = mpsc::channel::<String>(OUTBOX);

    // The send task owns the socket's write half.
    let mut send_task = tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            if sink.send(WsMessage::Text(frame.into())).await.is_err() {
                break;
            }
        }
    });

    // The feed task reads the bus and the store and fills the outbox.
    let feed_state = state.clone();
    let mut feed_task = tokio::spawn(async move {
        let _ = feed(feed_state, caller, query, outbox).await;
    });

    // The receive task only watches for the client closing; the API takes
    // writes over HTTP, where they get a status and a body.
    let mut recv_task = tokio::spawn(async move {
        while let Some(Ok(frame)) = incoming.next().await {
            if matches!(frame, WsMessage::Close(_)) {
                break;
            }
        }
    });

    tokio::select! {
        _ = &mut send_task => {}
        _ = &mut feed_task => {}
        _ = &mut recv_task => {}
    }
    send_task.abort();
    feed_task.abort();
    recv_task.abort();
}

async fn feed(
    state: AppState,
    caller: Caller,
    query: WsQuery,
    outbox: mpsc::Sender<String>,
) -> Result<(), ()> {
    let mut live = state.engine.bus().subscribe();
    let (own, backlog_of) = match &caller {
        Caller::Customer(id) => (Some(*id), Some(*id)),
        Caller::Agent(_) => (None, query.conversation),
    };
    // What this caller reads of an event: all of it for an agent.
    let shown = |event: &Event| match own {
        None => Some(event.clone()),
        Some(_) => customer_copy(event),
    };

    // What the client missed, then a marker so it knows it is live.
    let mut last_seq = query.after;
    if let Some(id) = backlog_of {
        last_seq = send_backlog(&state, id, last_seq, &shown, &outbox).await?;
    }
    send(&outbox, json!({"type": "ready", "last_seq": last_seq}).to_string()).await?;

    let mut notices = state.notices.subscribe();
    loop {
        let received = tokio::select! {
            received = live.recv() => received,
            notice = notices.recv() => {
                // A missed typing notice is stale anyway; only live ones matter.
                match notice {
                    Ok(notice) if notice.audible_to(&caller) => {
                        send(&outbox, notice.frame()).await?
                    }
                    _ => {}
                }
                continue;
            }
        };
        match received {
            Ok(event) => {
                if own.is_some_and(|id| id != event.conversation_id) {
                    continue;
                }
                let Some(event) = shown(&event) else { continue };
                if backlog_of == Some(event.conversation_id) {
                    if event.seq <= last_seq {
                        continue;
                    }
                    last_seq = event.seq;
                }
                send(&outbox, frame(&event)).await?;
                if let Caller::Agent(agent) = &caller {
                    if let Some(panel) = assist_frame(&state, agent.id, &event).await {
                        send(&outbox, panel).await?;
                    }
                }
            }
            Err(RecvError::Lagged(_)) => match own {
                // A customer's stream is rebuilt from the store.
                Some(id) => last_seq = send_backlog(&state, id, last_seq, &shown, &outbox).await?,
                // An agent's console reloads what it shows.
                None => send(&outbox, json!({"type": "lagged"}).to_string()).await?,
            },
            Err(RecvError::Closed) => return Ok(()),
        }
    }
}

async fn send_backlog(
    state: &AppState,
    id: ConversationId,
    after: u64,
    shown: &impl Fn(&Event) -> Option<Event>,
    outbox: &mpsc::Sender<String>,
) -> Result<u64, ()> {
    let events = state.store.events(id, after).await.map_err(|err| {
        tracing::error!(error = %err, "reading a conversation's backlog for a socket");
    })?;
    let mut last = after;
    for event in events {
        last = event.seq;
        if let Some(event) = shown(&event) {
            send(outbox, frame(&event)).await?;
        }
    }
    Ok(last)
}

/// The copilot panel for the agent who owns the conversation, after a
/// customer message was analysed while a person holds it.
async fn assist_frame(state: &AppState, agent: AgentId, event: &Event) -> Option<String> {
    if !matches!(event.kind, EventKind::MessageAnalysed { .. }) {
        return None;
    }
    // The summary row is a cheap check of the owner before the panel is
    // built; every agent's socket sees every event.
    let summary = state.store.conversation(event.conversation_id).await.ok()??;
    if summary.stage != Stage::Human || summary.assigned_agent != Some(agent) {
        return None;
    }
    let assist = match state.engine.assist(event.conversation_id).await {
        Ok(assist) => assist,
        Err(err) => {
            tracing::error!(error = %err, "building the copilot panel for a socket");
            return None;
        }
    };
    if assist.stage != Stage::Human || assist.assigned_agent != Some(agent) {
        return None;
    }
    Some(
        json!({"type": "assist", "conversation_id": event.conversation_id, "assist": assist})
            .to_string(),
    )
}

fn frame(event: &Event) -> String {
    json!({"type": "event", "event": event}).to_string()
}

async fn send(outbox: &mpsc::Sender<String>, frame: String) -> Result<(), ()> {
    outbox.send(frame).await.map_err(|_| ())
}
