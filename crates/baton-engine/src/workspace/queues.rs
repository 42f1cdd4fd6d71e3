//! `[queues.<name>]` in `workspace.toml`: the queues escalated conversations
//! wait in, which conversations each one takes, who may work it, its
//! first-response target and how its conversations reach an agent.
//!
//! A conversation goes to the most specific queue that matches it: one that
//! lists both its intent and its language, then one that lists its intent,
//! then one that lists its language, then `[queue] default_queue`. The check
//! refuses two queues that would claim the same conversation at the same
//! level, so the choice never depends on the order of the file.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::source::{Problem, Source};

/// The first-response target of a queue that does not set one, and of the
/// default queue when the file does not declare it.
pub const DEFAULT_SLA_MINUTES: u32 = 30;

/// How a queue's conversations reach an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// Baton gives each conversation to the least-loaded eligible agent.
    Auto,
    /// Agents take the next conversation themselves.
    Pull,
}

impl Assignment {
    pub fn as_str(self) -> &'static str {
        match self {
            Assignment::Auto => "auto",
            Assignment::Pull => "pull",
        }
    }
}

/// One queue, checked.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct QueueConfig {
    pub name: String,
    /// Intents that route here; empty means any intent.
    pub intents: Vec<String>,
    /// Languages (ISO 639-1) that route here; empty means any language.
    pub languages: Vec<String>,
    /// The skill an agent needs to work this queue; none means any agent.
    pub skill: Option<String>,
    /// Whether an agent also needs the conversation's language as a skill.
    pub require_language: bool,
    /// Minutes from entering the queue to the first agent message.
    pub sla_first_response_minutes: u32,
    pub assignment: Assignment,
}

impl QueueConfig {
    /// The queue the workspace gets when it declares none by that name:
    /// any agent, pulled by hand, the default target.
    pub fn implicit(name: &str) -> QueueConfig {
        QueueConfig {
            name: name.to_string(),
            intents: Vec::new(),
            languages: Vec::new(),
            skill: None,
            require_language: false,
            sla_first_response_minutes: DEFAULT_SLA_MINUTES,
            assignment: Assignment::Pull,
        }
    }

    /// How well the queue matches a conversation: 3 for intent and
    /// language, 2 for the intent, 1 for the language, `None` when the queue
    /// lists something the conversation does not have, or lists nothing.
    fn specificity(&self, intent: Option<&str>, language: Option<&str>) -> Option<u8> {
        let by_intent = !self.intents.is_empty();
        let by_language = !self.languages.is_empty();
        if by_intent && !intent.is_some_and(|i| self.intents.iter().any(|q| q == i)) {
            return None;
        }
        if by_language && !language.is_some_and(|l| self.languages.iter().any(|q| q == l)) {
            return None;
        }
        match (by_intent, by_language) {
            (true, true) => Some(3),
            (true, false) => Some(2),
            (false, true) => Some(1),
            (false, false) => None,
        }
    }
}

/// The queue a conversation with this intent and language goes to.
pub fn route<'a>(
    queues: &'a [QueueConfig],
    default_queue: &str,
    intent: Option<&str>,
    language: Option<&str>,
) -> &'a QueueConfig {
    let best = queues
        .iter()
        .filter_map(|q| q.specificity(intent, language).map(|s| (s, q)))
        .max_by_key(|(s, _)| *s)
        .map(|(_, q)| q);
    best.or_else(|| queues.iter().find(|q| q.name == default_queue))
        .or_else(|| queues.first())
        .expect("the settings always hold the default queue")
}

/// One `[queues.<name>]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawQueueDef {
    intents: Vec<Spanned<String>>,
    languages: Vec<Spanned<String>>,
    skill: Option<Spanned<String>>,
    require_language: bool,
    sla_first_response_minutes: Option<Spanned<u32>>,
    assignment: Option<Spanned<String>>,
}

