//! `intents.toml`: what customers come for, with the example sentences the
//! intent model learns from and how the bot answers each.
//!
//! ```toml
//! [[intent]]
//! name = "shipping_policy"
//! description = "Questions about delivery costs and times"
//! label = "our shipping options"
//! answer = { knowledge = true }
//! examples = ["how much is shipping", "..."]
//!
//! [[intent]]
//! name = "complaint"
//! human_only = true
//! examples = ["..."]
//! ```

use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::source::{Problem, Source};

/// The fewest examples an intent may have; fewer cannot be learnt from.
pub const MIN_EXAMPLES: usize = 5;

/// One intent as the workspace defines it.
#[derive(Clone, Debug, PartialEq)]
pub struct IntentDef {
    /// Lower-case letters, digits and `_`; what analyses and events record.
    pub name: String,
    /// What the intent covers, for people reading the workspace and the
    /// agent console.
    pub description: String,
    /// A short phrase for the intent in a reply, as in the `clarify`
    /// template's "do you mean {options}?" ("checking an order"). Default:
    /// the name with `_` as spaces.
    pub label: String,
    /// Always handed to a person, whatever the confidence.
    pub human_only: bool,
    /// Answering this intent ends the conversation as resolved by the AI
    /// (a goodbye, say). Default: false.
    pub resolves: bool,
    pub answer: Answer,
    pub examples: Vec<String>,
}

