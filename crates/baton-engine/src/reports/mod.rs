//! Reports: the numbers a support team pilots the hybrid model by, computed
//! from the event log only, with no I/O, so that the API, the CLI and the
//! dashboard print the same figures from the same events.
//!
//! - `facts`: one conversation's log folded into what the metrics need.
//! - this module: the filter, the summary and its breakdowns by intent,
//!   agent and time bucket. Every definition is written in
//!   `docs/metrics.md`; a change here is a change there.
//! - [`audit`]: the journey audit, a recommendation per intent.
//!
//! A report covers the conversations that *started* in its period, and
//! reads their events up to the period's end.

pub mod audit;
mod facts;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use baton_core::{Actor, AgentId, ConversationId, EscalationReason, Event};

use crate::workspace::Settings;

pub use facts::{Facts, Segment};

/// The `Decided` action an approval granted by a person is recorded with.
pub const APPROVAL_GRANTED: &str = "approval_granted";
/// The `Decided` action an approval refused by a person is recorded with.
pub const APPROVAL_REJECTED: &str = "approval_rejected";
/// The `Decided` actions that record what an agent did with a suggestion,
/// with the outcome each counts as. The suggestion's kind is read from
/// `detail.kind`.
pub const SUGGESTION_OUTCOMES: [(&str, &str); 3] = [
    ("suggestion_used", "used"),
    ("suggestion_edited", "edited"),
    ("suggestion_dismissed", "dismissed"),
];

/// How the breakdown by intent lists conversations without a main intent,
/// and the `intent` filter value that keeps them.
pub const NO_INTENT: &str = "-";

/// The `Decided` action an agent's rating of a suggestion is recorded with;
/// `detail.helpful` says which way.
pub const SUGGESTION_RATED: &str = crate::assist::SUGGESTION_RATED;

/// Which conversations a report covers. Empty fields do not filter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// Conversations started at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Conversations started before this instant; events after it are not
    /// read.
    pub to: Option<DateTime<Utc>>,
    /// Waited in this queue at least once (escalated or transferred to it).
    pub queue: Option<String>,
    /// With this main intent; [`NO_INTENT`] keeps those with none.
    pub intent: Option<String>,
    pub channel: Option<String>,
    /// Assigned to this agent at least once.
    pub agent: Option<AgentId>,
}

impl Filter {
    fn admits(&self, facts: &Facts) -> bool {
        self.from.is_none_or(|from| facts.started_at >= from)
            && self.to.is_none_or(|to| facts.started_at < to)
            && self.queue.as_ref().is_none_or(|q| facts.queues.contains(q))
            && self
                .intent
                .as_ref()
                .is_none_or(|i| facts.intent.as_deref().unwrap_or(NO_INTENT) == i.as_str())
            && self.channel.as_ref().is_none_or(|c| &facts.channel == c)
            && self.agent.is_none_or(|a| facts.agents.contains(&a))
    }
}

/// The conversations a filter admits, folded, in order of their start.
pub fn conversations(events: &[Event], filter: &Filter, settings: &Settings) -> Vec<Facts> {
    let mut logs: HashMap<ConversationId, Vec<&Event>> = HashMap::new();
    for event in events {
        logs.entry(event.conversation_id).or_default().push(event);
    }
    let window = Duration::minutes(settings.lifecycle.reopen_window_minutes);
    let small_talk = &settings.reports.small_talk_intents;
    let mut out: Vec<(DateTime<Utc>, ConversationId, Facts)> = logs
        .into_iter()
        .filter_map(|(id, mut log)| {
            log.sort_by_key(|e| e.seq);
            let facts = facts::fold(&log, filter.to, window, small_talk)?;
            Some((facts.started_at, id, facts))
        })
        .filter(|(_, _, facts)| filter.admits(facts))
        .collect();
    out.sort_by_key(|(at, id, _)| (*at, id.to_string()));
    out.into_iter().map(|(_, _, facts)| facts).collect()
}

/// A duration metric over a set of samples, in whole seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    pub count: usize,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

impl Durations {
    fn of(mut samples: Vec<i64>) -> Self {
        samples.sort_unstable();
        Durations {
            count: samples.len(),
            median_seconds: nearest_rank(&samples, 50),
            p90_seconds: nearest_rank(&samples, 90),
        }
    }
}

