//! Routing: which queue an escalated conversation waits in, how urgent it
//! is and why, which agents may take it, and the operations that move
//! conversations between queues and agents.
//!
//! - The priority of an escalation is a sum of named factors (the reason,
//!   a very negative tone, churn or legal cues, the customer's tier), kept
//!   in the escalation event's evidence; waiting adds points on top while
//!   the conversation waits, so that nobody waits forever behind newer,
//!   louder conversations. Within one priority, first come, first served.
//! - An agent is eligible for a queue when they are online, have the
//!   queue's skill (and the conversation's language, if the queue asks for
//!   it) and are within their working hours.
//! - `auto` queues hand each conversation to the least-loaded eligible agent
//!   under capacity whenever something changes (an escalation, an agent
//!   coming online or freeing a seat, the sweep); `pull` queues wait for an
//!   agent to take the next one.
//! - The sweep raises an SLA breach once per wait, when the queue's
//!   first-response target has passed without an agent message.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{json, Value};
use tracing::{info, warn};

use baton_core::{
    Actor, AgentId, Analysis, ConversationId, CueKind, EscalationReason, EventKind, Projection,
    Stage,
};
use baton_store::{Agent, AgentRole, AgentStatus, ConversationFilter, ConversationSummary};

use crate::engine::{Engine, EngineError, QueueEntry};
use crate::workspace::parse_days;
use crate::workspace::{Assignment, BusinessHours, OpeningPeriod, QueueConfig, QueueSettings};

/// A sentiment score at or below this raises the priority by one.
pub const NEGATIVE_SENTIMENT: f32 = -0.5;

/// Waiting adds at most this many points.
pub const MAX_WAITING_POINTS: i32 = 3;

/// One reason a conversation is as urgent as it is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriorityFactor {
    /// `reason`, `negative_sentiment`, `churn_threat`, `legal`, `tier`.
    pub factor: &'static str,
    pub points: i32,
    /// One sentence a supervisor can read.
    pub why: String,
}

/// A priority with the factors that add up to it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Priority {
    pub value: i32,
    pub factors: Vec<PriorityFactor>,
}

impl Priority {
    fn add(&mut self, factor: &'static str, points: i32, why: String) {
        if points != 0 {
            self.value += points;
            self.factors.push(PriorityFactor { factor, points, why });
        }
    }
}

/// How urgent an escalation is: the reason sets the base; a very negative
/// tone, a churn threat and legal language in the segment's messages add one
/// point each; the customer's tier adds what the workspace says.
pub fn escalation_priority<'a>(
    reason: EscalationReason,
    analyses: impl IntoIterator<Item = &'a Analysis>,
    tier: Option<&str>,
    settings: &QueueSettings,
) -> Priority {
    let base = match reason {
        EscalationReason::SensitiveTopic => 3,
        EscalationReason::NegativeSentiment
        | EscalationReason::Frustration
        | EscalationReason::ApprovalRequired
        | EscalationReason::ActionFailed
        | EscalationReason::AgentUnavailable => 2,
        _ => 1,
    };
    let mut priority = Priority { value: 0, factors: Vec::new() };
    priority.add("reason", base, format!("escalated for {}", reason.as_str()));

    let (mut lowest, mut churn, mut legal) = (None::<f32>, false, false);
    for analysis in analyses {
        let score = analysis.sentiment.score;
        lowest = Some(lowest.map_or(score, |l: f32| l.min(score)));
        churn |= analysis.cue(CueKind::ChurnThreat).is_some();
        legal |= analysis.cue(CueKind::Legal).is_some();
    }
    if let Some(score) = lowest.filter(|s| *s <= NEGATIVE_SENTIMENT) {
        let why = format!("sentiment {score:.2} is at or below {NEGATIVE_SENTIMENT}");
        priority.add("negative_sentiment", 1, why);
    }
    if churn {
        priority.add("churn_threat", 1, "the customer threatens to leave".into());
    }
    if legal {
        priority.add("legal", 1, "the customer uses legal language".into());
    }
    if let Some(tier) = tier {
        let points = settings.tier_priority.get(tier).copied().unwrap_or(0);
        priority.add("tier", points, format!("the customer's tier is `{tier}`"));
    }
    priority
}

