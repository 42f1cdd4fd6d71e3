//! The conversation engine: the one place that turns a customer's message,
//! an agent's action or a timer into events, and commits them.
//!
//! Each operation runs the same steps: take the conversation's lock, fold
//! its log into a [`Projection`], build the new events on a [`Turn`] (which
//! checks every event against the stage machine as it is added), append
//! them to the store in one transaction that also fails if another node
//! wrote first, and publish them on the bus. A customer message is made
//! durable on its own before the AI works on it, so that nothing the
//! customer sent is lost if anything after that fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tracing::{info, info_span, Instrument};

use baton_core::{
    Actor, AgentId, Analysis, Author, Citation, Clock, ConversationId, CustomerId,
    EscalationReason, Event, EventKind, IntentScore, Message, Projection, ProjectionError, Stage,
};
use baton_nlu::Analyzer;
use baton_store::{
    AgentRole, AgentStatus, ConversationFilter, ConversationSummary, Customer, Store, StoreError,
};

use crate::bus::Bus;
use crate::flows::{latest_state, Pending};
use crate::handoff;
use crate::policy::{self, Action, Decision, TurnContext};
use crate::routing::{self, AssignOptions, Dispatcher};
use crate::tools::{ToolClient, Writes};
use crate::workspace::{Workspace, WorkspaceError};