/// The nearest-rank percentile of sorted samples: the smallest sample with
/// at least `p` percent of the samples at or below it.
fn nearest_rank(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

/// `part / whole`, or `None` when there is nothing to divide by.
fn rate(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Csat {
    /// Ratings asked for (once per resolution).
    pub requested: usize,
    pub received: usize,
    pub response_rate: Option<f64>,
    pub average: Option<f64>,
    /// Count per score, `"1"` to `"5"`.
    pub distribution: BTreeMap<String, usize>,
}

impl Csat {
    fn of<'a>(facts: impl Iterator<Item = &'a Facts> + Clone) -> Self {
        let requested = facts.clone().map(|f| f.csat_requests as usize).sum();
        let scores: Vec<u8> = facts.flat_map(|f| f.csat_scores.iter().copied()).collect();
        let mut distribution: BTreeMap<String, usize> =
            (1..=5).map(|s: u8| (s.to_string(), 0)).collect();
        for score in &scores {
            *distribution.entry(score.to_string()).or_default() += 1;
        }
        let sum: u32 = scores.iter().map(|s| u32::from(*s)).sum();
        Csat {
            requested,
            received: scores.len(),
            response_rate: rate(scores.len(), requested),
            average: (!scores.is_empty()).then(|| f64::from(sum) / scores.len() as f64),
            distribution,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Effort {
    /// Customer messages in resolved conversations per resolved conversation.
    pub turns_per_resolution: Option<f64>,
    pub repeated_questions: usize,
    pub transfers: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolStats {
    pub calls: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub success_rate: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Approvals {
    /// Escalations with reason `approval_required`.
    pub requested: usize,
    pub granted: usize,
    pub rejected: usize,
    /// Requested and neither granted nor rejected (yet).
    pub pending: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SuggestionStats {
    pub used: usize,
    pub edited: usize,
    pub dismissed: usize,
    /// Used or edited, of all suggestions acted on.
    pub acceptance_rate: Option<f64>,
}

/// What agents said of the copilot: one-click ratings of suggestions, and
/// the weekly question "Did the copilot save you time this week?" (1-5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CopilotFeedback {
    pub helpful: usize,
    pub not_helpful: usize,
    /// Helpful, of all ratings.
    pub helpful_rate: Option<f64>,
    /// Answers to the weekly question given in the period.
    pub pulse_responses: usize,
    pub pulse_average: Option<f64>,
}

/// Return on the hybrid model, with the workspace's figures it rests on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Roi {
    pub agent_hours_saved: f64,
    pub agent_hours_saved_assumption: String,
    pub cost_per_resolution: Option<f64>,
    pub cost_per_resolution_assumption: String,
    pub currency: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Period {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Everything `GET /api/v1/reports/summary` and `baton report` print.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub period: Period,
    pub conversations: usize,
    pub resolved: usize,
    pub contained: usize,
    pub containment_rate: Option<f64>,
    /// Conversations escalated at least once.
    pub escalated: usize,
    pub escalation_rate: Option<f64>,
    /// Escalations (not conversations) per reason; every reason is listed.
    pub escalations_by_reason: BTreeMap<String, usize>,
    pub first_response_bot: Durations,
    pub first_response_human: Durations,
    pub time_to_human: Durations,
    pub handle_time: Durations,
    pub resolution_time: Durations,
    pub csat: Csat,
    pub effort: Effort,
    pub tools: BTreeMap<String, ToolStats>,
    /// Every tool call together: the AI action success rate.
    pub tools_total: ToolStats,
    pub approvals: Approvals,
    pub suggestions: BTreeMap<String, SuggestionStats>,
    /// Every suggestion kind together: the suggestion acceptance rate.
    pub suggestions_total: SuggestionStats,
    #[serde(default)]
    pub copilot: CopilotFeedback,
    /// Share of the period each agent owned at least one conversation.
    pub agent_occupancy: BTreeMap<String, f64>,
    pub roi: Roi,
}

impl Summary {
    /// Add the answers to the weekly copilot question given in the period;
    /// they are kept beside the event log, so the caller reads them.
    pub fn with_pulse_scores(mut self, scores: &[u8]) -> Summary {
        self.copilot.pulse_responses = scores.len();
        self.copilot.pulse_average = (!scores.is_empty())
            .then(|| scores.iter().map(|s| f64::from(*s)).sum::<f64>() / scores.len() as f64);
        self
    }
}

/// The summary of the conversations a filter admits.
pub fn summary(events: &[Event], filter: &Filter, settings: &Settings) -> Summary {
    let facts = conversations(events, filter, settings);
    summarise(&facts, filter, settings)
}

fn summarise(facts: &[Facts], filter: &Filter, settings: &Settings) -> Summary {
    let n = facts.len();
    let resolved = facts.iter().filter(|f| f.resolved()).count();
    let contained = facts.iter().filter(|f| f.contained()).count();
    let escalated = facts.iter().filter(|f| f.escalated()).count();

    let mut by_reason: BTreeMap<String, usize> =
        EscalationReason::ALL.iter().map(|r| (r.as_str().to_string(), 0)).collect();
    for (reason, _) in facts.iter().flat_map(|f| &f.escalations) {
        *by_reason.entry(reason.as_str().to_string()).or_default() += 1;
    }

    let customer_turns: usize =
        facts.iter().filter(|f| f.resolved()).map(|f| f.customer_messages as usize).sum();
    let effort = Effort {
        turns_per_resolution: (resolved > 0).then(|| customer_turns as f64 / resolved as f64),
        repeated_questions: facts.iter().map(|f| f.repeated_questions as usize).sum(),
        transfers: facts.iter().map(|f| f.transfers as usize).sum(),
    };

    let mut tools: BTreeMap<String, ToolStats> = BTreeMap::new();
    let mut tools_total = ToolStats::default();
    for (tool, ok) in facts.iter().flat_map(|f| &f.tools) {
        for stats in [tools.entry(tool.clone()).or_default(), &mut tools_total] {
            stats.calls += 1;
            if *ok {
                stats.succeeded += 1;
            } else {
                stats.failed += 1;
            }
        }
    }
    for stats in tools.values_mut().chain([&mut tools_total]) {
        stats.success_rate = rate(stats.succeeded, stats.calls);
    }

    let sum = |get: fn(&Facts) -> u32| facts.iter().map(|f| get(f) as usize).sum::<usize>();
    let requested = sum(|f| f.approvals_requested);
    let (granted, rejected) = (sum(|f| f.approvals_granted), sum(|f| f.approvals_rejected));
    let approvals = Approvals {
        requested,
        granted,
        rejected,
        pending: requested.saturating_sub(granted + rejected),
    };

    let mut suggestions: BTreeMap<String, SuggestionStats> = BTreeMap::new();
    let mut suggestions_total = SuggestionStats::default();
    for (_, kind, outcome) in facts.iter().flat_map(|f| &f.suggestions) {
        for stats in [suggestions.entry(kind.clone()).or_default(), &mut suggestions_total] {
            match outcome.as_str() {
                "used" => stats.used += 1,
                "edited" => stats.edited += 1,
                _ => stats.dismissed += 1,
            }
        }
    }
    for stats in suggestions.values_mut().chain([&mut suggestions_total]) {
        let acted = stats.used + stats.edited + stats.dismissed;
        stats.acceptance_rate = rate(stats.used + stats.edited, acted);
    }

    let ratings: Vec<bool> =
        facts.iter().flat_map(|f| &f.suggestion_ratings).map(|(_, _, helpful)| *helpful).collect();
    let helpful = ratings.iter().filter(|h| **h).count();
    let copilot = CopilotFeedback {
        helpful,
        not_helpful: ratings.len() - helpful,
        helpful_rate: rate(helpful, ratings.len()),
        ..CopilotFeedback::default()
    };

    let handle: Vec<i64> = facts.iter().filter_map(Facts::handle_seconds).collect();
    let handle_total: i64 = handle.iter().sum();
    Summary {
        period: Period { from: filter.from, to: filter.to },
        conversations: n,
        resolved,
        contained,
        containment_rate: rate(contained, n),
        escalated,
        escalation_rate: rate(escalated, n),
        escalations_by_reason: by_reason,
        first_response_bot: Durations::of(
            facts.iter().filter_map(|f| f.bot_first_response).collect(),
        ),
        first_response_human: Durations::of(
            facts.iter().filter_map(|f| f.human_first_response).collect(),
        ),
        time_to_human: Durations::of(
            facts.iter().flat_map(|f| &f.escalations).filter_map(|(_, wait)| *wait).collect(),
        ),
        handle_time: Durations::of(handle),
        resolution_time: Durations::of(facts.iter().filter_map(|f| f.resolution).collect()),
        csat: Csat::of(facts.iter()),
        effort,
        tools,
        tools_total,
        approvals,
        suggestions,
        suggestions_total,
        copilot,
        agent_occupancy: occupancy(facts, filter)
            .into_iter()
            .map(|(agent, share)| (agent.to_string(), share))
            .collect(),
        roi: roi(n, contained, resolved, handle_total, settings),
    }
}

/// A start and an end instant.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// Per agent, the share of the period during which they owned at least one
/// conversation (overlapping conversations count once). The period runs
/// from the filter's `from` (or the first conversation's start) to its `to`
/// (or the last ended segment).
fn occupancy(facts: &[Facts], filter: &Filter) -> BTreeMap<AgentId, f64> {
    let segments: Vec<&Segment> = facts.iter().flat_map(|f| &f.segments).collect();
    let Some(first_start) = facts.iter().map(|f| f.started_at).min() else {
        return BTreeMap::new();
    };
    let start = filter.from.unwrap_or(first_start);
    let end = match filter.to.or_else(|| segments.iter().map(|s| s.end).max()) {
        Some(end) if end > start => end,
        _ => return BTreeMap::new(),
    };
    let span = (end - start).num_seconds() as f64;

    let mut by_agent: BTreeMap<AgentId, Vec<Span>> = BTreeMap::new();
    for s in segments {
        let (a, b) = (s.start.max(start), s.end.min(end));
        if b > a {
            by_agent.entry(s.agent).or_default().push((a, b));
        }
    }
    by_agent
        .into_iter()
        .map(|(agent, mut spans)| {
            spans.sort();
            let mut busy = 0;
            let mut current: Option<Span> = None;
            for (a, b) in spans {
                current = match current {
                    Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
                    Some((ca, cb)) => {
                        busy += (cb - ca).num_seconds();
                        Some((a, b))
                    }
                    None => Some((a, b)),
                };
            }
            if let Some((ca, cb)) = current {
                busy += (cb - ca).num_seconds();
            }
            (agent, busy as f64 / span)
        })
        .collect()
}

fn roi(
    conversations: usize,
    contained: usize,
    resolved: usize,
    handle_seconds: i64,
    settings: &Settings,
) -> Roi {
    let figures = &settings.reports;
    let currency = settings.workspace.currency.clone();
    let saved = contained as f64 * figures.agent_minutes_per_conversation / 60.0;
    let agent_cost = handle_seconds as f64 / 3600.0 * figures.agent_cost_per_hour;
    let ai_cost = conversations as f64 * figures.ai_cost_per_conversation;
    Roi {
        agent_hours_saved: saved,
        agent_hours_saved_assumption: format!(
            "{contained} contained conversations x {} agent minutes each \
             ([reports] agent_minutes_per_conversation)",
            figures.agent_minutes_per_conversation
        ),
        cost_per_resolution: (resolved > 0).then(|| (agent_cost + ai_cost) / resolved as f64),
        cost_per_resolution_assumption: format!(
            "({handle_seconds} s of agent handle time at {} {currency}/hour \
             + {conversations} conversations at {} {currency} of AI each) / {resolved} resolved",
            figures.agent_cost_per_hour, figures.ai_cost_per_conversation
        ),
        currency,
    }
}

/// One row of the breakdown by main intent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntentRow {
    /// `-` for conversations with no main intent.
    pub intent: String,
    pub conversations: usize,
    pub contained: usize,
    pub containment_rate: Option<f64>,
    pub escalated: usize,
    pub escalation_rate: Option<f64>,
    /// Only the reasons that occur.
    pub escalations_by_reason: BTreeMap<String, usize>,
    pub csat: Csat,
    /// The rating of the conversations no person wrote in.
    pub csat_ai_only: Option<f64>,
    pub emotional_messages: usize,
    pub knowledge_answers: usize,
    /// Bot answers agents marked wrong (not counting marks a supervisor
    /// rejected).
    #[serde(default)]
    pub answers_marked_wrong: usize,
}

/// The breakdown by main intent, most conversations first (then by name).
pub fn intents(events: &[Event], filter: &Filter, settings: &Settings) -> Vec<IntentRow> {
    let facts = conversations(events, filter, settings);
    let mut groups: BTreeMap<String, Vec<&Facts>> = BTreeMap::new();
    for f in &facts {
        groups.entry(f.intent.clone().unwrap_or_else(|| NO_INTENT.into())).or_default().push(f);
    }
    let mut rows: Vec<IntentRow> = groups
        .into_iter()
        .map(|(intent, group)| {
            let n = group.len();
            let contained = group.iter().filter(|f| f.contained()).count();
            let escalated = group.iter().filter(|f| f.escalated()).count();
            let mut by_reason = BTreeMap::new();
            for (reason, _) in group.iter().flat_map(|f| &f.escalations) {
                *by_reason.entry(reason.as_str().to_string()).or_default() += 1;
            }
            let ai_only = Csat::of(group.iter().copied().filter(|f| !f.human_message));
            IntentRow {
                intent,
                conversations: n,
                contained,
                containment_rate: rate(contained, n),
                escalated,
                escalation_rate: rate(escalated, n),
                escalations_by_reason: by_reason,
                csat: Csat::of(group.iter().copied()),
                csat_ai_only: ai_only.average,
                emotional_messages: group.iter().map(|f| f.emotional_messages as usize).sum(),
                knowledge_answers: group.iter().map(|f| f.knowledge_answers as usize).sum(),
                answers_marked_wrong: group.iter().map(|f| f.answers_marked_wrong as usize).sum(),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.conversations.cmp(&a.conversations).then(a.intent.cmp(&b.intent)));
    rows
}

/// One row of the breakdown by agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentRow {
    pub agent_id: AgentId,
    /// The agent's name, when the caller knows it.
    pub name: Option<String>,
    /// Conversations assigned to the agent at least once.
    pub conversations: usize,
    /// Resolutions the agent made.
    pub resolved: usize,
    pub handle_time: Durations,
    /// Ratings of the conversations the agent resolved.
    pub csat: Csat,
    pub occupancy: Option<f64>,
}

/// The breakdown by agent, in order of name then id.
pub fn agents(
    events: &[Event],
    filter: &Filter,
    settings: &Settings,
    names: &HashMap<AgentId, String>,
) -> Vec<AgentRow> {
    let facts = conversations(events, filter, settings);
    let occupancy = occupancy(&facts, filter);
    let mut ids: Vec<AgentId> = facts.iter().flat_map(|f| f.agents.iter().copied()).collect();
    ids.sort();
    ids.dedup();
    let mut rows: Vec<AgentRow> = ids
        .into_iter()
        .map(|agent| {
            let theirs: Vec<&Facts> = facts.iter().filter(|f| f.agents.contains(&agent)).collect();
            let resolved_by_them = |f: &&Facts| f.resolved_by.contains(&Actor::Agent(agent));
            AgentRow {
                agent_id: agent,
                name: names.get(&agent).cloned(),
                conversations: theirs.len(),
                resolved: theirs
                    .iter()
                    .map(|f| f.resolved_by.iter().filter(|a| **a == Actor::Agent(agent)).count())
                    .sum(),
                handle_time: Durations::of(
                    theirs
                        .iter()
                        .filter(|f| f.segments.iter().any(|s| s.agent == agent))
                        .map(|f| f.handle_seconds_of(agent))
                        .collect(),
                ),
                csat: Csat::of(theirs.iter().copied().filter(resolved_by_them)),
                occupancy: occupancy.get(&agent).copied(),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.agent_id.cmp(&b.agent_id)));
    rows
}

/// The width of a time-series bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Hour,
    Day,
}

/// A bucket name that is neither `hour` nor `day`.
#[derive(Debug, thiserror::Error)]
#[error("unknown bucket `{0}`: use `hour` or `day`")]
pub struct UnknownBucket(pub String);

impl FromStr for Bucket {
    type Err = UnknownBucket;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hour" => Ok(Bucket::Hour),
            "day" => Ok(Bucket::Day),
            other => Err(UnknownBucket(other.to_string())),
        }
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        })
    }
}

/// One bucket of the time series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The bucket's start, in UTC.
    pub start: DateTime<Utc>,
    pub conversations: usize,
    pub resolved: usize,
    pub contained: usize,
    pub escalated: usize,
    pub csat_average: Option<f64>,
}

/// Conversations per bucket of their start time (UTC), oldest first.
/// Buckets without conversations are left out.
pub fn timeseries(
    events: &[Event],
    filter: &Filter,
    settings: &Settings,
    bucket: Bucket,
) -> Vec<Point> {
    let width = match bucket {
        Bucket::Hour => Duration::hours(1),
        Bucket::Day => Duration::days(1),
    };
    let mut groups: BTreeMap<DateTime<Utc>, Vec<Facts>> = BTreeMap::new();
    for f in conversations(events, filter, settings) {
        // Rounding down to a whole hour or day of UTC cannot fail for
        // timestamps chrono can hold; fall back to the instant itself.
        let start = f.started_at.duration_trunc(width).unwrap_or(f.started_at);
        groups.entry(start).or_default().push(f);
    }
    groups
        .into_iter()
        .map(|(start, group)| Point {
            start,
            conversations: group.len(),
            resolved: group.iter().filter(|f| f.resolved()).count(),
            contained: group.iter().filter(|f| f.contained()).count(),
            escalated: group.iter().filter(|f| f.escalated()).count(),
            csat_average: Csat::of(group.iter()).average,
        })
        .collect()
}

/// A filter as typed in a query string or on the command line, before its
/// values are checked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub queue: Option<String>,
    pub intent: Option<String>,
    pub channel: Option<String>,
    pub agent: Option<String>,
}

