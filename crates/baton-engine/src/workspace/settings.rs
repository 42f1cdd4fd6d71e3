//! `workspace.toml`: the typed settings of a workspace.
//!
//! Read in two stages: the file is first deserialised into raw structs that
//! keep the byte span of every value that needs checking, then resolved into
//! [`Settings`], where every field holds a checked value or its documented
//! default. Every key is optional; an empty file is a valid configuration.

use std::collections::BTreeMap;
use std::ops::Range;

use chrono::{DateTime, Datelike, Days, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use super::queues::{self, QueueConfig, RawQueueDef};
use super::source::{Problem, Source};
use crate::tls::{self, RawTls, TlsSettings};

/// Everything `workspace.toml` configures.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub workspace: WorkspaceSettings,
    pub nlu: NluSettings,
    pub escalation: EscalationSettings,
    pub lifecycle: LifecycleSettings,
    pub queue: QueueSettings,
    pub knowledge: KnowledgeSettings,
    pub reports: ReportSettings,
    /// The agent created on first start; set only in demo workspaces.
    pub demo: Option<DemoAgent>,
    /// `[tls]`: the CA bundle trusted beside the machine's roots.
    pub tls: TlsSettings,
}

/// `[workspace]`: who the bot is and where it lives.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkspaceSettings {
    /// Machine name of the workspace. Default: the folder name.
    pub name: String,
    /// The name the bot introduces itself with (`bot_name` in the file).
    /// Default: `"Baton"`.
    pub bot_name: String,
    /// The company the bot speaks for. Default: the workspace name.
    pub company: String,
    /// BCP 47 locale of the replies. Default: `"en-US"`.
    pub locale: String,
    /// IANA time zone used for dates shown to customers and, unless
    /// `[queue] timezone` says otherwise, for business hours. Default: `UTC`.
    pub timezone: Tz,
    /// ISO 4217 currency of amounts. Default: `"USD"`.
    pub currency: String,
}

/// `[nlu]`: how sure the language layer must be before the bot acts.
#[derive(Clone, Debug, PartialEq)]
pub struct NluSettings {
    /// A message whose best intent is less likely than this is out of scope.
    /// Default: `0.3`.
    pub out_of_scope_threshold: f32,
    /// Between the out-of-scope threshold and this, the bot asks which of the
    /// likely intents was meant instead of acting. Default: `0.55`.
    pub clarify_below: f32,
    /// Regular expressions that find order numbers in a message, tried in
    /// order. Checked to compile at load. Default: `["#?W\d{7}"]`.
    pub order_patterns: Vec<String>,
}

/// `[escalation]`: when the bot hands over to a person.
#[derive(Clone, Debug, PartialEq)]
pub struct EscalationSettings {
    /// Escalate when a message's sentiment score (from -1 to 1) is at or
    /// below this. Default: `-0.6`.
    pub sentiment_threshold: f32,
    /// Escalate after this many misunderstood turns in a row. Default: `2`.
    pub misunderstood_turns: u32,
    /// Intents that always go to a person, in addition to those marked
    /// `human_only = true` in `intents.toml`. Default: none.
    pub human_only_intents: Vec<String>,
}

/// `[lifecycle]`: what happens after a conversation is resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct LifecycleSettings {
    /// A resolved conversation that gets a new customer message within this
    /// many minutes goes back to the agent who resolved it, if they are
    /// online; later, it goes to the bot. Default: `60`.
    pub reopen_window_minutes: i64,
}

/// `[queue]`: where escalated conversations wait.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueSettings {
    /// The queue escalations land in (`default_queue` in the file).
    /// Default: `"general"`.
    pub default_queue: String,
    /// Expected minutes of agent time per conversation ahead in the queue,
    /// used to tell a customer their wait. Default: `5`.
    pub minutes_per_conversation: u32,
    /// When agents are at work. Default: always.
    pub business_hours: BusinessHours,
    /// Priority points a customer's tier adds (the `tier` of their
    /// profile). Default: `{ vip = 2 }`.
    pub tier_priority: BTreeMap<String, i32>,
    /// Every this many minutes of waiting add one priority point, at most
    /// three; 0 turns it off. Default: `15`.
    pub aging_minutes: u32,
    /// The queues of `[queues.<name>]`, by name, always including
    /// `default_queue`.
    pub queues: Vec<QueueConfig>,
}

/// `[knowledge]`: when an article is good enough to answer with.
#[derive(Clone, Debug, PartialEq)]
pub struct KnowledgeSettings {
    /// The least share of the question's content words a passage must
    /// contain to be quoted. Default: `0.5`.
    pub min_coverage: f32,
    /// How many articles an answer cites at most. Default: `2`.
    pub max_hits: usize,
}

