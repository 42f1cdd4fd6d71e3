//! Picking a slot's value from a list a tool gave (the customer's orders,
//! an order's items, a product's variants): by the words the customer uses
//! for an entry ("the desk lamp"), by "my last order", by "the other one",
//! by "the original one", or as the only entry there is. Pure functions over
//! JSON, so that what a message picks can be tested without a store.

use std::collections::BTreeSet;

use serde_json::Value;

use super::resolve;
use crate::workspace::SlotDef;

/// Words that name nothing: they never pick an entry.
const STOP_WORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "from",
    "that",
    "this",
    "one",
    "ones",
    "order",
    "item",
    "items",
    "want",
    "like",
    "would",
    "could",
    "please",
    "can",
    "you",
    "have",
    "not",
    "but",
    "are",
    "was",
    "its",
    "it's",
    "all",
    "any",
    "some",
    "get",
    "new",
    "yes",
    "none",
    "instead",
    "also",
    "just",
    "recent",
    "recently",
    "last",
    "other",
    "bought",
    "purchased",
    "ordered",
];

/// The words of a text that can name an entry: lower-cased, a plural `s`
/// dropped, numbers kept whatever their length, other words of three
/// letters or more.
pub fn words(text: &str) -> BTreeSet<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().all(|c| c.is_ascii_digit()) && !w.is_empty() || w.len() >= 3)
        .filter(|w| !STOP_WORDS.contains(w))
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.len() >= 3 && !stem.ends_with('s') => stem.to_string(),
            _ => w.to_string(),
        })
        .collect()
}

/// Every text inside a value: a string, the strings of a list, the values
/// of an object.
fn texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| texts(v, out)),
        Value::Object(fields) => fields.values().for_each(|v| texts(v, out)),
        _ => {}
    }
}

/// The entries of a list: a list's items, or an object's values.
pub fn entries(list: Option<Value>) -> Vec<Value> {
    match list {
        Some(Value::Array(items)) => items,
        Some(Value::Object(fields)) => fields.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    }
}

/// Whether a message turns from the value it has to the other one.
pub fn says_other(text: &str) -> bool {
    let lower = text.to_lowercase();
    ["the other", "other one", "other order", "not that one", "different order", "wrong order"]
        .iter()
        .any(|p| lower.contains(p))
}

/// Whether a message points at the latest entry ("my recent order").
pub fn says_latest(text: &str) -> bool {
    let lower = text.to_lowercase();
    ["most recent", "recent order", "latest", "newest", "last order", "last one", "last purchase"]
        .iter()
        .any(|p| lower.contains(p))
}

/// Whether a longer message, to a summary waiting for a yes, says to go
/// ahead with it ("Yes, that's correct. Please go ahead with the return."):
/// it opens with a yes or asks to proceed, and neither asks anything, nor
/// holds back ("but", "wait", "not"), nor says no. What the model reads as
/// a yes is short and plain; this is the same answer said at length.
pub fn says_go_ahead(text: &str) -> bool {
    let lower = text.to_lowercase().replace(['\u{2019}', '`'], "'");
    let Some(words) = assenting_words(&lower) else { return false };
    let proceeds =
        ["go ahead", "proceed", "i confirm", "that's correct", "that is correct", "do it"]
            .iter()
            .any(|p| lower.contains(p));
    proceeds && (opens_with_yes(&words) || words.len() <= 12)
}

/// Whether a message answers a yes-or-no question that changes nothing
/// ("is this e-mail yours?") with a yes said at length ("yes, that's my
/// e-mail"): it opens with a yes, asks nothing and holds nothing back.
pub fn says_yes(text: &str) -> bool {
    let lower = text.to_lowercase().replace(['\u{2019}', '`'], "'");
    assenting_words(&lower).is_some_and(|words| opens_with_yes(&words))
}