/// Where each intent a queue names was written, for the check against
/// `intents.toml`: (intent, span, the key that named it).
pub(crate) type IntentSpans = Vec<(String, Range<usize>, String)>;

/// Check the declared queues and add the default queue if it is not among
/// them. Problems go on the line of the value at fault.
pub(crate) fn resolve(
    source: &Source,
    raw: BTreeMap<String, RawQueueDef>,
    default_queue: &str,
    problems: &mut Vec<Problem>,
) -> (Vec<QueueConfig>, IntentSpans) {
    let mut queues = Vec::new();
    let mut spans = IntentSpans::new();
    let mut claims: Vec<Claim> = Vec::new();
    for (name, def) in raw {
        if !is_name(&name) {
            let msg = format!(
                "queue name `{name}` must be lower-case letters, digits, `_` or `-` \
                 (at most 32)"
            );
            problems.push(source.at_text(&format!("[queues.{name}]"), msg));
        }
        let key = format!("[queues.{name}] intents");
        spans.extend(def.intents.iter().map(|i| (i.get_ref().clone(), i.span(), key.clone())));
        for language in &def.languages {
            let code = language.get_ref();
            let ok = (2..=3).contains(&code.len()) && code.chars().all(|c| c.is_ascii_lowercase());
            if !ok {
                let msg = format!("`{code}` is not a language code like \"en\" or \"es\"");
                problems.push(source.at(language.span(), msg));
            }
        }
        // Checked in the order they are usually written, so problems read in line order.
        let assignment = match def.assignment {
            None => Assignment::Pull,
            Some(mode) => match mode.get_ref().as_str() {
                "auto" => Assignment::Auto,
                "pull" => Assignment::Pull,
                other => {
                    let msg = format!("assignment must be \"auto\" or \"pull\", got `{other}`");
                    problems.push(source.at(mode.span(), msg));
                    Assignment::Pull
                }
            },
        };
        let sla = match def.sla_first_response_minutes {
            Some(minutes) if *minutes.get_ref() == 0 => {
                let msg = "sla_first_response_minutes must be at least 1";
                problems.push(source.at(minutes.span(), msg));
                DEFAULT_SLA_MINUTES
            }
            Some(minutes) => minutes.into_inner(),
            None => DEFAULT_SLA_MINUTES,
        };
        let skill = match def.skill {
            Some(skill) if skill.get_ref().trim().is_empty() => {
                problems.push(source.at(skill.span(), "skill must not be empty"));
                None
            }
            other => other.map(|s| s.into_inner()),
        };
        let intents: Vec<String> = def.intents.into_iter().map(|i| i.into_inner()).collect();
        let languages: Vec<String> = def.languages.iter().map(|l| l.get_ref().clone()).collect();
        let first_span = def
            .languages
            .first()
            .map(|l| l.span())
            .or_else(|| spans.iter().rev().find(|s| s.2 == key).map(|s| s.1.clone()));
        if let Some(span) = first_span {
            let (intents, languages) = (intents.clone(), languages.clone());
            claims.push(Claim { queue: name.clone(), intents, languages, span });
        }
        queues.push(QueueConfig {
            name,
            intents,
            languages,
            skill,
            require_language: def.require_language,
            sla_first_response_minutes: sla,
            assignment,
        });
    }
    check_overlaps(source, &claims, problems);
    if !queues.iter().any(|q| q.name == default_queue) {
        queues.push(QueueConfig::implicit(default_queue));
    }
    (queues, spans)
}

/// What a declared queue takes, and where to report an overlap.
struct Claim {
    queue: String,
    intents: Vec<String>,
    languages: Vec<String>,
    span: Range<usize>,
}

