//! The rule-based sentiment scorer: a hand-written lexicon of word, emoticon
//! and emoji valences, adjusted for negation, intensifiers, capitals,
//! exclamation, "but" contrast and sarcasm markers that a lexicon alone
//! cannot see. The score of a message is in [-1, 1].

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use baton_core::analysis::Sentiment;
use regex::Regex;

use crate::text::{fold, is_shouted, tokens, TokenKind};

static LEXICON: LazyLock<HashMap<String, f32>> = LazyLock::new(|| {
    include_str!("lexicon.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (word, v) = l.rsplit_once(' ')?;
            Some((word.trim().to_string(), v.trim().parse().ok()?))
        })
        .collect()
});

/// Valence of an emoji, by its first code point (modifiers are ignored).
fn emoji_valence(e: &str) -> Option<f32> {
    let c = e.chars().next()?;
    let v = match c {
        '😀' | '😃' | '😄' | '😁' | '😊' | '🙂' | '😇' | '😋' | '😎' | '☺' | '😺' | '😸' | '😻' => {
            2.2
        }
        '😍' | '🥰' | '😘' | '🤩' | '❤' | '💕' | '💖' | '💗' | '💙' | '💚' | '💜' | '🧡' | '💛'
        | '♥' | '💓' | '💞' | '💝' => 2.8,
        '😆' | '😂' | '🤣' | '😅' => 1.6,
        '👍' | '👏' | '🙌' | '🎉' | '🥳' | '✨' | '🌟' | '⭐' | '💯' | '✅' | '🔥' | '💪' => {
            1.8
        }
        '🙏' | '😉' | '😌' | '🤗' | '🤝' | '😜' | '😝' | '😛' => 1.4,
        '👌' => 1.6,
        '😐' | '😑' | '😶' | '🤔' => -0.4,
        '😕' | '🙁' | '☹' | '😟' | '😬' | '😒' | '🙄' | '😏' | '🤦' | '😪' | '😷' => {
            -1.5
        }
        '🤒' | '🤕' | '😵' => -1.7,
        '😞' | '😔' | '😣' | '😖' | '😫' | '😩' | '😢' | '😥' | '😓' | '😰' | '😨' => {
            -2.1
        }
        '😭' | '💔' | '😱' | '🤢' | '🤮' | '💩' | '👎' | '❌' => -2.5,
        '😤' | '😠' | '😡' | '🤬' | '👿' | '💢' => -2.9,
        _ => return None,
    };
    Some(v)
}

/// Words that strengthen (positive) or soften (negative) the next
/// sentiment word.
fn booster(word: &str) -> Option<f32> {
    let b = match word {
        "very" | "really" | "so" | "totally" | "truly" | "completely" | "super" | "such"
        | "absolutely" | "utterly" | "highly" | "deeply" | "seriously" | "fucking" | "freaking"
        | "damn" | "way" | "too" | "most" | "extra" => 0.3,
        "extremely" | "incredibly" | "insanely" | "hugely" | "immensely" | "exceptionally" => 0.4,
        "slightly" | "somewhat" | "kinda" | "sorta" | "barely" | "hardly" | "marginally"
        | "mildly" | "fairly" | "rather" | "little" | "bit" | "quite" => -0.3,
        _ => return None,
    };
    Some(b)
}

/// A degree word or a negation typed with a letter held ("sooo",
/// "reallyyy", "nooo", "neverrr") as it is normally spelled; other words
/// come back unchanged.
fn unstretched(word: &str) -> Cow<'_, str> {
    let b = word.as_bytes();
    if !b.windows(3).any(|w| w[0] == w[1] && w[1] == w[2]) {
        return Cow::Borrowed(word);
    }
    let capped = |max: usize| {
        let mut out = String::with_capacity(word.len());
        let (mut last, mut run) = ('\0', 0);
        for c in word.chars() {
            run = if c == last { run + 1 } else { 1 };
            last = c;
            if run <= max {
                out.push(c);
            }
        }
        out
    };
    let known = |w: &str| booster(w).is_some() || is_negation(w) || matches!(w, "nope" | "nah");
    let twice = capped(2);
    if known(&twice) {
        return Cow::Owned(twice);
    }
    let once = capped(1);
    if known(&once) {
        return Cow::Owned(once);
    }
    Cow::Borrowed(word)
}