/// `[reports]`: the figures behind the return-on-the-hybrid-model numbers,
/// which the event log cannot know, and how conversations are labelled.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportSettings {
    /// Minutes of agent time a conversation takes when a person handles it
    /// from start to end; each conversation the AI contains saves this much.
    /// Default: `8`.
    pub agent_minutes_per_conversation: f64,
    /// What one hour of agent time costs, in the workspace currency.
    /// Default: `30`.
    pub agent_cost_per_hour: f64,
    /// What the AI costs per conversation it takes part in (every
    /// conversation), in the workspace currency. Default: `0.1`.
    pub ai_cost_per_conversation: f64,
    /// Intents passed over when choosing a conversation's main intent, so
    /// that a "hello" first does not label the whole conversation.
    /// Default: `["greeting", "goodbye"]`.
    pub small_talk_intents: Vec<String>,
}

/// `[demo]`: the agent account a demo workspace creates on first start.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoAgent {
    pub email: String,
    pub name: String,
    pub password: String,
}

impl std::fmt::Debug for DemoAgent {
    // The password stays out of logs even for a demo account.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoAgent")
            .field("email", &self.email)
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Opening times of the support desk in one time zone.
#[derive(Clone, Debug, PartialEq)]
pub struct BusinessHours {
    pub timezone: Tz,
    /// Opening periods; empty means open around the clock.
    pub periods: Vec<OpeningPeriod>,
}

/// The desk is open on `days` from `open` (inclusive) to `close`
/// (exclusive), local time.
#[derive(Clone, Debug, PartialEq)]
pub struct OpeningPeriod {
    pub days: Vec<Weekday>,
    pub open: NaiveTime,
    pub close: NaiveTime,
}

impl NluSettings {
    /// The order patterns, compiled. Patterns were checked at load, so none
    /// is dropped for a workspace that loaded.
    pub fn order_regexes(&self) -> Vec<regex::Regex> {
        self.order_patterns.iter().filter_map(|p| regex::Regex::new(p).ok()).collect()
    }
}

impl QueueSettings {
    /// The wait to tell a customer at a 1-based queue position: each
    /// conversation up to and including theirs takes
    /// `minutes_per_conversation`.
    pub fn wait_minutes(&self, position: u32) -> u32 {
        position.saturating_mul(self.minutes_per_conversation)
    }

    /// The queue a conversation with this intent and language goes to.
    pub fn route(&self, intent: Option<&str>, language: Option<&str>) -> &QueueConfig {
        queues::route(&self.queues, &self.default_queue, intent, language)
    }

    /// A queue by name.
    pub fn queue(&self, name: &str) -> Option<&QueueConfig> {
        self.queues.iter().find(|q| q.name == name)
    }
}

impl BusinessHours {
    /// Open around the clock.
    pub fn always() -> BusinessHours {
        BusinessHours { timezone: Tz::UTC, periods: Vec::new() }
    }

    /// Whether the desk is open at an instant.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        if self.periods.is_empty() {
            return true;
        }
        let Some(local) = self.local(at) else {
            return false;
        };
        let (day, time) = (local.weekday(), local.time());
        self.periods.iter().any(|p| p.days.contains(&day) && p.open <= time && time < p.close)
    }

    /// The first instant at or after `at` when the desk is open: `at` itself
    /// when it is open now, `None` when no period names any day.
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(at) {
            return Some(at);
        }
        let today = self.local(at)?.date();

        // A week and a day ahead covers every weekly schedule, including a
        // desk that opens only on today's weekday, earlier than now.
        for offset in 0..=7 {
            let date = today.checked_add_days(Days::new(offset))?;
            let opening = self
                .periods
                .iter()
                .filter(|p| p.days.contains(&date.weekday()))
                .filter_map(|p| self.instant(date.and_time(p.open)))
                .filter(|start| *start > at)
                .min();
            if opening.is_some() {
                return opening;
            }
        }
        None
    }

    /// The next opening as words for the `outside_hours` template, in the
    /// desk's local time: "today at 08:00", "tomorrow at 10:00" or "on
    /// Monday at 08:00". `None` when the desk never opens.
    pub fn opening_text(&self, at: DateTime<Utc>) -> Option<String> {
        let opening = self.local(self.next_opening(at)?)?;
        let today = self.local(at)?.date();
        let time = opening.format("%H:%M");
        let days_ahead = (opening.date() - today).num_days();
        Some(match days_ahead {
            0 => format!("today at {time}"),
            1 => format!("tomorrow at {time}"),
            _ => format!("on {} at {time}", opening.format("%A")),
        })
    }

    /// An instant as local wall-clock time; `None` at the very ends of the
    /// calendar, where the local time cannot be represented.
    fn local(&self, at: DateTime<Utc>) -> Option<NaiveDateTime> {
        let utc = at.naive_utc();
        let offset = self.timezone.offset_from_utc_datetime(&utc).fix();
        utc.checked_add_offset(offset)
    }

    /// A local wall-clock time as an instant. A time skipped by a daylight
    /// saving change is taken an hour later, when the clocks show it again.
    fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let resolved = self.timezone.from_local_datetime(&local).earliest().or_else(|| {
            let later = local.checked_add_signed(chrono::Duration::hours(1))?;
            self.timezone.from_local_datetime(&later).earliest()
        })?;
        Some(resolved.with_timezone(&Utc))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            workspace: WorkspaceSettings {
                name: "workspace".into(),
                bot_name: "Baton".into(),
                company: "workspace".into(),
                locale: "en-US".into(),
                timezone: Tz::UTC,
                currency: "USD".into(),
            },
            nlu: NluSettings {
                out_of_scope_threshold: 0.3,
                clarify_below: 0.55,
                order_patterns: vec![r"#?W\d{7}".into()],
            },
            escalation: EscalationSettings {
                sentiment_threshold: -0.6,
                misunderstood_turns: 2,
                human_only_intents: Vec::new(),
            },
            lifecycle: LifecycleSettings { reopen_window_minutes: 60 },
            queue: QueueSettings {
                default_queue: "general".into(),
                minutes_per_conversation: 5,
                business_hours: BusinessHours::always(),
                tier_priority: BTreeMap::from([("vip".to_string(), 2)]),
                aging_minutes: 15,
                queues: vec![QueueConfig::implicit("general")],
            },
            knowledge: KnowledgeSettings { min_coverage: 0.5, max_hits: 2 },
            reports: ReportSettings {
                agent_minutes_per_conversation: 8.0,
                agent_cost_per_hour: 30.0,
                ai_cost_per_conversation: 0.1,
                small_talk_intents: vec!["greeting".into(), "goodbye".into()],
            },
            demo: None,
            tls: TlsSettings::default(),
        }
    }
}