/// Why an operation was refused. Each variant maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no conversation with id {0}")]
    NotFound(ConversationId),
    /// The request is valid but the conversation is not in a state that
    /// allows it (resolving a queued conversation, rating twice...).
    #[error("{0}")]
    Conflict(String),
    /// Something the request names by id was never part of the
    /// conversation (an approval id it never held).
    #[error("{0}")]
    Missing(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the conversation log is inconsistent: {0}")]
    Log(#[from] ProjectionError),
    #[error("a reply template is broken: {0}")]
    Template(#[from] WorkspaceError),
}

/// How many times an operation is retried when another writer appended to
/// the same conversation between our read and our write.
const CONFLICT_RETRIES: usize = 5;

/// The longest customer message accepted, in characters. A pasted complaint
/// of several pages fits; anything longer is refused with a clear error.
pub const MAX_MESSAGE_CHARS: usize = 20_000;

/// What a customer's message led to.
#[derive(Clone, Debug, Serialize)]
pub struct TurnOutcome {
    pub message: Message,
    /// What Baton answered in the same turn (bot and system messages).
    pub replies: Vec<Message>,
    pub stage: Stage,
    /// True when this was a retry of a message already stored.
    #[serde(skip)]
    pub duplicate: bool,
}

/// A new customer's details, as given when a conversation starts.
#[derive(Clone, Debug, Default)]
pub struct CustomerDetails {
    pub name: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
}

/// An entry of the human queue.
#[derive(Clone, Debug, Serialize)]
pub struct QueueEntry {
    /// The place in its own queue, 1 for the next to be taken.
    pub position: usize,
    #[serde(flatten)]
    pub conversation: ConversationSummary,
    pub waiting_seconds: i64,
    /// The priority including the points for waiting; the order it is in.
    pub effective_priority: i32,
    /// When the first agent message is due by the queue's target.
    pub sla_due_at: Option<DateTime<Utc>>,
    pub sla_breached: bool,
    /// The customer left a message while nobody could take it.
    pub follow_up: bool,
    pub language: Option<String>,
}

pub struct Engine {
    workspace: Arc<Workspace>,
    /// Swapped whole when a new model version is promoted.
    analyzer: RwLock<Arc<Analyzer>>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn Bus>,
    /// One lock per conversation so that its turns run strictly in order on
    /// this node; the store's sequence check covers other nodes.
    locks: Mutex<HashMap<ConversationId, Arc<tokio::sync::Mutex<()>>>>,
    /// The HTTP client of the workspace's tools.
    tools: ToolClient,
    /// Automatic assignment runs one at a time on this node.
    dispatcher: Dispatcher,
    /// Past agent replies, for the copilot's suggestions.
    past_replies: crate::assist::PastReplies,
}

impl Engine {
    pub fn new(
        workspace: Arc<Workspace>,
        analyzer: Arc<Analyzer>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        bus: Arc<dyn Bus>,
    ) -> Self {
        let tools = ToolClient::new(&workspace.actions.backend, &workspace.settings.tls);
        Self {
            tools,
            workspace,
            analyzer: RwLock::new(analyzer),
            store,
            clock,
            bus,
            locks: Mutex::new(HashMap::new()),
            dispatcher: Dispatcher::default(),
            past_replies: Default::default(),
        }
    }

    pub(crate) fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    pub fn past_replies(&self) -> &crate::assist::PastReplies {
        &self.past_replies
    }

    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The same engine calling its tools at another base URL.
    pub fn with_tool_base_url(mut self, url: impl Into<String>) -> Self {
        self.tools = self.tools.with_base_url(url);
        self
    }

    /// The same engine sending, or withholding, its write tools' calls.
    pub fn with_tool_writes(mut self, writes: Writes) -> Self {
        self.tools = self.tools.with_writes(writes);
        self
    }

    pub fn tool_client(&self) -> &ToolClient {
        &self.tools
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn analyzer(&self) -> Arc<Analyzer> {
        self.analyzer.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Put a new model into service; conversations in flight finish their
    /// turn on the old one.
    pub fn swap_analyzer(&self, analyzer: Arc<Analyzer>) {
        *self.analyzer.write().unwrap_or_else(|e| e.into_inner()) = analyzer;
    }

    // Reading.

    /// The current state of a conversation.
    // TODO: every turn reads and folds the whole log (and the segment again
    // for the policy and the packet), so a turn costs more as a
    // conversation grows: fine for support chats of tens of messages,
    // slow past several hundred. A per-conversation projection cache keyed
    // by the last seq would make it constant.
    pub async fn conversation(&self, id: ConversationId) -> Result<Projection, EngineError> {
        let events = self.store.events(id, 0).await?;
        if events.is_empty() {
            return Err(EngineError::NotFound(id));
        }
        Ok(Projection::from_events(&events)?)
    }

    /// The events of a conversation after a sequence number.
    pub async fn events(&self, id: ConversationId, after: u64) -> Result<Vec<Event>, EngineError> {
        if self.store.conversation(id).await?.is_none() {
            return Err(EngineError::NotFound(id));
        }
        Ok(self.store.events(id, after).await?)
    }

    /// The human queue, most urgent first, then longest waiting.
    pub async fn queue(&self) -> Result<Vec<QueueEntry>, EngineError> {
        self.queue_entries().await
    }

    // Customer side.

    /// Open a conversation for a customer, known or new.
    pub async fn start_conversation(
        &self,
        channel: &str,
        details: CustomerDetails,
    ) -> Result<Projection, EngineError> {
        let channel = channel.trim();
        // A channel is a name that reports and queues filter on, not text
        // to show: keep it to what can be typed in a URL or a config file.
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if channel.is_empty() || channel.len() > 32 || !channel.chars().all(plain) {
            return Err(EngineError::Invalid(
                "`channel` must be 1 to 32 letters, digits, `-`, `_` or `.` (such as `web`)".into(),
            ));
        }
        let customer = self.find_or_create_customer(details).await?;
        let now = self.now();
        let id = ConversationId::new();
        let started = Event {
            conversation_id: id,
            seq: 1,
            at: now,
            actor: Actor::System,
            kind: EventKind::ConversationStarted {
                channel: channel.to_string(),
                customer_id: customer.id,
            },
        };
        let mut turn = Turn {
            state: Projection::from_events(std::slice::from_ref(&started))?,
            new: vec![started],
            base_seq: 0,
            now,
        };
        let greeting = self.workspace.templates.render("greeting", &[])?;
        turn.say(Author::Bot, greeting, vec![])?;
        self.commit(turn).await
    }

    /// Take a message from the customer and let the AI (or the queue) answer.
    /// A conversation that lands in an `auto` queue is assigned right after.
    pub async fn customer_message(
        &self,
        id: ConversationId,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<TurnOutcome, EngineError> {
        let outcome = self.customer_turn(id, text, client_id).await?;
        if outcome.stage == Stage::Queued {
            self.dispatch_after_change().await;
        }
        Ok(outcome)
    }

    /// [`Engine::customer_message`] under the conversation's lock.
    async fn customer_turn(
        &self,
        id: ConversationId,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<TurnOutcome, EngineError> {
        let text = validate_text(text)?;
        let client_id = validate_client_id(client_id)?;
        let lock = self.lock(id);
        let _guard = lock.lock().await;

        let span = info_span!("turn", conversation_id = %id, stage = tracing::field::Empty);
        async {
            for _ in 0..CONFLICT_RETRIES {
                let state = self.conversation(id).await?;
                span.record("stage", state.stage.as_str());

                // A retried POST returns what the first one produced.
                if let Some(client_id) = client_id.as_deref() {
                    if let Some(seq) = self.store.message_by_client_id(id, client_id).await? {
                        // A retry carries the same text; another text under
                        // the same key is a second message the sender means
                        // to send, and must not vanish silently.
                        let earlier = state.messages.iter().find(|m| m.seq == seq);
                        if earlier.is_some_and(|m| m.text != text) {
                            return Err(EngineError::Conflict(format!(
                                "client_id `{client_id}` was already used for another message \
                                 in this conversation; send a new message with a new client_id"
                            )));
                        }
                        if self.was_answered(&state, seq).await? {
                            return Ok(replay_outcome(&state, seq));
                        }
                        // The message was stored but the server stopped
                        // before answering it: answer it now. Another node
                        // answering the same retry first is read on the
                        // next pass as answered.
                        match self.answer_stored(state, seq).await {
                            Err(EngineError::Store(StoreError::Conflict { .. })) => continue,
                            other => return other,
                        }
                    }
                }

                // A message stored just before the server stopped was never
                // answered: answer it first, so that a "yes" sent then is not
                // lost behind the message that follows it.
                if let Some(seq) = interrupted_message(&state) {
                    match self.answer_stored(state, seq).await {
                        Ok(_) | Err(EngineError::Store(StoreError::Conflict { .. })) => continue,
                        Err(other) => return Err(other),
                    }
                }

                match self.accept_customer_message(state, &text, client_id.as_deref()).await {
                    Err(EngineError::Store(StoreError::Conflict { .. })) => continue,
                    Err(EngineError::Store(StoreError::DuplicateClientId(_))) => continue,
                    other => return other,
                }
            }
            Err(EngineError::Conflict(
                "the conversation is busy with other writers; retry the message".into(),
            ))
        }
        .instrument(span.clone())
        .await
    }

    /// Store the customer's message, then answer it. The message is durable
    /// before any analysis or decision runs.
    async fn accept_customer_message(
        &self,
        state: Projection,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<TurnOutcome, EngineError> {
        let now = self.now();
        let mut turn = Turn::new(state, now);
        let message_seq = turn.say_with_id(Author::Customer, text.to_string(), client_id)?;
        let state = self.commit(turn).await?;
        let message = state.messages.last().cloned().expect("the message was just added");

        // The answer is retried on its own: the message is already safe.
        let mut replies_state = state;
        for _ in 0..CONFLICT_RETRIES {
            let mut turn = Turn::new(replies_state.clone(), self.now());
            self.answer(&mut turn, message_seq, text).await?;
            match self.commit(turn).await {
                Ok(after) => {
                    let replies = after
                        .messages
                        .iter()
                        .filter(|m| m.seq > message_seq && m.author != Author::Customer)
                        .cloned()
                        .collect();
                    return Ok(TurnOutcome {
                        message,
                        replies,
                        stage: after.stage,
                        duplicate: false,
                    });
                }
                Err(EngineError::Store(StoreError::Conflict { .. })) => {
                    replies_state = self.conversation(replies_state.id).await?;
                }
                Err(other) => return Err(other),
            }
        }
        Err(EngineError::Conflict("the conversation is busy; the message was kept".into()))
    }

    /// Whether the customer message at `seq` got its analysis, that is,
    /// whether its turn ran to the end.
    async fn was_answered(&self, state: &Projection, seq: u64) -> Result<bool, EngineError> {
        let events = self.store.events(state.id, seq).await?;
        Ok(events.iter().any(|e| {
            matches!(e.kind, EventKind::MessageAnalysed { message_seq, .. } if message_seq == seq)
        }))
    }

    /// Answer the customer messages whose turn a stop of the server cut
    /// short (stored, then never analysed) in the conversations changed
    /// since `since`. Returns how many were answered. The server runs it
    /// once at start-up, so a customer who wrote just before a crash is not
    /// left waiting for a reply that never comes.
    // TODO: another node may be in the middle of one of these turns when
    // this node starts; the sequence check keeps the log right, but a write
    // tool could be called by both. Only a node's start-up runs this.
    pub async fn answer_interrupted(&self, since: DateTime<Utc>) -> Result<usize, EngineError> {
        let recent: Vec<ConversationSummary> = self
            .store
            .conversations(&ConversationFilter::default())
            .await?
            .into_iter()
            .filter(|c| c.updated_at >= since)
            .collect();
        let mut answered = 0;
        for summary in recent {
            // The last event alone tells whether a turn was cut short.
            let last = self.store.events(summary.id, summary.last_seq.saturating_sub(1)).await?;
            let customer_last = last.last().is_some_and(|e| {
                matches!(e.kind, EventKind::MessagePosted { author: Author::Customer, .. })
            });
            if !customer_last {
                continue;
            }
            let lock = self.lock(summary.id);
            let guard = lock.lock().await;
            let state = self.conversation(summary.id).await?;
            let Some(seq) = interrupted_message(&state) else { continue };
            let conversation_id = summary.id;
            match self.answer_stored(state, seq).await {
                Ok(outcome) => {
                    answered += 1;
                    info!(%conversation_id, seq, "answered a message a stop had left unanswered");
                    drop(guard);
                    if outcome.stage == Stage::Queued {
                        self.dispatch_after_change().await;
                    }
                }
                // Another node answered it first.
                Err(EngineError::Store(StoreError::Conflict { .. })) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(answered)
    }

    /// Answer a customer message that is already stored.
    async fn answer_stored(
        &self,
        state: Projection,
        message_seq: u64,
    ) -> Result<TurnOutcome, EngineError> {
        let message = state
            .messages
            .iter()
            .find(|m| m.seq == message_seq)
            .cloned()
            .ok_or_else(|| EngineError::Conflict("the stored message is not visible".into()))?;
        let mut turn = Turn::new(state, self.now());
        self.answer(&mut turn, message_seq, &message.text).await?;
        let after = self.commit(turn).await?;
        let replies = after
            .messages
            .iter()
            .filter(|m| m.seq > message_seq && m.author != Author::Customer)
            .cloned()
            .collect();
        Ok(TurnOutcome { message, replies, stage: after.stage, duplicate: true })
    }

    /// Everything that follows a stored customer message: reopening, the
    /// analysis, and the stage's own response.
    async fn answer(
        &self,
        turn: &mut Turn,
        message_seq: u64,
        text: &str,
    ) -> Result<(), EngineError> {
        // A rating typed as a digit right after the CSAT question is the
        // answer to it, exactly like a click on the button.
        if turn.state.awaits_csat() {
            if let Some(score) = typed_rating(text) {
                return self.record_csat(turn, score, None);
            }
        }
        // A digit typed again after the rating (a double tap, a second
        // thought) is no new request: it stays a message, the first rating
        // stands, and the conversation is not reopened for it.
        if turn.state.stage == Stage::Resolved && turn.state.csat.is_some() {
            if let Some(score) = typed_rating(text) {
                turn.push(
                    Actor::Bot,
                    EventKind::Decided {
                        action: "rating_repeated".into(),
                        reason: "a digit typed after the rating was given; the first rating \
                                 stands and the conversation stays resolved"
                            .into(),
                        detail: json!({"typed": score}),
                    },
                )?;
                return Ok(());
            }
        }

        let mut unavailable = None;
        if turn.state.stage == Stage::Resolved {
            unavailable = self.reopen(turn).await?;
        }

        let analysis = self.analyse(turn, text);
        turn.push(
            Actor::Bot,
            EventKind::MessageAnalysed { message_seq, analysis: analysis.clone() },
        )?;

        // Reopened soon after an agent resolved it, with that agent unable
        // to take it back: a person is still who the customer expects.
        if let Some(evidence) = unavailable {
            return self.escalate(turn, EscalationReason::AgentUnavailable, evidence).await;
        }

        match turn.state.stage {
            Stage::Bot => self.bot_turn(turn, &analysis, text).await,
            Stage::Queued => {
                self.note_follow_up(turn, message_seq).await?;
                self.queue_update(turn, "queue_update").await?;
                self.refresh_packet(turn).await
            }
            // A person owns the conversation: the AI stays silent here and
            // works for the agent through the assist panel instead.
            Stage::Human | Stage::Resolved => Ok(()),
        }
    }

    /// Run the language layer, honouring a click on a clarification button.
    fn analyse(&self, turn: &Turn, text: &str) -> Analysis {
        let analyzer = self.analyzer();
        let mut analysis = analyzer.analyse(text, turn.now);
        if let Some(intent) = self.chosen_option(&turn.state, text) {
            analysis.intents.retain(|s| s.intent != intent);
            analysis.intents.insert(0, IntentScore { intent, confidence: 1.0 });
            analysis.out_of_scope = false;
        }
        analysis
    }

    /// If the last bot message offered options and the customer picked one
    /// (by click or by typing its label), the intent behind it.
    fn chosen_option(&self, state: &Projection, text: &str) -> Option<String> {
        let last_bot = state.messages.iter().rev().find(|m| m.author == Author::Bot)?;
        let typed = text.trim().trim_end_matches(['.', '!']).to_lowercase();
        last_bot
            .quick_replies
            .iter()
            .find(|label| label.to_lowercase() == typed)
            .and_then(|label| self.workspace.intents.iter().find(|i| &i.label == label))
            .map(|i| i.name.clone())
    }

    /// The AI owns the conversation: decide, explain, act.
    async fn bot_turn(
        &self,
        turn: &mut Turn,
        analysis: &Analysis,
        text: &str,
    ) -> Result<(), EngineError> {
        let context = self.turn_context(turn).await?;
        let knowledge = &self.workspace.knowledge;
        let decision =
            policy::decide(analysis, &context, &self.workspace, |q| knowledge.search(q, 3), text);
        info!(
            action = action_name(&decision.action),
            intent = analysis.top_intent().map(|t| t.intent.as_str()).unwrap_or(""),
            "decided"
        );
        turn.push(
            Actor::Bot,
            EventKind::Decided {
                action: action_name(&decision.action).into(),
                reason: decision.reason.clone(),
                detail: decision.detail.clone(),
            },
        )?;
        // A question about how something works, asked while a flow waits
        // for the customer, is answered from knowledge; then the flow's
        // question is asked again, and the flow stays where it was.
        if matches!(decision.action, Action::Knowledge { .. })
            && policy::asks_how_it_works(analysis, text)
        {
            if let Some((question, options)) = self.waiting_flow_question(turn).await? {
                let facts = self.answer_facts(turn, analysis).await?;
                self.act(turn, decision, &facts).await?;
                turn.say(Author::Bot, question, options)?;
                return Ok(());
            }
        }
        // A flow, when one runs, answers instead of the intent's template.
        if self.flow_turn(turn, analysis, text, &decision).await? {
            return Ok(());
        }
        let facts = self.answer_facts(turn, analysis).await?;
        self.act(turn, decision, &facts).await
    }

    /// The question a running flow last asked, with its buttons, when a
    /// flow is waiting for the customer's answer.
    async fn waiting_flow_question(
        &self,
        turn: &Turn,
    ) -> Result<Option<(String, Vec<String>)>, EngineError> {
        let mut events = self.store.events(turn.state.id, turn.state.segment_start).await?;
        events.retain(|e| e.seq <= turn.base_seq);
        events.extend(turn.new.iter().cloned());
        if crate::flows::latest_state(&events).flow.is_none() {
            return Ok(None);
        }
        let asked = turn.state.messages.iter().rev().find(|m| m.author == Author::Bot);
        Ok(asked.map(|m| (m.text.clone(), m.quick_replies.clone())))
    }

    /// The values intent answers may quote: the customer's name and the
    /// order they mentioned in this segment, empty when unknown.
    async fn answer_facts(
        &self,
        turn: &Turn,
        analysis: &Analysis,
    ) -> Result<Vec<(&'static str, String)>, EngineError> {
        let customer = self.store.customer(turn.state.customer_id).await?;
        let name = customer.and_then(|c| c.name).unwrap_or_default();
        let order = match analysis.entities_of(baton_core::EntityKind::OrderNumber).next() {
            Some(entity) => Some(entity.value.clone()),
            None => self.segment_order(turn).await?,
        }
        .unwrap_or_default();
        Ok(vec![("customer_name", name), ("order_id", order)])
    }

    /// The latest order number the customer gave in this segment.
    async fn segment_order(&self, turn: &Turn) -> Result<Option<String>, EngineError> {
        let mut events = self.store.events(turn.state.id, turn.state.segment_start).await?;
        events.retain(|e| e.seq <= turn.base_seq);
        events.extend(turn.new.iter().cloned());
        Ok(events.iter().rev().find_map(|e| match &e.kind {
            EventKind::MessageAnalysed { analysis, .. } => analysis
                .entities_of(baton_core::EntityKind::OrderNumber)
                .next()
                .map(|e| e.value.clone()),
            _ => None,
        }))
    }

    async fn act(
        &self,
        turn: &mut Turn,
        decision: Decision,
        facts: &[(&'static str, String)],
    ) -> Result<(), EngineError> {
        let templates = &self.workspace.templates;
        match decision.action {
            Action::Escalate { reason, evidence } => self.escalate(turn, reason, evidence).await,
            Action::Template { template, resolves, .. } => {
                let reply = templates.render(&template, facts)?;
                turn.say(Author::Bot, reply, vec![])?;
                if resolves {
                    self.resolve_turn(turn, Actor::Bot)?;
                }
                Ok(())
            }
            Action::Knowledge { hit, .. } => {
                let citation = Citation {
                    article_id: hit.article_id.clone(),
                    title: hit.title.clone(),
                    section: hit.section.clone(),
                    url: self
                        .workspace
                        .knowledge
                        .articles()
                        .iter()
                        .find(|a| a.id == hit.article_id)
                        .and_then(|a| a.url.clone()),
                };
                let reply = format!("{}\n\nSource: {}", hit.answer_text(), hit.title);
                turn.say_cited(Author::Bot, reply, vec![citation])?;
                Ok(())
            }
            Action::Clarify { options } => {
                let reply = templates.render("clarify", &[("options", options.join(" or "))])?;
                turn.say(Author::Bot, reply, options)?;
                Ok(())
            }
            Action::NotUnderstood { out_of_scope } => {
                let id = if out_of_scope { "out_of_scope" } else { "fallback" };
                let reply = templates.render(id, &[])?;
                turn.say(Author::Bot, reply, vec![])?;
                Ok(())
            }
        }
    }

    /// Hand the conversation to the human queue with its packet, and tell
    /// the customer where they stand.
    pub(crate) async fn escalate(
        &self,
        turn: &mut Turn,
        reason: EscalationReason,
        evidence: Value,
    ) -> Result<(), EngineError> {
        // A customer writing in a language the AI cannot read is told so,
        // rather than given the usual hand-over line as if it understood.
        let template = match reason {
            EscalationReason::UnsupportedLanguage => "unsupported_language",
            _ => "handoff",
        };
        let handoff_text = self.workspace.templates.render(template, &[])?;
        turn.say(Author::Bot, handoff_text, vec![])?;

        let explained = self.turn_priority_of(turn, reason).await?;
        let priority = explained.value;
        let queue = self.route(&turn.state).name.clone();
        let evidence = routing::with_priority(evidence, &explained);
        turn.push(
            Actor::Bot,
            EventKind::Escalated { reason, evidence: evidence.clone(), priority, queue },
        )?;
        info!(reason = reason.as_str(), priority, "escalated");

        let packet = self.packet(turn, reason, evidence).await?;
        turn.push(Actor::Bot, EventKind::HandoffPrepared { packet })?;
        self.queue_update(turn, "queue_position").await
    }

    /// Build the packet again while the conversation waits, so that the
    /// agent who takes it reads what the customer added in the queue.
    async fn refresh_packet(&self, turn: &mut Turn) -> Result<(), EngineError> {
        let Some(EventKind::Escalated { reason, evidence, .. }) =
            turn.state.escalation.as_ref().map(|e| e.kind.clone())
        else {
            return Ok(());
        };
        let packet = self.packet(turn, reason, evidence).await?;
        turn.push(Actor::Bot, EventKind::HandoffPrepared { packet })?;
        Ok(())
    }

    /// Build the handoff packet from the log as it will be after this turn.
    async fn packet(
        &self,
        turn: &Turn,
        reason: EscalationReason,
        evidence: Value,
    ) -> Result<Value, EngineError> {
        let customer = self.store.customer(turn.state.customer_id).await?;
        let summaries: Vec<ConversationSummary> = self
            .store
            .conversations(&ConversationFilter {
                customer_id: Some(turn.state.customer_id),
                limit: Some(10),
                ..Default::default()
            })
            .await?
            .into_iter()
            .filter(|c| c.id != turn.state.id)
            .collect();
        let mut earlier = Vec::with_capacity(summaries.len());
        for summary in &summaries {
            let log = self.store.events(summary.id, 0).await?;
            earlier.push(handoff::EarlierConversation::from_log(summary, &log));
        }
        let mut events = self.store.events(turn.state.id, 0).await?;
        events.retain(|e| e.seq <= turn.base_seq);
        events.extend(turn.new.iter().cloned());
        let packet = handoff::build(
            &events,
            turn.state.segment_start,
            reason,
            evidence,
            customer.as_ref(),
            &earlier,
            turn.now,
        );
        Ok(serde_json::to_value(packet).unwrap_or(Value::Null))
    }

    /// Tell a waiting customer their place in the queue and the expected
    /// wait, or when the team is next in.
    pub(crate) async fn queue_update(
        &self,
        turn: &mut Turn,
        action: &str,
    ) -> Result<(), EngineError> {
        let settings = &self.workspace.settings;
        let templates = &self.workspace.templates;
        let aging = settings.queue.aging_minutes;
        let my_queue = turn.state.queue.clone();
        let mine =
            turn.state.priority + routing::waiting_points(turn.now - turn.state.stage_since, aging);
        let ahead = self
            .queue_order()
            .await?
            .into_iter()
            .filter(|(c, _)| c.id != turn.state.id && c.queue == my_queue)
            .filter(|(c, p)| *p > mine || (*p == mine && c.stage_since <= turn.state.stage_since))
            .count();
        let position = ahead + 1;
        let queue = self.route(&turn.state).clone();
        let queue = my_queue.and_then(|q| settings.queue.queue(&q).cloned()).unwrap_or(queue);
        let available =
            self.available_agents(&queue, turn.state.language.as_deref(), turn.now).await?;

        let open = settings.queue.business_hours.is_open(turn.now);
        let (reply, detail) = if open && available == 0 {
            let reply = self.no_agent_text();
            (reply, json!({"position": position, "agents_available": 0, "follow_up": true}))
        } else if open {
            let online = available.max(1);
            let minutes = (position as f64 * settings.queue.minutes_per_conversation as f64
                / online as f64)
                .ceil() as i64;
            // `{wait}` says the unit in the right number; `{wait_minutes}`
            // is the bare figure, for templates written around it.
            let wait = if minutes == 1 { "1 minute".into() } else { format!("{minutes} minutes") };
            let reply = templates.render(
                "queued",
                &[
                    ("position", position.to_string()),
                    ("wait_minutes", minutes.to_string()),
                    ("wait", wait),
                ],
            )?;
            (reply, json!({"position": position, "wait_minutes": minutes}))
        } else {
            let opening = settings
                .queue
                .business_hours
                .opening_text(turn.now)
                .unwrap_or_else(|| "as soon as we can".into());
            let reply = templates.render("outside_hours", &[("opening", opening.clone())])?;
            (reply, json!({"position": position, "opening": opening}))
        };
        turn.push(
            Actor::Bot,
            EventKind::Decided {
                action: action.into(),
                reason: format!("the customer is number {position} in the queue"),
                detail,
            },
        )?;
        turn.say(Author::Bot, reply, vec![])?;
        Ok(())
    }

    /// Reopen a resolved conversation. Within the window, back to its agent
    /// if they are online with a free seat; if they are not, the evidence of
    /// that, for the caller to put it in the queue. Otherwise to the AI.
    async fn reopen(&self, turn: &mut Turn) -> Result<Option<Value>, EngineError> {
        let window = Duration::minutes(self.workspace.settings.lifecycle.reopen_window_minutes);
        let within = turn.state.resolved_at.is_some_and(|at| turn.now - at <= window);
        let mut to_agent = None;
        let mut unavailable = None;
        if let Some(agent_id) = turn.state.last_agent.filter(|_| within) {
            let agent = self.store.agent(agent_id).await?;
            let load = self.load_of(agent_id).await?;
            match agent {
                Some(a) if a.status == AgentStatus::Online && load < a.capacity => {
                    to_agent = Some(agent_id);
                }
                Some(a) => {
                    unavailable = Some(json!({
                        "agent_id": agent_id,
                        "status": a.status,
                        "load": load,
                        "capacity": a.capacity,
                    }))
                }
                None => unavailable = Some(json!({"agent_id": agent_id, "status": "removed"})),
            }
        }
        turn.push(Actor::System, EventKind::Reopened { agent_id: to_agent })?;
        Ok(unavailable)
    }

    /// The policy's view of the segment so far.
    async fn turn_context(&self, turn: &Turn) -> Result<TurnContext, EngineError> {
        let mut events = self.store.events(turn.state.id, turn.state.segment_start).await?;
        events.retain(|e| e.seq <= turn.base_seq);
        events.extend(turn.new.iter().cloned());

        let mut context = TurnContext::default();
        for event in &events {
            if let EventKind::Decided { action, .. } = &event.kind {
                match action.as_str() {
                    "clarify" | "not_understood" => {
                        context.misunderstood_before += 1;
                        context.clarified_before = action == "clarify";
                    }
                    "answer" | "knowledge_answer" | "flow" => {
                        context.misunderstood_before = 0;
                        context.clarified_before = false;
                    }
                    _ => {}
                }
            }
        }
        let customer = self.store.customer(turn.state.customer_id).await?;
        context.prefers_human = customer.is_some_and(|c| {
            c.profile.get("prefers_human").and_then(Value::as_bool).unwrap_or(false)
        });
        Ok(context)
    }

    // Agent side.

    /// An agent takes a conversation (from the queue, from the AI, or from
    /// another agent as a transfer).
    /// A plain take (`transfer` false) of a conversation another agent
    /// holds is refused; handing it to another agent is a transfer, which
    /// only its owner or a supervisor may make.
    pub async fn assign(
        &self,
        id: ConversationId,
        agent_id: AgentId,
        by: Actor,
        transfer: bool,
    ) -> Result<Projection, EngineError> {
        let options = AssignOptions { transfer, ..Default::default() };
        let state = self.assign_with(id, agent_id, by, options).await?;
        if transfer {
            // The previous agent has a free seat now.
            self.dispatch_after_change().await;
        }
        Ok(state)
    }

    /// [`Engine::assign`] with a note for the next agent and, for a
    /// supervisor, the choice to go past the agent's capacity. Never to an
    /// offline agent.
    pub async fn assign_with(
        &self,
        id: ConversationId,
        agent_id: AgentId,
        by: Actor,
        options: AssignOptions,
    ) -> Result<Projection, EngineError> {
        let transfer = options.transfer;
        let by_supervisor = match by {
            Actor::Agent(caller) => self
                .store
                .agent(caller)
                .await?
                .is_some_and(|a| a.role == baton_store::AgentRole::Supervisor),
            _ => true,
        };
        let agent = self
            .store
            .agent(agent_id)
            .await?
            .ok_or_else(|| EngineError::Invalid(format!("no agent with id {agent_id}")))?;
        let note = options.note.as_ref().map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            return Err(EngineError::Invalid("`note` must be at most 2000 characters".into()));
        }
        let already_theirs =
            self.store.conversation(id).await?.is_some_and(|c| c.assigned_agent == Some(agent_id));
        if !already_theirs {
            self.check_can_take(&agent, by_supervisor, &options).await?;
        }
        self.with_turn(id, |engine, turn| {
            let agent = agent.clone();
            let note = note.clone();
            Box::pin(async move {
                if turn.state.assigned_agent == Some(agent.id) {
                    return Err(EngineError::Conflict(
                        "the conversation is already assigned to this agent".into(),
                    ));
                }
                if turn.state.stage == Stage::Resolved {
                    return Err(EngineError::Conflict(
                        "the conversation is resolved; it reopens when the customer writes".into(),
                    ));
                }
                let previous = turn.state.assigned_agent;
                if let Some(owner) = previous {
                    if !transfer {
                        return Err(EngineError::Conflict(format!(
                            "the conversation is already assigned to agent {owner}; \
                             they can transfer it"
                        )));
                    }
                    if by != Actor::Agent(owner) && !by_supervisor {
                        return Err(EngineError::Forbidden(
                            "only the agent who holds the conversation, or a supervisor, \
                             can transfer it"
                                .into(),
                        ));
                    }
                }
                if let Some(text) = note {
                    turn.push(by, EventKind::NoteAdded { text })?;
                }
                turn.push(by, EventKind::Assigned { agent_id: agent.id, previous })?;
                let joined = engine
                    .workspace
                    .templates
                    .render("agent_joined", &[("agent_name", agent.name.clone())])?;
                turn.say(Author::System, joined, vec![])?;
                Ok(())
            })
        })
        .await
    }

    /// An agent writes to the customer.
    pub async fn agent_message(
        &self,
        id: ConversationId,
        agent_id: AgentId,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<(Projection, Message), EngineError> {
        let text = validate_text(text)?;
        let client_id = validate_client_id(client_id)?;
        if let Some(client_id) = client_id.as_deref() {
            if let Some(seq) = self.store.message_by_client_id(id, client_id).await? {
                // Only this agent's own earlier message is a retry; a key the
                // customer used says nothing about the agent's message.
                let state = self.conversation(id).await?;
                let message = state
                    .messages
                    .iter()
                    .find(|m| m.seq == seq && m.agent_id == Some(agent_id))
                    .cloned();
                if let Some(message) = message {
                    return Ok((state, message));
                }
            }
        }
        let state = self
            .with_turn(id, |_, turn| {
                let text = text.clone();
                let client_id = client_id.clone();
                Box::pin(async move {
                    if turn.state.stage != Stage::Human {
                        return Err(EngineError::Conflict(format!(
                            "the conversation is `{}`: take it before replying",
                            turn.state.stage
                        )));
                    }
                    if turn.state.assigned_agent != Some(agent_id) {
                        return Err(EngineError::Forbidden(
                            "the conversation is assigned to another agent".into(),
                        ));
                    }
                    turn.push(
                        Actor::Agent(agent_id),
                        EventKind::MessagePosted {
                            author: Author::Agent,
                            text,
                            client_id,
                            quick_replies: vec![],
                            citations: vec![],
                        },
                    )?;
                    Ok(())
                })
            })
            .await?;
        let message = state.messages.last().cloned().expect("the message was just added");
        Ok((state, message))
    }

    /// An internal note; the customer never sees it.
    pub async fn add_note(
        &self,
        id: ConversationId,
        agent_id: AgentId,
        text: &str,
    ) -> Result<Projection, EngineError> {
        let text = validate_text(text)?;
        self.with_turn(id, |_, turn| {
            let text = text.clone();
            Box::pin(async move {
                turn.push(Actor::Agent(agent_id), EventKind::NoteAdded { text })?;
                Ok(())
            })
        })
        .await
    }

    /// Give the conversation back to the AI. Only the agent who holds it,
    /// or a supervisor, may; never while a call waits for approval, since
    /// the customer was promised its outcome. The note is internal: it is
    /// kept as a `note_added` event, which the customer never sees.
    pub async fn hand_back(
        &self,
        id: ConversationId,
        agent_id: AgentId,
        note: Option<String>,
    ) -> Result<Projection, EngineError> {
        let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            return Err(EngineError::Invalid("`note` must be at most 2000 characters".into()));
        }
        let by_supervisor =
            self.store.agent(agent_id).await?.is_some_and(|a| a.role == AgentRole::Supervisor);
        let state = self
            .with_turn(id, |engine, turn| {
                let note = note.clone();
                Box::pin(async move {
                    // A conversation with the AI already, or resolved, is
                    // refused by the stage machine below with a 409.
                    let with_people = matches!(turn.state.stage, Stage::Human | Stage::Queued);
                    let holds = turn.state.assigned_agent == Some(agent_id);
                    if with_people && !holds && !by_supervisor {
                        let whose = match turn.state.assigned_agent {
                            Some(owner) => format!("the conversation is assigned to agent {owner}"),
                            None => format!("the conversation is `{}`", turn.state.stage),
                        };
                        return Err(EngineError::Forbidden(format!(
                            "{whose}: only the agent who holds it, or a supervisor, can hand it \
                             back to the AI"
                        )));
                    }
                    engine.refuse_with_pending_approval(turn).await?;
                    if let Some(text) = note {
                        turn.push(Actor::Agent(agent_id), EventKind::NoteAdded { text })?;
                    }
                    turn.push(Actor::Agent(agent_id), EventKind::HandedBack { note: None })?;
                    let text = engine.workspace.templates.render("handed_back", &[])?;
                    turn.say(Author::Bot, text, vec![])?;
                    Ok(())
                })
            })
            .await?;
        self.dispatch_after_change().await;
        Ok(state)
    }

    /// A call held for approval must be approved or rejected before the
    /// conversation leaves people's hands: the AI would never decide it.
    async fn refuse_with_pending_approval(&self, turn: &Turn) -> Result<(), EngineError> {
        let mut events = self.store.events(turn.state.id, 0).await?;
        events.retain(|e| e.seq <= turn.base_seq);
        events.extend(turn.new.iter().cloned());
        if let Some(Pending::Approval { id, tool, .. }) = latest_state(&events).pending {
            return Err(EngineError::Conflict(format!(
                "the call to `{tool}` waits for approval (`{id}`): approve or reject it first, \
                 with POST /api/v1/conversations/{}/approvals/{id}",
                turn.state.id
            )));
        }
        Ok(())
    }

    /// Close the conversation and ask the customer for a rating.
    pub async fn resolve(&self, id: ConversationId, by: Actor) -> Result<Projection, EngineError> {
        let state = self
            .with_turn(id, |engine, turn| {
                Box::pin(async move {
                    if let (Actor::Agent(agent), Some(owner)) = (by, turn.state.assigned_agent) {
                        if agent != owner {
                            return Err(EngineError::Forbidden(format!(
                                "the conversation is assigned to agent {owner}"
                            )));
                        }
                    }
                    engine.resolve_turn(turn, by)
                })
            })
            .await?;
        self.dispatch_after_change().await;
        Ok(state)
    }

    fn resolve_turn(&self, turn: &mut Turn, by: Actor) -> Result<(), EngineError> {
        let templates = &self.workspace.templates;
        turn.push(by, EventKind::Resolved)?;
        let closing = templates.render("resolved", &[])?;
        turn.say(Author::System, closing, vec![])?;
        turn.push(Actor::System, EventKind::CsatRequested)?;
        let question = templates.render("csat_request", &[])?;
        let buttons = (1..=5).map(|n| n.to_string()).collect();
        turn.say(Author::System, question, buttons)?;
        Ok(())
    }

    /// The customer's rating, once per resolution.
    pub async fn csat(
        &self,
        id: ConversationId,
        score: u8,
        comment: Option<String>,
    ) -> Result<Projection, EngineError> {
        if !(1..=5).contains(&score) {
            return Err(EngineError::Invalid(format!("`score` must be 1 to 5, got {score}")));
        }
        let comment = comment.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
        if comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
            return Err(EngineError::Invalid("`comment` must be at most 2000 characters".into()));
        }
        self.with_turn(id, |engine, turn| {
            let comment = comment.clone();
            Box::pin(async move { engine.record_csat(turn, score, comment) })
        })
        .await
    }

    fn record_csat(
        &self,
        turn: &mut Turn,
        score: u8,
        comment: Option<String>,
    ) -> Result<(), EngineError> {
        if turn.state.csat.is_some() && turn.state.stage == Stage::Resolved {
            return Err(EngineError::Conflict("this conversation has already been rated".into()));
        }
        if !turn.state.awaits_csat() {
            return Err(EngineError::Conflict(
                "there is no rating to give: the conversation is not resolved".into(),
            ));
        }
        turn.push(
            Actor::Customer(turn.state.customer_id),
            EventKind::CsatReceived { score, comment },
        )?;
        let thanks = self.workspace.templates.render("csat_thanks", &[])?;
        turn.say(Author::System, thanks, vec![])?;
        Ok(())
    }

    // Plumbing.

    /// Run `build` on a fresh turn under the conversation's lock and commit
    /// it, retrying when another node wrote in between.
    pub(crate) async fn with_turn<F>(
        &self,
        id: ConversationId,
        build: F,
    ) -> Result<Projection, EngineError>
    where
        F: for<'a> Fn(
            &'a Engine,
            &'a mut Turn,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<(), EngineError>> + Send + 'a>,
        >,
    {
        let lock = self.lock(id);
        let _guard = lock.lock().await;
        for _ in 0..CONFLICT_RETRIES {
            let state = self.conversation(id).await?;
            let mut turn = Turn::new(state, self.now());
            build(self, &mut turn).await?;
            match self.commit(turn).await {
                Err(EngineError::Store(StoreError::Conflict { .. })) => continue,
                other => return other,
            }
        }
        Err(EngineError::Conflict("the conversation is busy; retry".into()))
    }

    /// Append a turn's events with the conversation's new summary, then
    /// publish them.
    async fn commit(&self, turn: Turn) -> Result<Projection, EngineError> {
        if turn.new.is_empty() {
            return Ok(turn.state);
        }
        let summary = summary_of(&turn.state, self.now());
        self.store.append(turn.base_seq, &turn.new, &summary).await?;
        self.bus.publish(&turn.new);
        Ok(turn.state)
    }

    fn lock(&self, id: ConversationId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        if locks.len() > 10_000 {
            // Forget the locks nobody holds; they are recreated on demand.
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        locks.entry(id).or_default().clone()
    }

    async fn find_or_create_customer(
        &self,
        details: CustomerDetails,
    ) -> Result<Customer, EngineError> {
        let email = details.email.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty());
        if let Some(email) = &email {
            if !looks_like_email(email) {
                return Err(EngineError::Invalid(format!(
                    "`customer.email` is not an e-mail address: `{email}`"
                )));
            }
        }
        let external_id =
            details.external_id.map(|e| e.trim().to_string()).filter(|e| !e.is_empty());
        let name = details.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
            return Err(EngineError::Invalid(
                "`customer.name` must be at most 200 characters".into(),
            ));
        }
        if email.is_some() || external_id.is_some() {
            if let Some(mut known) =
                self.store.find_customer(email.as_deref(), external_id.as_deref()).await?
            {
                if name.is_some() && known.name != name {
                    known.name = name;
                    self.store.upsert_customer(&known).await?;
                }
                return Ok(known);
            }
        }
        let customer = Customer {
            id: CustomerId::new(),
            name,
            email,
            external_id,
            profile: json!({}),
            created_at: self.now(),
        };
        self.store.upsert_customer(&customer).await?;
        Ok(customer)
    }
}

/// The events of one operation, checked as they are added.
pub(crate) struct Turn {
    /// The state including the new events.
    pub state: Projection,
    pub new: Vec<Event>,
    /// The last seq in the store when the turn began.
    pub base_seq: u64,
    pub now: DateTime<Utc>,
}

impl Turn {
    fn new(state: Projection, now: DateTime<Utc>) -> Self {
        let base_seq = state.last_seq;
        Self { state, new: Vec::new(), base_seq, now }
    }

    /// Add an event; refused if the stage machine forbids it.
    pub fn push(&mut self, actor: Actor, kind: EventKind) -> Result<u64, EngineError> {
        let event = Event {
            conversation_id: self.state.id,
            seq: self.state.last_seq + 1,
            at: self.now,
            actor,
            kind,
        };
        self.state.apply(&event).map_err(|err| match err {
            // A transition the stage machine forbids is the caller asking
            // for something the conversation's stage does not allow.
            ProjectionError::Transition { source, .. } => EngineError::Conflict(source.to_string()),
            other => EngineError::Log(other),
        })?;
        let seq = event.seq;
        self.new.push(event);
        Ok(seq)
    }

    pub fn say(
        &mut self,
        author: Author,
        text: String,
        quick_replies: Vec<String>,
    ) -> Result<u64, EngineError> {
        let actor = match author {
            Author::Customer => Actor::Customer(self.state.customer_id),
            Author::Bot => Actor::Bot,
            _ => Actor::System,
        };
        self.push(
            actor,
            EventKind::MessagePosted {
                author,
                text,
                client_id: None,
                quick_replies,
                citations: vec![],
            },
        )
    }

    fn say_cited(
        &mut self,
        author: Author,
        text: String,
        citations: Vec<Citation>,
    ) -> Result<u64, EngineError> {
        self.push(
            Actor::Bot,
            EventKind::MessagePosted {
                author,
                text,
                client_id: None,
                quick_replies: vec![],
                citations,
            },
        )
    }

    fn say_with_id(
        &mut self,
        author: Author,
        text: String,
        client_id: Option<&str>,
    ) -> Result<u64, EngineError> {
        self.push(
            Actor::Customer(self.state.customer_id),
            EventKind::MessagePosted {
                author,
                text,
                client_id: client_id.map(str::to_string),
                quick_replies: vec![],
                citations: vec![],
            },
        )
    }
}

/// The customer message whose turn never ran: the last event of the log is
/// that message, where every turn adds at least its analysis or a rating.
fn interrupted_message(state: &Projection) -> Option<u64> {
    let last = state.messages.last()?;
    (last.author == Author::Customer && last.seq == state.last_seq).then_some(last.seq)
}

/// The outcome of a retried customer message, rebuilt from the log: the
/// message itself and what Baton answered until the customer's next one.
fn replay_outcome(state: &Projection, seq: u64) -> TurnOutcome {
    let message = state.messages.iter().find(|m| m.seq == seq).cloned();
    let replies = state
        .messages
        .iter()
        .skip_while(|m| m.seq <= seq)
        .take_while(|m| m.author != Author::Customer)
        .cloned()
        .collect();
    TurnOutcome {
        message: message.expect("the client id points at a stored message"),
        replies,
        stage: state.stage,
        duplicate: true,
    }
}

fn summary_of(state: &Projection, now: DateTime<Utc>) -> ConversationSummary {
    let reason = match &state.escalation {
        Some(Event { kind: EventKind::Escalated { reason, .. }, .. }) => {
            Some(reason.as_str().to_string())
        }
        _ => None,
    };
    let (queue, priority) = (state.queue.clone(), state.priority);
    ConversationSummary {
        id: state.id,
        customer_id: state.customer_id,
        channel: state.channel.clone(),
        stage: state.stage,
        assigned_agent: state.assigned_agent,
        queue,
        priority: if matches!(state.stage, Stage::Queued | Stage::Human) { priority } else { 0 },
        reason,
        intent: state.last_intent.clone(),
        created_at: state.started_at,
        stage_since: state.stage_since,
        updated_at: now,
        last_seq: state.last_seq,
        preview: state.messages.last().map(|m| handoff::short(&m.text, 120)),
    }
}

fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Escalate { .. } => "escalate",
        Action::Template { .. } => "answer",
        Action::Knowledge { .. } => "knowledge_answer",
        Action::Clarify { .. } => "clarify",
        Action::NotUnderstood { .. } => "not_understood",
    }
}

/// A message as a digit from 1 to 5 and nothing else.
fn typed_rating(text: &str) -> Option<u8> {
    let t = text.trim().trim_end_matches(['.', '!']);
    match t {
        "1" | "2" | "3" | "4" | "5" => t.parse().ok(),
        _ => None,
    }
}

fn validate_text(text: &str) -> Result<String, EngineError> {
    let chars = text.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(EngineError::Invalid(format!(
            "`text` is {chars} characters long; the limit is {MAX_MESSAGE_CHARS}"
        )));
    }
    // Control characters other than line breaks and tabs carry no meaning
    // in a chat message and would only confuse every screen it reaches.
    let cleaned: String =
        text.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t')).collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
        return Err(EngineError::Invalid("`text` must not be empty".into()));
    }
    Ok(cleaned.to_string())
}

/// Characters that take no room on screen (zero-width spaces and joiners,
/// the byte-order mark), so that a message of them alone counts as empty.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

fn validate_client_id(client_id: Option<&str>) -> Result<Option<String>, EngineError> {
    match client_id.map(str::trim) {
        None | Some("") => Ok(None),
        Some(id) if id.len() > 128 => {
            Err(EngineError::Invalid("`client_id` must be at most 128 bytes".into()))
        }
        Some(id) => Ok(Some(id.to_string())),
    }
}

/// Whether a text is an e-mail address, by the one rule every boundary uses
/// (the API for customers, `baton agent add`, the workspace's demo agent):
/// a local part of letters, digits and ``.!#$%&'*+/=?^_`{|}~-``, and a domain
/// of dot-separated labels of letters, digits and `-`, at most 254 bytes.
/// Markup such as `<script>@example.com` is no address.
pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    let local_ok = |c: char| c.is_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c);
    let label_ok =
        |label: &str| !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-');
    !local.is_empty()
        && local.chars().all(local_ok)
        && domain.contains('.')
        && domain.split('.').all(label_ok)
        && s.len() <= 254
}