/// The points a wait of `waited` adds: one per `aging_minutes`, at most
/// [`MAX_WAITING_POINTS`]; none when aging is off.
pub fn waiting_points(waited: Duration, aging_minutes: u32) -> i32 {
    if aging_minutes == 0 || waited <= Duration::zero() {
        return 0;
    }
    let steps = waited.num_minutes() / i64::from(aging_minutes);
    steps.min(i64::from(MAX_WAITING_POINTS)) as i32
}

/// An agent's working hours as written: periods separated by commas, each
/// days then a time range, and an optional IANA time zone at the end
/// (UTC when absent): `mon-fri 09:00-17:00, sat 10:00-14:00 Europe/Berlin`.
pub fn parse_working_hours(text: &str) -> Result<BusinessHours, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("working hours must not be empty; leave them out for none".into());
    }
    let (body, timezone) = match text.rsplit_once(' ') {
        Some((body, last)) if last.parse::<Tz>().is_ok() => (body, last.parse::<Tz>().ok()),
        _ => (text, None),
    };
    let mut periods = Vec::new();
    for part in body.split(',') {
        let part = part.trim();
        let bad = || {
            format!("`{part}` is not a period like \"mon-fri 09:00-17:00\"; a time zone goes last")
        };
        let (days, range) = part.split_once(' ').ok_or_else(bad)?;
        let days = parse_days(days).ok_or_else(bad)?;
        let (open, close) = range.trim().split_once('-').ok_or_else(bad)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let (open, close) = (time(open)?, time(close)?);
        if close <= open {
            return Err(format!("in `{part}` the end is not after the start"));
        }
        periods.push(OpeningPeriod { days, open, close });
    }
    Ok(BusinessHours { timezone: timezone.unwrap_or(Tz::UTC), periods })
}

/// The most skills an agent may have, and the longest one.
pub const MAX_SKILLS: usize = 32;
pub const MAX_SKILL_CHARS: usize = 32;

/// Skills as stored: trimmed, lower-cased, each once, in the given order;
/// or why one is not a skill.
pub fn clean_skills(skills: &[String]) -> Result<Vec<String>, String> {
    if skills.len() > MAX_SKILLS {
        return Err(format!("at most {MAX_SKILLS} skills, got {}", skills.len()));
    }
    let mut clean: Vec<String> = Vec::new();
    for skill in skills {
        let skill = skill.trim().to_lowercase();
        let ok = !skill.is_empty()
            && skill.chars().count() <= MAX_SKILL_CHARS
            && skill.chars().all(|c| c.is_alphanumeric() || "_-".contains(c));
        if !ok {
            return Err(format!(
                "skill `{skill}` must be 1 to {MAX_SKILL_CHARS} letters, digits, `_` or `-`"
            ));
        }
        if !clean.contains(&skill) {
            clean.push(skill);
        }
    }
    Ok(clean)
}

/// Why an agent may not take a queue's conversation now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ineligible {
    Offline,
    Away,
    MissingSkill(String),
    MissingLanguage(String),
    OutsideHours,
}

impl std::fmt::Display for Ineligible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ineligible::Offline => f.write_str("is offline"),
            Ineligible::Away => f.write_str("is away"),
            Ineligible::MissingSkill(s) => write!(f, "lacks the skill `{s}`"),
            Ineligible::MissingLanguage(l) => write!(f, "does not speak `{l}`"),
            Ineligible::OutsideHours => f.write_str("is outside their working hours"),
        }
    }
}