/// Two queues at the same level of specificity must not share a
/// conversation: then routing would depend on the order of the file.
fn check_overlaps(source: &Source, claims: &[Claim], problems: &mut Vec<Problem>) {
    for (i, claim) in claims.iter().enumerate() {
        let Claim { queue: name, intents, languages, span } = claim;
        for earlier in &claims[..i] {
            let (other, other_intents, other_languages) =
                (&earlier.queue, &earlier.intents, &earlier.languages);
            let same_level = intents.is_empty() == other_intents.is_empty()
                && languages.is_empty() == other_languages.is_empty();
            let share =
                |a: &[String], b: &[String]| a.is_empty() || a.iter().any(|x| b.contains(x));
            if same_level && share(intents, other_intents) && share(languages, other_languages) {
                let msg = format!(
                    "queue `{name}` claims the same conversations as queue `{other}`: \
                     give them different intents or languages"
                );
                problems.push(source.at(span.clone(), msg));
            }
        }
    }
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn parse(text: &str) -> (Vec<QueueConfig>, Vec<String>) {
        let source = Source { path: PathBuf::from("workspace.toml"), text: text.into() };
        let mut problems = Vec::new();
        let (settings, _) = super::super::settings::parse(&source, "shop", &mut problems);
        (settings.queue.queues, problems.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn declared_queues_read_back_with_the_implicit_default_queue_added() {
        let (queues, problems) = parse(
            "[queues.billing]\nintents = [\"refund_request\"]\nskill = \"billing\"\n\
             sla_first_response_minutes = 15\nassignment = \"auto\"\n",
        );
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(
            queues,
            vec![
                QueueConfig {
                    intents: vec!["refund_request".into()],
                    skill: Some("billing".into()),
                    sla_first_response_minutes: 15,
                    assignment: Assignment::Auto,
                    ..QueueConfig::implicit("billing")
                },
                QueueConfig::implicit("general"),
            ]
        );
    }

    #[test]
    fn bad_queue_values_are_reported_on_their_lines() {
        let (_, problems) = parse(
            "[queues.billing]\nintents = [\"refund_request\"]\nassignment = \"push\"\n\
             sla_first_response_minutes = 0\n\
             [queues.refunds]\nintents = [\"refund_request\"]\nlanguages = [\"English\"]\n",
        );
        assert_eq!(
            problems,
            vec![
                "workspace.toml:3: assignment must be \"auto\" or \"pull\", got `push`",
                "workspace.toml:4: sla_first_response_minutes must be at least 1",
                "workspace.toml:7: `English` is not a language code like \"en\" or \"es\"",
            ]
        );
        let (_, problems) = parse(
            "[queues.billing]\nintents = [\"refund_request\"]\n\
             [queues.refunds]\nintents = [\"refund_request\", \"cancel_order\"]\n",
        );
        assert_eq!(
            problems,
            vec![
                "workspace.toml:4: queue `refunds` claims the same conversations as queue \
                 `billing`: give them different intents or languages"
            ]
        );
    }

    fn queue(name: &str, intents: &[&str], languages: &[&str]) -> QueueConfig {
        QueueConfig {
            intents: intents.iter().map(|s| s.to_string()).collect(),
            languages: languages.iter().map(|s| s.to_string()).collect(),
            ..QueueConfig::implicit(name)
        }
    }

    #[test]
    fn the_most_specific_queue_wins_and_the_default_takes_the_rest() {
        let queues = vec![
            queue("general", &[], &[]),
            queue("billing", &["refund_status"], &[]),
            queue("billing_es", &["refund_status"], &["es"]),
            queue("spanish", &[], &["es"]),
        ];
        let name = |intent: Option<&str>, language: Option<&str>| {
            route(&queues, "general", intent, language).name.clone()
        };
        assert_eq!(name(Some("refund_status"), Some("es")), "billing_es");
        assert_eq!(name(Some("refund_status"), Some("en")), "billing");
        assert_eq!(name(Some("order_status"), Some("es")), "spanish");
        assert_eq!(name(Some("order_status"), Some("en")), "general");
        assert_eq!(name(None, None), "general");
    }
}
