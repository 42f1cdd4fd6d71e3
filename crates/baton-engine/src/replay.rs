//! Recorded conversations run through the real engine, in process, against
//! a throw-away store: what the AI would do with them under a workspace.
//!
//! Three inputs are read, chosen by content: Baton's own JSONL (one
//! conversation a line: `{"id", "customer"?, "turns": [..]}`), transcripts
//! whose lines hold a `messages_display` text with `user:` / `assistant:` /
//! `tool:` turns (only the customer's turns are replayed), and a CSV with a
//! `text` column, each row a one-turn conversation.
//!
//! Each conversation happens at the time it recorded (`started_at`, an RFC
//! 3339 instant, on a JSONL line or in a CSV column), else at the moment it
//! is replayed; its turns follow 30 seconds apart. So business hours are
//! judged as they were when the customer wrote, or as they are now.
//!
//! The tools call the backend [`ReplayOptions`] names; write tools are
//! withheld unless the options send them, and the withheld ones counted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use baton_core::{Clock, EventKind, ManualClock, Stage, SystemClock};
use baton_nlu::Analyzer;
use baton_store::Store;

use crate::bus::LocalBus;
use crate::engine::{CustomerDetails, Engine, EngineError};
use crate::tools::Writes;
use crate::workspace::Workspace;

/// One conversation to replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplayConversation {
    pub id: String,
    #[serde(default)]
    pub customer: Option<ReplayCustomer>,
    /// The customer's messages, in order.
    pub turns: Vec<String>,
    /// The kinds of the tool calls a recorded transcript made (see
    /// [`tool_kind`]), to compare with what Baton calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_tools: Vec<String>,
    /// When the conversation began, if the input recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayCustomer {
    pub name: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
}

/// Why an input could not be read; names the line.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("line {line}: {message}")]
    Parse { line: usize, message: String },
    #[error("the input is empty: it holds no conversations")]
    Empty,
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Read conversations from the text of a replay file.
pub fn parse(input: &str) -> Result<Vec<ReplayConversation>, ReplayError> {
    let input = input.strip_prefix('\u{FEFF}').unwrap_or(input);
    if input.trim().is_empty() {
        return Err(ReplayError::Empty);
    }
    let first = input.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let conversations =
        if first.trim_start().starts_with('{') { parse_jsonl(input)? } else { parse_csv(input)? };
    if conversations.is_empty() {
        return Err(ReplayError::Empty);
    }
    Ok(conversations)
}

fn parse_jsonl(input: &str) -> Result<Vec<ReplayConversation>, ReplayError> {
    let mut out = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| ReplayError::Parse { line: line_no, message: format!("not JSON: {e}") })?;
        if let Some(display) = value.get("messages_display").and_then(|v| v.as_str()) {
            let turns = transcript_customer_turns(display);
            let expected_tools = transcript_tool_kinds(display);
            let id = value
                .get("id")
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| format!("line-{line_no}"));
            let started_at = match value.get("started_at") {
                None | Some(serde_json::Value::Null) => None,
                Some(v) => Some(instant(v.as_str().unwrap_or_default(), line_no)?),
            };
            out.push(ReplayConversation { id, customer: None, turns, expected_tools, started_at });
            continue;
        }
        let conversation: ReplayConversation =
            serde_json::from_value(value).map_err(|e| ReplayError::Parse {
                line: line_no,
                message: format!(
                    "expected {{\"id\", \"customer\"?, \"started_at\"?, \"turns\": [..]}}: {e}"
                ),
            })?;
        out.push(conversation);
    }
    Ok(out)
}

/// A recorded `started_at`: an RFC 3339 instant such as
/// `2026-03-02T15:04:00Z`, or the line's error.
fn instant(text: &str, line: usize) -> Result<DateTime<Utc>, ReplayError> {
    DateTime::parse_from_rfc3339(text.trim()).map(|t| t.to_utc()).map_err(|_| ReplayError::Parse {
        line,
        message: format!(
            "`started_at` must be an RFC 3339 time such as 2026-03-02T15:04:00Z, not {text:?}"
        ),
    })
}