// ---- raw file layout ----

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSettings {
    workspace: RawWorkspace,
    nlu: RawNlu,
    escalation: RawEscalation,
    lifecycle: RawLifecycle,
    queue: RawQueue,
    knowledge: RawKnowledge,
    reports: RawReports,
    queues: BTreeMap<String, RawQueueDef>,
    demo: Option<DemoAgent>,
    tls: RawTls,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawWorkspace {
    name: Option<String>,
    bot_name: Option<String>,
    company: Option<String>,
    locale: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    currency: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawNlu {
    out_of_scope_threshold: Option<Spanned<f32>>,
    clarify_below: Option<Spanned<f32>>,
    order_patterns: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawEscalation {
    sentiment_threshold: Option<Spanned<f32>>,
    misunderstood_turns: Option<Spanned<u32>>,
    human_only_intents: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLifecycle {
    reopen_window_minutes: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawQueue {
    default_queue: Option<String>,
    minutes_per_conversation: Option<u32>,
    timezone: Option<Spanned<String>>,
    hours: Vec<RawPeriod>,
    tier_priority: Option<BTreeMap<String, Spanned<i32>>>,
    aging_minutes: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriod {
    days: Spanned<Vec<String>>,
    open: Spanned<String>,
    close: Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawKnowledge {
    min_coverage: Option<Spanned<f32>>,
    max_hits: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawReports {
    agent_minutes_per_conversation: Option<Spanned<f64>>,
    agent_cost_per_hour: Option<Spanned<f64>>,
    ai_cost_per_conversation: Option<Spanned<f64>>,
    small_talk_intents: Option<Vec<String>>,
}

/// Where in `workspace.toml` each human-only intent name was written, so
/// that an unknown name can be reported on its line.
/// Each entry: the name, its span, and the key that named it.
pub(crate) type NameSpans = Vec<(String, Range<usize>, String)>;

/// Parses `workspace.toml`. Problems are pushed; the settings returned hold
/// defaults wherever a value was wrong, so later checks can still run. The
/// name spans are `None` when the file could not be read as settings at all,
/// so that checks depending on it do not report problems that are not there.
pub(crate) fn parse(
    source: &Source,
    folder_name: &str,
    problems: &mut Vec<Problem>,
) -> (Settings, Option<NameSpans>) {
    let raw: RawSettings = match toml::from_str(&source.text) {
        Ok(raw) => raw,
        Err(e) => {
            problems.push(source.toml_error(&e));
            return (Settings::default(), None);
        }
    };
    let mut check = Checker { source, problems };

    let workspace = check.workspace(raw.workspace, folder_name);
    let nlu = check.nlu(raw.nlu);
    let (escalation, human_only_spans) = check.escalation(raw.escalation);
    let lifecycle = check.lifecycle(raw.lifecycle);
    let mut queue = check.queue(raw.queue, workspace.timezone);
    let (declared, queue_intents) =
        queues::resolve(check.source, raw.queues, &queue.default_queue, check.problems);
    queue.queues = declared;
    let knowledge = check.knowledge(raw.knowledge);
    if let Some(demo) = &raw.demo {
        check_demo_agent(check.source, demo, check.problems);
    }
    let reports = check.reports(raw.reports);
    let dir = source.path.parent().unwrap_or(std::path::Path::new("."));
    let tls = tls::check(raw.tls, dir, |span, msg| source.at(span, msg), check.problems);
    let settings = Settings {
        workspace,
        nlu,
        escalation,
        lifecycle,
        queue,
        knowledge,
        reports,
        demo: raw.demo,
        tls,
    };
    let mut spans = human_only_spans;
    spans.extend(queue_intents);
    (settings, Some(spans))
}

/// Resolves raw sections into settings, reporting each bad value on its
/// line and keeping the default in its place.
struct Checker<'a> {
    source: &'a Source,
    problems: &'a mut Vec<Problem>,
}

impl Checker<'_> {
    /// The value if `valid` says so; else a problem with `why` on its line.
    fn valid<T>(
        &mut self,
        value: Option<Spanned<T>>,
        valid: impl Fn(&T) -> bool,
        why: impl Fn(&T) -> String,
    ) -> Option<T> {
        let value = value?;
        if valid(value.get_ref()) {
            return Some(value.into_inner());
        }
        let message = why(value.get_ref());
        self.problems.push(self.source.at(value.span(), message));
        None
    }

    /// A number between 0 and 1.
    fn unit_interval(&mut self, value: Option<Spanned<f32>>) -> Option<f32> {
        self.valid(value, |v| (0.0..=1.0).contains(v), |v| format!("{v} is outside 0..1"))
    }

    /// An IANA time-zone name.
    fn timezone(&mut self, name: Option<Spanned<String>>) -> Option<Tz> {
        let name = self.valid(
            name,
            |n| n.parse::<Tz>().is_ok(),
            |n| format!("`{n}` is not an IANA time zone like \"Europe/Berlin\""),
        )?;
        name.parse().ok()
    }

    fn workspace(&mut self, raw: RawWorkspace, folder_name: &str) -> WorkspaceSettings {
        let defaults = Settings::default().workspace;
        let name = raw.name.unwrap_or_else(|| folder_name.to_string());
        let locale = self.valid(
            raw.locale,
            |l| is_locale(l),
            |l| format!("`{l}` is not a locale like \"en-US\""),
        );
        let timezone = self.timezone(raw.timezone);
        let currency = self.valid(
            raw.currency,
            |c| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase()),
            |c| format!("`{c}` is not a three-letter currency code like \"EUR\""),
        );
        WorkspaceSettings {
            company: raw.company.unwrap_or_else(|| name.clone()),
            name,
            bot_name: raw.bot_name.unwrap_or(defaults.bot_name),
            locale: locale.unwrap_or(defaults.locale),
            timezone: timezone.unwrap_or(defaults.timezone),
            currency: currency.unwrap_or(defaults.currency),
        }
    }

    fn nlu(&mut self, raw: RawNlu) -> NluSettings {
        let defaults = Settings::default().nlu;
        let clarify_span = raw.clarify_below.as_ref().map(|c| c.span());
        let out_of_scope = self.unit_interval(raw.out_of_scope_threshold);
        let clarify = self.unit_interval(raw.clarify_below);
        let out_of_scope_threshold = out_of_scope.unwrap_or(defaults.out_of_scope_threshold);
        let clarify_below = clarify.unwrap_or(defaults.clarify_below);
        if clarify_below < out_of_scope_threshold {
            let message = format!(
                "clarify_below ({clarify_below}) must not be below out_of_scope_threshold \
                 ({out_of_scope_threshold})"
            );
            self.problems.push(match clarify_span {
                Some(span) => self.source.at(span, message),
                None => self.source.whole(message),
            });
        }

        let order_patterns = match raw.order_patterns {
            None => defaults.order_patterns,
            Some(patterns) => patterns
                .into_iter()
                .filter_map(|pattern| {
                    self.valid(
                        Some(pattern),
                        |p| regex::Regex::new(p).is_ok(),
                        |p| {
                            // The regex error's last line says what is wrong.
                            let error = regex::Regex::new(p).err().map(|e| e.to_string());
                            let reason = error
                                .as_deref()
                                .and_then(|e| e.lines().last())
                                .unwrap_or("")
                                .trim()
                                .to_string();
                            format!("order pattern `{p}` is not a valid regex: {reason}")
                        },
                    )
                })
                .collect(),
        };
        NluSettings { out_of_scope_threshold, clarify_below, order_patterns }
    }

    fn escalation(&mut self, raw: RawEscalation) -> (EscalationSettings, NameSpans) {
        let defaults = Settings::default().escalation;
        let sentiment_threshold = self.valid(
            raw.sentiment_threshold,
            |t| (-1.0..=1.0).contains(t),
            |t| format!("sentiment_threshold {t} is outside -1..1"),
        );
        let misunderstood_turns = self.valid(
            raw.misunderstood_turns,
            |t| *t >= 1,
            |_| "misunderstood_turns must be at least 1".to_string(),
        );
        let spans: NameSpans = raw
            .human_only_intents
            .iter()
            .map(|n| (n.get_ref().clone(), n.span(), "human_only_intents".to_string()))
            .collect();
        let settings = EscalationSettings {
            sentiment_threshold: sentiment_threshold.unwrap_or(defaults.sentiment_threshold),
            misunderstood_turns: misunderstood_turns.unwrap_or(defaults.misunderstood_turns),
            human_only_intents: raw
                .human_only_intents
                .into_iter()
                .map(|n| n.into_inner())
                .collect(),
        };
        (settings, spans)
    }

    fn lifecycle(&mut self, raw: RawLifecycle) -> LifecycleSettings {
        let defaults = Settings::default().lifecycle;
        let minutes = self.valid(
            raw.reopen_window_minutes,
            |m| *m >= 0,
            |_| "reopen_window_minutes must not be negative".to_string(),
        );
        LifecycleSettings {
            reopen_window_minutes: minutes.unwrap_or(defaults.reopen_window_minutes),
        }
    }

    fn queue(&mut self, raw: RawQueue, workspace_timezone: Tz) -> QueueSettings {
        let defaults = Settings::default().queue;
        let timezone = self.timezone(raw.timezone).unwrap_or(workspace_timezone);
        let periods = raw
            .hours
            .into_iter()
            .filter_map(|period| opening_period(self.source, period, self.problems))
            .collect();
        QueueSettings {
            default_queue: raw.default_queue.unwrap_or(defaults.default_queue),
            minutes_per_conversation: raw
                .minutes_per_conversation
                .unwrap_or(defaults.minutes_per_conversation),
            business_hours: BusinessHours { timezone, periods },
            tier_priority: match raw.tier_priority {
                None => defaults.tier_priority,
                Some(tiers) => tiers
                    .into_iter()
                    .filter_map(|(tier, points)| {
                        let points = self.valid(
                            Some(points),
                            |p| (0..=10).contains(p),
                            |p| format!("tier_priority.{tier} must be 0 to 10, got {p}"),
                        )?;
                        Some((tier, points))
                    })
                    .collect(),
            },
            aging_minutes: raw.aging_minutes.unwrap_or(defaults.aging_minutes),
            queues: defaults.queues,
        }
    }

    fn knowledge(&mut self, raw: RawKnowledge) -> KnowledgeSettings {
        let defaults = Settings::default().knowledge;
        KnowledgeSettings {
            min_coverage: self.unit_interval(raw.min_coverage).unwrap_or(defaults.min_coverage),
            max_hits: raw.max_hits.unwrap_or(defaults.max_hits),
        }
    }
}

/// The demo agent must be an account `baton serve` can create: the same
/// rules as `baton agent add`.
fn check_demo_agent(source: &Source, demo: &DemoAgent, problems: &mut Vec<Problem>) {
    let email = demo.email.trim();
    if !crate::engine::looks_like_email(&email.to_lowercase()) {
        let message = format!("[demo] email `{email}` is not an e-mail address");
        problems.push(source.at_text("email", message));
    }
    if demo.name.trim().is_empty() {
        problems.push(source.at_text("[demo]", "[demo] name must not be empty"));
    }
    if demo.password.chars().count() < DEMO_MIN_PASSWORD_CHARS {
        let message =
            format!("[demo] password must be at least {DEMO_MIN_PASSWORD_CHARS} characters");
        problems.push(source.at_text("password", message));
    }
}

/// The shortest agent password accepted anywhere: `baton agent add`, the
/// demo agent `baton serve` creates, and `baton workspace check`.
pub const DEMO_MIN_PASSWORD_CHARS: usize = 8;

impl Checker<'_> {
    fn reports(&mut self, raw: RawReports) -> ReportSettings {
        let defaults = Settings::default().reports;
        let mut amount = |value: Option<Spanned<f64>>, key: &str| {
            self.valid(
                value,
                |v| v.is_finite() && *v >= 0.0,
                |v| format!("{key} must be a number of at least 0, got {v}"),
            )
        };
        ReportSettings {
            agent_minutes_per_conversation: amount(
                raw.agent_minutes_per_conversation,
                "agent_minutes_per_conversation",
            )
            .unwrap_or(defaults.agent_minutes_per_conversation),
            agent_cost_per_hour: amount(raw.agent_cost_per_hour, "agent_cost_per_hour")
                .unwrap_or(defaults.agent_cost_per_hour),
            ai_cost_per_conversation: amount(
                raw.ai_cost_per_conversation,
                "ai_cost_per_conversation",
            )
            .unwrap_or(defaults.ai_cost_per_conversation),
            small_talk_intents: raw.small_talk_intents.unwrap_or(defaults.small_talk_intents),
        }
    }
}

/// One `[[queue.hours]]` entry, checked.
fn opening_period(
    source: &Source,
    raw: RawPeriod,
    problems: &mut Vec<Problem>,
) -> Option<OpeningPeriod> {
    let mut days = Vec::new();
    for day in raw.days.get_ref() {
        match parse_days(day) {
            Some(found) => days.extend(found),
            None => {
                let msg = format!("`{day}` is not a day like \"mon\" or a range like \"mon-fri\"");
                problems.push(source.at(raw.days.span(), msg));
                return None;
            }
        }
    }
    let time = |t: &Spanned<String>, problems: &mut Vec<Problem>| {
        let parsed = NaiveTime::parse_from_str(t.get_ref(), "%H:%M");
        if parsed.is_err() {
            let msg = format!("`{}` is not a time like \"09:00\"", t.get_ref());
            problems.push(source.at(t.span(), msg));
        }
        parsed.ok()
    };
    let open = time(&raw.open, problems);
    let close = time(&raw.close, problems);
    let (open, close) = (open?, close?);
    if close <= open {
        let msg = format!(
            "closing time {} is not after opening time {}",
            raw.close.get_ref(),
            raw.open.get_ref()
        );
        problems.push(source.at(raw.close.span(), msg));
        return None;
    }
    Some(OpeningPeriod { days, open, close })
}

/// "mon" gives Monday; "mon-fri" gives Monday to Friday; "fri-mon" wraps.
pub(crate) fn parse_days(text: &str) -> Option<Vec<Weekday>> {
    let day = |s: &str| -> Option<Weekday> {
        let s = s.trim().to_ascii_lowercase();
        let all = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        names.iter().position(|n| s == *n).map(|i| all[i])
    };
    match text.split_once('-') {
        None => day(text).map(|d| vec![d]),
        Some((from, to)) => {
            let (mut d, to) = (day(from)?, day(to)?);
            let mut days = vec![d];
            while d != to {
                d = d.succ();
                days.push(d);
            }
            Some(days)
        }
    }
}

/// Loosely a BCP 47 tag: a two- or three-letter language and optional
/// subtags of letters and digits ("en", "en-US", "pt-BR").
fn is_locale(text: &str) -> bool {
    let mut parts = text.split('-');
    let language = parts.next().unwrap_or("");
    (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts
            .all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use chrono::TimeZone;

    use super::*;

    fn parse_text(text: &str) -> (Settings, Vec<Problem>) {
        let source = Source { path: PathBuf::from("workspace.toml"), text: text.into() };
        let mut problems = Vec::new();
        let (settings, _) = parse(&source, "shop", &mut problems);
        (settings, problems)
    }

    fn messages(problems: &[Problem]) -> Vec<String> {
        problems.iter().map(|p| p.to_string()).collect()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn berlin_weekdays() -> BusinessHours {
        let (settings, problems) = parse_text(
            "[workspace]\ntimezone = \"Europe/Berlin\"\n\
             [[queue.hours]]\ndays = [\"mon-fri\"]\nopen = \"09:00\"\nclose = \"17:00\"\n\
             [[queue.hours]]\ndays = [\"sat\"]\nopen = \"10:00\"\nclose = \"14:00\"\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        settings.queue.business_hours
    }

    #[test]
    fn an_empty_file_gives_the_documented_defaults() {
        let (settings, problems) = parse_text("");
        assert!(problems.is_empty());
        let expected = Settings {
            workspace: WorkspaceSettings {
                name: "shop".into(),
                company: "shop".into(),
                ..Settings::default().workspace
            },
            ..Settings::default()
        };
        assert_eq!(settings, expected);
        assert_eq!(settings.escalation.sentiment_threshold, -0.6);
        assert_eq!(settings.escalation.misunderstood_turns, 2);
        assert_eq!(settings.lifecycle.reopen_window_minutes, 60);
        assert!(settings.queue.business_hours.is_open(utc(2025, 1, 1, 3, 0)));
    }

    #[test]
    fn an_unknown_key_is_reported_on_its_line() {
        let (_, problems) = parse_text("[workspace]\nname = \"x\"\n\n[nlu]\nthreshold = 0.4\n");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, Some(5));
        assert!(problems[0].message.starts_with("unknown field `threshold`"), "{problems:?}");
    }

    #[test]
    fn report_figures_are_read_and_a_negative_cost_is_reported_on_its_line() {
        let (settings, problems) = parse_text(
            "[reports]\nagent_minutes_per_conversation = 12.5\nagent_cost_per_hour = -3\n\
             small_talk_intents = [\"hi\"]\n",
        );
        assert_eq!(
            messages(&problems),
            vec!["workspace.toml:3: agent_cost_per_hour must be a number of at least 0, got -3"]
        );
        assert_eq!(settings.reports.agent_minutes_per_conversation, 12.5);
        assert_eq!(settings.reports.agent_cost_per_hour, 30.0);
        assert_eq!(settings.reports.ai_cost_per_conversation, 0.1);
        assert_eq!(settings.reports.small_talk_intents, vec!["hi".to_string()]);
    }

    #[test]
    fn a_bad_timezone_is_reported_on_its_line() {
        let (settings, problems) = parse_text("[workspace]\ntimezone = \"Mars/Olympus\"\n");
        assert_eq!(
            messages(&problems),
            vec![
                "workspace.toml:2: `Mars/Olympus` is not an IANA time zone like \"Europe/Berlin\""
            ]
        );
        assert_eq!(settings.workspace.timezone, Tz::UTC);
    }

    #[test]
    fn a_bad_order_pattern_is_reported_on_its_line() {
        let (settings, problems) =
            parse_text("[nlu]\norder_patterns = [\n  '#W\\d{7}',\n  '(unclosed',\n]\n");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, Some(4));
        assert!(problems[0].message.starts_with("order pattern `(unclosed` is not a valid regex"));
        assert_eq!(settings.nlu.order_patterns, vec![r"#W\d{7}".to_string()]);
    }

    #[test]
    fn out_of_range_numbers_are_reported() {
        let (_, problems) = parse_text(
            "[nlu]\nclarify_below = 1.5\n[escalation]\nsentiment_threshold = -2.0\n\
             misunderstood_turns = 0\n[lifecycle]\nreopen_window_minutes = -5\n",
        );
        assert_eq!(
            messages(&problems),
            vec![
                "workspace.toml:2: 1.5 is outside 0..1",
                "workspace.toml:4: sentiment_threshold -2 is outside -1..1",
                "workspace.toml:5: misunderstood_turns must be at least 1",
                "workspace.toml:7: reopen_window_minutes must not be negative",
            ]
        );
    }

    #[test]
    fn clarifying_below_the_out_of_scope_threshold_is_reported_on_its_line() {
        let (_, problems) =
            parse_text("[nlu]\nout_of_scope_threshold = 0.5\nclarify_below = 0.4\n");
        assert_eq!(
            messages(&problems),
            vec![
                "workspace.toml:3: clarify_below (0.4) must not be below out_of_scope_threshold \
                 (0.5)"
            ]
        );
    }

    #[test]
    fn bad_workspace_values_are_reported_in_line_order() {
        let (settings, problems) = parse_text(
            "[workspace]\nlocale = \"english\"\ntimezone = \"Here\"\ncurrency = \"euro\"\n",
        );
        assert_eq!(
            messages(&problems),
            vec![
                "workspace.toml:2: `english` is not a locale like \"en-US\"",
                "workspace.toml:3: `Here` is not an IANA time zone like \"Europe/Berlin\"",
                "workspace.toml:4: `euro` is not a three-letter currency code like \"EUR\"",
            ]
        );
        assert_eq!(settings.workspace.locale, "en-US");
        assert_eq!(settings.workspace.currency, "USD");
    }

    #[test]
    fn bad_opening_hours_are_reported_on_their_lines() {
        let (_, problems) = parse_text(
            "[[queue.hours]]\ndays = [\"mon\", \"funday\"]\nopen = \"09:00\"\nclose = \"17:00\"\n\
             [[queue.hours]]\ndays = [\"tue\"]\nopen = \"18:00\"\nclose = \"08:00\"\n\
             [[queue.hours]]\ndays = [\"wed\"]\nopen = \"9am\"\nclose = \"17:00\"\n",
        );
        assert_eq!(
            messages(&problems),
            vec![
                "workspace.toml:2: `funday` is not a day like \"mon\" or a range like \"mon-fri\"",
                "workspace.toml:8: closing time 08:00 is not after opening time 18:00",
                "workspace.toml:11: `9am` is not a time like \"09:00\"",
            ]
        );
    }

    #[test]
    fn the_demo_password_is_not_printed_in_debug_output() {
        let (settings, problems) = parse_text(
            "[demo]\nemail = \"agent@example.com\"\nname = \"Ada\"\npassword = \"s3cret-pass\"\n",
        );
        assert!(problems.is_empty());
        let demo = settings.demo.unwrap();
        assert_eq!(demo.password, "s3cret-pass");
        assert!(!format!("{demo:?}").contains("s3cret"));
    }

    #[test]
    fn a_demo_agent_that_serve_could_not_create_is_reported_on_its_lines() {
        let (_, problems) =
            parse_text("[demo]\nemail = \"nobody\"\nname = \"Ada\"\npassword = \"short\"\n");
        assert_eq!(
            messages(&problems),
            [
                "workspace.toml:2: [demo] email `nobody` is not an e-mail address",
                "workspace.toml:4: [demo] password must be at least 8 characters",
            ]
        );
    }

    #[test]
    fn a_demo_email_is_held_to_the_rule_the_api_holds_customers_to() {
        let demo = |email: &str| {
            format!("[demo]\nemail = \"{email}\"\nname = \"Ada\"\npassword = \"s3cret-pass\"\n")
        };
        for bad in ["<script>@example.com", "ada@example..com", "ada@@example.com"] {
            let (_, problems) = parse_text(&demo(bad));
            let expected =
                format!("workspace.toml:2: [demo] email `{bad}` is not an e-mail address");
            assert_eq!(messages(&problems), [expected]);
        }
        let (_, problems) = parse_text(&demo("Ada.O'Neill+demo@Example.com"));
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn business_hours_follow_the_local_time_zone() {
        let hours = berlin_weekdays();
        // Monday 2025-01-06 08:30 UTC is 09:30 in Berlin (winter, UTC+1).
        assert!(hours.is_open(utc(2025, 1, 6, 8, 30)));
        // 07:30 UTC is 08:30 in Berlin: not yet open.
        assert!(!hours.is_open(utc(2025, 1, 6, 7, 30)));
        // Closing time is exclusive: 16:00 UTC is 17:00 in Berlin.
        assert!(!hours.is_open(utc(2025, 1, 6, 16, 0)));
        // Sunday is closed all day.
        assert!(!hours.is_open(utc(2025, 1, 5, 11, 0)));
    }

    #[test]
    fn next_opening_is_now_when_open() {
        let at = utc(2025, 1, 6, 10, 0);
        assert_eq!(berlin_weekdays().next_opening(at), Some(at));
    }

    #[test]
    fn next_opening_skips_to_the_next_open_day() {
        let hours = berlin_weekdays();
        // Saturday 15:00 Berlin: next is Monday 09:00 Berlin = 08:00 UTC.
        assert_eq!(hours.next_opening(utc(2025, 1, 4, 14, 0)), Some(utc(2025, 1, 6, 8, 0)));
        // Friday 18:00 Berlin: next is Saturday 10:00 Berlin.
        assert_eq!(hours.next_opening(utc(2025, 1, 3, 17, 0)), Some(utc(2025, 1, 4, 9, 0)));
        // Monday 07:00 Berlin: later the same day.
        assert_eq!(hours.next_opening(utc(2025, 1, 6, 6, 0)), Some(utc(2025, 1, 6, 8, 0)));
    }

    #[test]
    fn next_opening_respects_daylight_saving_time() {
        // Summer: Berlin is UTC+2. Sunday 2025-07-06 → Monday 09:00 = 07:00 UTC.
        assert_eq!(
            berlin_weekdays().next_opening(utc(2025, 7, 6, 12, 0)),
            Some(utc(2025, 7, 7, 7, 0))
        );
    }

    #[test]
    fn the_next_opening_reads_as_words_in_local_time() {
        let hours = berlin_weekdays();
        // Monday 07:00 Berlin.
        assert_eq!(hours.opening_text(utc(2025, 1, 6, 6, 0)).unwrap(), "today at 09:00");
        // Friday 18:00 Berlin.
        assert_eq!(hours.opening_text(utc(2025, 1, 3, 17, 0)).unwrap(), "tomorrow at 10:00");
        // Saturday 15:00 Berlin.
        assert_eq!(hours.opening_text(utc(2025, 1, 4, 14, 0)).unwrap(), "on Monday at 09:00");
    }

    #[test]
    fn the_wait_grows_with_the_queue_position() {
        let queue = Settings::default().queue;
        assert_eq!(queue.wait_minutes(1), 5);
        assert_eq!(queue.wait_minutes(4), 20);
        assert_eq!(queue.wait_minutes(u32::MAX), u32::MAX);
    }

    #[test]
    fn the_default_order_pattern_finds_order_numbers_with_or_without_hash() {
        let regexes = Settings::default().nlu.order_regexes();
        assert_eq!(regexes.len(), 1);
        let found: Vec<&str> =
            regexes[0].find_iter("it's #W1234567, or maybe W7654321").map(|m| m.as_str()).collect();
        assert_eq!(found, vec!["#W1234567", "W7654321"]);
    }

    #[test]
    fn a_day_range_may_wrap_around_the_week() {
        assert_eq!(
            parse_days("fri-mon"),
            Some(vec![Weekday::Fri, Weekday::Sat, Weekday::Sun, Weekday::Mon])
        );
        assert_eq!(parse_days("Sun"), Some(vec![Weekday::Sun]));
        assert_eq!(parse_days("someday"), None);
    }

    #[test]
    fn the_far_end_of_time_finds_no_opening_rather_than_failing() {
        assert_eq!(berlin_weekdays().next_opening(DateTime::<Utc>::MAX_UTC), None);
    }

    #[test]
    fn hours_with_no_days_never_open() {
        let hours = BusinessHours {
            timezone: Tz::UTC,
            periods: vec![OpeningPeriod {
                days: Vec::new(),
                open: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                close: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            }],
        };
        assert!(!hours.is_open(utc(2025, 1, 6, 10, 0)));
        assert_eq!(hours.next_opening(utc(2025, 1, 6, 10, 0)), None);
    }
}