/// The words of a lower-cased message that neither asks anything nor holds
/// back or says no; `None` when it does.
fn assenting_words(lower: &str) -> Option<Vec<&str>> {
    if lower.contains('?') {
        return None;
    }
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    const HOLDING: &[&str] = &[
        "no", "not", "don't", "dont", "wait", "but", "nope", "never", "hold", "stop", "instead",
        "rather", "before", "first",
    ];
    (!words.iter().any(|w| HOLDING.contains(w))).then_some(words)
}

fn opens_with_yes(words: &[&str]) -> bool {
    const YES: &[&str] =
        &["yes", "yeah", "yep", "yup", "sure", "ok", "okay", "correct", "confirmed"];
    words.first().is_some_and(|w| YES.contains(w))
}

/// Whether a short message says no to a summary in words the plain yes-or-no
/// reading leaves open ("wait, actually no", "sorry, no, don't"): a "no"
/// among words that add nothing else. "No, the other one" names something,
/// so it is no plain no.
pub fn says_no(text: &str) -> bool {
    let lower = text.to_lowercase().replace(['\u{2019}', '`'], "'");
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    const NO: &[&str] = &["no", "nope", "nah", "don't", "dont"];
    const ONLY: &[&str] = &[
        "wait", "actually", "sorry", "hmm", "um", "oh", "please", "thanks", "thank", "you", "on",
        "second", "thought", "thoughts", "not", "now", "i", "i've", "changed", "my", "mind",
        "never", "leave", "it", "stop", "hold", "so", "then", "let's", "that",
    ];
    words.len() <= 8
        && words.iter().any(|w| NO.contains(w))
        && words.iter().all(|w| NO.contains(w) || ONLY.contains(w))
}

