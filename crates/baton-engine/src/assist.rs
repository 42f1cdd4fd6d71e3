//! The agent's copilot: what Baton suggests to the person who owns a
//! conversation, and what the agent did with each suggestion.
//!
//! While a human owns a conversation the AI never writes to the customer;
//! it works for the agent instead. Each customer message refreshes the
//! [`Assist`] panel:
//!
//! - replies: the handoff packet's first reply (until the agent has
//!   written), the intent's flow text filled with the conversation's facts,
//!   knowledge passages with their citation, and what agents answered
//!   before to similar customer messages ([`PastReplies`]);
//! - next-best actions: the tools of the intent's flow with their
//!   parameters filled, under the same guardrails as the AI's calls;
//! - empathy prompts from the segment's cues;
//! - the matching knowledge articles.
//!
//! Every [`Suggestion`] has a stable id (its kind, a key and a hash of its
//! content), a kind and a `why`. What the agent does with one (used as is,
//! edited, dismissed, rated helpful or not) is a `decided` event, which the
//! reports count. Only signals since the last resolution or hand-back count.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use baton_core::{
    Actor, AgentId, Analysis, Author, Citation, ConversationId, CueKind, Event, EventKind, Message,
    Projection, Stage,
};
use baton_knowledge::Hit;
use baton_store::{Customer, Store, StoreError};

use crate::engine::{Engine, EngineError};
use crate::flows::{self, FlowState};
use crate::guardrails;
use crate::handoff::{self, HandoffPacket};
use crate::workspace::Workspace;
use crate::SuggestedAction;

/// The kinds of suggestion, as the reports break them down.
pub const FIRST_REPLY: &str = "first_reply";
pub const FLOW_REPLY: &str = "flow_reply";
pub const KNOWLEDGE_REPLY: &str = "knowledge_reply";
pub const PAST_REPLY: &str = "past_reply";
pub const ACTION: &str = "action";
pub const EMPATHY: &str = "empathy";
pub const ARTICLE: &str = "article";
const KINDS: [&str; 7] =
    [FIRST_REPLY, FLOW_REPLY, KNOWLEDGE_REPLY, PAST_REPLY, ACTION, EMPATHY, ARTICLE];

/// The `decided` action a rating of a suggestion is recorded with; its
/// detail holds `kind`, `suggestion_id` and `helpful`.
pub const SUGGESTION_RATED: &str = "suggestion_rated";

/// The share of a customer message's words a past one must share (by
/// cosine of their term counts) for its answer to be suggested.
const PAST_REPLY_SIMILARITY: f32 = 0.5;

/// How far back the past-reply index re-reads on each refresh, so that a
/// reply committed by another node with a slightly older time is not
/// missed.
const PAST_REPLY_OVERLAP_SECONDS: i64 = 300;

/// The copilot panel of one conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assist {
    pub conversation_id: ConversationId,
    pub stage: Stage,
    /// Who owns the conversation; the panel is pushed to them.
    pub assigned_agent: Option<AgentId>,
    /// The seq of the last event the panel was built from.
    pub last_seq: u64,
    pub built_at: DateTime<Utc>,
    pub replies: Vec<Suggestion>,
    pub actions: Vec<Suggestion>,
    pub empathy: Vec<Suggestion>,
    pub knowledge: Vec<Suggestion>,
}

impl Assist {
    /// Every suggestion of the panel.
    pub fn all(&self) -> impl Iterator<Item = &Suggestion> {
        self.replies.iter().chain(&self.actions).chain(&self.empathy).chain(&self.knowledge)
    }
}

/// One suggestion. Which optional fields are set depends on its kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// `kind:key:hash`; the same content gets the same id on every refresh.
    pub id: String,
    pub kind: String,
    /// One sentence saying why it is shown.
    pub why: String,
    /// The text to send or to bear in mind (replies, empathy prompts,
    /// article snippets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<Citation>,
    /// For actions: the tool, its filled parameters and its guardrails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Map<String, Value>>,
    /// Why the action cannot run as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail: Option<Guardrail>,
}

impl Suggestion {
    fn new(kind: &str, key: &str, content: &str, why: String) -> Self {
        Suggestion {
            id: suggestion_id(kind, key, content),
            kind: kind.into(),
            why,
            text: None,
            title: None,
            citation: None,
            tool: None,
            parameters: None,
            blocked: None,
            guardrail: None,
        }
    }

    fn reply(kind: &str, key: &str, text: String, why: String) -> Self {
        Suggestion { text: Some(text.clone()), ..Suggestion::new(kind, key, &text, why) }
    }
}