/// Whether `agent` may work `queue`'s conversation in `language` at `now`.
/// Status and hours count only when `present` is asked for: an agent who
/// takes a conversation by hand is there by definition.
pub fn eligibility(
    agent: &Agent,
    queue: &QueueConfig,
    language: Option<&str>,
    now: DateTime<Utc>,
    present: bool,
) -> Result<(), Ineligible> {
    if present {
        match agent.status {
            AgentStatus::Online => {}
            AgentStatus::Away => return Err(Ineligible::Away),
            AgentStatus::Offline => return Err(Ineligible::Offline),
        }
    }
    let has = |skill: &str| agent.skills.iter().any(|s| s.eq_ignore_ascii_case(skill));
    if let Some(skill) = queue.skill.as_deref().filter(|s| !has(s)) {
        return Err(Ineligible::MissingSkill(skill.to_string()));
    }
    if queue.require_language {
        if let Some(language) = language.filter(|l| !has(l)) {
            return Err(Ineligible::MissingLanguage(language.to_string()));
        }
    }
    if present {
        let hours = agent.working_hours.as_deref().and_then(|h| parse_working_hours(h).ok());
        if hours.is_some_and(|h| !h.is_open(now)) {
            return Err(Ineligible::OutsideHours);
        }
    }
    Ok(())
}

/// What the queue listing says of one queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueStats {
    pub name: String,
    pub assignment: Assignment,
    pub sla_first_response_minutes: u32,
    pub intents: Vec<String>,
    pub languages: Vec<String>,
    pub skill: Option<String>,
    pub require_language: bool,
    /// Conversations waiting.
    pub length: usize,
    /// How long the longest-waiting one has waited, 0 when empty.
    pub oldest_wait_seconds: i64,
    /// Waiting conversations past their first-response target.
    pub sla_breached: usize,
    /// Waiting conversations with a message left for a follow-up.
    pub follow_ups: usize,
    /// Agents who could take one now, at capacity or not.
    pub agents_available: usize,
}

/// How an assignment is asked for.
#[derive(Clone, Debug, Default)]
pub struct AssignOptions {
    /// Handing a held conversation to another agent.
    pub transfer: bool,
    /// A supervisor's assignment past the agent's capacity.
    pub over_capacity: bool,
    /// A note for the next agent, kept in the log.
    pub note: Option<String>,
}

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepOutcome {
    pub breaches: Vec<ConversationId>,
    pub assigned: usize,
}

/// Serialises automatic assignment on this node, so that two runs never
/// count the same free seat twice.
#[derive(Debug, Default)]
pub(crate) struct Dispatcher {
    lock: tokio::sync::Mutex<()>,
}

impl Engine {
    /// The queue a conversation is routed to by its intent and language.
    pub fn route(&self, state: &Projection) -> &QueueConfig {
        let queue = &self.workspace().settings.queue;
        queue.route(state.last_intent.as_deref(), state.language.as_deref())
    }

    fn queue_config(&self, name: &str) -> QueueConfig {
        let settings = &self.workspace().settings.queue;
        settings.queue(name).cloned().unwrap_or_else(|| QueueConfig::implicit(name))
    }

    /// How many conversations each agent holds now.
    async fn loads(&self) -> Result<HashMap<AgentId, u32>, EngineError> {
        let held = self
            .store()
            .conversations(&ConversationFilter { stages: vec![Stage::Human], ..Default::default() })
            .await?;
        let mut loads = HashMap::new();
        for agent in held.iter().filter_map(|c| c.assigned_agent) {
            *loads.entry(agent).or_insert(0) += 1;
        }
        Ok(loads)
    }

    pub(crate) async fn load_of(&self, agent: AgentId) -> Result<u32, EngineError> {
        let held = self
            .store()
            .conversations(&ConversationFilter {
                stages: vec![Stage::Human],
                assigned_agent: Some(agent),
                ..Default::default()
            })
            .await?;
        Ok(held.len() as u32)
    }