fn is_negation(word: &str) -> bool {
    matches!(
        word,
        "not"
            | "no"
            | "never"
            | "neither"
            | "nor"
            | "nothing"
            | "none"
            | "nobody"
            | "nowhere"
            | "without"
            | "cannot"
            | "cant"
            | "dont"
            | "doesnt"
            | "didnt"
            | "isnt"
            | "wasnt"
            | "arent"
            | "wont"
            | "wouldnt"
            | "couldnt"
            | "shouldnt"
            | "aint"
            | "havent"
            | "hasnt"
            | "least"
    ) || word.ends_with("n't")
}

static SARCASM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)\b(?:oh|yeah|just)[\s,]+
          (?:great|wonderful|fantastic|perfect|brilliant|lovely|awesome|terrific|super|nice)\b
          |\byeah,?\ right\b|\bthanks\ for\ nothing\b
          |\bjust\ what\ i\ needed\b|\bwhat\ a\ surprise\b",
    )
    .expect("valid regex")
});

/// "Thanks a lot" is a sneer on its own and sincere when it says what for
/// ("thanks a lot for the quick reply").
static THANKS_A_LOT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bthanks a lot\b(\s+for\b)?").expect("valid regex"));

fn sneering_thanks(text: &str) -> bool {
    text.contains(" a lot") && THANKS_A_LOT.captures_iter(text).any(|c| c.get(1).is_none())
}

