//! Agents' feedback on the AI: a customer message relabelled with the intent
//! it really had, a bot answer marked wrong, an agent reply saved as a reply
//! template or a knowledge article draft, and a supervisor's verdict on each.
//!
//! Feedback is two kinds of event in the conversation's own log
//! (`feedback_given`, `feedback_reviewed`), so that reports, the audit and
//! `baton train` read it like everything else. A feedback's id is its
//! conversation's id and the seq of its `feedback_given` event, joined by a
//! dot. Saved replies are also written as files under the data folder's
//! `drafts/` for a workspace author to review; the workspace folder itself
//! is never touched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use baton_core::{
    Actor, AgentId, Author, ConversationId, Event, EventKind, FeedbackKind, Projection,
};

use crate::engine::{Engine, EngineError};

/// The longest note or draft title accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;

/// What an agent asks to record.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackInput {
    pub kind: FeedbackKind,
    pub message_seq: u64,
    /// For a relabel: the intent the message really had.
    pub intent: Option<String>,
    pub note: Option<String>,
    /// For a saved reply: the draft's title (the reply's first words if
    /// none).
    pub title: Option<String>,
}

/// Whether a supervisor has decided on a feedback yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackStatus {
    Pending,
    Accepted,
    Rejected,
}

impl FeedbackStatus {
    pub fn parse(raw: &str) -> Option<FeedbackStatus> {
        match raw {
            "pending" => Some(FeedbackStatus::Pending),
            "accepted" => Some(FeedbackStatus::Accepted),
            "rejected" => Some(FeedbackStatus::Rejected),
            _ => None,
        }
    }
}

/// One feedback as folded from a log, with its verdict if it has one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeedbackRecord {
    /// `<conversation id>.<seq>`.
    pub id: String,
    pub conversation_id: ConversationId,
    pub seq: u64,
    pub kind: FeedbackKind,
    pub message_seq: u64,
    /// The text of the message the feedback is about.
    pub message_text: String,
    pub intent: Option<String>,
    pub previous_intent: Option<String>,
    pub note: Option<String>,
    pub draft: Option<String>,
    pub given_by: Option<AgentId>,
    pub given_at: DateTime<Utc>,
    pub status: FeedbackStatus,
    pub reviewed_by: Option<AgentId>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: Option<String>,
}

/// A feedback id split into its conversation and seq.
pub fn parse_id(raw: &str) -> Option<(ConversationId, u64)> {
    let (conversation, seq) = raw.rsplit_once('.')?;
    Some((conversation.parse().ok()?, seq.parse().ok()?))
}

/// Every feedback in `events` (one or many conversations, each in seq
/// order), in the order it was given.
pub fn records(events: &[Event]) -> Vec<FeedbackRecord> {
    let mut texts: BTreeMap<(ConversationId, u64), String> = BTreeMap::new();
    let mut out: Vec<FeedbackRecord> = Vec::new();
    let mut index: BTreeMap<(ConversationId, u64), usize> = BTreeMap::new();
    for event in events {
        let key = (event.conversation_id, event.seq);
        match &event.kind {
            EventKind::MessagePosted { text, .. } => {
                texts.insert(key, text.clone());
            }
            EventKind::FeedbackGiven {
                kind,
                message_seq,
                intent,
                previous_intent,
                note,
                draft,
            } => {
                index.insert(key, out.len());
                out.push(FeedbackRecord {
                    id: format!("{}.{}", event.conversation_id, event.seq),
                    conversation_id: event.conversation_id,
                    seq: event.seq,
                    kind: *kind,
                    message_seq: *message_seq,
                    message_text: texts
                        .get(&(event.conversation_id, *message_seq))
                        .cloned()
                        .unwrap_or_default(),
                    intent: intent.clone(),
                    previous_intent: previous_intent.clone(),
                    note: note.clone(),
                    draft: draft.clone(),
                    given_by: agent_of(event.actor),
                    given_at: event.at,
                    status: FeedbackStatus::Pending,
                    reviewed_by: None,
                    reviewed_at: None,
                    review_note: None,
                });
            }
            EventKind::FeedbackReviewed { feedback_seq, accepted, note } => {
                let Some(&i) = index.get(&(event.conversation_id, *feedback_seq)) else {
                    continue;
                };
                let record = &mut out[i];
                record.status =
                    if *accepted { FeedbackStatus::Accepted } else { FeedbackStatus::Rejected };
                record.reviewed_by = agent_of(event.actor);
                record.reviewed_at = Some(event.at);
                record.review_note = note.clone();
            }
            _ => {}
        }
    }
    out.sort_by(|a, b| a.given_at.cmp(&b.given_at).then(a.id.cmp(&b.id)));
    out
}