/// A filter value that cannot be used, named with its field.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum FilterError {
    #[error(
        "`{field}` is not a date or an instant: `{value}`; write 2026-03-02 or \
         2026-03-02T09:00:00Z"
    )]
    BadInstant { field: &'static str, value: String },
    #[error("`agent` is not an agent id: `{0}`")]
    BadAgent(String),
    #[error("`from` ({from}) must be before `to` ({to})")]
    EmptyPeriod { from: DateTime<Utc>, to: DateTime<Utc> },
    #[error("`queue` names no queue of the workspace: `{queue}`; the queues are {known}")]
    UnknownQueue { queue: String, known: String },
}

impl FilterQuery {
    /// Check every value; empty strings count as left out.
    pub fn resolve(&self) -> Result<Filter, FilterError> {
        fn text(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        let from = text(&self.from).map(|v| parse_instant("from", v)).transpose()?;
        let to = text(&self.to).map(|v| parse_instant("to", v)).transpose()?;
        if let (Some(from), Some(to)) = (from, to) {
            if from >= to {
                return Err(FilterError::EmptyPeriod { from, to });
            }
        }
        let agent = text(&self.agent)
            .map(|v| v.parse::<AgentId>().map_err(|_| FilterError::BadAgent(v.to_string())))
            .transpose()?;
        Ok(Filter {
            from,
            to,
            queue: text(&self.queue).map(str::to_string),
            intent: text(&self.intent).map(str::to_string),
            channel: text(&self.channel).map(str::to_string),
            agent,
        })
    }

    /// Check every value as [`FilterQuery::resolve`] does, and that the
    /// queue is one of the workspace's: a misspelt queue would otherwise
    /// read as a queue nobody waited in.
    // TODO: a queue removed from the workspace can no longer be filtered
    // on, though old conversations waited in it; the events do not say
    // which names were queues without reading them all first.
    pub fn resolve_in(&self, settings: &Settings) -> Result<Filter, FilterError> {
        let filter = self.resolve()?;
        let queues = &settings.queue.queues;
        if let Some(queue) = &filter.queue {
            if !queues.iter().any(|q| &q.name == queue) {
                let known: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
                return Err(FilterError::UnknownQueue {
                    queue: queue.clone(),
                    known: known.join(", "),
                });
            }
        }
        Ok(filter)
    }

    /// The filter as `key=value` pairs, for a query string.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("from", &self.from),
            ("to", &self.to),
            ("queue", &self.queue),
            ("intent", &self.intent),
            ("channel", &self.channel),
            ("agent", &self.agent),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }
}

/// An RFC 3339 instant, or a date meaning its 00:00 UTC.
pub fn parse_instant(field: &'static str, value: &str) -> Result<DateTime<Utc>, FilterError> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(value) {
        return Ok(instant.to_utc());
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| FilterError::BadInstant { field, value: value.to_string() })
}