/// The customer's turns of a `role: text` transcript. A turn runs until the
/// next line that starts with a role; end-of-dialogue markers are dropped.
pub fn transcript_customer_turns(display: &str) -> Vec<String> {
    let mut turns: Vec<(String, String)> = Vec::new();
    for line in display.split('\n') {
        let role = ["user", "assistant", "tool"]
            .into_iter()
            .find(|r| line.strip_prefix(r).is_some_and(|rest| rest.starts_with(": ")));
        match role {
            Some(role) => turns.push((role.to_string(), line[role.len() + 2..].to_string())),
            None => {
                if let Some((_, text)) = turns.last_mut() {
                    text.push('\n');
                    text.push_str(line);
                }
            }
        }
    }
    turns
        .into_iter()
        .filter(|(role, _)| role == "user")
        .map(|(_, text)| text.replace("###STOP###", "").trim().to_string())
        .filter(|text| !text.is_empty())
        .collect()
}

/// The kinds of the tool calls of a `role: text` transcript: each `tool:`
/// turn's output classified by [`tool_kind`]. Error outputs are left out,
/// as Baton's refused calls are.
pub fn transcript_tool_kinds(display: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut kinds = Vec::new();
    let mut lines = display.split('\n').peekable();
    while let Some(line) = lines.next() {
        let Some(first) = line.strip_prefix("tool: ") else { continue };
        // An output runs until the next line that starts with a role.
        let mut text = first.to_string();
        while let Some(next) = lines.peek() {
            if ["user: ", "assistant: ", "tool: "].iter().any(|r| next.starts_with(r)) {
                break;
            }
            text.push('\n');
            text.push_str(lines.next().unwrap_or_default());
        }
        let text = text.trim();
        if text.starts_with("Error") {
            continue;
        }
        let value = serde_json::from_str(text).unwrap_or_else(|_| serde_json::json!(text));
        kinds.extend(tool_kind(&value, &mut seen));
    }
    kinds
}

/// What kind of call produced an answer, told by its shape, since the
/// transcripts record outputs but not the names of the tools:
///
/// - a bare user id (`name_surname_1234`) or `{"user_id"}`: `find_user`;
/// - a user record (`payment_methods` and `orders`): `user_details`;
/// - a product (`variants`): `product_details`;
/// - an order seen before in the conversation with another status, address
///   or payment history: the change (`cancel`, `return`, `exchange`,
///   `modify_items`, `modify_address`, `modify_payment`); an order whose
///   status only a change produces (`return requested`...) the first time
///   it is seen: that change; any other order: `order_details`;
/// - `Transfer successful`: `transfer`; a plain number: `calculate`; a map
///   of names to ids: `list_products`.
///
/// `seen` holds the orders met so far, in order.
pub fn tool_kind(value: &serde_json::Value, seen: &mut Vec<serde_json::Value>) -> Option<String> {
    use serde_json::Value;
    let kind = match value {
        Value::String(s) if s.starts_with("Transfer") => "transfer",
        Value::String(s) if s.trim().parse::<f64>().is_ok() => "calculate",
        Value::Number(_) => "calculate",
        Value::String(s) if looks_like_user_id(s) => "find_user",
        Value::Object(o) if o.len() == 1 && o.contains_key("user_id") => "find_user",
        Value::Object(o) if o.contains_key("payment_methods") && o.contains_key("orders") => {
            "user_details"
        }
        Value::Object(o) if o.contains_key("variants") => "product_details",
        Value::Object(o) if o.contains_key("order_id") && o.contains_key("status") => {
            let id = &o["order_id"];
            let before = seen.iter().rev().find(|s| &s["order_id"] == id).cloned();
            seen.push(value.clone());
            let status = o["status"].as_str().unwrap_or_default();
            let by_status = match status {
                "cancelled" => Some("cancel"),
                "return requested" => Some("return"),
                "exchange requested" => Some("exchange"),
                "pending (item modified)" => Some("modify_items"),
                _ => None,
            };
            match before {
                Some(b) if b["status"] != o["status"] => by_status.unwrap_or("order_details"),
                Some(b) if b["address"] != o["address"] => "modify_address",
                Some(b) if b["payment_history"] != o["payment_history"] => "modify_payment",
                Some(_) => "order_details",
                None if status != "cancelled" => by_status.unwrap_or("order_details"),
                None => "order_details",
            }
        }
        Value::Object(o) if !o.is_empty() && o.values().all(Value::is_string) => "list_products",
        _ => return None,
    };
    Some(kind.to_string())
}