static SCARE_QUOTES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"['"‘“][^'"‘’“”]{3,40}['"’”]"#).expect("valid regex"));

/// Looks a word up, trying it as typed, then with stretched letters
/// ("sooo goood") shortened, then without a plural or adverb ending.
fn lookup(word: &str) -> Option<f32> {
    let lex = &*LEXICON;
    if let Some(&v) = lex.get(word) {
        return Some(v);
    }
    let mut squeezed = String::with_capacity(word.len());
    let mut last = '\0';
    let mut run = 0;
    for c in word.chars() {
        run = if c == last { run + 1 } else { 1 };
        last = c;
        if run <= 2 {
            squeezed.push(c);
        }
    }
    if squeezed != word {
        if let Some(&v) = lex.get(&squeezed) {
            return Some(v);
        }
        let once: String = {
            let mut s = String::new();
            for c in squeezed.chars() {
                if !s.ends_with(c) {
                    s.push(c);
                }
            }
            s
        };
        if let Some(&v) = lex.get(&once) {
            return Some(v);
        }
    }
    if let Some(v) = inflected(word) {
        return Some(v);
    }
    is_laughter(word).then_some(LAUGHTER)
}

/// Valence of a "no" that stands alone ("No and no.", "Nope!").
const BARE_NO: f32 = -1.2;

/// Valence of a laugh written out ("hahaha", "hehe", "lolol").
const LAUGHTER: f32 = 1.8;

/// Whether a word is a written laugh: "ha"/"he" syllables repeated, or
/// "lol" stretched.
fn is_laughter(word: &str) -> bool {
    let b = word.as_bytes();
    let syllables = b.len() >= 4
        && b.chunks(2).all(|c| matches!(c, [b'h', b'a'] | [b'h', b'e'] | [b'a', b'h'] | [b'h']));
    let lol = b.len() >= 3 && b[0] == b'l' && b[b.len() - 1] == b'l' && {
        let inner = &b[1..b.len() - 1];
        !inner.is_empty() && inner.iter().all(|&c| c == b'o' || c == b'l')
    };
    syllables || lol
}

/// Looks up a word through its inflection: a plural or third person ("s"),
/// an adverb ("ly"), a comparative or superlative ("cooler", "nicest",
/// "happiest"), a noun of quality ("madness"), a past or a present
/// participle ("ruining", "hated"). The stem must keep three letters.
fn inflected(word: &str) -> Option<f32> {
    let lex = &*LEXICON;
    // A dropped "g" ("lovin", "fuckin") is the "ing" form.
    if word.len() >= 5 && word.ends_with("in") {
        let ing = format!("{word}g");
        if let Some(v) = lex.get(&ing).copied().or_else(|| inflected(&ing)) {
            return Some(v);
        }
    }
    // A plural of an inflected form: "fuckers", "haters".
    if let Some(stem) = word.strip_suffix('s').filter(|s| s.len() >= 4) {
        if let Some(v) = lex.get(stem).copied().or_else(|| inflected_once(stem)) {
            return Some(v);
        }
    }
    inflected_once(word)
}

fn inflected_once(word: &str) -> Option<f32> {
    let lex = &*LEXICON;
    const ENDINGS: &[(&str, &[&str])] = &[
        ("s", &[""]),
        ("ly", &[""]),
        ("iest", &["y"]),
        ("ier", &["y"]),
        ("est", &["", "e"]),
        ("er", &["", "e"]),
        ("ness", &[""]),
        ("iness", &["y"]),
        ("ing", &["", "e"]),
        ("ed", &["", "e"]),
    ];
    for (suffix, replacements) in ENDINGS {
        let Some(stem) = word.strip_suffix(suffix) else { continue };
        if stem.len() < 3 {
            continue;
        }
        for r in *replacements {
            let candidate = format!("{stem}{r}");
            if let Some(&v) = lex.get(&candidate) {
                return Some(v);
            }
            // A doubled last consonant: "sadder", "saddest", "stopped".
            let b = stem.as_bytes();
            if r.is_empty() && b.len() >= 4 && b[b.len() - 1] == b[b.len() - 2] {
                if let Some(&v) = lex.get(&stem[..stem.len() - 1]) {
                    return Some(v);
                }
            }
        }
    }
    None
}

/// Text typed as HTML character references ("&lt;3", "AT&amp;T"), as
/// messages copied from web pages and feeds often are, read as the
/// characters they stand for.
fn decode_entities(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for (entity, c) in
        [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")]
    {
        out = out.replace(entity, c);
    }
    Cow::Owned(out)
}

/// Whether a punctuation token ends a sentence or a clause: negation and
/// intensifiers do not reach across it ("LOL never. LOVED it"). A hashtag
/// stands apart from the sentence before it ("not fun #ouch").
fn ends_clause(punct: &str) -> bool {
    punct.contains(['.', '!', '?', ';', ',', ':', '#'])
}

/// Valence of a whitespace-separated chunk that is an emoticon: as typed,
/// with its letters in capitals (":d", "xd"), and with a repeated last
/// character squeezed (":DDD", ":))))", "XDDDD").
fn emoticon_valence(chunk: &str) -> Option<f32> {
    if chunk.len() > 12 || !looks_like_emoticon(chunk) {
        return None;
    }
    let lex = &*LEXICON;
    let last = chunk.chars().last()?;
    let once = format!("{}{last}", chunk.trim_end_matches(last));
    [chunk.to_string(), chunk.to_uppercase(), once.to_uppercase(), once]
        .iter()
        .find_map(|f| lex.get(f.as_str()).copied())
}

/// Valence of an emoticon the lexicon does not list, read from its parts:
/// eyes (":", ";", "="), perhaps a nose ("-", "o", "0", "'", "^"), and a
/// mouth, perhaps repeated (":]]", "=p", ":c", ";0)"). The mouth tells the
/// mood; a wink softens a smile.
fn emoticon_by_shape(chunk: &str) -> Option<f32> {
    let mut chars = chunk.chars();
    let eyes = chars.next()?;
    if !matches!(eyes, ':' | ';' | '=') || chunk.len() > 8 {
        return None;
    }
    let rest: Vec<char> = chars.collect();
    let nose = match rest.as_slice() {
        [n, m, ..] if matches!(n, '-' | 'o' | '0' | '\'' | '^') && mouth(*m).is_some() => 1,
        _ => 0,
    };
    let lips = &rest[nose..];
    let m = *lips.first()?;
    if !lips.iter().all(|&c| c == m) {
        return None;
    }
    let v = mouth(m)?;
    Some(if eyes == ';' && v > 0.0 { v * 0.75 } else { v })
}

/// The mood of an emoticon's mouth.
fn mouth(c: char) -> Option<f32> {
    match c {
        ')' | ']' | '}' | 'D' => Some(2.0),
        'P' | 'p' | 'b' => Some(1.2),
        '3' | '*' => Some(1.6),
        '(' | '[' | '{' | 'c' | 'C' => Some(-1.9),
        '/' | '\\' | 'S' | 's' => Some(-1.2),
        '|' | 'l' => Some(-0.6),
        'O' | 'o' | '0' => Some(-0.4),
        _ => None,
    }
}

/// An emoticon typed straight after a word ("thanks:)", "girl;)").
fn glued_emoticon(chunk: &str) -> Option<(&str, f32)> {
    let at = chunk.rfind([':', ';', '='])?;
    let after_letter = chunk[..at].chars().last().is_some_and(|c| c.is_alphabetic());
    let tail = &chunk[at..];
    if !after_letter || !(2..=5).contains(&tail.len()) {
        return None;
    }
    let v = emoticon_valence(tail).or_else(|| emoticon_by_shape(tail))?;
    Some((tail, v))
}

/// A chunk is an emoticon when no word of two different letters is in it
/// (":D", "D:", "<3", "-_-"), or when it is a laughing "xD" however long.
fn looks_like_emoticon(chunk: &str) -> bool {
    let lower = chunk.to_lowercase();
    let x_d = lower.len() >= 2 && lower.starts_with('x') && lower[1..].bytes().all(|b| b == b'd');
    let has_mark = chunk.chars().any(|c| !c.is_alphanumeric());
    x_d || has_mark
        && tokens(chunk).iter().filter(|t| t.kind == TokenKind::Word).all(|t| {
            let mut letters = t.raw.chars().filter(|c| c.is_alphabetic());
            let first = letters.next();
            letters.all(|c| Some(c) == first)
        })
}

/// Fixed expressions whose sense is not the sum of their words, with the
/// valence of the whole: "can't wait" is eagerness, not a refusal to wait;
/// "the shit" and "the bomb" are praise in chat; "let down" and "rip off"
/// are complaints although "let" and "down" are neutral.
const PHRASES: &[(&[&str], f32)] = &[
    (&["can't", "wait"], 2.2),
    (&["cannot", "wait"], 2.2),
    (&["cant", "wait"], 2.2),
    (&["fed", "up"], -2.2),
    (&["fuck", "off"], -3.0),
    (&["let", "down"], -2.0),
    (&["let", "me", "down"], -2.2),
    (&["let", "us", "down"], -2.2),
    (&["over", "the", "moon"], 3.0),
    (&["rip", "off"], -2.8),
    (&["ripped", "off"], -2.8),
    (&["that's", "the", "spirit"], 2.2),
    (&["the", "bomb"], 2.4),
    (&["the", "shit"], 2.6),
    (&["thumbs", "down"], -2.0),
    (&["thumbs", "up"], 2.0),
    (&["to", "die", "for"], 2.8),
    (&["well", "done"], 2.4),
    (&["worked", "like", "a", "charm"], 2.8),
    (&["works", "like", "a", "charm"], 2.8),
];

/// The first letters of the fixed expressions, one bit per ASCII code, so
/// that most words are passed over without a comparison.
const PHRASE_INITIALS: u128 = {
    let mut mask = 0u128;
    let mut i = 0;
    while i < PHRASES.len() {
        mask |= 1 << PHRASES[i].0[0].as_bytes()[0];
        i += 1;
    }
    mask
};

/// The fixed expression that starts at word `k`, with its length and valence.
fn phrase_at(words: &[(&str, String)], clause_of: &[usize], k: usize) -> Option<(usize, f32)> {
    let first = words[k].1.as_str();
    let initial = first.as_bytes().first().copied().unwrap_or(0);
    if initial >= 128 || PHRASE_INITIALS >> initial & 1 == 0 {
        return None;
    }
    PHRASES.iter().filter(|(parts, _)| parts[0] == first).find_map(|(parts, v)| {
        let end = k + parts.len();
        let fits = end <= words.len()
            && clause_of[end - 1] == clause_of[k]
            && parts[1..].iter().zip(&words[k + 1..end]).all(|(p, (_, w))| p == w);
        fits.then_some((parts.len(), *v))
    })
}

/// Whether word `k` is the verb "to mean" ("I mean", "which means a lot")
/// rather than the adjective ("he was mean to me", "so mean").
fn means_to_say(words: &[(&str, String)], clause_of: &[usize], k: usize) -> bool {
    match words[k].1.as_str() {
        "means" | "meant" | "meaning" => true,
        "mean" => {
            let prev = k.checked_sub(1).filter(|&j| clause_of[j] == clause_of[k]);
            !prev.is_some_and(|j| {
                let p = words[j].1.as_str();
                booster(p).is_some()
                    || matches!(
                        p,
                        "is" | "was"
                            | "are"
                            | "were"
                            | "be"
                            | "been"
                            | "being"
                            | "it's"
                            | "that's"
                            | "he's"
                            | "she's"
                            | "you're"
                            | "they're"
                            | "a"
                            | "how"
                            | "pretty"
                    )
            })
        }
        _ => false,
    }
}

/// Scores one message.
pub fn score(text: &str) -> Sentiment {
    let decoded = decode_entities(text);
    let text: &str = &decoded;
    let toks = tokens(text);
    // Each word as typed and folded, with the clause it belongs to. Two
    // words joined by a hyphen are one word when the lexicon lists the
    // compound ("rip-off", "well-made").
    let mut clause = 0usize;
    let mut clause_of: Vec<usize> = Vec::new();
    let mut words: Vec<(&str, String)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        match t.kind {
            TokenKind::Word => {
                let mut raw = t.raw;
                let mut folded = fold(t.raw);
                if let (Some(h), Some(n)) = (toks.get(i + 1), toks.get(i + 2)) {
                    let joined = h.raw == "-"
                        && n.kind == TokenKind::Word
                        && h.start == t.start + t.raw.len()
                        && n.start == h.start + 1;
                    if joined {
                        let compound = format!("{folded}-{}", fold(n.raw));
                        if LEXICON.contains_key(&compound) {
                            raw = &text[t.start..n.start + n.raw.len()];
                            folded = compound;
                            i += 2;
                        }
                    }
                }
                words.push((raw, folded));
                clause_of.push(clause);
            }
            TokenKind::Punct if ends_clause(t.raw) => clause += 1,
            _ => {}
        }
        i += 1;
    }
    let shouted_words = toks.iter().filter(|t| is_shouted(t.raw)).count();
    let all_shouted = shouted_words * 2 > words.len().max(1);
    let sarcastic = SARCASM.is_match(text) || sneering_thanks(text);
    let scare_quoted = SCARE_QUOTES.is_match(text);

    // Where the contrast is: words after the last "but" weigh more.
    let but_at = words.iter().rposition(|(_, w)| w == "but" || w == "however");

    let same_clause = |a: usize, b: usize| clause_of[a] == clause_of[b];
    // Degree words and negations typed stretched ("sooo", "nooo") as they are.
    let plain: Vec<Cow<'_, str>> = words.iter().map(|(_, w)| unstretched(w)).collect();
    // TODO: "like" as a comparison ("looks like rain") still scores as liking;
    // telling the two apart by the word before it lost more than it gained on
    // sign accuracy, so it needs a better cue than one neighbour.
    let mut vals: Vec<Option<f32>> = words.iter().map(|(_, w)| lookup(w)).collect();
    // Words inside a fixed expression: the expression scores once, at its
    // first word, and its words neither score nor negate on their own.
    let mut in_phrase = vec![false; words.len()];
    let mut k = 0;
    while k < words.len() {
        if let Some((len, v)) = phrase_at(&words, &clause_of, k) {
            vals[k] = Some(v);
            for j in k + 1..k + len {
                vals[j] = None;
                in_phrase[j] = true;
            }
            in_phrase[k] = true;
            k += len;
        } else {
            k += 1;
        }
    }
    // A degree word before a sentiment word only strengthens it ("super
    // helpful", "freaking rude"); its own valence counts when it stands alone.
    let modifies_next = |k: usize| {
        vals.get(k + 1).is_some_and(|v| v.is_some())
            && !in_phrase[k]
            && same_clause(k, k + 1)
            && booster(&plain[k]).is_some()
    };

    let mut contributions: Vec<(String, f32)> = Vec::new();
    for (k, (raw, w)) in words.iter().enumerate() {
        // "kind of" and "sort of" soften; they are not kindness.
        let next_is_of = words.get(k + 1).is_some_and(|(_, n)| n == "of");
        if next_is_of && (w == "kind" || w == "sort") {
            continue;
        }
        if modifies_next(k) {
            continue;
        }
        // "I mean", "which means": the verb, not unkindness.
        if means_to_say(&words, &clause_of, k) {
            continue;
        }
        // A bare "no" (the last word of its clause) is a refusal, not the
        // negation of what follows.
        let bare_no = matches!(&*plain[k], "no" | "nope" | "nah")
            && words.get(k + 1).is_none_or(|_| !same_clause(k + 1, k));
        let Some(mut v) = vals[k].or(bare_no.then_some(BARE_NO)) else { continue };
        if is_shouted(raw) && !all_shouted {
            v += 0.733 * v.signum();
        }
        // A trouble that is absent is good: "hassle free", "pain-free".
        let then_free = words.get(k + 1).is_some_and(|(_, n)| n == "free") && same_clause(k, k + 1);
        if v < 0.0 && then_free {
            v *= -0.5;
        }

        // Look back three words for boosters and negations. A negation
        // reaches the first sentiment word after it, not the ones beyond:
        // in "not fun, ouch" or "don't like bad service" only the first is
        // turned.
        let mut negated = false;
        let mut reached = false;
        for back in 1..=3 {
            let Some(j) = k.checked_sub(back).filter(|&j| same_clause(j, k)) else {
                break;
            };
            let prev = &words[j].1;
            let softener = prev == "of"
                && k > back
                && matches!(words[k - back - 1].1.as_str(), "kind" | "sort");
            if softener {
                v -= 0.3 * v.signum();
            } else if let Some(b) = booster(&plain[j]) {
                v += b * v.signum() * (1.0 - 0.05 * (back - 1) as f32);
            }
            // "At least" concedes rather than negates ("at least it works").
            let at_least = prev == "least" && j > 0 && words[j - 1].1 == "at";
            if is_negation(&plain[j]) && !at_least && !in_phrase[j] && !reached {
                negated = true;
            }
            if vals[j].is_some() && !modifies_next(j) {
                reached = true;
            }
        }
        // "No and no": a refusal repeated stays a refusal.
        if negated && !(bare_no && vals[k].is_none()) {
            v *= -0.74;
        }
        if let Some(b) = but_at {
            v *= if k < b {
                0.5
            } else if k > b {
                1.5
            } else {
                1.0
            };
        }
        if sarcastic && v > 0.0 {
            v *= -0.8;
        }
        contributions.push((raw.to_string(), v));
    }

    // Emoticons are whole whitespace-separated chunks such as ":)" or ":-(".
    for chunk in text.split_whitespace() {
        let c = chunk.trim_end_matches(['.', ',', '!', '?']);
        let found = emoticon_valence(c)
            .or_else(|| emoticon_by_shape(c))
            .map(|v| (c, v))
            .or_else(|| glued_emoticon(c));
        if let Some((e, v)) = found {
            contributions.push((e.to_string(), v));
        }
    }
    for t in toks.iter().filter(|t| t.kind == TokenKind::Emoji) {
        if let Some(v) = emoji_valence(t.raw) {
            contributions.push((t.raw.to_string(), v));
        }
    }

    let mut sum: f32 = contributions.iter().map(|c| c.1).sum();
    if sarcastic && scare_quoted && sum >= 0.0 {
        contributions.push(("sarcasm".into(), -1.5));
        sum -= 1.5;
    }

    // Exclamation and repeated question marks amplify what is there.
    let bangs = text.matches('!').count().min(4) as f32;
    let questions = text.matches('?').count();
    let mut emphasis = 0.292 * bangs;
    if questions > 1 {
        emphasis += 0.18 * (questions.min(4) as f32);
    }
    if sum != 0.0 && emphasis > 0.0 {
        sum += emphasis * sum.signum();
        contributions
            .push(("!".repeat(bangs as usize).to_string() + &"?".repeat(questions.min(4)), 0.0));
    }
    if all_shouted && sum != 0.0 {
        sum *= 1.2;
    }

    let score = (sum / (sum * sum + 15.0).sqrt()).clamp(-1.0, 1.0);
    contributions.retain(|c| !c.0.is_empty());
    contributions.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let mut evidence: Vec<String> = Vec::new();
    if sarcastic {
        evidence.push("sarcasm".into());
    }
    for (word, _) in contributions {
        if !evidence.contains(&word) && evidence.len() < 6 {
            evidence.push(word);
        }
    }
    if score == 0.0 {
        evidence.clear();
    }
    Sentiment { score, evidence }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> f32 {
        score(t).score
    }

    #[test]
    fn a_positive_word_scores_above_zero_and_a_negative_one_below() {
        assert!(s("this is great") > 0.3);
        assert!(s("this is terrible") < -0.3);
        assert_eq!(s("my order number is 12"), 0.0);
    }

    #[test]
    fn negation_flips_a_positive_word() {
        assert!(s("this is not good") < 0.0);
        assert!(s("not bad at all") > 0.0);
        assert!(s("no complaints") > 0.0);
    }

    #[test]
    fn intensifiers_and_capitals_strengthen() {
        assert!(s("very good") > s("good"));
        assert!(s("this is BAD") < s("this is bad"));
        assert!(s("good!!!") > s("good"));
    }

    #[test]
    fn a_whole_message_in_capitals_is_stronger_than_the_same_words_in_lower_case() {
        assert!(s("THIS IS TERRIBLE") < s("this is terrible"));
        assert!(s("THANK YOU SO MUCH") > s("thank you so much"));
        assert_eq!(score("THIS IS TERRIBLE").evidence, vec!["TERRIBLE"]);
    }

    #[test]
    fn repeated_question_marks_amplify_and_a_single_one_does_not() {
        assert!(s("why is it still broken??") < s("why is it still broken?"));
        assert_eq!(s("why is it still broken?"), s("why is it still broken"));
    }

    #[test]
    fn a_plain_not_bad_and_no_complaints_read_as_mildly_positive() {
        assert!(s("not bad") > 0.0);
        assert!(s("no complaints") > 0.0);
        assert!(s("not bad") < s("good"));
    }

    #[test]
    fn a_joined_emoji_is_read_by_its_base_and_named_whole() {
        let r = score("the lid is cracked 🤦‍♀️");
        assert_eq!(r.evidence, vec!["🤦‍♀️"]);
        assert_eq!(r.score, s("🤦"));
        // Glued to the word and to each other, every heart still counts.
        assert!(s("loved it❤️❤️") > s("loved it❤️"));
        assert!(s("loved it❤️") > s("loved it"));
        assert_eq!(score("loved it❤️❤️").evidence, vec!["loved", "❤️"]);
    }

    #[test]
    fn what_follows_but_weighs_more() {
        assert!(s("not the worst service, but the worst delivery ever") < -0.3);
        assert!(s("the box was damaged but the product is great") > 0.0);
    }

    #[test]
    fn emoji_count_even_glued_to_words() {
        assert!(s("thanks😡😡") < 0.0);
        assert!(s("arrived today 👍🏽") > 0.0);
        assert!(s("love it ❤️") > s("love it"));
    }

    #[test]
    fn sarcasm_markers_turn_praise_negative() {
        let r = score("oh great, four days 'out for delivery'. Fantastic.");
        assert!(r.score < -0.3, "{r:?}");
        assert_eq!(r.evidence[0], "sarcasm");
    }

    #[test]
    fn evidence_names_the_words_as_typed() {
        let r = score("The support was AWFUL");
        assert_eq!(r.evidence, vec!["AWFUL"]);
    }

    #[test]
    fn every_lexicon_line_parses_and_no_word_is_listed_twice() {
        let mut seen = std::collections::HashSet::new();
        for line in include_str!("lexicon.txt").lines() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (word, v) = line.rsplit_once(' ').expect("word and valence");
            let v: f32 = v.parse().expect("a number");
            assert!((-4.0..=4.0).contains(&v), "{line}");
            assert!(seen.insert(word), "listed twice: {word}");
        }
        assert_eq!(seen.len(), LEXICON.len());
    }

    #[test]
    fn html_character_references_are_read_as_characters() {
        assert!(s("TGIF &lt;3") > 0.3);
        assert_eq!(decode_entities("AT&amp;T &gt; them"), "AT&T > them");
    }

    #[test]
    fn emoticons_count_in_either_case_and_stretched() {
        assert!(s("see you there :DDD") > 0.3);
        assert!(s("see you there xD") > 0.3);
        assert!(s("see you there XDDDD") > 0.3);
        assert!(s("see you there :((") < -0.3);
        assert_eq!(emoticon_valence("it's"), None);
    }

    #[test]
    fn negation_stops_at_the_end_of_a_sentence() {
        assert!(s("LOL never. LOVED it") > 0.5);
        assert!(s("never loved it") < 0.0);
    }

    #[test]
    fn a_bare_no_is_negative_and_a_no_before_a_word_negates_it() {
        assert!(s("No. Just no.") < -0.2);
        assert!(s("no complaints") > 0.0);
    }

    #[test]
    fn at_least_concedes_without_negating() {
        assert!(s("at least it works") > 0.0);
        assert!(s("the least helpful agent") < 0.0);
    }

    #[test]
    fn written_laughs_are_positive() {
        assert!(s("hahahaha") > 0.3);
        assert!(s("lolol") > 0.3);
        assert!(!is_laughter("hah"));
        assert!(!is_laughter("hello"));
    }

    #[test]
    fn inflected_forms_find_their_stem() {
        assert_eq!(inflected("coolest"), lookup("cool"));
        assert_eq!(inflected("happiest"), lookup("happy"));
        assert_eq!(inflected("saddest"), lookup("sad"));
        assert_eq!(inflected("lovin"), lookup("loving"));
        assert!(s("the coolest tool") > 0.3);
    }

    #[test]
    fn empty_and_huge_input_do_not_panic() {
        assert_eq!(s(""), 0.0);
        let long = "bad service. ".repeat(600);
        assert!(s(&long) < -0.9);
    }

    #[test]
    fn a_hyphenated_compound_in_the_lexicon_is_one_word() {
        let r = score("what a rip-off");
        assert_eq!(r.evidence, vec!["rip-off"]);
        let v = lookup("rip-off").unwrap();
        assert!((r.score - v / (v * v + 15.0).sqrt()).abs() < 1e-6);
        // Not listed as a compound: the words count one by one.
        assert_eq!(s("a well-known shop"), s("a well known shop"));
    }

    #[test]
    fn fixed_expressions_score_as_a_whole() {
        assert!(s("can't wait to try it") > 0.4);
        assert!(s("this app is the shit") > 0.4);
        assert!(s("what a let down") < -0.3);
        assert_eq!(score("can't wait").evidence, vec!["can't"]);
        // The "can't" inside the expression negates nothing after it.
        assert!(s("can't wait so happy") > s("can't wait"));
    }

    #[test]
    fn a_degree_word_before_a_sentiment_word_only_strengthens_it() {
        assert_eq!(score("super helpful").evidence, vec!["helpful"]);
        assert!(s("damn good") > s("good"));
        assert!(s("freaking rude") < s("rude"));
        // Standing alone, the word keeps its own valence.
        assert!(s("damn") < 0.0);
        assert!(s("that was super") > 0.0);
    }

    #[test]
    fn a_trouble_followed_by_free_is_good() {
        let v = lookup("hassle").unwrap();
        let free = lookup("free").unwrap();
        let sum = free - 0.5 * v;
        assert!((s("hassle free returns") - sum / (sum * sum + 15.0).sqrt()).abs() < 1e-6);
        assert!(s("a pain-free install") > 0.3);
    }

    #[test]
    fn a_negation_turns_only_the_first_sentiment_word_after_it() {
        assert!(s("i don't like bad service") < -0.3);
        assert!(s("not very good") < 0.0);
    }

    #[test]
    fn a_hashtag_is_outside_the_sentence_before_it() {
        assert!(s("my glands are not fun #ouch") < s("my glands are not fun"));
    }

    #[test]
    fn a_refusal_repeated_stays_negative() {
        assert!(s("No and no.") < -0.2);
        assert!(s("no no") < -0.2);
    }

    #[test]
    fn emoticons_are_read_from_their_eyes_nose_and_mouth() {
        assert_eq!(emoticon_by_shape("=]"), Some(2.0));
        assert_eq!(emoticon_by_shape(":c"), Some(-1.9));
        assert_eq!(emoticon_by_shape(";0)"), Some(1.5));
        assert_eq!(emoticon_by_shape(":lll"), Some(-0.6));
        assert_eq!(emoticon_by_shape("=>"), None);
        assert_eq!(emoticon_by_shape(":-"), None);
        assert_eq!(emoticon_by_shape("://url"), None);
        assert!(s("see you there =]") > 0.3);
        assert!(s("i ate it all :c") < -0.3);
    }

    #[test]
    fn an_emoticon_glued_to_a_word_counts() {
        assert_eq!(glued_emoticon("update:)"), Some((":)", 2.0)));
        assert_eq!(glued_emoticon("girl;0)"), Some((";0)", 1.5)));
        assert_eq!(glued_emoticon("10:30"), None);
        assert_eq!(glued_emoticon("http://example"), None);
        assert!(s("got the update:)") > 0.3);
    }

    #[test]
    fn the_verb_mean_is_not_unkindness() {
        assert_eq!(s("I mean it"), 0.0);
        assert_eq!(s("which means we wait"), 0.0);
        assert!(s("he was mean to me") < -0.3);
        assert!(s("so mean") < -0.3);
    }

    #[test]
    fn thanks_a_lot_is_sincere_when_it_says_what_for() {
        let sincere = score("thanks a lot for the quick reply");
        assert!(sincere.score > 0.3, "{sincere:?}");
        assert!(!sincere.evidence.contains(&"sarcasm".to_string()));
        let sneer = score("thanks a lot. four days late");
        assert!(sneer.score < 0.0, "{sneer:?}");
        assert_eq!(sneer.evidence[0], "sarcasm");
    }

    #[test]
    fn stretched_degree_words_and_negations_still_work() {
        let cases = [
            ("sooo", "so"),
            ("tooooo", "too"),
            ("neverrr", "never"),
            ("zzz", "zzz"),
            ("good", "good"),
        ];
        for (typed, plain) in cases {
            assert_eq!(unstretched(typed), plain, "{typed}");
        }
        assert_eq!(s("sooo good"), s("so good"));
        assert!(s("neverrr happy") < 0.0);
        assert!(s("Nooo.") < -0.2);
    }

    #[test]
    fn more_emoji_carry_their_mood() {
        assert_eq!(emoji_valence("💛"), Some(2.8));
        assert_eq!(emoji_valence("♥"), Some(2.8));
        assert_eq!(emoji_valence("👌"), Some(1.6));
        assert_eq!(emoji_valence("🤦🏻"), Some(-1.5));
        assert_eq!(emoji_valence("🤒"), Some(-1.7));
        assert!(s("still broken 🤦") < s("still broken"));
    }

    #[test]
    fn every_fixed_expression_has_two_words_and_a_known_initial() {
        for (parts, _) in PHRASES {
            assert!(parts.len() >= 2, "{parts:?}");
            assert_eq!(PHRASE_INITIALS >> parts[0].as_bytes()[0] & 1, 1, "{parts:?}");
        }
        assert_eq!(PHRASE_INITIALS >> b'b' & 1, 0);
    }
}