/// What running an action asks of the agent, as the AI's calls ask it of
/// the customer and of a colleague.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Guardrail {
    /// The customer's yes is needed: what they would be saying yes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<String>,
    /// A colleague's approval would be needed for the AI: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
}

/// A stable id: the kind, a readable key and a hash of the content.
pub fn suggestion_id(kind: &str, key: &str, content: &str) -> String {
    let key: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .take(48)
        .collect();
    format!("{kind}:{key}:{:08x}", fnv1a(&normalised(content)))
}

/// The kind and the content hash of a suggestion id, if it is one.
pub fn parse_suggestion_id(id: &str) -> Option<(&'static str, u32)> {
    let mut parts = id.splitn(3, ':');
    let kind = parts.next()?;
    let _key = parts.next()?;
    let hash = u32::from_str_radix(parts.next()?, 16).ok()?;
    let kind = KINDS.iter().find(|k| **k == kind)?;
    Some((kind, hash))
}

/// Whether a sent text is the suggestion's text as it was (whitespace and
/// case aside), judged from the hash in its id.
pub fn sent_as_is(id: &str, sent: &str) -> bool {
    parse_suggestion_id(id).is_some_and(|(_, hash)| hash == fnv1a(&normalised(sent)))
}

fn normalised(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// 32-bit FNV-1a: small, and the same on every build and platform.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ byte as u32).wrapping_mul(0x0100_0193))
}

// Past agent replies.

/// One agent reply and the customer message it answered.
#[derive(Clone, Debug, PartialEq)]
pub struct PastReply {
    pub conversation_id: ConversationId,
    /// The seq of the agent's message.
    pub seq: u64,
    pub question: String,
    pub reply: String,
    terms: HashMap<String, f32>,
}

/// Every agent reply so far, keyed by the customer message it answered,
/// found again by the similarity of a new customer message. Built from the
/// store on first use and brought up to date on each lookup, so that
/// replies written on other nodes are found too.
#[derive(Default)]
pub struct PastReplies {
    inner: RwLock<PastIndex>,
    /// Held while reading the store, so that one refresh runs at a time.
    loading: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct PastIndex {
    entries: Vec<PastReply>,
    /// Events already folded, within the overlap window.
    recent: HashMap<(ConversationId, u64), DateTime<Utc>>,
    watermark: Option<DateTime<Utc>>,
    /// The latest customer message per conversation not yet answered by an
    /// agent.
    waiting: HashMap<ConversationId, String>,
}

impl PastReplies {
    /// Read what the store holds since the last refresh.
    // TODO: the first refresh of a node reads the whole event log; a
    // deployment with years of history will want the pairs stored as they
    // are written instead. Later refreshes read only the last minutes.
    pub async fn refresh(&self, store: &Arc<dyn Store>) -> Result<(), StoreError> {
        let _one = self.loading.lock().await;
        let from = self.read().watermark.map(|w| w - Duration::seconds(PAST_REPLY_OVERLAP_SECONDS));
        let events = store.events_between(from, None).await?;
        let mut index = self.inner.write().unwrap_or_else(|e| e.into_inner());
        index.fold(&events);
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, PastIndex> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The replies whose question is most like `text`, best first, leaving
    /// out those of conversation `except`.
    pub fn similar(&self, text: &str, except: ConversationId, limit: usize) -> Vec<PastReply> {
        let query = term_counts(text);
        if query.is_empty() {
            return Vec::new();
        }
        let index = self.read();
        let mut scored: Vec<(f32, &PastReply)> = index
            .entries
            .iter()
            .filter(|e| e.conversation_id != except)
            .map(|e| (cosine(&query, &e.terms), e))
            .filter(|(score, _)| *score >= PAST_REPLY_SIMILARITY)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.seq.cmp(&b.1.seq)));
        let mut seen = HashSet::new();
        scored
            .into_iter()
            .filter(|(_, e)| seen.insert(normalised(&e.reply)))
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect()
    }
}