/// The accepted relabels as `(text, intent)` training examples, oldest
/// first; when one text was relabelled twice the later verdict wins.
pub fn accepted_relabels(records: &[FeedbackRecord]) -> Vec<(String, String)> {
    let mut by_text: BTreeMap<String, (usize, String, String)> = BTreeMap::new();
    let accepted = records
        .iter()
        .filter(|r| r.kind == FeedbackKind::Relabel && r.status == FeedbackStatus::Accepted);
    for (order, record) in accepted.enumerate() {
        let Some(intent) = &record.intent else { continue };
        let text = record.message_text.trim().to_string();
        if text.is_empty() {
            continue;
        }
        by_text.insert(text.to_lowercase(), (order, text, intent.clone()));
    }
    let mut out: Vec<(usize, String, String)> = by_text.into_values().collect();
    out.sort_by_key(|(order, ..)| *order);
    out.into_iter().map(|(_, text, intent)| (text, intent)).collect()
}

fn agent_of(actor: Actor) -> Option<AgentId> {
    match actor {
        Actor::Agent(id) => Some(id),
        _ => None,
    }
}

impl Engine {
    /// Record an agent's feedback on a message of a conversation. A saved
    /// reply is also written under `drafts_dir` (the data folder's
    /// `drafts/`). Bad input is [`EngineError::Invalid`] naming the problem.
    pub async fn give_feedback(
        &self,
        id: ConversationId,
        agent_id: AgentId,
        input: FeedbackInput,
        drafts_dir: Option<&Path>,
    ) -> Result<FeedbackRecord, EngineError> {
        let note = clean_optional(input.note.as_deref(), "note")?;
        let title = clean_optional(input.title.as_deref(), "title")?;
        let drafts_dir = drafts_dir.map(Path::to_path_buf);
        let state = self
            .with_turn(id, |engine, turn| {
                let input = input.clone();
                let note = note.clone();
                let title = title.clone();
                let drafts_dir = drafts_dir.clone();
                Box::pin(async move {
                    let events = engine.store().events(id, 0).await?;
                    let checked = engine.check_feedback(&turn.state, &events, &input)?;
                    let draft = match (input.kind, &drafts_dir) {
                        (FeedbackKind::Relabel | FeedbackKind::AnswerWrong, _) => None,
                        (_, None) => {
                            return Err(EngineError::Invalid(
                                "this server keeps no data folder to save drafts in".into(),
                            ))
                        }
                        (kind, Some(dir)) => {
                            let text = &checked.message_text;
                            Some(write_draft(dir, kind, id, input.message_seq, title, text)?)
                        }
                    };
                    turn.push(
                        Actor::Agent(agent_id),
                        EventKind::FeedbackGiven {
                            kind: input.kind,
                            message_seq: input.message_seq,
                            intent: input.intent.clone().filter(|_| checked.relabel),
                            previous_intent: checked.previous_intent,
                            note,
                            draft,
                        },
                    )?;
                    Ok(())
                })
            })
            .await?;
        let events = self.store().events(id, 0).await?;
        records(&events)
            .into_iter()
            .find(|r| r.seq == state.last_seq)
            .ok_or_else(|| EngineError::Conflict("the feedback was not stored; retry".into()))
    }

    /// A supervisor's verdict on a pending feedback.
    pub async fn review_feedback(
        &self,
        id: ConversationId,
        feedback_seq: u64,
        reviewer: AgentId,
        accepted: bool,
        note: Option<String>,
    ) -> Result<FeedbackRecord, EngineError> {
        let note = clean_optional(note.as_deref(), "note")?;
        self.with_turn(id, |engine, turn| {
            let note = note.clone();
            Box::pin(async move {
                let events = engine.store().events(id, 0).await?;
                let record = records(&events)
                    .into_iter()
                    .find(|r| r.seq == feedback_seq)
                    .ok_or_else(|| no_feedback(id, feedback_seq))?;
                if record.status != FeedbackStatus::Pending {
                    return Err(EngineError::Conflict(format!(
                        "feedback {} was already {}",
                        record.id,
                        if record.status == FeedbackStatus::Accepted {
                            "accepted"
                        } else {
                            "rejected"
                        }
                    )));
                }
                turn.push(
                    Actor::Agent(reviewer),
                    EventKind::FeedbackReviewed { feedback_seq, accepted, note },
                )?;
                Ok(())
            })
        })
        .await?;
        let events = self.store().events(id, 0).await?;
        records(&events)
            .into_iter()
            .find(|r| r.seq == feedback_seq)
            .ok_or_else(|| no_feedback(id, feedback_seq))
    }

