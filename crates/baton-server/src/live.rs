//! Live signals that are not part of a conversation's record: typing
//! notices and a waiting customer's place in the queue.
//!
//! A typing notice is ephemeral by design: it is broadcast to the sockets
//! that may see it and then forgotten, never stored as an event, so the log
//! keeps only what was said and done.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::broadcast;

use baton_core::{AgentId, ConversationId, Stage};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::conversation_id;
use crate::AppState;

/// Notices a slow socket may fall behind by; older ones are simply dropped,
/// as a stale "is typing" is worth nothing.
const CAPACITY: usize = 256;

/// Someone is typing in a conversation.
#[derive(Clone, Debug, Serialize)]
pub struct TypingNotice {
    pub conversation_id: ConversationId,
    /// `customer` or `agent`.
    pub from: &'static str,
    /// The agent's display name; none for the customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip)]
    pub agent_id: Option<AgentId>,
    pub at: DateTime<Utc>,
}

impl TypingNotice {
    /// Whether a socket of `caller` should hear this notice: a customer
    /// hears the agents of their own conversation, an agent hears
    /// customers and other agents, never themselves.
    pub fn audible_to(&self, caller: &Caller) -> bool {
        match caller {
            Caller::Customer(own) => *own == self.conversation_id && self.from == "agent",
            Caller::Agent(agent) => self.agent_id != Some(agent.id),
        }
    }

    pub fn frame(&self) -> String {
        json!({"type": "typing", "notice": self}).to_string()
    }
}

/// The in-process broadcast of typing notices.
// TODO: notices stay on the node that received them; with several nodes
// they would need the broker too. A lost notice only hides a hint.
#[derive(Clone)]
pub struct Notices {
    sender: broadcast::Sender<Arc<TypingNotice>>,
}

impl Notices {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        Self { sender }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<TypingNotice>> {
        self.sender.subscribe()
    }

    fn publish(&self, notice: TypingNotice) {
        // Nobody listening is fine: there is nobody to tell.
        let _ = self.sender.send(Arc::new(notice));
    }
}

impl Default for Notices {
    fn default() -> Self {
        Self::new()
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations/{id}/typing", post(typing))
        .route("/api/v1/conversations/{id}/position", get(position))
}

async fn typing(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = conversation_id(&id)?;
    caller.may_access(id)?;

    // The conversation must exist, so a notice never names a phantom one.
    state.engine.conversation(id).await?;
    let notice = match &caller {
        Caller::Customer(_) => TypingNotice {
            conversation_id: id,
            from: "customer",
            name: None,
            agent_id: None,
            at: state.engine.now(),
        },
        Caller::Agent(agent) => TypingNotice {
            conversation_id: id,
            from: "agent",
            name: Some(agent.name.clone()),
            agent_id: Some(agent.id),
            at: state.engine.now(),
        },
    };
    state.notices.publish(notice);
    Ok(StatusCode::NO_CONTENT)
}

/// A conversation's place in the human queue, for the customer's widget.
async fn position(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = conversation_id(&id)?;
    caller.may_access(id)?;
    let conversation = state.engine.conversation(id).await?;
    if conversation.stage != Stage::Queued {
        return Ok(Json(json!({"stage": conversation.stage, "position": null})));
    }
    let queue = state.engine.queue().await?;
    let entry = queue.iter().find(|e| e.conversation.id == id);
    Ok(Json(json!({
        "stage": conversation.stage,
        "position": entry.map(|e| e.position),
        "waiting_seconds": entry.map(|e| e.waiting_seconds),
        "queue_length": queue.len(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_store::{Agent, AgentRole, AgentStatus};

    fn agent(name: &str) -> Agent {
        Agent {
            id: AgentId::new(),
            email: format!("{name}@example.com"),
            name: name.into(),
            password_hash: String::new(),
            role: AgentRole::Agent,
            status: AgentStatus::Online,
            capacity: 3,
            skills: vec![],
            working_hours: None,
            created_at: Utc::now(),
        }
    }

    fn notice(
        conversation_id: ConversationId,
        from: &'static str,
        by: Option<&Agent>,
    ) -> TypingNotice {
        TypingNotice {
            conversation_id,
            from,
            name: by.map(|a| a.name.clone()),
            agent_id: by.map(|a| a.id),
            at: Utc::now(),
        }
    }

    #[test]
    fn a_customer_hears_only_the_agents_of_their_own_conversation() {
        let (own, other) = (ConversationId::new(), ConversationId::new());
        let dana = agent("dana");
        let customer = Caller::Customer(own);
        assert!(notice(own, "agent", Some(&dana)).audible_to(&customer));
        assert!(!notice(other, "agent", Some(&dana)).audible_to(&customer));
        assert!(!notice(own, "customer", None).audible_to(&customer));
    }

    #[test]
    fn an_agent_hears_customers_and_colleagues_but_not_themselves() {
        let id = ConversationId::new();
        let (dana, lee) = (agent("dana"), agent("lee"));
        let listener = Caller::Agent(Box::new(dana.clone()));
        assert!(notice(id, "customer", None).audible_to(&listener));
        assert!(notice(id, "agent", Some(&lee)).audible_to(&listener));
        assert!(!notice(id, "agent", Some(&dana)).audible_to(&listener));
    }

    #[test]
    fn a_typing_frame_names_the_agent_but_not_their_id() {
        let dana = agent("Dana Reyes");
        let frame: Value =
            serde_json::from_str(&notice(ConversationId::new(), "agent", Some(&dana)).frame())
                .unwrap();
        assert_eq!(frame["type"], "typing");
        assert_eq!(frame["notice"]["from"], "agent");
        assert_eq!(frame["notice"]["name"], "Dana Reyes");
        assert!(frame["notice"].get("agent_id").is_none());
    }
}