impl PastIndex {
    fn fold(&mut self, events: &[Event]) {
        for event in events {
            let key = (event.conversation_id, event.seq);
            if self.recent.contains_key(&key) {
                continue;
            }
            self.recent.insert(key, event.at);
            if self.watermark.is_none_or(|w| event.at > w) {
                self.watermark = Some(event.at);
            }
            let EventKind::MessagePosted { author, text, .. } = &event.kind else {
                continue;
            };
            match author {
                Author::Customer => {
                    self.waiting.insert(event.conversation_id, text.clone());
                }
                Author::Agent => {
                    if let Some(question) = self.waiting.remove(&event.conversation_id) {
                        let terms = term_counts(&question);
                        self.entries.push(PastReply {
                            conversation_id: event.conversation_id,
                            seq: event.seq,
                            question,
                            reply: text.clone(),
                            terms,
                        });
                    }
                }
                _ => {}
            }
        }
        if let Some(watermark) = self.watermark {
            let horizon = watermark - Duration::seconds(2 * PAST_REPLY_OVERLAP_SECONDS);
            self.recent.retain(|_, at| *at >= horizon);
        }
    }
}

fn term_counts(text: &str) -> HashMap<String, f32> {
    let mut counts = HashMap::new();
    for term in baton_knowledge::text::terms(text) {
        *counts.entry(term).or_insert(0.0) += 1.0;
    }
    counts
}

fn cosine(a: &HashMap<String, f32>, b: &HashMap<String, f32>) -> f32 {
    let dot: f32 = a.iter().filter_map(|(t, x)| b.get(t).map(|y| x * y)).sum();
    let norm = |m: &HashMap<String, f32>| m.values().map(|v| v * v).sum::<f32>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 {
        0.0
    } else {
        dot / denominator
    }
}

// Building the panel.

/// Everything the panel is built from; the building itself is pure.
pub struct Input<'a> {
    pub workspace: &'a Workspace,
    pub state: &'a Projection,
    pub events: &'a [Event],
    pub customer: Option<&'a Customer>,
    /// The tools the agent could run, from [`Engine::suggested_actions`].
    pub actions: Vec<SuggestedAction>,
    /// Past agent replies to messages like the latest one.
    pub past: Vec<PastReply>,
    pub now: DateTime<Utc>,
}

/// What the segment says, read once for every part of the panel.
struct Segment<'a> {
    /// The latest customer message and its analysis.
    last: Option<(&'a Message, Option<&'a Analysis>)>,
    /// The latest in-scope top intent that has a flow, else the latest.
    intent: Option<String>,
    analyses: Vec<(u64, &'a Analysis)>,
    /// Whether an agent has written to the customer in this segment.
    agent_wrote: bool,
    /// Successful tool answers by tool, latest last.
    results: Map<String, Value>,
}

fn segment<'a>(workspace: &Workspace, state: &'a Projection, events: &'a [Event]) -> Segment<'a> {
    let from = state.segment_start;
    let mut analyses = Vec::new();
    let mut results = Map::new();
    let (mut intent, mut with_flow) = (None, None);
    for event in events.iter().filter(|e| e.seq > from) {
        match &event.kind {
            EventKind::MessageAnalysed { message_seq, analysis } => {
                analyses.push((*message_seq, analysis));
                if let Some(top) = analysis.top_intent().filter(|_| !analysis.out_of_scope) {
                    intent = Some(top.intent.clone());
                    // "I want a person" names no topic: the latest intent
                    // with a flow is what the agent is working on.
                    if workspace.actions.flow(&top.intent).is_some() {
                        with_flow = Some(top.intent.clone());
                    }
                }
            }
            EventKind::ToolCalled { tool, ok: true, outcome, .. } => {
                if let Some(body) = outcome.get("body") {
                    results.insert(tool.clone(), body.clone());
                }
            }
            _ => {}
        }
    }
    let last = state
        .messages
        .iter()
        .rev()
        .find(|m| m.seq > from && m.author == Author::Customer)
        .map(|m| (m, analyses.iter().find(|(seq, _)| *seq == m.seq).map(|(_, a)| *a)));
    let agent_wrote = state.messages.iter().any(|m| m.seq > from && m.author == Author::Agent);
    Segment { last, intent: with_flow.or(intent), analyses, agent_wrote, results }
}

/// The panel for one conversation.
pub fn build(input: Input<'_>) -> Assist {
    let seg = segment(input.workspace, input.state, input.events);
    let scope = facts_scope(&input, &seg);

    let mut replies = Vec::new();
    if let Some(first) = first_reply(input.state, &seg) {
        replies.push(first);
    }
    replies.extend(flow_reply(input.workspace, &seg, &scope));
    let hits = seg.last.map_or_else(Vec::new, |(m, _)| knowledge_hits(input.workspace, &m.text));
    replies.extend(hits.iter().take(1).map(|hit| knowledge_reply(input.workspace, hit)));
    replies.extend(input.past.iter().map(|p| past_reply(p, input.customer)));
    dedupe(&mut replies);

    Assist {
        conversation_id: input.state.id,
        stage: input.state.stage,
        assigned_agent: input.state.assigned_agent,
        last_seq: input.state.last_seq,
        built_at: input.now,
        replies,
        actions: actions(input.workspace, &seg, &scope, input.actions),
        empathy: empathy(&seg, input.events, input.state.segment_start),
        knowledge: hits.iter().map(|hit| article(input.workspace, hit)).collect(),
    }
}