fn looks_like_user_id(s: &str) -> bool {
    let parts: Vec<&str> = s.trim().split('_').collect();
    parts.len() >= 3
        && parts.last().is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
}

fn parse_csv(input: &str) -> Result<Vec<ReplayConversation>, ReplayError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ReplayError::Parse { line: 1, message: format!("bad CSV header: {e}") })?
        .clone();
    let text_col = headers.iter().position(|h| h.trim() == "text").ok_or_else(|| {
        ReplayError::Parse { line: 1, message: "the CSV has no `text` column".into() }
    })?;
    let time_col = headers.iter().position(|h| h.trim() == "started_at");
    let mut out = Vec::new();
    let mut last_row = None;
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ReplayError::Parse {
            line: i + 2,
            message: format!("bad CSV row: {e}"),
        })?;
        // A quoted field may span lines: a row is where the reader says.
        let line = record.position().map_or(i + 2, |at| at.line() as usize);
        last_row = record.position().map(|at| (line, at.byte() as usize));
        let text = record.get(text_col).unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        let started_at = match time_col.and_then(|c| record.get(c)).map(str::trim) {
            None | Some("") => None,
            Some(time) => Some(instant(time, line)?),
        };
        out.push(ReplayConversation {
            id: format!("row-{line}"),
            customer: None,
            turns: vec![text.to_string()],
            expected_tools: Vec::new(),
            started_at,
        });
    }
    // The reader takes a quote left open as running to the end of the file,
    // so only the last row can hold one: a broken row, not a turn to replay.
    if let Some((line, byte)) = last_row {
        if ends_in_open_quote(input.get(byte..).unwrap_or("")) {
            let message = "a quoted field is never closed (a `\"` is missing)".into();
            return Err(ReplayError::Parse { line, message });
        }
    }
    Ok(out)
}

/// Whether a CSV text, read from the start of a row, ends inside a quoted
/// field: a field that opens with `"` closes at the next lone `"`, and `""`
/// inside it is a quote.
fn ends_in_open_quote(text: &str) -> bool {
    let mut chars = text.chars().peekable();
    let (mut quoted, mut field_start) = (false, true);
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' && chars.next_if_eq(&'"').is_none() {
                quoted = false;
            }
            continue;
        }
        match c {
            '"' if field_start => quoted = true,
            ',' | '\n' | '\r' => {
                field_start = true;
                continue;
            }
            _ => {}
        }
        field_start = false;
    }
    quoted
}

/// What happened to one replayed conversation.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayResult {
    pub id: String,
    /// When the conversation was taken to begin: its recorded time, else
    /// the moment it was replayed.
    pub started_at: DateTime<Utc>,
    pub final_stage: Stage,
    pub escalation_reason: Option<String>,
    /// Top intent per customer turn (`-` when none or out of scope).
    pub intents: Vec<String>,
    /// The AI's decisions, one per turn it owned.
    pub actions: Vec<String>,
    pub tools: Vec<String>,
    /// The kinds of Baton's successful calls, by the shape of their answers.
    pub tool_kinds: Vec<String>,
    /// The kinds of the transcript's own calls, when it recorded any.
    pub expected_tool_kinds: Vec<String>,
    pub bot_replies: Vec<String>,
    pub turns: usize,
    /// Turns the engine refused (empty, or over the length limit), with why.
    pub skipped: Vec<String>,
    /// Calls of write tools that were not sent, since the replay withholds
    /// writes (the calls are among `tools`, recorded as withheld).
    pub writes_withheld: usize,
}