/// How the bot answers a confident intent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// With a reply template, by id (`answer = { template = "id" }`).
    Template(String),
    /// From the knowledge base (`answer = { knowledge = true }`).
    Knowledge,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    intent: Vec<RawIntent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntent {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    label: Option<String>,
    #[serde(default)]
    human_only: bool,
    #[serde(default)]
    resolves: bool,
    answer: Option<Spanned<RawAnswer>>,
    examples: Spanned<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnswer {
    template: Option<String>,
    knowledge: Option<bool>,
}

/// Intents with where their template references sit, for the cross-file
/// checks done once the templates are known.
pub(crate) struct ParsedIntents {
    pub intents: Vec<IntentDef>,
    /// Byte span of each intent's `answer` (or `name` when defaulted).
    pub answer_spans: Vec<Range<usize>>,
}

/// Parses `intents.toml`, pushing every problem found in the file alone.
/// Intents named in `human_only` (from the settings) count as marked
/// `human_only = true`; `None` means the settings could not be read, and
/// then a missing `answer` is not reported, as it may be a human-only intent.
pub(crate) fn parse(
    source: &Source,
    human_only: Option<&[String]>,
    problems: &mut Vec<Problem>,
) -> ParsedIntents {
    let mut parsed = ParsedIntents { intents: Vec::new(), answer_spans: Vec::new() };
    let raw: RawFile = match toml::from_str(&source.text) {
        Ok(raw) => raw,
        Err(e) => {
            problems.push(source.toml_error(&e));
            return parsed;
        }
    };
    if raw.intent.is_empty() {
        problems.push(source.whole("no intents: add at least one `[[intent]]` table"));
    }

    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut example_owner: HashMap<String, String> = HashMap::new();
    for intent in raw.intent {
        let name = intent.name.get_ref().clone();
        let name_span = intent.name.span();
        let name_line = super::source::line_of(&source.text, name_span.start);
        let listed = human_only.is_some_and(|list| list.contains(&name));
        let is_human_only = intent.human_only || listed;

        if !is_name(&name) {
            let msg = format!("intent name `{name}` must be lower-case letters, digits and `_`");
            problems.push(source.at(name_span.clone(), msg));
        }
        if let Some(first) = seen.insert(name.clone(), name_line) {
            let msg = format!("duplicate intent `{name}` (first defined on line {first})");
            problems.push(source.at(name_span.clone(), msg));
            seen.insert(name.clone(), first);
        }

        let examples_span = intent.examples.span();
        let examples = intent.examples.into_inner();
        let real = examples.iter().filter(|e| !e.trim().is_empty()).count();
        if real < MIN_EXAMPLES {
            let msg =
                format!("intent `{name}` has {real} examples; it needs at least {MIN_EXAMPLES}");
            problems.push(source.at(examples_span.clone(), msg));
        }
        if real < examples.len() {
            let msg = format!("intent `{name}` has an empty example");
            problems.push(source.at(examples_span.clone(), msg));
        }

        // The same sentence under two intents teaches the model nothing but
        // confusion.
        for example in &examples {
            let key = normalise(example);
            if key.is_empty() {
                continue;
            }
            match example_owner.get(&key) {
                Some(owner) if owner != &name => {
                    let msg = format!("example \"{example}\" is also an example of `{owner}`");
                    problems.push(source.at(examples_span.clone(), msg));
                }
                Some(_) => {
                    let msg = format!("example \"{example}\" is listed twice in `{name}`");
                    problems.push(source.at(examples_span.clone(), msg));
                }
                None => {
                    example_owner.insert(key, name.clone());
                }
            }
        }

        let (answer, span) = match intent.answer {
            Some(answer) => {
                let span = answer.span();
                let raw = answer.into_inner();
                match (raw.template, raw.knowledge) {
                    (Some(id), None | Some(false)) => (Answer::Template(id), span),
                    (None, Some(true)) => (Answer::Knowledge, span),
                    _ => {
                        let msg = "answer must be either `{ template = \"id\" }` or \
                                   `{ knowledge = true }`";
                        problems.push(source.at(span.clone(), msg));
                        (Answer::Template("fallback".into()), span)
                    }
                }
            }
            // A human-only intent is answered by the handoff; any other
            // intent needs to say how it is answered.
            None if is_human_only => (Answer::Template("handoff".into()), name_span),
            None => {
                if human_only.is_some() {
                    let msg = format!("intent `{name}` has no `answer`");
                    problems.push(source.at(name_span.clone(), msg));
                }
                (Answer::Template("fallback".into()), name_span)
            }
        };

        let label =
            intent.label.filter(|l| !l.trim().is_empty()).unwrap_or_else(|| name.replace('_', " "));
        parsed.intents.push(IntentDef {
            name,
            description: intent.description,
            label,
            human_only: is_human_only,
            resolves: intent.resolves,
            answer,
            examples,
        });
        parsed.answer_spans.push(span);
    }
    parsed
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Lower case with single spaces and no trailing punctuation, to spot the
/// same example written twice.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(['.', '!', '?'])
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn parse_text(text: &str) -> (ParsedIntents, Vec<String>) {
        let source = Source { path: PathBuf::from("intents.toml"), text: text.into() };
        let mut problems = Vec::new();
        let parsed = parse(&source, Some(&["listed".to_string()]), &mut problems);
        (parsed, problems.iter().map(|p| p.to_string()).collect())
    }

    const FIVE: &str = "examples = [\"a one\", \"a two\", \"a three\", \"a four\", \"a five\"]\n";

    #[test]
    fn a_valid_intent_is_read_with_its_answer() {
        let text = format!(
            "[[intent]]\nname = \"hello\"\ndescription = \"Greets\"\n\
             answer = {{ template = \"greeting\" }}\n{FIVE}\
             resolves = true\n\
             [[intent]]\nname = \"ship\"\nlabel = \"our shipping\"\n\
             answer = {{ knowledge = true }}\n{}",
            FIVE.replace("a ", "b ")
        );
        let (parsed, problems) = parse_text(&text);
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(parsed.intents.len(), 2);
        assert_eq!(parsed.intents[0].answer, Answer::Template("greeting".into()));
        assert_eq!(parsed.intents[0].description, "Greets");
        assert_eq!(parsed.intents[0].label, "hello");
        assert!(parsed.intents[0].resolves);
        assert!(!parsed.intents[1].resolves);
        assert_eq!(parsed.intents[1].answer, Answer::Knowledge);
        assert_eq!(parsed.intents[1].label, "our shipping");
        assert_eq!(parsed.intents[1].examples[4], "b five");
    }

    #[test]
    fn a_human_only_intent_defaults_to_the_handoff_template() {
        let text = format!("[[intent]]\nname = \"complaint\"\nhuman_only = true\n{FIVE}");
        let (parsed, problems) = parse_text(&text);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(parsed.intents[0].human_only);
        assert_eq!(parsed.intents[0].answer, Answer::Template("handoff".into()));
    }

    #[test]
    fn an_intent_listed_as_human_only_in_the_settings_is_human_only() {
        let text = format!("[[intent]]\nname = \"listed\"\n{FIVE}");
        let (parsed, problems) = parse_text(&text);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(parsed.intents[0].human_only);
        assert_eq!(parsed.intents[0].answer, Answer::Template("handoff".into()));
    }

    #[test]
    fn too_few_examples_are_reported_on_the_examples_line() {
        let text = "[[intent]]\nname = \"x\"\nanswer = { knowledge = true }\n\
                    examples = [\"one\", \"two\", \"  \"]\n";
        let (_, problems) = parse_text(text);
        assert_eq!(
            problems,
            vec![
                "intents.toml:4: intent `x` has 2 examples; it needs at least 5",
                "intents.toml:4: intent `x` has an empty example",
            ]
        );
    }

    #[test]
    fn a_duplicate_intent_name_is_reported_on_the_second_definition() {
        let text = format!(
            "[[intent]]\nname = \"x\"\nanswer = {{ knowledge = true }}\n{FIVE}\
             [[intent]]\nname = \"x\"\nanswer = {{ knowledge = true }}\n{}",
            FIVE.replace("a ", "c ")
        );
        let (_, problems) = parse_text(&text);
        assert_eq!(
            problems,
            vec!["intents.toml:6: duplicate intent `x` (first defined on line 2)"]
        );
    }

    #[test]
    fn the_same_example_under_two_intents_is_reported() {
        let text = format!(
            "[[intent]]\nname = \"x\"\nanswer = {{ knowledge = true }}\n{FIVE}\
             [[intent]]\nname = \"y\"\nanswer = {{ knowledge = true }}\n{}",
            FIVE.replace("a ", "c ").replace("c five", "A  one!")
        );
        let (_, problems) = parse_text(&text);
        assert_eq!(problems, vec!["intents.toml:8: example \"A  one!\" is also an example of `x`"]);
    }

    #[test]
    fn an_unknown_key_in_an_intent_is_reported_on_its_line() {
        let text = format!("[[intent]]\nname = \"x\"\nexamplez = []\n{FIVE}");
        let (_, problems) = parse_text(&text);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("intents.toml:3: unknown field `examplez`"),
            "{problems:?}"
        );
    }

    #[test]
    fn an_answer_must_be_a_template_or_knowledge() {
        let text = format!(
            "[[intent]]\nname = \"x\"\nanswer = {{ template = \"t\", knowledge = true }}\n{FIVE}"
        );
        let (_, problems) = parse_text(&text);
        assert_eq!(
            problems,
            vec![
                "intents.toml:3: answer must be either `{ template = \"id\" }` or \
                 `{ knowledge = true }`"
            ]
        );
    }

    #[test]
    fn an_intent_without_an_answer_is_reported_unless_human_only() {
        let text = format!("[[intent]]\nname = \"x\"\n{FIVE}");
        let (_, problems) = parse_text(&text);
        assert_eq!(problems, vec!["intents.toml:2: intent `x` has no `answer`"]);
    }

    #[test]
    fn a_bad_intent_name_is_reported() {
        let text = format!("[[intent]]\nname = \"Order Status\"\nhuman_only = true\n{FIVE}");
        let (_, problems) = parse_text(&text);
        assert_eq!(
            problems,
            vec![
                "intents.toml:2: intent name `Order Status` must be lower-case letters, \
                  digits and `_`"
            ]
        );
    }
}