/// The facts a flow text may quote: the slots the segment's entities fill,
/// the successful tool answers, and the verified customer.
fn facts_scope(input: &Input<'_>, seg: &Segment<'_>) -> Value {
    let mut state: FlowState = flows::latest_state(input.events);
    for (name, value) in &seg.results {
        state.results.entry(name.clone()).or_insert(value.clone());
    }
    for flow in &input.workspace.actions.flows {
        for slot in &flow.slots {
            let Some(kind) = slot.entity.as_deref() else { continue };
            let value = seg.analyses.iter().rev().find_map(|(_, a)| {
                a.entities.iter().find(|e| e.kind.as_str() == kind).map(|e| e.value.clone())
            });
            if let Some(value) = value {
                state.slots.entry(slot.name.clone()).or_insert(json!(value));
            }
        }
    }
    flows::scope(input.workspace, &state)
}

/// The packet's opening reply, until the agent has written.
fn first_reply(state: &Projection, seg: &Segment<'_>) -> Option<Suggestion> {
    if seg.agent_wrote {
        return None;
    }
    let packet: HandoffPacket = serde_json::from_value(state.handoff.clone()?).ok()?;
    let text = packet.suggested_reply;
    (!text.is_empty()).then(|| {
        Suggestion::reply(
            FIRST_REPLY,
            "handoff",
            text,
            "The handoff packet's opening: it acknowledges what the customer went through \
             and asks for nothing they already gave."
                .into(),
        )
    })
}

/// The first text of the intent's flow whose condition holds and whose
/// every placeholder the conversation can fill; else the question of the
/// first slot still missing.
fn flow_reply(workspace: &Workspace, seg: &Segment<'_>, scope: &Value) -> Option<Suggestion> {
    let intent = seg.intent.as_deref()?;
    let flow = workspace.actions.flow(intent)?;
    for (index, step) in flow.steps.iter().enumerate() {
        let Some(say) = step.say.as_deref() else { continue };
        // A reply for a case the conversation cannot tell yet (the order
        // not looked up) is no suggestion: a missing value makes `!=` hold.
        let undecided = |when: &str| !flows::decidable(when, scope) || !flows::holds(when, scope);
        if step.when.as_deref().is_some_and(undecided) {
            continue;
        }
        // A step that needs a call first cannot be said before it ran.
        if step.call.is_some() {
            continue;
        }
        if let Ok(text) = flows::render(say, scope) {
            let why = match step.when.as_deref() {
                Some(when) => format!(
                    "The {} flow's reply for `{when}`, filled with what this conversation holds.",
                    humanise(intent)
                ),
                None => format!(
                    "The {} flow's reply, filled with what this conversation holds.",
                    humanise(intent)
                ),
            };
            return Some(Suggestion::reply(FLOW_REPLY, &format!("{intent}-{index}"), text, why));
        }
    }
    let missing = flow.slots.iter().find(|s| !s.optional && scope.get(&s.name).is_none())?;
    let text = flows::render(&missing.question, scope).ok()?;
    let why = format!(
        "The {} flow still needs `{}`, which the customer has not given.",
        humanise(intent),
        missing.name
    );
    Some(Suggestion::reply(FLOW_REPLY, &format!("{intent}-{}", missing.name), text, why))
}

fn knowledge_hits(workspace: &Workspace, text: &str) -> Vec<Hit> {
    let bar = workspace.settings.knowledge.min_coverage;
    workspace.knowledge.search(text, 3).into_iter().filter(|hit| hit.coverage >= bar).collect()
}

fn citation(workspace: &Workspace, hit: &Hit) -> Citation {
    Citation {
        article_id: hit.article_id.clone(),
        title: hit.title.clone(),
        section: hit.section.clone(),
        url: workspace
            .knowledge
            .articles()
            .iter()
            .find(|a| a.id == hit.article_id)
            .and_then(|a| a.url.clone()),
    }
}

fn knowledge_reply(workspace: &Workspace, hit: &Hit) -> Suggestion {
    let text = format!("{}\n\nSource: {}", hit.answer_text(), hit.title);
    let why = format!(
        "\"{}\" covers {:.0}% of the words of the customer's last message.",
        section_title(hit),
        hit.coverage * 100.0
    );
    Suggestion {
        citation: Some(citation(workspace, hit)),
        ..Suggestion::reply(KNOWLEDGE_REPLY, &hit.article_id, text, why)
    }
}