    /// Check the feedback against the conversation and the workspace.
    fn check_feedback(
        &self,
        state: &Projection,
        events: &[Event],
        input: &FeedbackInput,
    ) -> Result<Checked, EngineError> {
        let seq = input.message_seq;
        let message = state.messages.iter().find(|m| m.seq == seq).ok_or_else(|| {
            EngineError::Invalid(format!(
                "`message_seq` {seq} is not a message of this conversation"
            ))
        })?;
        let (wanted, what) = match input.kind {
            FeedbackKind::Relabel => (Author::Customer, "relabelled"),
            FeedbackKind::AnswerWrong => (Author::Bot, "marked wrong"),
            FeedbackKind::SaveTemplate | FeedbackKind::SaveArticleDraft => {
                (Author::Agent, "saved as a draft")
            }
        };
        if message.author != wanted {
            return Err(EngineError::Invalid(format!(
                "message {seq} was written by the {}; only a {} message can be {what}",
                message.author.as_str(),
                wanted.as_str()
            )));
        }
        if input.kind != FeedbackKind::Relabel && input.intent.is_some() {
            return Err(EngineError::Invalid(format!(
                "`intent` is only for a relabel, not for {}",
                input.kind.as_str()
            )));
        }
        let already = records(events).into_iter().find(|r| {
            r.kind == input.kind && r.message_seq == seq && r.status != FeedbackStatus::Rejected
        });
        if let Some(earlier) = already {
            return Err(EngineError::Conflict(format!(
                "message {seq} already has {} feedback {}",
                input.kind.as_str(),
                earlier.id
            )));
        }

        let previous_intent = events.iter().find_map(|e| match &e.kind {
            EventKind::MessageAnalysed { message_seq, analysis } if *message_seq == seq => {
                Some(match analysis.top_intent() {
                    Some(top) if !analysis.out_of_scope => top.intent.clone(),
                    _ => "out_of_scope".to_string(),
                })
            }
            _ => None,
        });
        if input.kind == FeedbackKind::Relabel {
            let intent = input.intent.as_deref().map(str::trim).unwrap_or_default();
            if intent.is_empty() {
                return Err(EngineError::Invalid("a relabel needs `intent`".into()));
            }
            if !self.workspace().intents.iter().any(|i| i.name == intent) {
                let known: Vec<&str> =
                    self.workspace().intents.iter().map(|i| i.name.as_str()).collect();
                return Err(EngineError::Invalid(format!(
                    "`intent` `{intent}` is not an intent of this workspace; it has {}",
                    known.join(", ")
                )));
            }
            if previous_intent.as_deref() == Some(intent) {
                return Err(EngineError::Invalid(format!(
                    "the model already read message {seq} as `{intent}`; nothing to correct"
                )));
            }
        }
        Ok(Checked {
            relabel: input.kind == FeedbackKind::Relabel,
            previous_intent: previous_intent.filter(|_| input.kind == FeedbackKind::Relabel),
            message_text: message.text.clone(),
        })
    }
}

/// What the checks found out on the way.
struct Checked {
    relabel: bool,
    previous_intent: Option<String>,
    message_text: String,
}

/// The server checks that a feedback exists before it asks for a verdict,
/// so this is only reached for an id that vanished in between.
fn no_feedback(id: ConversationId, seq: u64) -> EngineError {
    EngineError::Invalid(format!("no feedback with id {id}.{seq}"))
}

fn clean_optional(raw: Option<&str>, field: &str) -> Result<Option<String>, EngineError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let chars = text.chars().count();
    if chars > MAX_NOTE_CHARS {
        return Err(EngineError::Invalid(format!(
            "`{field}` is {chars} characters long; the limit is {MAX_NOTE_CHARS}"
        )));
    }
    Ok(Some(text.chars().filter(|c| !c.is_control() || *c == '\n').collect()))
}

