//! Customer-experience cues: separate, explained signals that the engine's
//! policy escalates on. Each cue carries the words that triggered it, as
//! the customer typed them, so that an agent can see why.

use std::sync::LazyLock;

use baton_core::analysis::{Cue, CueKind};
use regex::{Regex, RegexSet};

use crate::text::{is_shouted, tokens, TokenKind};

/// Words that name a person to talk to, for the human-request patterns.
const PERSON: &str = "(?:person|human|human being|agent|someone|somebody|manager|supervisor|\
representative|rep|operator|staff member|people|live agent|customer service)";

/// Alternatives per cue, matched case-insensitively on the raw message.
/// `{P}` stands for [`PERSON`].
const TABLE: &[(CueKind, &[&str])] = &[
    (
        CueKind::HumanRequest,
        &[
            concat!(
                r"\b(?:speak|talk|chat|get through|put me through)(?:\s+(?:to|with))?\s+",
                r"(?:a|an|the|some|your|real|live|actual|\s)*{P}\b"
            ),
            r"\b(?:real|live|actual)\s+(?:person|human|agent|people)\b",
            concat!(
                r"\b(?:want|need|get|give)\s+(?:me\s+)?(?:a|an|the|to)?\s*",
                r"(?:human|person|representative|operator|manager|supervisor|live agent|",
                r"real agent)\b"
            ),
            r"\b(?:transfer|connect|escalate)\s+(?:me|this)(?:\s+to\s+(?:a|an|the)?\s*{P})?\b",
            r"^\W*(?:agent|human|operator|representative|person)(?:\s+(?:please|pls|plz|now))?\W*$",
            r"\b(?:agent|human|operator|representative)\s+(?:please|pls|plz|now)\b",
            r"\bis (?:this|there) a (?:real )?(?:person|human)\b",
            r"\bare you (?:a )?(?:bot|robot|human|real)\b",
        ],
    ),
    (
        CueKind::Frustration,
        &[
            r"\b(?:ridiculous|useless|unacceptable|pathetic|absurd|outrageous|incompetent|joke)\b",
            r"\b(?:furious|fed up|sick of|tired of|had enough|waste of (?:my )?time|fuming)\b",
            r"\b(?:worst|terrible|horrible|awful|annoyed|annoying|angry|frustrat\w*|disgusted)\b",
            r"\b(?:wtf|ffs|are you kidding|what the hell|not good enough|hopeless|nonsense)\b",
            r"\b(?:rubbish|garbage|stupid bot|dumb bot)\b",
            r"\bseriously\?+",
        ],
    ),
    (
        CueKind::RepeatedContact,
        &[
            r"\b(?:second|third|fourth|fifth|tenth|\d+(?:st|nd|rd|th)|another|umpteenth)\s+time\b",
            r"\balready (?:told|asked|explained|contacted|called|emailed|sent|written)\b",
            r"\balready (?:said|tried)\b",
            r"\b(?:told|asked) you (?:already|before|twice)\b",
            r"\b(?:again and again|over and over|how many times)\b",
            r"\bkeep (?:asking|telling|getting|saying)\b",
            r"\b(?:called|contacted|emailed|messaged|written to) (?:you )?(?:\w+ )?times\b",
            r"\b(?:called|contacted|emailed|messaged|written to) (?:you )?twice\b",
            r"\b(?:twice|three times|several times|multiple times|many times) already\b",
            r"\bstill (?:waiting|no (?:answer|reply|response))\b",
            r"\bnobody (?:has )?(?:replied|answered|got back)\b",
        ],
    ),
    (
        CueKind::ChurnThreat,
        &[
            concat!(
                r"\b(?:cancel|close|delete|terminate|end) (?:my|the|our) ",
                r"(?:account|subscription|membership|contract|plan)\b"
            ),
            r"\bswitch(?:ing)? (?:to|over to|providers?|banks?)\b",
            r"\bmoving to (?:a )?(?:competitor|another)\b",
            r"\b(?:go|going|take my business) elsewhere\b",
            concat!(
                r"\b(?:never|won't|not going to|will not) (?:order|buy|shop|use you|come back)\w*",
                r"(?: (?:here|from you|with you))? again\b"
            ),
            r"\blast time I (?:order|buy|shop)\w*\b",
            r"\bleaving (?:you|this (?:store|company|bank))\b",
            r"\bfind (?:another|a different|a new) (?:store|company|provider|bank|shop)\b",
            r"\bunsubscribe\b",
        ],
    ),
    (
        CueKind::Legal,
        &[
            r"\b(?:chargeback|charge back|lawyer|attorney|solicitor|sue|suing|lawsuit)\b",
            r"\b(?:legal action|take (?:you|this) to court|court|small claims|class action)\b",
            r"\b(?:regulator|ombudsman|consumer protection|trading standards|ftc|cfpb|fca)\b",
            r"\b(?:bbb|better business bureau|gdpr|data protection|breach of contract|fraud)\b",
            r"\b(?:formal complaint|file a complaint|report you)\b",
            r"\bdispute (?:the|this) (?:charge|payment|transaction)\b",
        ],
    ),
    (
        CueKind::Safety,
        &[
            r"\b(?:suicid\w*|kill (?:myself|me)|end my life|want to die|self[- ]harm)\b",
            r"\b(?:hurt(?:ing)? myself|harm myself|not safe|unsafe|in danger|danger(?:ous)?)\b",
            r"\b(?:abus\w*|threaten\w*|violen\w*|domestic)\b",
            r"\b(?:caught fire|on fire|fire hazard|smoke|smoking|burn(?:t|ed|ing)?|explod\w*)\b",
            r"\b(?:electric shock|shocked me|injur\w*|hospital|ambulance|choking|overdose)\b",
            r"\b(?:allergic reaction|poison\w*|vulnerable|disabled|disability|bereavement)\b",
            r"\b(?:passed away|died|can't breathe|emergency)\b",
        ],
    ),
    (
        CueKind::Urgency,
        &[
            r"\b(?:asap|a\.s\.a\.p|urgent\w*|immediately|right now|right away|straight away)\b",
            r"\b(?:as soon as possible|today|tonight|by tomorrow|this morning|this afternoon)\b",
            r"\b(?:within the hour|hurry|quickly|deadline|time[- ]sensitive|emergency)\b",
            r"\b(?:can't wait|cannot wait)\b",
        ],
    ),
];

