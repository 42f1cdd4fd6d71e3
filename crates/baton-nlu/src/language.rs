//! Telling which language a message is written in, from its script and its
//! most common function words. Good enough to notice that a message is not
//! in a language the intent model knows; not a general language identifier.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::text::{fold, tokens, TokenKind};

/// Function words by language: frequent, short, and rarely shared.
const STOPWORDS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "is", "my", "i", "to", "and", "you", "it", "of", "a", "can", "what", "how",
            "where", "why", "me", "have", "not", "this", "for", "with", "was", "do", "please",
            "pls", "your", "are", "want", "need", "yes", "hi", "hello", "thanks", "order", "get",
            "when", "did", "don't", "i'm", "there", "will", "be", "on", "an", "that", "at", "just",
            "am", "been", "from", "if", "no", "would", "could", "help",
        ],
    ),
    (
        "es",
        &[
            "el", "la", "los", "las", "de", "que", "y", "en", "un", "una", "es", "por", "para",
            "con", "mi", "no", "pedido", "quiero", "hola", "gracias", "dónde", "donde", "está",
            "esta", "cómo", "como", "mis", "pero", "muy", "tengo", "del", "se", "lo", "su", "al",
            "puedo", "qué", "cuando", "ya", "sí", "todavía",
        ],
    ),
    (
        "fr",
        &[
            "le", "la", "les", "de", "des", "et", "est", "un", "une", "je", "mon", "ma", "mes",
            "pas", "ne", "pour", "avec", "que", "qui", "vous", "commande", "bonjour", "merci",
            "où", "est-ce", "c'est", "j'ai", "du", "au", "il", "elle", "sur", "dans", "toujours",
            "quand", "comment", "suis", "reçu",
        ],
    ),
    (
        "de",
        &[
            "der",
            "die",
            "das",
            "und",
            "ist",
            "ich",
            "nicht",
            "ein",
            "eine",
            "mein",
            "meine",
            "mit",
            "für",
            "von",
            "zu",
            "wo",
            "bestellung",
            "hallo",
            "danke",
            "bitte",
            "noch",
            "auf",
            "den",
            "dem",
            "habe",
            "ist",
            "sie",
            "wie",
            "warum",
            "kann",
            "es",
            "keine",
            "wann",
            "bin",
            "auch",
            "aber",
            "schon",
        ],
    ),
    (
        "pt",
        &[
            "o",
            "a",
            "os",
            "as",
            "de",
            "que",
            "e",
            "do",
            "da",
            "em",
            "um",
            "uma",
            "meu",
            "minha",
            "não",
            "nao",
            "para",
            "com",
            "pedido",
            "olá",
            "ola",
            "obrigado",
            "obrigada",
            "onde",
            "está",
            "ainda",
            "quero",
            "é",
            "por",
            "favor",
            "você",
            "voce",
            "recebi",
            "encomenda",
            "mas",
            "foi",
            "já",
            "como",
        ],
    ),
    (
        "it",
        &[
            "il", "lo", "la", "gli", "le", "di", "che", "e", "è", "un", "una", "mio", "mia", "non",
            "per", "con", "ordine", "ciao", "grazie", "dove", "ancora", "sono", "voglio", "ho",
            "del", "della", "perché", "come", "quando", "ma", "anche", "ricevuto",
        ],
    ),
    (
        "nl",
        &[
            "de",
            "het",
            "een",
            "en",
            "is",
            "ik",
            "niet",
            "mijn",
            "van",
            "op",
            "met",
            "voor",
            "dat",
            "bestelling",
            "hallo",
            "bedankt",
            "waar",
            "nog",
            "wil",
            "heb",
            "geen",
            "maar",
            "ook",
            "wanneer",
            "waarom",
            "u",
            "je",
            "jullie",
        ],
    ),
];

/// Each function word with one bit per language of [`STOPWORDS`] it is in.
static INDEX: LazyLock<HashMap<&'static str, u8>> = LazyLock::new(|| {
    let mut index = HashMap::new();
    for (k, (_, list)) in STOPWORDS.iter().enumerate() {
        for w in *list {
            *index.entry(*w).or_insert(0u8) |= 1 << k;
        }
    }
    index
});