    /// The waiting conversations, most urgent first: by priority including
    /// the points for waiting, then first come, first served.
    pub async fn queue_order(&self) -> Result<Vec<(ConversationSummary, i32)>, EngineError> {
        let now = self.now();
        let aging = self.workspace().settings.queue.aging_minutes;
        let waiting = self
            .store()
            .conversations(&ConversationFilter {
                stages: vec![Stage::Queued],
                ..Default::default()
            })
            .await?;
        let mut ranked: Vec<(ConversationSummary, i32)> = waiting
            .into_iter()
            .map(|c| {
                let effective = c.priority + waiting_points(now - c.stage_since, aging);
                (c, effective)
            })
            .collect();
        ranked.sort_by(|(a, pa), (b, pb)| {
            pb.cmp(pa).then(a.stage_since.cmp(&b.stage_since)).then(a.id.cmp(&b.id))
        });
        Ok(ranked)
    }

    /// The human queue as agents see it: each entry with its place in its
    /// queue, its SLA due time and flags.
    // TODO: each waiting conversation's log is folded for its SLA clock and
    // follow-up flag; fine for tens of waiting conversations, and summary
    // columns would make it one query once queues run into the hundreds.
    pub async fn queue_entries(&self) -> Result<Vec<QueueEntry>, EngineError> {
        let now = self.now();
        let mut positions: HashMap<String, usize> = HashMap::new();
        let mut entries = Vec::new();
        for (conversation, effective) in self.queue_order().await? {
            let state = self.conversation(conversation.id).await?;
            let queue_name = conversation.queue.clone().unwrap_or_default();
            let config = self.queue_config(&queue_name);
            let position = positions.entry(queue_name).or_insert(0);
            *position += 1;
            let sla_due_at = state
                .awaiting_response_since
                .map(|since| since + Duration::minutes(config.sla_first_response_minutes.into()));
            entries.push(QueueEntry {
                position: *position,
                waiting_seconds: (now - conversation.stage_since).num_seconds().max(0),
                effective_priority: effective,
                sla_due_at,
                sla_breached: state.sla_breached || sla_due_at.is_some_and(|due| now > due),
                follow_up: state.follow_up,
                language: state.language.clone(),
                conversation,
            });
        }
        Ok(entries)
    }

    /// Every queue with its length, oldest wait, SLA and available agents.
    pub async fn queue_stats(&self) -> Result<Vec<QueueStats>, EngineError> {
        let now = self.now();
        let entries = self.queue_entries().await?;
        let agents = self.store().agents().await?;
        let mut stats = Vec::new();
        for queue in &self.workspace().settings.queue.queues {
            let waiting: Vec<&QueueEntry> = entries
                .iter()
                .filter(|e| e.conversation.queue.as_deref() == Some(&queue.name))
                .collect();
            stats.push(QueueStats {
                name: queue.name.clone(),
                assignment: queue.assignment,
                sla_first_response_minutes: queue.sla_first_response_minutes,
                intents: queue.intents.clone(),
                languages: queue.languages.clone(),
                skill: queue.skill.clone(),
                require_language: queue.require_language,
                length: waiting.len(),
                oldest_wait_seconds: waiting.iter().map(|e| e.waiting_seconds).max().unwrap_or(0),
                sla_breached: waiting.iter().filter(|e| e.sla_breached).count(),
                follow_ups: waiting.iter().filter(|e| e.follow_up).count(),
                agents_available: agents
                    .iter()
                    .filter(|a| eligibility(a, queue, None, now, true).is_ok())
                    .count(),
            });
        }
        Ok(stats)
    }

