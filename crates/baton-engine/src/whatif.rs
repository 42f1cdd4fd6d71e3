//! Replay as a what-if: the same recorded conversations run under two
//! workspace versions, set side by side: containment, escalation reasons,
//! and every conversation whose outcome changed.
//!
//! The outcome of a conversation is its final stage with its escalation
//! reason (none when the AI kept it). Both replays start from the same
//! fixed time and read the same input, so any difference comes from the
//! workspaces.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::replay::{ReplayReport, ReplayResult, ReplayTotals};

/// One conversation's outcome in one replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub stage: String,
    pub escalation_reason: Option<String>,
}

impl Outcome {
    fn of(result: &ReplayResult) -> Self {
        Outcome {
            stage: result.final_stage.as_str().to_string(),
            escalation_reason: result.escalation_reason.clone(),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.escalation_reason {
            Some(reason) => write!(f, "{} ({reason})", self.stage),
            None => write!(f, "{} (not escalated)", self.stage),
        }
    }
}

/// A conversation whose outcome differs between the two workspaces.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub id: String,
    pub old: Outcome,
    pub new: Outcome,
}

/// The two replays side by side.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub old: ReplayTotals,
    pub new: ReplayTotals,
    pub changed: Vec<Change>,
}

/// Compare two replays of the same input, conversation by conversation.
pub fn compare(old: &ReplayReport, new: &ReplayReport) -> Comparison {
    let changed = old
        .conversations
        .iter()
        .zip(&new.conversations)
        .filter_map(|(o, n)| {
            let (old, new) = (Outcome::of(o), Outcome::of(n));
            (old != new).then(|| Change { id: o.id.clone(), old, new })
        })
        .collect();
    Comparison { old: old.totals.clone(), new: new.totals.clone(), changed }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let share = |n: usize, t: &ReplayTotals| {
            if t.conversations == 0 {
                "-".to_string()
            } else {
                format!("{:.1} %", 100.0 * n as f64 / t.conversations as f64)
            }
        };
        writeln!(f, "{:<28} {:>16} {:>16}", "", "old", "new")?;
        writeln!(
            f,
            "{:<28} {:>16} {:>16}",
            "conversations", self.old.conversations, self.new.conversations
        )?;
        let not_escalated =
            |t: &ReplayTotals| format!("{} ({})", t.not_escalated, share(t.not_escalated, t));
        writeln!(
            f,
            "{:<28} {:>16} {:>16}",
            "not escalated",
            not_escalated(&self.old),
            not_escalated(&self.new)
        )?;
        let escalated = |t: &ReplayTotals| format!("{} ({})", t.escalated, share(t.escalated, t));
        writeln!(
            f,
            "{:<28} {:>16} {:>16}",
            "escalated",
            escalated(&self.old),
            escalated(&self.new)
        )?;
        let reasons: BTreeSet<&String> = self
            .old
            .escalated_by_reason
            .keys()
            .chain(self.new.escalated_by_reason.keys())
            .collect();
        for reason in reasons {
            let count = |t: &ReplayTotals| t.escalated_by_reason.get(reason).copied().unwrap_or(0);
            writeln!(f, "  {:<26} {:>16} {:>16}", reason, count(&self.old), count(&self.new))?;
        }
        writeln!(f)?;
        writeln!(f, "{} conversations changed outcome", self.changed.len())?;
        for change in &self.changed {
            writeln!(f, "  {}: {} -> {}", change.id, change.old, change.new)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use baton_core::Stage;

    use super::*;

    fn result(id: &str, stage: Stage, reason: Option<&str>) -> ReplayResult {
        ReplayResult {
            id: id.into(),
            started_at: chrono::DateTime::UNIX_EPOCH,
            final_stage: stage,
            escalation_reason: reason.map(str::to_string),
            intents: vec![],
            actions: vec![],
            tools: vec![],
            bot_replies: vec![],
            turns: 1,
            skipped: vec![],
            tool_kinds: vec![],
            expected_tool_kinds: vec![],
            writes_withheld: 0,
        }
    }

    fn report(results: Vec<ReplayResult>) -> ReplayReport {
        let not_escalated = results.iter().filter(|r| r.not_escalated()).count();
        let mut by_reason = BTreeMap::new();
        for reason in results.iter().filter_map(|r| r.escalation_reason.clone()) {
            *by_reason.entry(reason).or_insert(0) += 1;
        }
        ReplayReport {
            totals: ReplayTotals {
                conversations: results.len(),
                not_escalated,
                escalated: results.len() - not_escalated,
                escalated_by_reason: by_reason,
                mean_turns: 1.0,
                with_expected_tools: 0,
                tool_recall: 0.0,
                tool_precision: 0.0,
                tool_sets_equal: 0,
                writes_withheld: 0,
            },
            conversations: results,
        }
    }

    #[test]
    fn only_the_conversations_whose_outcome_moved_are_listed() {
        let old = report(vec![
            result("a", Stage::Resolved, None),
            result("b", Stage::Queued, Some("repeated_misunderstanding")),
            result("c", Stage::Queued, Some("human_requested")),
        ]);
        let new = report(vec![
            result("a", Stage::Resolved, None),
            result("b", Stage::Bot, None),
            result("c", Stage::Queued, Some("human_requested")),
        ]);
        let comparison = compare(&old, &new);
        assert_eq!(
            comparison.changed,
            vec![Change {
                id: "b".into(),
                old: Outcome {
                    stage: "queued".into(),
                    escalation_reason: Some("repeated_misunderstanding".into())
                },
                new: Outcome { stage: "bot".into(), escalation_reason: None },
            }]
        );
        let text = comparison.to_string();
        assert!(text.contains("1 conversations changed outcome\n"), "{text}");
        assert!(text.contains("  b: queued (repeated_misunderstanding) -> bot (not escalated)\n"));
        let line = text.lines().find(|l| l.trim_start().starts_with("repeated_mis")).unwrap();
        assert_eq!(
            line.split_whitespace().collect::<Vec<_>>(),
            ["repeated_misunderstanding", "1", "0"]
        );
    }
}