/// The detected language and how sure the detector is, in [0, 1].
pub fn detect(text: &str) -> (String, f32) {
    // Non-Latin scripts settle it at once.
    let (mut letters, mut script_counts) = (0usize, [0usize; 10]);
    for c in text.chars() {
        if !c.is_alphabetic() {
            continue;
        }
        letters += 1;
        let slot = match c as u32 {
            0x0400..=0x04FF => 0, // Cyrillic
            0x0370..=0x03FF => 1, // Greek
            0x0600..=0x06FF | 0x0750..=0x077F => 2,
            0x0590..=0x05FF => 3,
            0x3040..=0x30FF => 4, // Hiragana and Katakana
            0x4E00..=0x9FFF | 0x3400..=0x4DBF => 5,
            0xAC00..=0xD7AF | 0x1100..=0x11FF => 6,
            0x0900..=0x097F => 7,
            0x0E00..=0x0E7F => 8,
            _ => 9,
        };
        script_counts[slot] += 1;
    }
    if letters == 0 {
        return ("und".into(), 0.0);
    }
    const CODES: [&str; 9] = ["ru", "el", "ar", "he", "ja", "zh", "ko", "hi", "th"];
    let (best_slot, &best) =
        script_counts[..9].iter().enumerate().max_by_key(|(_, &n)| n).expect("nine scripts");
    if best * 2 > letters {
        // Kanji-heavy Japanese still has kana; prefer ja when any is present.
        let code = if best_slot == 5 && script_counts[4] > 0 { "ja" } else { CODES[best_slot] };
        return (code.into(), (best as f32 / letters as f32).min(1.0));
    }

    // Latin script: count function words per language.
    let mut scores = [0.0f32; 7];
    let words = tokens(text).into_iter().filter(|t| t.kind == TokenKind::Word);
    for t in words.take(400) {
        let bits = INDEX.get(fold(t.raw).as_str()).copied().unwrap_or(0);
        for (k, score) in scores.iter_mut().enumerate() {
            if bits & (1 << k) != 0 {
                *score += 1.0;
            }
        }
    }
    let lower = text.to_lowercase();
    for (k, marks) in ["", "ñ¿¡", "çàèùâêîôûœ", "ßäöü", "ãõçâê", "àèìòù", "ĳ"].iter().enumerate()
    {
        if marks.chars().any(|m| lower.contains(m)) {
            scores[k] += 0.5;
        }
    }
    let total: f32 = scores.iter().sum();
    let (best_k, best) =
        scores.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).expect("seven languages");
    if *best == 0.0 {
        return ("und".into(), 0.0);
    }
    // Sureness grows with the number of function words found: one word
    // shared with English ("per", "come", "die") is not enough to call an
    // English message foreign, three are.
    let share = best / total;
    let evidence = (*best / 3.0).min(1.0);
    (STOPWORDS[best_k].0.into(), share * evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_detected() {
        assert_eq!(detect("where is my order, I placed it last week").0, "en");
    }

    #[test]
    fn spanish_french_and_german_are_detected() {
        assert_eq!(detect("¿Dónde está mi pedido? Lo pedí hace una semana").0, "es");
        assert_eq!(detect("Bonjour, je n'ai pas reçu ma commande").0, "fr");
        assert_eq!(detect("Hallo, wo ist meine Bestellung? Ich warte noch").0, "de");
    }

    #[test]
    fn other_scripts_are_detected() {
        assert_eq!(detect("Где мой заказ?").0, "ru");
        assert_eq!(detect("我的订单在哪里").0, "zh");
        assert_eq!(detect("注文はどこですか").0, "ja");
    }

    #[test]
    fn one_function_word_is_too_little_evidence_to_be_sure() {
        let (code, confidence) = detect("Refund per item?");
        assert_eq!(code, "it");
        assert!(confidence < 0.5, "{confidence}");
        // Six Italian function words, two of them shared with French.
        let (code, confidence) = detect("Il mio ordine non è arrivato");
        assert_eq!(code, "it");
        assert!(confidence > 0.75, "{confidence}");
    }

    #[test]
    fn text_without_letters_is_undetermined() {
        assert_eq!(detect("12345 !!! 😡").0, "und");
        assert_eq!(detect("").0, "und");
    }
}