/// Write a saved reply as a file for a workspace author: a reply template
/// as TOML in the layout of `templates.toml`, an article as Markdown with
/// the front matter of `knowledge/`. Returns the path under `drafts_dir`.
fn write_draft(
    drafts_dir: &Path,
    kind: FeedbackKind,
    id: ConversationId,
    message_seq: u64,
    title: Option<String>,
    text: &str,
) -> Result<String, EngineError> {
    let title = title.unwrap_or_else(|| first_words(text, 6));
    let slug = slug(&title);
    let short: String = id.to_string().chars().take(8).collect();
    let (folder, name, body) = match kind {
        FeedbackKind::SaveTemplate => {
            let key = slug.replace('-', "_");
            let name = format!("{slug}-{short}-{message_seq}.toml");
            let body = format!(
                "# A reply template saved by an agent from conversation {id}, message \
                 {message_seq}.\n# Review it, then copy it into the workspace's \
                 templates.toml.\n{key} = {}\n",
                toml_string(text)
            );
            ("templates", name, body)
        }
        _ => {
            let name = format!("{slug}-{short}-{message_seq}.md");
            let body = format!(
                "+++\ntitle = {}\ntags = []\n+++\n# {}\n\n{}\n\n<!-- Saved by an agent from \
                 conversation {id}, message {message_seq}. Review it, then move it into the \
                 workspace's knowledge/ folder. -->\n",
                toml_string(&title),
                title.replace('\n', " "),
                text
            );
            ("articles", name, body)
        }
    };
    let dir = drafts_dir.join(folder);
    let path: PathBuf = dir.join(&name);
    let io = |e: std::io::Error| {
        EngineError::Conflict(format!("cannot write the draft {}: {e}", path.display()))
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    std::fs::write(&path, body).map_err(io)?;
    Ok(format!("{folder}/{name}"))
}

fn first_words(text: &str, n: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().take(n).collect();
    if words.is_empty() {
        "reply".into()
    } else {
        words.join(" ")
    }
}

/// Lower-case letters and digits joined by single hyphens, at most 40.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "reply".into()
    } else {
        out
    }
}

