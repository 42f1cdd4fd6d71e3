//! What the AI does with one customer message while it owns the
//! conversation: the decision and its explanation.
//!
//! The order is fixed and deliberate. Hard escalation triggers come first,
//! because no answer, however good, is right for a customer who asked for a
//! person or is in distress; then a confident intent is answered; then a
//! strong knowledge match; then the AI clarifies once, and escalates on the
//! second miss in a row. One exception to the intent's rule: a question
//! about how something works ("how long do refunds take to show?") that an
//! article answers well is answered from the article even when the intent
//! is a request the AI would act on, since the customer asked to know, not
//! to have it done. [`decide`] is pure: it reads the analysis, the
//! conversation's context and the workspace, and never performs I/O.

use serde_json::{json, Value};

use baton_core::{Analysis, CueKind, EntityKind, EscalationReason};
use baton_knowledge::Hit;

use crate::workspace::{Answer, Workspace};

/// What the conversation so far tells the policy.
#[derive(Clone, Debug, Default)]
pub struct TurnContext {
    /// Misunderstood turns in a row before this one, in the current segment.
    pub misunderstood_before: u32,
    /// The customer's profile says they always want a person.
    pub prefers_human: bool,
    /// Whether the previous bot turn asked the customer to clarify.
    pub clarified_before: bool,
}

/// The decision for one turn, with the reason a person can read and the
/// numbers it was taken on.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub action: Action,
    pub reason: String,
    pub detail: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Hand the conversation to a person.
    Escalate { reason: EscalationReason, evidence: Value },
    /// Reply with an intent's template.
    Template { intent: String, template: String, resolves: bool },
    /// Reply with a knowledge passage and its citation.
    Knowledge { intent: Option<String>, hit: Hit },
    /// Ask the customer to choose between the likely intents.
    Clarify { options: Vec<String> },
    /// Say the AI did not understand (or the topic is not covered).
    NotUnderstood { out_of_scope: bool },
}

/// The longest message that can still be a plain farewell.
const FAREWELL_MAX_WORDS: usize = 10;

/// The least share of a question's content words that a passage must hold
/// to answer an intent that is known to be a knowledge question. Lower than
/// the unprompted bar, since the intent already says what is asked.
const INTENT_KNOWLEDGE_COVERAGE: f32 = 0.25;

/// Decide what the AI does with a customer message in the `bot` stage.
pub fn decide(
    analysis: &Analysis,
    context: &TurnContext,
    workspace: &Workspace,
    search: impl Fn(&str) -> Vec<Hit>,
    text: &str,
) -> Decision {
    if let Some(decision) = hard_trigger(analysis, context, workspace) {
        return decision;
    }

    let settings = &workspace.settings;
    let top = analysis.top_intent().filter(|_| !analysis.out_of_scope);
    let confident = top.filter(|t| t.confidence >= settings.nlu.clarify_below);

    if let Some(top) = confident {
        if workspace.is_human_only(&top.intent) {
            return Decision {
                action: Action::Escalate {
                    reason: EscalationReason::HumanOnlyIntent,
                    evidence: json!({"intent": top.intent, "confidence": top.confidence}),
                },
                reason: format!("`{}` is handled by people only in this workspace", top.intent),
                detail: json!({"intent": top.intent, "confidence": top.confidence}),
            };
        }
        if let Some(intent) = workspace.intent(&top.intent) {
            // A request intent asked about rather than asked for goes to
            // the article that answers it, if one answers it well.
            let asks_about_request =
                matches!(intent.answer, Answer::Template(_)) && asks_how_it_works(analysis, text);
            if let Some(hit) = search(text)
                .into_iter()
                .next()
                .filter(|hit| asks_about_request && hit.coverage >= settings.knowledge.min_coverage)
            {
                // No intent on the action: the intent's flow is for doing
                // it, and this message only asks about it.
                return Decision {
                    reason: format!(
                        "intent `{}` at {:.2} is a request, but the message asks how it works \
                         and `{}` covers {:.0} % of it",
                        top.intent,
                        top.confidence,
                        hit.title,
                        hit.coverage * 100.0
                    ),
                    detail: json!({
                        "intent": top.intent,
                        "confidence": top.confidence,
                        "asks_how_it_works": true,
                        "article": hit.article_id,
                        "section": hit.section,
                        "score": hit.score,
                        "coverage": hit.coverage,
                    }),
                    action: Action::Knowledge { intent: None, hit },
                };
            }
            let detail = json!({"intent": top.intent, "confidence": top.confidence});
            match &intent.answer {
                Answer::Template(template) => {
                    // A farewell closes the conversation only when it is all
                    // the message says: "thanks! I also have a question about
                    // my order" must not end it.
                    let only_farewell = analysis.extra_intents.is_empty()
                        && text.split_whitespace().count() <= FAREWELL_MAX_WORDS;
                    return Decision {
                        action: Action::Template {
                            intent: top.intent.clone(),
                            template: template.clone(),
                            resolves: intent.resolves && only_farewell,
                        },
                        reason: format!(
                            "intent `{}` at {:.2} is above the {:.2} needed to answer",
                            top.intent, top.confidence, settings.nlu.clarify_below
                        ),
                        detail,
                    };
                }
                Answer::Knowledge => {
                    let hit = search(text)
                        .into_iter()
                        .next()
                        .filter(|hit| hit.coverage >= INTENT_KNOWLEDGE_COVERAGE);
                    if let Some(hit) = hit {
                        return Decision {
                            reason: format!(
                                "intent `{}` at {:.2} is answered from the article `{}`",
                                top.intent, top.confidence, hit.title
                            ),
                            detail: json!({
                                "intent": top.intent,
                                "confidence": top.confidence,
                                "article": hit.article_id,
                                "score": hit.score,
                                "coverage": hit.coverage,
                            }),
                            action: Action::Knowledge { intent: Some(top.intent.clone()), hit },
                        };
                    }
                }
            }
        }
    }

    // No confident intent: a passage that covers most of the question is
    // still a good answer, and better than asking the customer to rephrase.
    if let Some(hit) = search(text)
        .into_iter()
        .next()
        .filter(|hit| hit.coverage >= settings.knowledge.min_coverage)
    {
        return Decision {
            reason: format!(
                "no confident intent, but `{}` covers {:.0} % of the question",
                hit.title,
                hit.coverage * 100.0
            ),
            detail: json!({
                "article": hit.article_id, "score": hit.score, "coverage": hit.coverage,
            }),
            action: Action::Knowledge { intent: None, hit },
        };
    }

    not_understood(analysis, context, workspace)
}