impl ReplayResult {
    /// No escalation: the AI kept the conversation to its end. Not
    /// containment, which also needs a resolution (docs/metrics.md): a
    /// recorded conversation replayed usually ends without one.
    pub fn not_escalated(&self) -> bool {
        self.escalation_reason.is_none()
    }
}

/// The totals over a replay.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayTotals {
    pub conversations: usize,
    /// Conversations that ended without an escalation, resolved or not.
    pub not_escalated: usize,
    pub escalated: usize,
    pub escalated_by_reason: BTreeMap<String, usize>,
    pub mean_turns: f64,
    /// Conversations whose transcript recorded tool calls.
    pub with_expected_tools: usize,
    /// Over those: the share of the transcript's tool kinds that Baton also
    /// called, averaged per conversation.
    pub tool_recall: f64,
    /// Over those: the share of Baton's tool kinds the transcript also had.
    pub tool_precision: f64,
    /// Over those: conversations where both sets of kinds are equal.
    pub tool_sets_equal: usize,
    /// Calls of write tools withheld, over all conversations.
    pub writes_withheld: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReplayReport {
    pub conversations: Vec<ReplayResult>,
    pub totals: ReplayTotals,
}

/// Where a replay's tools go, whether its writes are sent, and what "now"
/// is for conversations that recorded no time.
#[derive(Clone)]
pub struct ReplayOptions {
    /// A base URL for the tools instead of the workspace's (the demo store
    /// started in process, say).
    pub tool_base_url: Option<String>,
    /// Withheld by default: a replay must not change outside systems.
    pub writes: Writes,
    /// The time of a conversation that recorded none is this clock's now.
    pub clock: Arc<dyn Clock>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            tool_base_url: None,
            writes: Writes::Withhold,
            clock: Arc::new(SystemClock),
        }
    }
}

/// Run conversations through an engine built on `store` (which should be
/// empty and throw-away) with the given workspace and analyzer.
pub async fn run(
    workspace: Arc<Workspace>,
    analyzer: Arc<Analyzer>,
    store: Arc<dyn Store>,
    conversations: &[ReplayConversation],
    options: &ReplayOptions,
) -> Result<ReplayReport, ReplayError> {
    let clock = Arc::new(ManualClock::new(options.clock.now()));
    let mut engine =
        Engine::new(workspace, analyzer, store, clock.clone(), Arc::new(LocalBus::new()))
            .with_tool_writes(options.writes);
    if let Some(url) = &options.tool_base_url {
        engine = engine.with_tool_base_url(url.clone());
    }

    let mut results = Vec::with_capacity(conversations.len());
    for conversation in conversations {
        // The conversation's own time, so business hours are those the
        // customer met; else now, as serving would.
        let started_at = conversation.started_at.unwrap_or_else(|| options.clock.now());
        clock.set(started_at);
        let customer = conversation.customer.clone().unwrap_or_default();
        let started = engine
            .start_conversation(
                "replay",
                CustomerDetails {
                    name: customer.name,
                    email: customer.email,
                    external_id: customer.external_id,
                },
            )
            .await?;
        let mut turns = 0;
        let mut skipped = Vec::new();
        for (i, text) in conversation.turns.iter().enumerate() {
            clock.advance(Duration::seconds(30));
            match engine.customer_message(started.id, text, None).await {
                Ok(_) => turns += 1,
                // A turn the engine refuses (an empty line, say) is skipped,
                // as a real customer's would be refused, and reported.
                Err(EngineError::Invalid(why)) => skipped.push(format!("turn {}: {why}", i + 1)),
                Err(other) => return Err(other.into()),
            }
        }
        let events = engine.events(started.id, 0).await?;
        let mut result = summarise(&conversation.id, started_at, &events, turns);
        result.skipped = skipped;
        result.expected_tool_kinds = conversation.expected_tools.clone();
        results.push(result);
    }

    let totals = totals(&results);
    Ok(ReplayReport { conversations: results, totals })
}