fn article(workspace: &Workspace, hit: &Hit) -> Suggestion {
    let snippet = handoff::short(hit.passage.trim(), 240);
    let why = format!(
        "Matches {:.0}% of the words of the customer's last message.",
        hit.coverage * 100.0
    );
    let key = format!("{}-{}", hit.article_id, hit.section.as_deref().unwrap_or(""));
    Suggestion {
        text: Some(snippet),
        title: Some(section_title(hit)),
        citation: Some(citation(workspace, hit)),
        ..Suggestion::new(ARTICLE, &key, &hit.passage, why)
    }
}

fn section_title(hit: &Hit) -> String {
    match &hit.section {
        Some(section) => format!("{} › {section}", hit.title),
        None => hit.title.clone(),
    }
}

/// An agent's earlier answer, with that customer's first name swapped for
/// this one's.
fn past_reply(past: &PastReply, customer: Option<&Customer>) -> Suggestion {
    let first = customer.and_then(|c| c.name.as_deref()).and_then(|n| n.split_whitespace().next());
    let text = match first {
        Some(first) => greeting_name(&past.reply, first),
        None => past.reply.clone(),
    };
    let why = format!(
        "An agent sent this before in answer to a similar message: \"{}\".",
        handoff::short(&past.question, 120)
    );
    Suggestion::reply(PAST_REPLY, &format!("{}-{}", past.conversation_id, past.seq), text, why)
}

/// "Hi Sam," becomes "Hi Mia,": the greeting names this customer.
fn greeting_name(reply: &str, first: &str) -> String {
    let mut words = reply.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some(hi), Some(name), rest)
            if ["hi", "hello", "hey", "dear"].contains(&hi.to_lowercase().as_str())
                && name.ends_with(',') =>
        {
            match rest {
                Some(rest) => format!("{hi} {first}, {rest}"),
                None => format!("{hi} {first},"),
            }
        }
        _ => reply.to_string(),
    }
}

fn dedupe(suggestions: &mut Vec<Suggestion>) {
    let mut seen = HashSet::new();
    suggestions.retain(|s| seen.insert(normalised(s.text.as_deref().unwrap_or(&s.id))));
}

/// The tools of the intent's flow, with the parameters the conversation
/// fills and the guardrails that would apply to the AI.
fn actions(
    workspace: &Workspace,
    seg: &Segment<'_>,
    scope: &Value,
    offered: Vec<SuggestedAction>,
) -> Vec<Suggestion> {
    let Some(intent) = seg.intent.as_deref() else { return Vec::new() };
    let Some(flow) = workspace.actions.flow(intent) else { return Vec::new() };
    let mut tools: Vec<&str> = flow.steps.iter().filter_map(|s| s.call.as_deref()).collect();
    tools.dedup();
    tools
        .into_iter()
        .filter_map(|name| {
            let mut offer = offered.iter().find(|a| a.tool == name)?.clone();
            let tool = workspace.actions.tool(name)?;
            // The offer reads only the running flow; the segment's facts
            // fill what a finished flow forgot.
            let mut parameters = flows::filled(tool, scope);
            parameters.extend(std::mem::take(&mut offer.parameters));
            if offer.blocked.is_some() && guardrails::validate(tool, &parameters).is_ok() {
                let unverified = tool.requires_verified_customer && scope.get("customer").is_none();
                offer.blocked = unverified.then(|| "the customer is not verified".to_string());
            }
            offer.parameters = parameters;
            let mut guard = Guardrail {
                approval: guardrails::approval_needed(tool, &offer.parameters),
                ..Guardrail::default()
            };
            if tool.requires_confirmation {
                let mut with_params = scope.clone();
                for (key, value) in &offer.parameters {
                    with_params[key] = value.clone();
                }
                guard.confirmation = Some(
                    tool.confirm
                        .as_deref()
                        .and_then(|c| flows::render(c, &with_params).ok())
                        .unwrap_or_else(|| format!("{} changes the customer's data", tool.name)),
                );
            }
            let filled: Vec<String> =
                offer.parameters.iter().map(|(k, v)| format!("{k} {}", flows::plain(v))).collect();
            let why = match (&offer.blocked, filled.is_empty()) {
                (Some(blocked), _) => format!(
                    "The {} flow calls {name}, but it cannot run yet: {}.",
                    humanise(intent),
                    blocked.trim_end_matches('.')
                ),
                (None, true) => format!("The {} flow calls {name}.", humanise(intent)),
                (None, false) => format!(
                    "The {} flow calls {name}; the conversation gives {}.",
                    humanise(intent),
                    filled.join(", ")
                ),
            };
            let content = serde_json::to_string(&offer.parameters).unwrap_or_default();
            Some(Suggestion {
                title: Some(offer.description.clone()),
                tool: Some(name.into()),
                parameters: Some(offer.parameters.clone()),
                blocked: offer.blocked.clone(),
                guardrail: (guard != Guardrail::default()).then_some(guard),
                ..Suggestion::new(ACTION, name, &format!("{name}{content}"), why)
            })
        })
        .collect()
}