/// A TOML basic string holding `text` exactly.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The drafts saved under a data folder's `drafts/`, as
/// `(kind, path under drafts/)`, sorted by path.
pub fn list_drafts(drafts_dir: &Path) -> Vec<(FeedbackKind, String)> {
    let mut out = Vec::new();
    for (folder, kind) in
        [("articles", FeedbackKind::SaveArticleDraft), ("templates", FeedbackKind::SaveTemplate)]
    {
        let Ok(entries) = std::fs::read_dir(drafts_dir.join(folder)) else { continue };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        out.extend(names.into_iter().map(|n| (kind, format!("{folder}/{n}"))));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use baton_core::ManualClock;
    use baton_store::{SqliteStore, Store};

    use super::*;
    use crate::engine::CustomerDetails;
    use crate::reports::audit::{audit, Recommendation};
    use crate::reports::Filter;
    use crate::workspace::Workspace;
    use crate::LocalBus;

    async fn demo_engine() -> Engine {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo");
        let workspace = Workspace::load(&dir).unwrap();
        let (analyzer, _) = crate::model::load_or_train(&workspace, None).unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
        let clock = Arc::new(ManualClock::new(Utc::now()));
        Engine::new(
            Arc::new(workspace),
            Arc::new(analyzer),
            store,
            clock,
            Arc::new(LocalBus::new()),
        )
    }

    fn mark_wrong(seq: u64) -> FeedbackInput {
        FeedbackInput {
            kind: FeedbackKind::AnswerWrong,
            message_seq: seq,
            intent: None,
            note: Some("the fee is wrong".into()),
            title: None,
        }
    }

    #[tokio::test]
    async fn an_answer_marked_wrong_makes_the_audit_say_fix_the_knowledge_until_rejected() {
        let engine = demo_engine().await;
        let agent = AgentId::new();
        let id = engine.start_conversation("web", CustomerDetails::default()).await.unwrap().id;
        let outcome = engine.customer_message(id, "where is my order", None).await.unwrap();
        let answer = outcome.replies.first().unwrap().seq;
        engine.customer_message(id, "thanks, that's all", None).await.unwrap();
        let settings = &engine.workspace().settings;

        let before = engine.store().events_between(None, None).await.unwrap();
        let row = audit(&before, &Filter::default(), settings).remove(0);
        assert_eq!(
            (row.intent.as_str(), row.recommendation),
            ("order_status", Recommendation::Automate)
        );

        let record = engine.give_feedback(id, agent, mark_wrong(answer), None).await.unwrap();
        assert_eq!(record.status, FeedbackStatus::Pending);
        assert_eq!(record.given_by, Some(agent));
        assert_eq!(record.note.as_deref(), Some("the fee is wrong"));
        let marked = engine.store().events_between(None, None).await.unwrap();
        let row = audit(&marked, &Filter::default(), settings).remove(0);
        assert_eq!(row.recommendation, Recommendation::FixTheKnowledge);
        assert_eq!(row.why, "agents marked 1 of the AI's answers wrong in 1 conversations");

        let reviewed = engine.review_feedback(id, record.seq, agent, false, None).await.unwrap();
        assert_eq!(reviewed.status, FeedbackStatus::Rejected);
        let after = engine.store().events_between(None, None).await.unwrap();
        let row = audit(&after, &Filter::default(), settings).remove(0);
        assert_eq!(row.recommendation, Recommendation::Automate);
    }

    #[tokio::test]
    async fn feedback_on_the_wrong_kind_of_message_is_refused_by_name() {
        let engine = demo_engine().await;
        let agent = AgentId::new();
        let id = engine.start_conversation("web", CustomerDetails::default()).await.unwrap().id;
        let outcome = engine.customer_message(id, "where is my order", None).await.unwrap();
        let customer = outcome.message.seq;
        let relabel = |seq, intent: &str| FeedbackInput {
            kind: FeedbackKind::Relabel,
            message_seq: seq,
            intent: Some(intent.into()),
            note: None,
            title: None,
        };
        let err = |r: Result<FeedbackRecord, EngineError>| r.unwrap_err().to_string();
        assert_eq!(
            err(engine.give_feedback(id, agent, mark_wrong(customer), None).await),
            format!(
                "message {customer} was written by the customer; only a bot message can be \
                 marked wrong"
            )
        );
        assert_eq!(
            err(engine.give_feedback(id, agent, relabel(99, "refund"), None).await),
            "`message_seq` 99 is not a message of this conversation"
        );
        assert!(err(engine.give_feedback(id, agent, relabel(customer, "teleport"), None).await)
            .starts_with(
                "`intent` `teleport` is not an intent of this workspace; it has greeting"
            ));
        assert_eq!(
            err(engine.give_feedback(id, agent, relabel(customer, "order_status"), None).await),
            format!(
                "the model already read message {customer} as `order_status`; nothing to correct"
            )
        );
        let first = engine.give_feedback(id, agent, relabel(customer, "cancel_order"), None).await;
        assert_eq!(first.unwrap().previous_intent.as_deref(), Some("order_status"));
        assert!(err(engine
            .give_feedback(id, agent, relabel(customer, "cancel_order"), None)
            .await)
        .starts_with(&format!("message {customer} already has relabel feedback ")));
    }

    #[test]
    fn a_template_draft_is_valid_toml_holding_the_reply_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let id = ConversationId::new();
        let text = "Your \"parcel\" is on its way.\nTrack it at C:\\orders.";
        let path = write_draft(dir.path(), FeedbackKind::SaveTemplate, id, 7, None, text).unwrap();
        assert!(path.starts_with("templates/your-parcel-is-on-its-way-"));
        let body = std::fs::read_to_string(dir.path().join(&path)).unwrap();
        let parsed: toml::Table = toml::from_str(&body).unwrap();
        assert_eq!(parsed["your_parcel_is_on_its_way"].as_str(), Some(text));
        assert_eq!(list_drafts(dir.path()), vec![(FeedbackKind::SaveTemplate, path)]);
    }

    #[test]
    fn a_feedback_id_is_its_conversation_and_seq() {
        let id = ConversationId::new();
        assert_eq!(parse_id(&format!("{id}.12")), Some((id, 12)));
        assert_eq!(parse_id("nonsense.12"), None);
        assert_eq!(parse_id(&format!("{id}")), None);
    }
}