/// Whether a message says the customer does not have the value asked for
/// ("I don't have the order ID with me", "I can't remember my order
/// number"): a reason to look it up, not a complaint.
pub fn says_unknown(text: &str) -> bool {
    let lower = text.to_lowercase().replace(['\u{2019}', '`'], "'");
    [
        "don't have",
        "do not have",
        "dont have",
        "don't remember",
        "do not remember",
        "dont remember",
        "can't remember",
        "cannot remember",
        "can't recall",
        "don't recall",
        "don't know the",
        "don't know my",
        "do not know the",
        "not sure what the",
        "can't find the",
        "can't find my",
        "forgot the",
        "forgot my",
        "forgotten the",
        "lost the",
        "no idea what",
        "not have it",
        "not have the",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// The entries of a list as the customer reads them, one by one: the
/// value with the words it is picked by ("#W1 (Desk Lamp, Tent)").
pub fn listed(slot: &SlotDef, entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|entry| {
            let value = value_of(slot, entry).filter(|v| !v.is_null())?;
            let mut found = Vec::new();
            for field in slot.matches.iter().flat_map(|m| m.split(',')).map(str::trim) {
                texts(&resolve(entry, field).unwrap_or(Value::Null), &mut found);
            }
            let value = super::plain(&value);
            Some(if found.is_empty() || found == [value.clone()] {
                value
            } else {
                format!("{value} ({})", found.join(", "))
            })
        })
        .collect()
}

/// Whether a message asks for the value things already have ("to the
/// original payment method", "the same card").
pub fn says_original(text: &str) -> bool {
    let lower = text.to_lowercase();
    ["original", "same card", "same payment", "same method", "same account"]
        .iter()
        .any(|p| lower.contains(p))
}

/// The entries a text names, by the words of each entry's `matches`
/// field(s). An entry whose named words are all named for another entry
/// too, which has more, is left out: "smart watch" names the Smart Watch,
/// not the Smart Thermostat.
pub fn named(matches: &str, entries: &[Value], text: &str) -> Vec<usize> {
    let said = words(text);
    let hits: Vec<BTreeSet<String>> = entries
        .iter()
        .map(|entry| {
            let own: BTreeSet<String> =
                match_texts(matches, entry).iter().flat_map(|t| words(t)).collect();
            own.intersection(&said).cloned().collect()
        })
        .collect();
    (0..entries.len())
        .filter(|&i| !hits[i].is_empty())
        .filter(|&i| {
            !hits.iter().any(|other| other.len() > hits[i].len() && other.is_superset(&hits[i]))
        })
        .collect()
}

/// What a text names in a wider list (every item the customer ordered)
/// that the slot's own list lacks (the items of this order): the words of
/// each such entry's `match` fields, once per name. An entry of the wider
/// list whose named words an entry of the own list has too ("the lamp",
/// with a desk lamp here and a floor lamp elsewhere) is no miss.
pub fn not_in(matches: &str, own: &[Value], wider: &[Value], text: &str) -> Vec<String> {
    let said = words(text);
    let hit = |entry: &Value| -> BTreeSet<String> {
        let own: BTreeSet<String> =
            match_texts(matches, entry).iter().flat_map(|t| words(t)).collect();
        own.intersection(&said).cloned().collect()
    };
    let here: Vec<BTreeSet<String>> = own.iter().map(hit).collect();
    let mut missing: Vec<String> = Vec::new();
    for i in named(matches, wider, text) {
        let words = hit(&wider[i]);
        if here.iter().any(|h| h.is_superset(&words)) {
            continue;
        }
        let name = match_texts(matches, &wider[i]).join(" ");
        if !missing.contains(&name) {
            missing.push(name);
        }
    }
    missing
}

/// The texts of an entry's `match` fields.
fn match_texts(matches: &str, entry: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for field in matches.split(',').map(str::trim) {
        texts(&resolve(entry, field).unwrap_or(Value::Null), &mut found);
    }
    found
}

/// The words that name an entry, from its `match` fields.
pub fn name_words(matches: &str, entry: &Value) -> BTreeSet<String> {
    match_texts(matches, entry).iter().flat_map(|t| words(t)).collect()
}

/// What a text says about entry `i` of several it may name (each by its
/// `names`): every part from a word naming it to a word naming another
/// ("the desk lamp in black and the backpack in grey": "desk lamp in black
/// and the" for the lamp), and true. The whole text and false when it names
/// none of them, or when entry `i` has no word of its own; `None` when it
/// names others only.
pub fn about(names: &[BTreeSet<String>], i: usize, text: &str) -> Option<(String, bool)> {
    // The words only one entry has: two laptops are not told apart by name.
    let own: Vec<BTreeSet<String>> = names
        .iter()
        .enumerate()
        .map(|(k, n)| {
            let others: BTreeSet<&String> =
                names.iter().enumerate().filter(|(o, _)| *o != k).flat_map(|(_, n)| n).collect();
            n.iter().filter(|w| !others.contains(w)).cloned().collect()
        })
        .collect();
    if own.get(i).is_none_or(BTreeSet::is_empty) {
        return Some((text.to_string(), false));
    }
    // Each word belongs to the entry named last; the words before a name,
    // back to the last comma or "and", belong to it too ("a red T-shirt").
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut owners: Vec<Option<usize>> = vec![None; tokens.len()];
    let (mut owner, mut clause_start) = (None, 0);
    for (at, token) in tokens.iter().enumerate() {
        if let Some(k) = own.iter().position(|o| !o.is_disjoint(&words(token))) {
            if owner != Some(k) {
                let from = if owner.is_none() { 0 } else { clause_start };
                owners[from..at].iter_mut().for_each(|o| *o = Some(k));
                owner = Some(k);
            }
        }
        owners[at] = owner;
        let lower = token.to_lowercase();
        if ["and", "or", "then", "also"].contains(&lower.as_str())
            || lower.ends_with([',', ';', '.', '!', '?'])
        {
            clause_start = at + 1;
        }
    }
    if owner.is_none() {
        return Some((text.to_string(), false));
    }
    let mine: Vec<&str> =
        tokens.iter().zip(&owners).filter(|(_, o)| **o == Some(i)).map(|(t, _)| *t).collect();
    (!mine.is_empty()).then(|| (mine.join(" "), true))
}

/// Names as a customer reads them: "A", "A and B", "A, B and C".
pub fn join_and(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Clauses of one sentence, one per entry: "a", "a; and b", "a; b; and c".
pub fn join_lines(lines: &[String]) -> String {
    match lines {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{}; and {last}", rest.join("; ")),
    }
}

/// The value a slot takes from its list, given what it holds now and the
/// customer's messages, newest first. `None` leaves the slot as it is.
pub fn pick(
    slot: &SlotDef,
    entries: &[Value],
    current: Option<&Value>,
    texts: &[String],
    original: Option<Value>,
) -> Option<Value> {
    let values: Vec<Value> = entries
        .iter()
        .map(|e| match &slot.value {
            Some(field) => resolve(e, field).unwrap_or(Value::Null),
            None => e.clone(),
        })
        .filter(|v| !v.is_null())
        .collect();

    // A change of mind in the newest message: the other of two. A list
    // slot holding one of two entries turns to a list of the other.
    if let (Some(current), Some(newest)) = (current, texts.first()) {
        let one_of_list = match current {
            Value::Array(list) if slot.many => match list.as_slice() {
                [one] => Some(one),
                _ => None,
            },
            _ => None,
        };
        let held = if slot.many { one_of_list } else { Some(current) };
        if let (Some(held), true) = (held, says_other(newest)) {
            let rest: Vec<&Value> = values.iter().filter(|v| !same(v, held)).collect();
            return match (rest.as_slice(), slot.many) {
                ([only], true) => Some(Value::Array(vec![(*only).clone()])),
                ([only], false) => Some((*only).clone()),
                _ => None,
            };
        }
    }

    let original = match original {
        Some(Value::Array(mut one)) if one.len() == 1 => one.pop(),
        other => other,
    };
    for text in texts {
        // An entry's own value typed out ("item ID 6259501109").
        let said = words(text);
        let typed: Vec<&Value> = distinct(&values)
            .into_iter()
            .filter(|v| {
                let own = super::plain(v).to_lowercase();
                own.len() >= 4 && said.contains(&own)
            })
            .collect();
        match typed.as_slice() {
            [one] if slot.many => return Some(Value::Array(vec![(*one).clone()])),
            [one] => return Some((*one).clone()),
            _ => {}
        }
        // The words of an entry win over "the original": "a gift card
        // instead of the original one" names the gift card.
        let mut unsure = false;
        if let Some(matches) = &slot.matches {
            let hit = named(matches, entries, text);
            let chosen: Vec<Value> =
                hit.iter().filter_map(|&i| value_of(slot, &entries[i])).collect();
            // TODO: a list slot takes every entry the words fit, so "the
            // earbuds" of an order with three pairs picks all three; telling
            // same-named entries apart needs their other fields (options).
            if slot.many && !chosen.is_empty() {
                return Some(Value::Array(chosen));
            }
            match distinct(&chosen).as_slice() {
                [] => {}
                [one] => return Some((*one).clone()),
                // Two entries fit the words: the customer says which.
                _ => unsure = true,
            }
        }
        if let (Some(value), true) = (&original, says_original(text)) {
            return Some(value.clone());
        }
        if unsure {
            return None;
        }
        // "My recent order" picks an order, never a variant or a payment
        // method, which the customer must name.
        if !slot.many && !slot.always_ask && says_latest(text) {
            return values.last().cloned();
        }
    }

    // Nothing said, and only one entry to take.
    match (current, values.as_slice()) {
        _ if slot.always_ask => None,
        (None, [only]) if slot.many => Some(Value::Array(vec![only.clone()])),
        (None, [only]) => Some(only.clone()),
        _ => None,
    }
}

fn value_of(slot: &SlotDef, entry: &Value) -> Option<Value> {
    match &slot.value {
        Some(field) => resolve(entry, field),
        None => Some(entry.clone()),
    }
}

fn distinct(values: &[Value]) -> Vec<&Value> {
    let mut out: Vec<&Value> = Vec::new();
    for v in values {
        if !out.iter().any(|o| same(o, v)) {
            out.push(v);
        }
    }
    out
}

/// Two values as the customer reads them: `#W1` and `W1` are one order.
fn same(a: &Value, b: &Value) -> bool {
    let plain = |v: &Value| super::plain(v).trim_start_matches('#').to_lowercase();
    plain(a) == plain(b)
}