/// One prompt per cue the segment showed, with the words that showed it.
fn empathy(seg: &Segment<'_>, events: &[Event], segment_start: u64) -> Vec<Suggestion> {
    const PROMPTS: [(CueKind, &str); 6] = [
        (
            CueKind::Frustration,
            "Acknowledge the frustration in your first sentence, before any facts or questions.",
        ),
        (
            CueKind::RepeatedContact,
            "Say you can see they have had to come back about this, and that you will see it \
             through yourself.",
        ),
        (
            CueKind::Safety,
            "The customer may be vulnerable: check they are safe, slow down, and follow the \
             team's vulnerable-customer guidance.",
        ),
        (
            CueKind::ChurnThreat,
            "They are thinking of leaving: recognise what went wrong and say what you can do \
             now, before offering anything else.",
        ),
        (
            CueKind::Legal,
            "Legal language: stay factual, promise nothing about liability, and involve a \
             supervisor if they mention action against the company.",
        ),
        (CueKind::Urgency, "It is urgent to them: say when they will hear from you next."),
    ];
    let mut out = Vec::new();
    for (kind, prompt) in PROMPTS {
        let seen: Vec<(u64, &Vec<String>)> = seg
            .analyses
            .iter()
            .filter_map(|(seq, a)| a.cue(kind).map(|c| (*seq, &c.words)))
            .collect();
        let Some((seq, words)) = seen.last() else { continue };
        let quoted = words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(", ");
        let times = if seen.len() > 1 { format!(" ({} messages)", seen.len()) } else { "".into() };
        let why = format!("{} cue in message {seq}: {quoted}{times}.", humanise(kind.as_str()));
        out.push(Suggestion {
            text: Some(prompt.into()),
            ..Suggestion::new(EMPATHY, kind.as_str(), prompt, why)
        });
    }
    // An earlier escalation in the same segment is a repeated contact the
    // customer did not have to spell out.
    let escalations = events
        .iter()
        .filter(|e| e.seq > segment_start && matches!(e.kind, EventKind::Escalated { .. }))
        .count();
    if escalations > 1 && !out.iter().any(|s| s.id.starts_with("empathy:repeated_contact:")) {
        let prompt = "This conversation has gone to a person more than once: acknowledge the \
                      wait and the repetition.";
        let why = format!("Escalated {escalations} times since the last resolution.");
        out.push(Suggestion {
            text: Some(prompt.into()),
            ..Suggestion::new(EMPATHY, "escalated_again", prompt, why)
        });
    }
    out
}

fn humanise(name: &str) -> String {
    name.replace('_', " ")
}

// The engine's side: building, pushing and recording.

/// What the agent did with a suggestion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feedback {
    /// Taken as offered: an action the agent ran.
    Used,
    Dismissed,
    Rated {
        helpful: bool,
    },
}

impl Engine {
    /// The copilot panel of a conversation, built from its log now.
    pub async fn assist(&self, id: ConversationId) -> Result<Assist, EngineError> {
        let events = self.events(id, 0).await?;
        let state = Projection::from_events(&events).map_err(|e| match e {
            baton_core::ProjectionError::NoStart => EngineError::NotFound(id),
            other => EngineError::Log(other),
        })?;
        let customer = self.store().customer(state.customer_id).await?;
        let actions = self.suggested_actions(id).await?;
        let last_customer = state
            .messages
            .iter()
            .rev()
            .find(|m| m.seq > state.segment_start && m.author == Author::Customer)
            .map(|m| m.text.clone());
        let past = match last_customer {
            Some(text) => {
                self.past_replies().refresh(self.store()).await?;
                self.past_replies().similar(&text, id, 2)
            }
            None => Vec::new(),
        };
        Ok(build(Input {
            workspace: self.workspace(),
            state: &state,
            events: &events,
            customer: customer.as_ref(),
            actions,
            past,
            now: self.now(),
        }))
    }