fn summarise(
    id: &str,
    started_at: DateTime<Utc>,
    events: &[baton_core::Event],
    turns: usize,
) -> ReplayResult {
    let mut result = ReplayResult {
        id: id.to_string(),
        started_at,
        final_stage: Stage::Bot,
        escalation_reason: None,
        intents: Vec::new(),
        actions: Vec::new(),
        tools: Vec::new(),
        tool_kinds: Vec::new(),
        expected_tool_kinds: Vec::new(),
        bot_replies: Vec::new(),
        turns,
        skipped: Vec::new(),
        writes_withheld: 0,
    };
    let mut seen = Vec::new();
    if let Ok(state) = baton_core::Projection::from_events(events) {
        result.final_stage = state.stage;
    }
    for event in events {
        match &event.kind {
            EventKind::MessageAnalysed { analysis, .. } => {
                let top = analysis.top_intent().filter(|_| !analysis.out_of_scope);
                result.intents.push(top.map_or("-".into(), |t| t.intent.clone()));
            }
            EventKind::Decided { action, .. } => result.actions.push(action.clone()),
            EventKind::Escalated { reason, .. } if result.escalation_reason.is_none() => {
                result.escalation_reason = Some(reason.as_str().to_string());
            }
            EventKind::ToolCalled { tool, ok, outcome, .. } => {
                result.tools.push(tool.clone());
                if outcome["result"] == "withheld" {
                    result.writes_withheld += 1;
                }
                if *ok {
                    let kind = tool_kind(&outcome["body"], &mut seen);
                    result.tool_kinds.extend(kind);
                }
            }
            EventKind::MessagePosted { author: baton_core::Author::Bot, text, .. } => {
                result.bot_replies.push(text.clone());
            }
            _ => {}
        }
    }
    result
}