/// Words that open a question.
const QUESTION_WORDS: &[&str] = &[
    "are", "can", "could", "do", "does", "how", "hows", "is", "what", "whats", "when", "where",
    "which", "who", "why", "will", "would",
];

/// Words by which a message speaks of the customer's own case.
const FIRST_PERSON: &[&str] = &["i", "id", "im", "ive", "me", "mine", "my", "myself"];

/// Whether a message asks how something works in general ("how long do
/// refunds take to show up?", "what's your warranty on the tent?") rather
/// than asking the AI to act: a question, not opened as a request ("can
/// you ...", "could you ..."), without a word about the customer's own
/// case and without an order number, e-mail address or phone number.
// TODO: the word lists are English; a workspace in another language reads
// every question as a request, as before this rule, until it has its own.
pub fn asks_how_it_works(analysis: &Analysis, text: &str) -> bool {
    let words: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '\u{2019}'))
        .map(|w| w.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect())
        .filter(|w: &String| !w.is_empty())
        .collect();
    let Some(first) = words.first() else { return false };
    let question = text.trim_end().ends_with('?') || QUESTION_WORDS.contains(&first.as_str());
    let request = first == "please"
        || matches!(first.as_str(), "can" | "could" | "would" | "will")
            && words.get(1).is_some_and(|w| w == "you");
    let own_case = words.iter().any(|w| FIRST_PERSON.contains(&w.as_str()))
        || analysis.entities.iter().any(|e| {
            matches!(e.kind, EntityKind::OrderNumber | EntityKind::Email | EntityKind::Phone)
        });
    question && !request && !own_case && analysis.affirmation.is_none()
}