    /// The suggestion with this id on the conversation's panel now, if any.
    async fn offered(
        &self,
        id: ConversationId,
        suggestion_id: &str,
    ) -> Result<Option<Suggestion>, EngineError> {
        Ok(self.assist(id).await?.all().find(|s| s.id == suggestion_id).cloned())
    }

    /// An agent's reply that started from a suggestion: the message, then
    /// `suggestion_used` when it went out as suggested or
    /// `suggestion_edited` when the agent changed it. A retried POST
    /// records nothing twice.
    pub async fn agent_reply_from_suggestion(
        &self,
        id: ConversationId,
        agent_id: AgentId,
        text: &str,
        client_id: Option<&str>,
        suggestion_id: &str,
    ) -> Result<(Projection, Message), EngineError> {
        let (kind, _) = parse_suggestion_id(suggestion_id).ok_or_else(|| bad_id(suggestion_id))?;
        let offered = self.offered(id, suggestion_id).await?;
        let (state, message) = self.agent_message(id, agent_id, text, client_id).await?;
        let used = sent_as_is(suggestion_id, &message.text);
        let action = if used { "suggestion_used" } else { "suggestion_edited" };
        let detail = json!({
            "kind": kind,
            "suggestion_id": suggestion_id,
            "message_seq": message.seq,
            "suggested": offered.and_then(|s| s.text),
        });
        let reason = if used {
            "the agent sent the suggested reply as it was".to_string()
        } else {
            "the agent sent the suggested reply after editing it".to_string()
        };
        let seq = message.seq;
        // TODO: the store finds earlier messages by client id for customers
        // only, so a retried agent POST writes a second message and records
        // a second use; the record itself is never doubled for one message.
        // Acceptable while the console sends each reply once.
        self.with_turn(id, move |engine, turn| {
            let (detail, reason) = (detail.clone(), reason.clone());
            Box::pin(async move {
                let after = engine.store().events(turn.state.id, seq).await?;
                if after.iter().any(|e| records_use_of(e, seq)) {
                    return Ok(());
                }
                turn.push(
                    Actor::Agent(agent_id),
                    EventKind::Decided { action: action.into(), reason, detail },
                )?;
                Ok(())
            })
        })
        .await?;
        Ok((state, message))
    }

    /// A dismissal or a rating of a suggestion, as a `decided` event.
    pub async fn suggestion_feedback(
        &self,
        id: ConversationId,
        agent_id: AgentId,
        suggestion_id: &str,
        feedback: Feedback,
    ) -> Result<Projection, EngineError> {
        let (kind, _) = parse_suggestion_id(suggestion_id).ok_or_else(|| bad_id(suggestion_id))?;
        self.conversation(id).await?;
        let offered = self.offered(id, suggestion_id).await?;
        let (action, reason, mut detail) = match feedback {
            Feedback::Used => (
                "suggestion_used",
                "the agent took the suggestion as offered".to_string(),
                json!({"kind": kind, "suggestion_id": suggestion_id}),
            ),
            Feedback::Dismissed => (
                "suggestion_dismissed",
                "the agent dismissed a suggestion".to_string(),
                json!({"kind": kind, "suggestion_id": suggestion_id}),
            ),
            Feedback::Rated { helpful } => (
                SUGGESTION_RATED,
                format!(
                    "the agent rated a suggestion {}",
                    if helpful { "helpful" } else { "not helpful" }
                ),
                json!({"kind": kind, "suggestion_id": suggestion_id, "helpful": helpful}),
            ),
        };
        if let Some(text) = offered.and_then(|s| s.text) {
            detail["suggested"] = json!(text);
        }
        self.with_turn(id, move |_, turn| {
            let (detail, reason) = (detail.clone(), reason.clone());
            Box::pin(async move {
                // The copilot's figures are about the agent it served: only
                // the agent who holds (or last held) the conversation rates
                // or dismisses its suggestions.
                let state = &turn.state;
                let own = state.assigned_agent.or(state.last_agent) == Some(agent_id);
                if !own {
                    return Err(EngineError::Forbidden(
                        "only the agent who holds the conversation can give feedback on its \
                         suggestions"
                            .into(),
                    ));
                }
                turn.push(
                    Actor::Agent(agent_id),
                    EventKind::Decided { action: action.into(), reason, detail },
                )?;
                Ok(())
            })
        })
        .await
    }
}

