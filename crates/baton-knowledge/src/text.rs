//! Turning text into index terms: lower-casing, splitting into words,
//! dropping a small list of English stop words and light stemming.
//!
//! The stemmer is deliberately crude: it only folds the endings that make a
//! customer's question miss an article's wording ("shipped" and "shipping"
//! against "ship", "refunds" against "refund"). Both the index and the query
//! go through the same function, so the stems only need to agree, not to be
//! real words.

/// Words too common to tell one passage from another.
/// Contractions are listed without their apostrophe, as `words` reads them
/// ("what's" is "whats"); "dont" and "cant" are kept, as they carry a no.
const STOP_WORDS: &[&str] = &[
    "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "could", "did", "do", "does", "for", "from", "had", "has", "have", "hello", "heres", "hi",
    "how", "hows", "i", "id", "if", "im", "in", "is", "it", "its", "ive", "just", "me", "my", "of",
    "on", "or", "our", "please", "so", "that", "thats", "the", "their", "them", "then", "there",
    "theres", "these", "they", "this", "to", "us", "was", "we", "were", "what", "whats", "when",
    "where", "wheres", "which", "who", "why", "will", "with", "would", "you", "your", "youre",
];

/// The index terms of a text, in order, repeats kept.
pub fn terms(text: &str) -> Vec<String> {
    words(text).map(fold_contraction).filter(|w| !is_stop_word(w)).map(|w| stem(&w)).collect()
}

/// Spelled-out negations meet their contractions: an article says "cannot"
/// where a customer types "can't" (read as "cant").
fn fold_contraction(word: String) -> String {
    match word.as_str() {
        "cannot" => "cant".to_string(),
        _ => word,
    }
}

/// The distinct index terms of a text, in order of first appearance.
pub fn distinct_terms(text: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for term in terms(text) {
        if !seen.contains(&term) {
            seen.push(term);
        }
    }
    seen
}

/// Lower-cased words: runs of letters and digits. An apostrophe inside a
/// word is dropped ("don't" is "dont") rather than splitting it in two.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '\u{2019}'))
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
}

fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// Folds common English endings: plurals, `-ing`, `-ed`, `-ly`, a
/// comparative `-er` on longer words ("larger", "longer") and a final `e`
/// ("take" meets "taking"), then undoubles a final consonant left behind
/// ("shipp" to "ship").
pub fn stem(word: &str) -> String {
    let mut w = word.to_string();
    let len = w.chars().count();
    if !w.is_ascii() || len <= 3 {
        return w;
    }

    if w.ends_with("ies") && len > 4 {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.ends_with("sses") {
        w.truncate(w.len() - 2);
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.truncate(w.len() - 1);
    }

    // "delivery" and "deliveries" meet "deliver" and "delivered".
    if w.ends_with("ery") && w.len() > 5 {
        w.truncate(w.len() - 1);
    }

    let mut cut_suffix = false;
    for suffix in ["ing", "ed", "ly"] {
        if w.ends_with(suffix) && w.len() - suffix.len() >= 3 {
            w.truncate(w.len() - suffix.len());
            cut_suffix = true;
            break;
        }
    }

    if w.ends_with("er") && w.len() >= 6 {
        w.truncate(w.len() - 2);
        cut_suffix = true;
    }

    if cut_suffix {
        undouble(&mut w);
    }
    if w.ends_with('e') && w.len() >= 4 {
        w.truncate(w.len() - 1);
    }
    w
}

/// "shipp" becomes "ship", "cancell" becomes "cancel"; "ss" and "ll" at the
/// end of a short word stay ("pass" is not "pas").
fn undouble(w: &mut String) {
    let bytes = w.as_bytes();
    let n = bytes.len();
    if n >= 4 && bytes[n - 1] == bytes[n - 2] {
        let c = bytes[n - 1];
        let vowel = matches!(c, b'a' | b'e' | b'i' | b'o' | b'u');
        if !vowel && c != b's' && c.is_ascii_alphabetic() {
            w.truncate(n - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_word_list_is_sorted_for_binary_search() {
        let mut sorted = STOP_WORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, STOP_WORDS);
    }

    #[test]
    fn terms_are_lower_cased_stemmed_and_free_of_stop_words() {
        assert_eq!(
            terms("Where is my ORDER? I don't see the tracking number!"),
            vec!["order", "dont", "see", "track", "numb"]
        );
        assert_eq!(terms("What's your exchange policy?"), vec!["exchang", "policy"]);
    }

    #[test]
    fn related_word_forms_share_one_stem() {
        let groups = [
            vec!["ship", "ships", "shipped", "shipping"],
            vec!["refund", "refunds", "refunded", "refunding"],
            vec!["cancel", "cancelled", "cancels", "cancelling"],
            vec!["policy", "policies"],
            vec!["charge", "charges", "charged"],
            vec!["return", "returns", "returned", "returning"],
            vec!["deliver", "delivers", "delivered", "delivery", "deliveries"],
            vec!["take", "takes", "taking"],
            vec!["large", "larger"],
            vec!["long", "longer"],
        ];
        for group in groups {
            let stems: Vec<String> = group.iter().map(|w| stem(w)).collect();
            assert!(stems.iter().all(|s| s == &stems[0]), "{group:?} gave {stems:?}");
        }
    }

    #[test]
    fn short_words_and_double_s_endings_are_left_alone() {
        assert_eq!(stem("gas"), "gas");
        assert_eq!(stem("address"), "address");
        assert_eq!(stem("password"), "password");
        assert_eq!(stem("status"), "status");
    }

    #[test]
    fn cannot_and_cant_are_one_term() {
        assert_eq!(terms("Items that cannot be returned"), terms("items that can't be returned"));
    }

    #[test]
    fn distinct_terms_keep_first_appearance_order() {
        assert_eq!(distinct_terms("refund refunds Refund card"), vec!["refund", "card"]);
    }
}
