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
            r"\b(?:chargeback|charge back|lawyer|attorney|solicitor|suing|lawsuit)\b",
            // "Sue" alone is as often a name as a threat.
            r"(?:\b(?:will|going to|gonna|could|might)|'ll)\s+sue\b",
            r"\bsue\s+(?:you|u|them|your|the|this)\b",
            // "Court" alone is a shoe or a tennis court.
            r"\b(?:legal action|take (?:you|this|them) to court|(?:to|in) court)\b",
            r"\b(?:court (?:case|action|order|claim)|small claims)\b",
            r"\bclass action\b",
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
            r"\b(?:abus\w*|threaten\w*|violen\w*)\b",
            r"\b(?:caught fire|on fire|fire hazard|burn(?:t|ed|ing)?|explod\w*)\b",
            // Smoke from a device, not a "smoke grey" colour or a "no smoking" sign.
            r"\b(?:smoke (?:came|comes|coming|pouring)|(?:is|was|started|starts|began) smoking)\b",
            r"\b(?:electric shock|shocked me|injur\w*|hospital|ambulance|choking|overdose)\b",
            r"\b(?:allergic reaction|poison\w*|vulnerable|disabilit(?:y|ies)|bereavement)\b",
            // A disabled person, not a disabled account or card.
            r"\b(?:i am|i['’]?m|as a|being)\s+disabled\b",
            concat!(
                r"\bdisabled\s+(?:person|people|customer|son|daughter|child|husband|wife|",
                r"mother|father|parent)\b"
            ),
            // A death in the family, not a phone or a battery that died.
            concat!(
                r"\b(?:he|she|husband|wife|partner|mother|father|mum|mom|dad|son|daughter|",
                r"brother|sister|child|baby|grandmother|grandfather|grandma|grandpa|friend)",
                r"\s+(?:has\s+|had\s+|just\s+)?died\b"
            ),
            r"\b(?:passed away|can't breathe|emergency)\b",
        ],
    ),
    (
        CueKind::Urgency,
        &[
            r"\b(?:asap|a\.s\.a\.p|urgent\w*|immediately|right now|right away|straight away)\b",
            // "Today" is urgent when it is a deadline ("I need it today"),
            // not when it reports ("it arrived today").
            concat!(
                r"\b(?:need|needs|needed|want|must|have to|has to|by|before|until|latest)",
                r"(?:\s+\w+){0,3}?\s+(?:today|tonight|this morning|this afternoon)\b"
            ),
            r"\b(?:as soon as possible|by tomorrow)\b",
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
            if not_meant(*kind, text, &m) {
                continue;
            }
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

/// Store options a customer may switch to without leaving the store.
const STORE_OPTIONS: &[&str] = &[
    "express",
    "standard",
    "priority",
    "overnight",
    "delivery",
    "shipping",
    "pickup",
    "collection",
    "size",
    "colour",
    "color",
    "card",
    "paypal",
    "cash",
    "email",
    "sms",
    "english",
    "monthly",
    "annual",
    "yearly",
    "plan",
];

/// Matches whose words are there but whose sense is not the cue's: a
/// person spoken of rather than asked for ("the agent now says it is
/// lost"), and a switch within the store ("switch to express delivery").
fn not_meant(kind: CueKind, text: &str, m: &regex::Match) -> bool {
    let lower = m.as_str().to_lowercase();
    match kind {
        CueKind::HumanRequest
            if ["agent", "human", "operator", "representative"]
                .iter()
                .any(|w| lower.starts_with(w)) =>
        {
            let before = text[..m.start()].trim_end();
            let prev = before.rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
            matches!(
                prev.to_lowercase().as_str(),
                "the" | "your" | "that" | "this" | "his" | "her" | "their" | "my"
            )
        }
        CueKind::ChurnThreat if lower.starts_with("switch") => text[m.end()..]
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(3)
            .any(|w| STORE_OPTIONS.contains(&w.to_lowercase().as_str())),
        _ => false,
    }
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
    fn a_person_asked_for_and_a_switch_elsewhere_still_count() {
        assert_eq!(
            words_of("can I get an agent please", CueKind::HumanRequest),
            Some(vec!["agent please".to_string()])
        );
        assert_eq!(
            words_of("AGENT NOW", CueKind::HumanRequest),
            Some(vec!["AGENT NOW".to_string()])
        );
        assert_eq!(
            words_of("I'm switching to another shop next week", CueKind::ChurnThreat),
            Some(vec!["switching to".to_string()])
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
    fn each_cue_names_the_words_that_raised_it() {
        let cases: [(&str, CueKind, &[&str]); 9] = [
            ("this is useless, I'm fed up", CueKind::Frustration, &["useless", "fed up"]),
            ("I already told you my address", CueKind::RepeatedContact, &["already told"]),
            ("time to close my account", CueKind::ChurnThreat, &["close my account"]),
            (
                "I'll complain to the regulator and ask my bank for a chargeback",
                CueKind::Legal,
                &["regulator", "chargeback"],
            ),
            ("then I'll take you to court", CueKind::Legal, &["take you to court"]),
            ("I'm disabled and cannot carry it upstairs", CueKind::Safety, &["I'm disabled"]),
            ("my husband died last month", CueKind::Safety, &["husband died"]),
            ("I need it today, it is urgent", CueKind::Urgency, &["need it today", "urgent"]),
            ("it must arrive by tonight", CueKind::Urgency, &["must arrive by tonight"]),
        ];
        for (text, kind, words) in cases {
            assert_eq!(words_of(text, kind), Some(words.iter().map(|w| w.to_string()).collect()));
        }
    }

    #[test]
    fn everyday_uses_of_alarming_words_raise_no_cue() {
        for (text, kind) in [
            ("my account was disabled after I changed my phone", CueKind::Safety),
            ("the battery died after two days", CueKind::Safety),
            ("is the smoke grey jacket sent by domestic post?", CueKind::Safety),
            ("are the court shoes back in stock?", CueKind::Legal),
            ("Sue from your team said it had shipped", CueKind::Legal),
            ("it arrived today, thank you", CueKind::Urgency),
            ("the agent now says it is lost", CueKind::HumanRequest),
            ("can I switch to express delivery?", CueKind::ChurnThreat),
            ("switching to a bigger size would be fine", CueKind::ChurnThreat),
        ] {
            assert_eq!(words_of(text, kind), None, "false hit: {text}");
        }
    }

    #[test]
    fn a_calm_message_has_no_cues() {
        assert!(detect("Could you tell me when my parcel will arrive? Thanks").is_empty());
    }
}