fn cue_pattern(alts: &[&str]) -> String {
    format!("(?i){}", alts.join("|").replace("{P}", PERSON))
}

static PATTERNS: LazyLock<Vec<(CueKind, Regex)>> = LazyLock::new(|| {
    TABLE
        .iter()
        .map(|(kind, alts)| (*kind, Regex::new(&cue_pattern(alts)).expect("valid cue regex")))
        .collect()
});

/// All the cue patterns in one automaton: one pass tells which cues occur
/// at all, and only those are searched again for their words. Most
/// messages have none.
static ANY: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(TABLE.iter().map(|(_, alts)| cue_pattern(alts))).expect("valid cue regex set")
});

/// Finds every cue in a message.
pub fn detect(text: &str) -> Vec<Cue> {
    let mut cues = Vec::new();
    let present = ANY.matches(text);
    for (i, (kind, re)) in PATTERNS.iter().enumerate() {
        let mut words: Vec<String> = Vec::new();
        let found = present.matched(i).then(|| re.find_iter(text));
        for m in found.into_iter().flatten() {
            let w = m.as_str().trim().to_string();
            if !words.contains(&w) {
                words.push(w);
            }
        }
        if *kind == CueKind::Frustration {
            add_shouting(text, &mut words);
        }
        if words.is_empty() {
            continue;
        }
        let strength = (0.6 + 0.2 * (words.len() as f32 - 1.0)).min(1.0);
        cues.push(Cue { kind: *kind, words, strength });
    }
    cues
}

/// Shouting counts as frustration: three or more capitalised words, or a
/// run of three or more exclamation marks.
fn add_shouting(text: &str, words: &mut Vec<String>) {
    let toks = tokens(text);
    let shouted: Vec<&str> = toks
        .iter()
        .filter(|t| t.kind == TokenKind::Word && is_shouted(t.raw))
        .map(|t| t.raw)
        .collect();
    if shouted.len() >= 3 {
        words.push(shouted.join(" "));
    }
    if let Some(bangs) =
        toks.iter().find(|t| t.kind == TokenKind::Punct && t.raw.matches('!').count() >= 3)
    {
        words.push(bangs.raw.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of(text: &str, kind: CueKind) -> Option<Vec<String>> {
        detect(text).into_iter().find(|c| c.kind == kind).map(|c| c.words)
    }

    #[test]
    fn every_common_wording_of_a_request_for_a_person_is_caught() {
        for t in [
            "I want a human",
            "agent",
            "Agent please!",
            "can I talk to a real person",
            "let me speak to a manager",
            "I need a representative",
            "talk to someone",
            "operator",
            "connect me to an agent",
            "is this a real person?",
        ] {
            assert!(words_of(t, CueKind::HumanRequest).is_some(), "missed: {t}");
        }
    }

    #[test]
    fn a_request_for_a_person_names_its_words() {
        assert_eq!(
            words_of("Please let me speak to a Manager now", CueKind::HumanRequest),
            Some(vec!["speak to a Manager".to_string()])
        );
    }

    #[test]
    fn ordinary_messages_raise_no_request_for_a_person() {
        for t in ["where is my order", "the delivery person left it outside", "my agent code"] {
            assert_eq!(words_of(t, CueKind::HumanRequest), None, "false hit: {t}");
        }
    }

    #[test]
    fn frustration_includes_shouting() {
        assert_eq!(
            words_of("WHERE IS MY ORDER", CueKind::Frustration),
            Some(vec!["WHERE IS MY ORDER".to_string()])
        );
        assert_eq!(
            words_of("this is ridiculous", CueKind::Frustration),
            Some(vec!["ridiculous".to_string()])
        );
    }

    #[test]
    fn repeated_contact_churn_legal_safety_and_urgency_are_caught() {
        assert_eq!(
            words_of("this is the third time I ask", CueKind::RepeatedContact),
            Some(vec!["third time".to_string()])
        );
        assert_eq!(
            words_of(
                "I will cancel my account and I'm switching to another store",
                CueKind::ChurnThreat
            ),
            Some(vec!["cancel my account".to_string(), "switching to".to_string()])
        );
        assert_eq!(
            words_of("I'll file a chargeback and call my lawyer", CueKind::Legal),
            Some(vec!["chargeback".to_string(), "lawyer".to_string()])
        );
        assert_eq!(
            words_of("the charger caught fire", CueKind::Safety),
            Some(vec!["caught fire".to_string()])
        );
        assert_eq!(words_of("I need it ASAP", CueKind::Urgency), Some(vec!["ASAP".to_string()]));
    }

    #[test]
    fn a_calm_message_has_no_cues() {
        assert!(detect("Could you tell me when my parcel will arrive? Thanks").is_empty());
    }
}