/// The escalation triggers that win over any answer.
fn hard_trigger(
    analysis: &Analysis,
    context: &TurnContext,
    workspace: &Workspace,
) -> Option<Decision> {
    let escalation = &workspace.settings.escalation;
    let cue_trigger = |kind: CueKind, reason: EscalationReason, why: &str| {
        analysis.cue(kind).map(|cue| Decision {
            action: Action::Escalate {
                reason,
                evidence: json!({
                    "cue": kind.as_str(), "words": cue.words, "strength": cue.strength,
                }),
            },
            reason: format!("{why}: \"{}\"", cue.words.join("\", \"")),
            detail: json!({"cue": kind.as_str(), "words": cue.words, "strength": cue.strength}),
        })
    };

    if let Some(d) = cue_trigger(
        CueKind::HumanRequest,
        EscalationReason::HumanRequested,
        "the customer asked for a person",
    ) {
        return Some(d);
    }
    if let Some(d) = cue_trigger(
        CueKind::Safety,
        EscalationReason::SensitiveTopic,
        "safety or vulnerability language",
    ) {
        return Some(d);
    }
    if let Some(d) = cue_trigger(
        CueKind::Legal,
        EscalationReason::SensitiveTopic,
        "legal or regulatory language",
    ) {
        return Some(d);
    }

    let score = analysis.sentiment.score;
    if score <= escalation.sentiment_threshold {
        let evidence = json!({
            "sentiment": score,
            "threshold": escalation.sentiment_threshold,
            "words": analysis.sentiment.evidence,
        });
        return Some(Decision {
            action: Action::Escalate {
                reason: EscalationReason::NegativeSentiment,
                evidence: evidence.clone(),
            },
            reason: format!(
                "sentiment {score:.2} is at or below the threshold {:.2}",
                escalation.sentiment_threshold
            ),
            detail: evidence,
        });
    }
    if let Some(cue) = analysis.cue(CueKind::Frustration) {
        // A single mild sign of annoyance is not enough on its own; a strong
        // one, or one that comes with a negative tone, is.
        if cue.strength >= 0.7 || score < 0.0 {
            let evidence = json!({
                "cue": "frustration",
                "words": cue.words,
                "strength": cue.strength,
                "sentiment": score,
            });
            return Some(Decision {
                action: Action::Escalate {
                    reason: EscalationReason::Frustration,
                    evidence: evidence.clone(),
                },
                reason: format!("the customer is frustrated: \"{}\"", cue.words.join("\", \"")),
                detail: evidence,
            });
        }
    }
    if context.prefers_human {
        return Some(Decision {
            action: Action::Escalate {
                reason: EscalationReason::CustomerPreference,
                evidence: json!({"profile": "prefers_human"}),
            },
            reason: "the customer's profile asks for a person every time".into(),
            detail: json!({"profile": "prefers_human"}),
        });
    }
    if !analysis.language.supported {
        let evidence = json!({
            "language": analysis.language.code,
            "confidence": analysis.language.confidence,
        });
        return Some(Decision {
            action: Action::Escalate {
                reason: EscalationReason::UnsupportedLanguage,
                evidence: evidence.clone(),
            },
            reason: format!(
                "the message is in `{}`, which the AI was not trained on",
                analysis.language.code
            ),
            detail: evidence,
        });
    }
    None
}

/// A turn the AI could not place: clarify once, escalate when it happens
/// the configured number of times in a row.
fn not_understood(analysis: &Analysis, context: &TurnContext, workspace: &Workspace) -> Decision {
    let escalation = &workspace.settings.escalation;
    let misses = context.misunderstood_before + 1;
    let top = analysis.top_intent();
    let detail = json!({
        "misunderstood_in_a_row": misses,
        "out_of_scope": analysis.out_of_scope,
        "top_intent": top.map(|t| &t.intent),
        "confidence": top.map(|t| t.confidence),
    });

    if misses >= escalation.misunderstood_turns.max(1) {
        return Decision {
            action: Action::Escalate {
                reason: EscalationReason::RepeatedMisunderstanding,
                evidence: detail.clone(),
            },
            reason: format!("the AI did not understand {misses} turns in a row"),
            detail,
        };
    }

    // Offer the two likeliest intents as buttons when the model has a real
    // candidate that is merely unsure, unless this was already tried.
    let floor = workspace.settings.nlu.clarify_below / 2.0;
    let options: Vec<String> = analysis
        .intents
        .iter()
        .filter(|s| s.confidence >= floor)
        .filter_map(|s| workspace.intent(&s.intent))
        .filter(|i| !i.label.is_empty())
        .take(2)
        .map(|i| i.label.clone())
        .collect();
    if !analysis.out_of_scope && !options.is_empty() && !context.clarified_before {
        return Decision {
            reason: "the likeliest intents are below the confidence needed to answer".into(),
            detail,
            action: Action::Clarify { options },
        };
    }

    Decision {
        action: Action::NotUnderstood { out_of_scope: analysis.out_of_scope },
        reason: if analysis.out_of_scope {
            "the message is outside what this workspace covers".into()
        } else {
            "no intent is confident enough and no article matches".into()
        },
        detail,
    }
}
