//! The rule-based sentiment scorer: a hand-written lexicon of word, emoticon
//! and emoji valences, adjusted for negation, intensifiers, capitals,
//! exclamation, "but" contrast and sarcasm markers that a lexicon alone
//! cannot see. The score of a message is in [-1, 1].

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
        r"(?ix)\b(?:oh|yeah|just|well|wow)[\s,]+
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
    for suffix in ["s", "ly"] {
        if let Some(stem) = word.strip_suffix(suffix) {
            if stem.len() >= 3 {
                if let Some(&v) = lex.get(stem) {
                    return Some(v);
                }
            }
        }
    }
    None
}

/// Scores one message.
pub fn score(text: &str) -> Sentiment {
    let toks = tokens(text);
    let words: Vec<(usize, String)> = toks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.kind == TokenKind::Word)
        .map(|(i, t)| (i, fold(t.raw)))
        .collect();
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
        let Some(mut v) = lookup(w) else { continue };
        let raw = toks[*ti].raw;
        if is_shouted(raw) && !all_shouted {
            v += 0.7 * v.signum();
        }

        // Look back three words for boosters and negations.
        let mut negated = false;
        for back in 1..=3 {
            let Some((_, prev)) = k.checked_sub(back).map(|j| &words[j]) else {
                break;
            };
            let softener = prev == "of"
                && k > back
                && matches!(words[k - back - 1].1.as_str(), "kind" | "sort");
            if softener {
                v -= 0.3 * v.signum();
            } else if let Some(b) = booster(prev) {
                v += b * v.signum() * (1.0 - 0.05 * (back - 1) as f32);
            }
            if is_negation(prev) {
                negated = true;
            }
        }
        if negated {
            v *= -0.7;
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
        if c.chars().any(|ch| ch.is_alphabetic()) && !c.starts_with(':') && !c.starts_with(';') {
            continue;
        }
        if let Some(&v) = LEXICON.get(c) {
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
    let mut emphasis = 0.25 * bangs;
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
    fn empty_and_huge_input_do_not_panic() {
        assert_eq!(s(""), 0.0);
        let long = "bad service. ".repeat(600);
        assert!(s(&long) < -0.9);
    }
}