    /// How many agents could take this queue's conversation now.
    pub(crate) async fn available_agents(
        &self,
        queue: &QueueConfig,
        language: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<usize, EngineError> {
        let agents = self.store().agents().await?;
        Ok(agents.iter().filter(|a| eligibility(a, queue, language, now, true).is_ok()).count())
    }

    /// Refuse an assignment the target agent cannot take: never to an
    /// offline agent, never past capacity unless a supervisor overrides.
    pub(crate) async fn check_can_take(
        &self,
        agent: &Agent,
        by_supervisor: bool,
        options: &AssignOptions,
    ) -> Result<(), EngineError> {
        if agent.status == AgentStatus::Offline {
            return Err(EngineError::Conflict(format!(
                "{} is offline; conversations go only to agents who are online or away",
                agent.name
            )));
        }
        if options.over_capacity && !by_supervisor {
            return Err(EngineError::Forbidden(
                "only a supervisor can assign past an agent's capacity".into(),
            ));
        }
        let load = self.load_of(agent.id).await?;
        if load >= agent.capacity && !options.over_capacity {
            let advice = if by_supervisor {
                "a supervisor can assign anyway with `over_capacity: true`"
            } else {
                "resolve or hand back one first"
            };
            return Err(EngineError::Conflict(format!(
                "{} is at capacity ({load} of {} conversations); {advice}",
                agent.name, agent.capacity
            )));
        }
        Ok(())
    }

    /// The agent takes the most urgent waiting conversation they are
    /// eligible for, from any queue. `None` when there is none for them.
    pub async fn take_next(&self, agent_id: AgentId) -> Result<Option<Projection>, EngineError> {
        let agent = self
            .store()
            .agent(agent_id)
            .await?
            .ok_or_else(|| EngineError::Invalid(format!("no agent with id {agent_id}")))?;
        if agent.status != AgentStatus::Online {
            return Err(EngineError::Conflict(format!(
                "your status is {}; set it to online to take conversations",
                agent.status.as_str()
            )));
        }
        self.check_can_take(&agent, false, &AssignOptions::default()).await?;
        let now = self.now();
        for (conversation, _) in self.queue_order().await? {
            let queue = self.queue_config(conversation.queue.as_deref().unwrap_or_default());
            let state = self.conversation(conversation.id).await?;
            if eligibility(&agent, &queue, state.language.as_deref(), now, false).is_err() {
                continue;
            }
            let by = Actor::Agent(agent_id);
            match self.assign_with(conversation.id, agent_id, by, AssignOptions::default()).await {
                Ok(taken) => return Ok(Some(taken)),
                // Someone else took it meanwhile, or the caller's own
                // concurrent call filled their last seat: say which.
                Err(EngineError::Conflict(_)) => {
                    self.check_can_take(&agent, false, &AssignOptions::default()).await?;
                    continue;
                }
                Err(other) => return Err(other),
            }
        }
        Ok(None)
    }

    /// Give every waiting conversation of an `auto` queue to the
    /// least-loaded eligible agent under capacity; returns how many went.
    // TODO: two nodes dispatching at once may each fill the same last seat;
    // each assignment re-checks capacity, so the overshoot is at most one
    // conversation per node and only in that race.
    pub async fn dispatch(&self) -> Result<usize, EngineError> {
        let settings = &self.workspace().settings.queue;
        if !settings.queues.iter().any(|q| q.assignment == Assignment::Auto) {
            return Ok(0);
        }
        let _serial = self.dispatcher().lock.lock().await;
        let now = self.now();
        let agents = self.store().agents().await?;
        let mut loads = self.loads().await?;
        let mut assigned = 0;
        for (conversation, _) in self.queue_order().await? {
            let queue = self.queue_config(conversation.queue.as_deref().unwrap_or_default());
            if queue.assignment != Assignment::Auto {
                continue;
            }
            let state = self.conversation(conversation.id).await?;
            let language = state.language.as_deref();
            // Least loaded first; the longest-serving agent breaks a tie.
            let best = agents
                .iter()
                .filter(|a| eligibility(a, &queue, language, now, true).is_ok())
                .filter(|a| loads.get(&a.id).copied().unwrap_or(0) < a.capacity)
                .min_by_key(|a| loads.get(&a.id).copied().unwrap_or(0));
            let Some(agent) = best else { continue };
            let options = AssignOptions::default();
            match self.assign_with(conversation.id, agent.id, Actor::System, options).await {
                Ok(_) => {
                    let (conversation_id, agent_id) = (conversation.id, agent.id);
                    info!(%conversation_id, %agent_id, "auto-assigned");
                    *loads.entry(agent.id).or_insert(0) += 1;
                    assigned += 1;
                }
                // Taken or changed meanwhile; the next run sees it.
                Err(EngineError::Conflict(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(assigned)
    }

    /// [`Engine::dispatch`] after a change, where a failure must not undo
    /// the change that triggered it: logged, and the sweep tries again.
    pub async fn dispatch_after_change(&self) {
        if let Err(error) = self.dispatch().await {
            warn!(%error, "automatic assignment failed; the next sweep retries");
        }
    }

    /// Raise the SLA breach of every wait whose first-response target has
    /// passed at `now`, once per wait, then run automatic assignment (agents'
    /// working hours may have begun). The server calls this on a timer;
    /// tests call it with a manual clock.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<SweepOutcome, EngineError> {
        let open = self
            .store()
            .conversations(&ConversationFilter {
                stages: vec![Stage::Queued, Stage::Human],
                ..Default::default()
            })
            .await?;
        let mut outcome = SweepOutcome::default();
        for conversation in open {
            let state = self.conversation(conversation.id).await?;
            if self.breach_due(&state, now).is_none() {
                continue;
            }
            let raised = self
                .with_turn(conversation.id, |engine, turn| {
                    Box::pin(async move {
                        // Checked again under the lock: another node, or an
                        // agent's reply, may have come first.
                        if let Some((queue, due_at, target)) = engine.breach_due(&turn.state, now) {
                            let kind =
                                EventKind::SlaBreached { queue, due_at, target_minutes: target };
                            turn.push(Actor::System, kind)?;
                        }
                        Ok(())
                    })
                })
                .await?;
            if raised.sla_breached && !state.sla_breached {
                outcome.breaches.push(conversation.id);
            }
        }
        outcome.assigned = self.dispatch().await?;
        Ok(outcome)
    }

    /// The queue, due time and target of a breach to raise now, if any.
    fn breach_due(
        &self,
        state: &Projection,
        now: DateTime<Utc>,
    ) -> Option<(String, DateTime<Utc>, u32)> {
        if state.sla_breached || !matches!(state.stage, Stage::Queued | Stage::Human) {
            return None;
        }
        let since = state.awaiting_response_since?;
        let queue = state.queue.clone()?;
        let target = self.queue_config(&queue).sla_first_response_minutes;
        let due_at = since + Duration::minutes(target.into());
        (now > due_at).then_some((queue, due_at, target))
    }

    /// Put a conversation back in a queue, the same or another one, with a
    /// note for whoever takes it next. Only its agent or a supervisor may
    /// move a held conversation; any agent may move a waiting one.
    pub async fn transfer_to_queue(
        &self,
        id: ConversationId,
        queue: &str,
        by: AgentId,
        note: Option<String>,
    ) -> Result<Projection, EngineError> {
        let Some(config) = self.workspace().settings.queue.queue(queue).cloned() else {
            let known: Vec<&str> =
                self.workspace().settings.queue.queues.iter().map(|q| q.name.as_str()).collect();
            return Err(EngineError::Invalid(format!(
                "no queue named `{queue}`; the queues are {}",
                known.join(", ")
            )));
        };
        let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            return Err(EngineError::Invalid("`note` must be at most 2000 characters".into()));
        }
        let by_supervisor =
            self.store().agent(by).await?.is_some_and(|a| a.role == AgentRole::Supervisor);
        let state = self
            .with_turn(id, |engine, turn| {
                let (config, note) = (config.clone(), note.clone());
                Box::pin(async move {
                    if let Some(owner) = turn.state.assigned_agent {
                        if owner != by && !by_supervisor {
                            return Err(EngineError::Forbidden(
                                "only the agent who holds the conversation, or a supervisor, \
                                 can transfer it"
                                    .into(),
                            ));
                        }
                    }
                    if turn.state.stage == Stage::Queued
                        && turn.state.queue.as_deref() == Some(&config.name)
                    {
                        return Err(EngineError::Conflict(format!(
                            "the conversation already waits in `{}`",
                            config.name
                        )));
                    }
                    let from = turn.state.queue.clone();
                    let evidence = json!({
                        "transferred_by": by,
                        "from_queue": from,
                        "from_agent": turn.state.assigned_agent,
                    });
                    let priority = turn.state.priority;
                    if let Some(text) = note.clone() {
                        turn.push(Actor::Agent(by), EventKind::NoteAdded { text })?;
                    }
                    let kind = EventKind::Requeued {
                        queue: config.name.clone(),
                        priority,
                        evidence,
                        note,
                    };
                    turn.push(Actor::Agent(by), kind)?;
                    engine.queue_update(turn, "queue_position").await
                })
            })
            .await?;
        self.dispatch_after_change().await;
        Ok(state)
    }

    /// Set an agent's status. Going offline gives up what they hold: each
    /// conversation goes back to the queue it waited in (or the one it
    /// routes to), packet kept, with `agent_unavailable` as the reason, so
    /// an auto queue gives it to someone else and a pull queue lists it.
    /// Going online runs automatic assignment. Returns the conversations
    /// put back, oldest first.
    pub async fn set_agent_status(
        &self,
        agent_id: AgentId,
        status: AgentStatus,
    ) -> Result<Vec<ConversationId>, EngineError> {
        self.store().set_agent_status(agent_id, status).await?;
        let mut requeued = Vec::new();
        if status == AgentStatus::Offline {
            let held = self
                .store()
                .conversations(&ConversationFilter {
                    stages: vec![Stage::Human],
                    assigned_agent: Some(agent_id),
                    ..Default::default()
                })
                .await?;
            for conversation in held {
                let state = self
                    .with_turn(conversation.id, |engine, turn| {
                        Box::pin(async move { engine.requeue_from_offline(turn, agent_id).await })
                    })
                    .await?;
                if state.stage == Stage::Queued {
                    requeued.push(conversation.id);
                }
            }
        }
        if status == AgentStatus::Online || !requeued.is_empty() {
            self.dispatch_after_change().await;
        }
        Ok(requeued)
    }

    /// One held conversation of an agent who went offline, back to waiting.
    async fn requeue_from_offline(
        &self,
        turn: &mut crate::engine::Turn,
        agent_id: AgentId,
    ) -> Result<(), EngineError> {
        // Checked again under the lock: the agent may have resolved or
        // handed it on meanwhile.
        if turn.state.stage != Stage::Human || turn.state.assigned_agent != Some(agent_id) {
            return Ok(());
        }
        let queue = match turn.state.queue.clone() {
            Some(queue) => queue,
            None => self.route(&turn.state).name.clone(),
        };
        let evidence = json!({
            "reason": EscalationReason::AgentUnavailable.as_str(),
            "status": AgentStatus::Offline,
            "from_queue": turn.state.queue,
            "from_agent": agent_id,
        });
        let priority = turn.state.priority;
        let kind = EventKind::Requeued { queue, priority, evidence, note: None };
        turn.push(Actor::System, kind)?;
        self.queue_update(turn, "queue_position").await
    }

    /// A customer message while waiting with nobody who could take it at
    /// work becomes a follow-up, once per wait.
    pub(crate) async fn note_follow_up(
        &self,
        turn: &mut crate::engine::Turn,
        message_seq: u64,
    ) -> Result<(), EngineError> {
        if turn.state.follow_up || turn.state.stage != Stage::Queued {
            return Ok(());
        }
        let queue = self.queue_config(turn.state.queue.as_deref().unwrap_or_default());
        let open = self.workspace().settings.queue.business_hours.is_open(turn.now);
        let nobody =
            self.available_agents(&queue, turn.state.language.as_deref(), turn.now).await? == 0;
        if !open || nobody {
            turn.push(Actor::System, EventKind::FollowUpRequested { message_seq })?;
        }
        Ok(())
    }

    /// The priority of an escalation in this turn, with its factors.
    pub(crate) async fn turn_priority_of(
        &self,
        turn: &crate::engine::Turn,
        reason: EscalationReason,
    ) -> Result<Priority, EngineError> {
        let customer = self.store().customer(turn.state.customer_id).await?;
        let tier = customer
            .as_ref()
            .and_then(|c| c.profile.get("tier"))
            .and_then(Value::as_str)
            .map(str::to_lowercase);
        let mut events = self.store().events(turn.state.id, turn.state.segment_start).await?;
        events.retain(|e| e.seq <= turn.base_seq);
        events.extend(turn.new.iter().cloned());
        let analyses = events.iter().filter_map(|e| match &e.kind {
            EventKind::MessageAnalysed { analysis, .. } => Some(analysis),
            _ => None,
        });
        Ok(escalation_priority(reason, analyses, tier.as_deref(), &self.workspace().settings.queue))
    }

    /// The customer-facing line when nobody who could take the queue is
    /// online: the workspace's `no_agent_online` template if it has one.
    pub(crate) fn no_agent_text(&self) -> String {
        self.workspace().templates.render("no_agent_online", &[]).unwrap_or_else(|_| {
            "Nobody who can take this is online right now. Leave your message here and a \
             colleague will follow it up as soon as they are back."
                .to_string()
        })
    }
}

/// The evidence of an escalation with its priority's explanation added.
pub fn with_priority(evidence: Value, priority: &Priority) -> Value {
    let explained = json!({"value": priority.value, "factors": priority.factors});
    match evidence {
        Value::Object(mut map) => {
            map.insert("priority".into(), explained);
            Value::Object(map)
        }
        Value::Null => json!({"priority": explained}),
        other => json!({"trigger": other, "priority": explained}),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn working_hours_read_with_their_time_zone_and_bad_ones_say_why() {
        let hours = parse_working_hours("mon-fri 09:00-17:00, sat 10:00-12:00 Europe/Berlin");
        let hours = hours.unwrap();
        assert_eq!(hours.timezone, Tz::Europe__Berlin);
        assert_eq!(hours.periods.len(), 2);
        // Monday 2026-01-05 08:30 UTC is 09:30 in Berlin.
        assert!(hours.is_open(Utc.with_ymd_and_hms(2026, 1, 5, 8, 30, 0).unwrap()));
        assert!(!hours.is_open(Utc.with_ymd_and_hms(2026, 1, 5, 16, 30, 0).unwrap()));
        assert_eq!(parse_working_hours("mon 09:00-17:00").unwrap().timezone, Tz::UTC);
        assert_eq!(
            parse_working_hours("mon 17:00-09:00").unwrap_err(),
            "in `mon 17:00-09:00` the end is not after the start"
        );
        assert_eq!(
            parse_working_hours("funday 09:00-17:00").unwrap_err(),
            "`funday 09:00-17:00` is not a period like \"mon-fri 09:00-17:00\"; \
             a time zone goes last"
        );
    }

    #[test]
    fn skills_are_lower_cased_once_each_and_a_bad_one_is_named() {
        let skills = vec!["EN".to_string(), " billing ".into(), "en".into()];
        assert_eq!(clean_skills(&skills), Ok(vec!["en".to_string(), "billing".into()]));
        let err = clean_skills(&["bill ing".to_string()]).unwrap_err();
        assert_eq!(err, "skill `bill ing` must be 1 to 32 letters, digits, `_` or `-`");
    }

    #[test]
    fn waiting_adds_a_point_per_step_up_to_three() {
        assert_eq!(waiting_points(Duration::minutes(14), 15), 0);
        assert_eq!(waiting_points(Duration::minutes(15), 15), 1);
        assert_eq!(waiting_points(Duration::minutes(200), 15), MAX_WAITING_POINTS);
        assert_eq!(waiting_points(Duration::minutes(200), 0), 0);
    }
}