/// Whether an event records the use of the agent message at `seq`.
fn records_use_of(event: &Event, seq: u64) -> bool {
    matches!(&event.kind, EventKind::Decided { action, detail, .. }
        if (action == "suggestion_used" || action == "suggestion_edited")
            && detail.get("message_seq").and_then(Value::as_u64) == Some(seq))
}

fn bad_id(id: &str) -> EngineError {
    EngineError::Invalid(format!(
        "`suggestion_id` {id:?} is not a suggestion id; use the `id` of a suggestion from \
         GET /api/v1/conversations/{{id}}/assist"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_reply_for_a_case_not_looked_up_yet_is_not_suggested() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo");
        let workspace = Workspace::load(&dir).unwrap();
        let seg = Segment {
            last: None,
            intent: Some("order_status".into()),
            analyses: vec![],
            agent_wrote: false,
            results: Map::new(),
        };
        // The order number is known; the order was never looked up, so
        // whether it is the customer's cannot be told.
        let scope = json!({"order_id": "W3278407"});

        let suggestion = flow_reply(&workspace, &seg, &scope);

        assert!(suggestion.is_none(), "{:?}", suggestion.map(|s| s.text));

        // Once looked up as another customer's, that reply is the one.
        let scope = json!({
            "order_id": "W3278407",
            "customer": {"user_id": "jonah_bellweather_8285"},
            "get_order": {"user_id": "someone_else_1", "status": "delivered"},
        });
        let text = flow_reply(&workspace, &seg, &scope).and_then(|s| s.text);
        assert_eq!(
            text.as_deref(),
            Some(
                "I can only help with orders on your own account, and #W3278407 isn't one of them."
            )
        );
    }

    #[test]
    fn an_id_is_the_same_for_the_same_content_and_tells_its_kind() {
        let a = suggestion_id(FLOW_REPLY, "order_status-2", "Order #W1 has shipped.");
        let b = suggestion_id(FLOW_REPLY, "order_status-2", "Order  #W1 has   shipped.");
        assert_eq!(a, b);
        assert!(a.starts_with("flow_reply:order_status-2:"));
        assert_eq!(parse_suggestion_id(&a).map(|(k, _)| k), Some(FLOW_REPLY));
        assert_eq!(parse_suggestion_id("nonsense"), None);
        assert_eq!(parse_suggestion_id("made_up:key:0000abcd"), None);
    }

    #[test]
    fn a_reply_counts_as_used_only_when_its_text_is_unchanged() {
        let id = suggestion_id(PAST_REPLY, "x", "Hi Mia, your refund is on its way.");
        assert!(sent_as_is(&id, "Hi Mia, your refund is on its way."));
        assert!(sent_as_is(&id, "  hi mia, your refund is on its way. "));
        assert!(!sent_as_is(&id, "Hi Mia, your refund is on its way today."));
    }

    #[test]
    fn the_greeting_of_a_past_reply_names_the_current_customer() {
        assert_eq!(greeting_name("Hi Sam, it's on its way.", "Mia"), "Hi Mia, it's on its way.");
        assert_eq!(greeting_name("It's on its way.", "Mia"), "It's on its way.");
    }

    #[test]
    fn past_replies_are_found_by_the_message_they_answered() {
        let (a, b) = (ConversationId::new(), ConversationId::new());
        let at = DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z").unwrap().to_utc();
        let message = |id, seq, author, text: &str| Event {
            conversation_id: id,
            seq,
            at,
            actor: Actor::System,
            kind: EventKind::MessagePosted {
                author,
                text: text.into(),
                client_id: None,
                quick_replies: vec![],
                citations: vec![],
            },
        };
        let mut index = PastIndex::default();
        index.fold(&[
            message(a, 1, Author::Customer, "my parcel arrived damaged and broken"),
            message(a, 2, Author::Agent, "Hi Sam, I'm sorry. I've sent a replacement."),
            message(a, 3, Author::Agent, "Anything else?"),
            message(b, 1, Author::Customer, "how do I reset my password"),
        ]);
        // A repeat of the same events is folded once.
        index.fold(&[message(a, 2, Author::Agent, "Hi Sam, I'm sorry. I've sent a replacement.")]);
        let replies = PastReplies { inner: RwLock::new(index), ..Default::default() };

        let found = replies.similar("the parcel arrived broken", b, 3);

        assert_eq!(found.len(), 1);
        assert_eq!(found[0].reply, "Hi Sam, I'm sorry. I've sent a replacement.");
        assert!(replies.similar("the parcel arrived broken", a, 3).is_empty());
        assert!(replies.similar("opening hours", b, 3).is_empty());
    }
}
