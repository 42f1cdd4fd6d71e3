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
        '😀' | '😃' | '😄' | '😁' | '😊' | '🙂' | '😇' | '😋' | '😎' => 2.2,
        '😍' | '🥰' | '😘' | '🤩' | '❤' | '💕' | '💖' | '💗' | '💙' | '💚' | '💜' | '🧡' => {
            2.8
        }
        '😆' | '😂' | '🤣' | '😅' => 1.6,
        '👍' | '👏' | '🙌' | '🎉' | '🥳' | '✨' | '🌟' | '⭐' | '💯' | '✅' | '🔥' | '💪' => {
            1.8
        }
        '🙏' | '😉' | '😌' | '🤗' => 1.4,
        '😐' | '😑' | '😶' | '🤔' => -0.4,
        '😕' | '🙁' | '☹' | '😟' | '😬' | '😒' | '🙄' | '😏' => -1.5,
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
          |\byeah,?\ right\b|\bthanks\ for\ nothing\b|\bthanks\ a\ lot\b
          |\bjust\ what\ i\ needed\b|\bwhat\ a\ surprise\b",
    )
    .expect("valid regex")
});

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
/// intensifiers do not reach across it ("LOL never. LOVED it").
fn ends_clause(punct: &str) -> bool {
    punct.contains(['.', '!', '?', ';', ',', ':'])
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

/// Scores one message.
pub fn score(text: &str) -> Sentiment {
    let decoded = decode_entities(text);
    let text: &str = &decoded;
    let toks = tokens(text);
    // Each word with its token index and the clause it belongs to.
    let mut clause = 0usize;
    let mut clause_of: Vec<usize> = Vec::new();
    let mut words: Vec<(usize, String)> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            TokenKind::Word => {
                words.push((i, fold(t.raw)));
                clause_of.push(clause);
            }
            TokenKind::Punct if ends_clause(t.raw) => clause += 1,
            _ => {}
        }
    }
    let shouted_words = toks.iter().filter(|t| is_shouted(t.raw)).count();
    let all_shouted = shouted_words * 2 > words.len().max(1);
    let sarcastic = SARCASM.is_match(text);
    let scare_quoted = SCARE_QUOTES.is_match(text);

    // Where the contrast is: words after the last "but" weigh more.
    let but_at = words.iter().rposition(|(_, w)| w == "but" || w == "however");

    let mut contributions: Vec<(String, f32)> = Vec::new();
    for (k, (ti, w)) in words.iter().enumerate() {
        // "kind of" and "sort of" soften; they are not kindness.
        let next_is_of = words.get(k + 1).is_some_and(|(_, n)| n == "of");
        if next_is_of && (w == "kind" || w == "sort") {
            continue;
        }
        // A bare "no" (the last word of its clause) is a refusal, not the
        // negation of what follows.
        let bare_no = matches!(w.as_str(), "no" | "nope" | "nah")
            && words.get(k + 1).is_none_or(|_| clause_of[k + 1] != clause_of[k]);
        let Some(mut v) = lookup(w).or(bare_no.then_some(BARE_NO)) else { continue };
        let raw = toks[*ti].raw;
        if is_shouted(raw) && !all_shouted {
            v += 0.733 * v.signum();
        }

        // Look back three words for boosters and negations.
        let mut negated = false;
        for back in 1..=3 {
            let Some(j) = k.checked_sub(back).filter(|&j| clause_of[j] == clause_of[k]) else {
                break;
            };
            let prev = &words[j].1;
            let softener = prev == "of"
                && k > back
                && matches!(words[k - back - 1].1.as_str(), "kind" | "sort");
            if softener {
                v -= 0.3 * v.signum();
            } else if let Some(b) = booster(prev) {
                v += b * v.signum() * (1.0 - 0.05 * (back - 1) as f32);
            }
            // "At least" concedes rather than negates ("at least it works").
            let at_least = prev == "least" && j > 0 && words[j - 1].1 == "at";
            if is_negation(prev) && !at_least {
                negated = true;
            }
        }
        if negated {
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
        if let Some(v) = emoticon_valence(c) {
            contributions.push((c.to_string(), v));
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
}