fn totals(results: &[ReplayResult]) -> ReplayTotals {
    let mut by_reason = BTreeMap::new();
    for reason in results.iter().filter_map(|r| r.escalation_reason.as_ref()) {
        *by_reason.entry(reason.clone()).or_insert(0) += 1;
    }
    let not_escalated = results.iter().filter(|r| r.not_escalated()).count();
    let turns: usize = results.iter().map(|r| r.turns).sum();

    // Tool kinds compared as sets: the order and the number of repeats of
    // a lookup differ between a person's style and a flow's.
    let compared: Vec<(BTreeSet<&str>, BTreeSet<&str>)> = results
        .iter()
        .filter(|r| !r.expected_tool_kinds.is_empty())
        .map(|r| {
            let expected = r.expected_tool_kinds.iter().map(String::as_str).collect();
            let called = r.tool_kinds.iter().map(String::as_str).collect();
            (expected, called)
        })
        .collect();
    let share =
        |part: usize, whole: usize| if whole == 0 { 1.0 } else { part as f64 / whole as f64 };
    let n = compared.len().max(1) as f64;
    let recall =
        compared.iter().map(|(e, c)| share(e.intersection(c).count(), e.len())).sum::<f64>() / n;
    let precision =
        compared.iter().map(|(e, c)| share(e.intersection(c).count(), c.len())).sum::<f64>() / n;
    let equal = compared.iter().filter(|(e, c)| e == c).count();
    ReplayTotals {
        with_expected_tools: compared.len(),
        tool_recall: if compared.is_empty() { 0.0 } else { recall },
        tool_precision: if compared.is_empty() { 0.0 } else { precision },
        tool_sets_equal: equal,
        writes_withheld: results.iter().map(|r| r.writes_withheld).sum(),
        conversations: results.len(),
        not_escalated,
        escalated: results.len() - not_escalated,
        escalated_by_reason: by_reason,
        mean_turns: if results.is_empty() { 0.0 } else { turns as f64 / results.len() as f64 },
    }
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.conversations {
            writeln!(
                f,
                "{}  stage={}  escalation={}  turns={}  started={}",
                r.id,
                r.final_stage,
                r.escalation_reason.as_deref().unwrap_or("-"),
                r.turns,
                r.started_at.format("%Y-%m-%dT%H:%M:%SZ")
            )?;
            writeln!(f, "  intents: {}", r.intents.join(", "))?;
            writeln!(f, "  actions: {}", r.actions.join(", "))?;
            if !r.tools.is_empty() {
                writeln!(f, "  tools:   {}", r.tools.join(", "))?;
            }
            if r.writes_withheld > 0 {
                writeln!(f, "  writes withheld: {}", r.writes_withheld)?;
            }
            for why in &r.skipped {
                writeln!(f, "  skipped {why}")?;
            }
            if !r.expected_tool_kinds.is_empty() {
                writeln!(f, "  tool kinds, baton:      {}", r.tool_kinds.join(", "))?;
                writeln!(f, "  tool kinds, transcript: {}", r.expected_tool_kinds.join(", "))?;
            }
            for reply in &r.bot_replies {
                let one_line = reply.replace('\n', " ");
                writeln!(f, "  bot: {}", crate::handoff::short(&one_line, 160))?;
            }
        }
        let t = &self.totals;
        writeln!(f)?;
        writeln!(f, "conversations  {}", t.conversations)?;
        let share = |n: usize| {
            if t.conversations == 0 {
                0.0
            } else {
                100.0 * n as f64 / t.conversations as f64
            }
        };
        writeln!(f, "not escalated  {} ({:.1} %)", t.not_escalated, share(t.not_escalated))?;
        writeln!(f, "escalated      {} ({:.1} %)", t.escalated, share(t.escalated))?;
        for (reason, n) in &t.escalated_by_reason {
            writeln!(f, "  {reason:<26} {n}")?;
        }
        writeln!(f, "mean turns     {:.2}", t.mean_turns)?;
        if t.writes_withheld > 0 {
            writeln!(
                f,
                "writes withheld {} (not sent: a replay does not change outside systems)",
                t.writes_withheld
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transcript_yields_only_the_customer_turns_without_stop_markers() {
        let display = "user: Hi, where is my order?\nassistant: None\ntool: {\"a\": 1}\n\
                       assistant: Let me check.\nuser: It is #W1234567\nand it is late.###STOP###";
        assert_eq!(
            transcript_customer_turns(display),
            vec!["Hi, where is my order?".to_string(), "It is #W1234567\nand it is late.".into()]
        );
    }

    #[test]
    fn a_csv_with_a_text_column_gives_one_turn_conversations() {
        let csv = "text,category\nHow do I locate my card?,card_arrival\n\"Hi, it's late\",x\n";
        let conversations = parse(csv).unwrap();
        assert_eq!(conversations.len(), 2);
        assert_eq!(conversations[1].turns, vec!["Hi, it's late".to_string()]);
        assert_eq!(conversations[1].id, "row-3");
    }

    #[test]
    fn a_malformed_jsonl_line_is_reported_with_its_number() {
        let input = "{\"id\":\"a\",\"turns\":[\"hi\"]}\n{\"id\": 3}\n";
        let err = parse(input).unwrap_err().to_string();
        assert!(err.starts_with("line 2: expected"), "{err}");
    }

    #[test]
    fn a_recorded_start_is_read_from_jsonl_transcripts_and_csv() {
        let at = DateTime::parse_from_rfc3339("2026-03-02T15:04:00Z").unwrap().to_utc();
        let jsonl =
            "{\"id\":\"a\",\"started_at\":\"2026-03-02T09:04:00-06:00\",\"turns\":[\"hi\"]}\n\
                     {\"messages_display\":\"user: hi\",\"started_at\":\"2026-03-02T15:04:00Z\"}\n\
                     {\"id\":\"c\",\"turns\":[\"hi\"]}\n";
        let starts: Vec<_> = parse(jsonl).unwrap().into_iter().map(|c| c.started_at).collect();
        assert_eq!(starts, vec![Some(at), Some(at), None]);

        let csv = "text,started_at\nhi,2026-03-02T15:04:00Z\nhello,\n";
        let starts: Vec<_> = parse(csv).unwrap().into_iter().map(|c| c.started_at).collect();
        assert_eq!(starts, vec![Some(at), None]);
    }

    #[test]
    fn a_csv_start_that_is_not_a_time_is_refused_with_its_line() {
        let err = parse("text,started_at\nhi,2026-03-02\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "line 2: `started_at` must be an RFC 3339 time such as 2026-03-02T15:04:00Z, \
             not \"2026-03-02\""
        );
    }

    #[test]
    fn a_csv_row_whose_quote_is_never_closed_is_refused_with_its_line() {
        let csv = "text\n\"two\nlines\"\nfine\n\"it said \"\"hi\"\"\"\n\"unterminated\n";
        let err = parse(csv).unwrap_err().to_string();
        assert_eq!(err, "line 6: a quoted field is never closed (a `\"` is missing)");

        // Closed quotes, doubled ones and a quote inside a plain field pass,
        // and a row is named by the line it starts on.
        let csv = "text\n\"two\nlines\"\nsay \"hi\"\n\"a \"\"b\"\"\"\n";
        let conversations = parse(csv).unwrap();
        let rows: Vec<(&str, &str)> =
            conversations.iter().map(|c| (c.id.as_str(), c.turns[0].as_str())).collect();
        let expected = [("row-2", "two\nlines"), ("row-4", "say \"hi\""), ("row-5", "a \"b\"")];
        assert_eq!(rows, expected);
    }

    #[test]
    fn a_csv_without_a_text_column_is_refused() {
        let err = parse("question,label\nhi,x\n").unwrap_err().to_string();
        assert_eq!(err, "line 1: the CSV has no `text` column");
    }

    #[test]
    fn transcript_tool_outputs_are_classified_by_their_shape() {
        let order = |status: &str| {
            format!(
                "{{\"order_id\": \"#W1\", \"status\": \"{status}\", \"address\": {{}}, \
                 \"payment_history\": []}}"
            )
        };
        let display = [
            "user: cancel #W1 please, ada@example.com".to_string(),
            "assistant: None".into(),
            "tool: ada_quill_1234".into(),
            "assistant: None".into(),
            format!("tool: {}", order("pending")),
            "assistant: None".into(),
            "tool: Error: order not found".into(),
            "assistant: Shall I cancel it?".into(),
            "user: yes".into(),
            "assistant: None".into(),
            format!("tool: {}", order("cancelled")),
            "assistant: None".into(),
            "tool: Transfer successful".into(),
        ]
        .join("\n");
        assert_eq!(
            transcript_tool_kinds(&display),
            vec!["find_user", "order_details", "cancel", "transfer"]
        );
    }

    #[test]
    fn an_order_first_seen_cancelled_is_a_lookup_not_a_cancellation() {
        let mut seen = Vec::new();
        let cancelled = serde_json::json!({"order_id": "#W2", "status": "cancelled"});
        assert_eq!(tool_kind(&cancelled, &mut seen).as_deref(), Some("order_details"));
        let returned = serde_json::json!({"order_id": "#W3", "status": "return requested"});
        assert_eq!(tool_kind(&returned, &mut seen).as_deref(), Some("return"));
        assert_eq!(
            tool_kind(&serde_json::json!({"user_id": "x"}), &mut seen).as_deref(),
            Some("find_user")
        );
    }
}
