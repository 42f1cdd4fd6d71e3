//! The [`Analyzer`]: one call that reads a message whole (language, intents,
//! out-of-scope verdict, sentiment, cues, entities, yes/no) into a
//! `baton_core::Analysis`. It holds no mutable state, so one instance is
//! shared by every conversation behind an `Arc`.

use baton_core::analysis::{Analysis, Language};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::entities::EntityExtractor;
use crate::intent::IntentModel;
use crate::text::{tokens, TokenKind};
use crate::{cues, language, sentiment, NluError};

/// What the analyser needs to know about the workspace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnalyzerConfig {
    /// Regular expressions for the workspace's order numbers, such as
    /// `#?W\d{7}` or `A-\d{5}`.
    pub order_patterns: Vec<String>,
    /// Catalogue product names, matched whole and case-insensitively.
    pub products: Vec<String>,
    /// Decides how numeric dates read: `en-US` is month first, others day first.
    pub locale: String,
    /// IANA time zone that "today" and "yesterday" are resolved in.
    pub timezone: String,
    /// Languages the intent model was trained on (ISO 639-1).
    pub languages: Vec<String>,
    /// Overrides the model's own out-of-scope threshold.
    pub out_of_scope_threshold: Option<f32>,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        Self {
            order_patterns: Vec::new(),
            products: Vec::new(),
            locale: "en-US".into(),
            timezone: "UTC".into(),
            languages: vec!["en".into()],
            out_of_scope_threshold: None,
        }
    }
}

/// Reads customer messages for one workspace.
#[derive(Debug)]
pub struct Analyzer {
    model: IntentModel,
    config: AnalyzerConfig,
    entities: EntityExtractor,
}

/// Below this confidence the language detector's verdict is not used to
/// withhold intents: short messages ("ok", "W1234567") carry little signal.
const LANGUAGE_TRUST: f32 = 0.5;

impl Analyzer {
    /// Builds an analyser; a bad order pattern or time zone is an error
    /// that names it.
    pub fn new(model: IntentModel, config: AnalyzerConfig) -> Result<Self, NluError> {
        let entities = EntityExtractor::new(
            &config.order_patterns,
            &config.products,
            &config.locale,
            &config.timezone,
        )?;
        Ok(Self { model, config, entities })
    }

    pub fn model(&self) -> &IntentModel {
        &self.model
    }

    pub fn config(&self) -> &AnalyzerConfig {
        &self.config
    }

    /// Reads one message, resolving relative dates against `now`.
    pub fn analyse(&self, text: &str, now: DateTime<Utc>) -> Analysis {
        let (code, confidence) = language::detect(text);
        let supported = code == "und"
            || confidence < LANGUAGE_TRUST
            || self.config.languages.iter().any(|l| l.eq_ignore_ascii_case(&code));
        let language = Language { code, confidence, supported };

        // Do not pretend to understand a language the model never saw.
        let prediction = if supported {
            let threshold = self
                .config
                .out_of_scope_threshold
                .unwrap_or(self.model.meta().out_of_scope_threshold);
            self.model.predict_with_threshold(text, threshold)
        } else {
            Default::default()
        };

        Analysis {
            language,
            intents: prediction.intents,
            out_of_scope: prediction.out_of_scope,
            extra_intents: prediction.extra_intents,
            sentiment: sentiment::score(text),
            cues: cues::detect(text),
            entities: self.entities.extract(text, now),
            affirmation: affirmation(text),
        }
    }
}

const YES: &[&str] = &[
    "yes",
    "yeah",
    "yep",
    "yup",
    "ya",
    "yea",
    "y",
    "sure",
    "ok",
    "okay",
    "k",
    "kk",
    "alright",
    "correct",
    "right",
    "absolutely",
    "definitely",
    "certainly",
    "confirm",
    "confirmed",
    "agreed",
    "fine",
    "perfect",
    "great",
    "affirmative",
    "please",
    "proceed",
];
const NO: &[&str] =
    &["no", "nope", "nah", "n", "don't", "dont", "not", "never", "negative", "stop", "wait"];
/// Words that may follow a plain yes or no without changing it.
const FILLER: &[&str] = &[
    "please",
    "go",
    "ahead",
    "thanks",
    "thank",
    "you",
    "do",
    "it",
    "that",
    "that's",
    "is",
    "sounds",
    "good",
    "fine",
    "sure",
    "ok",
    "okay",
    "yes",
    "right",
    "correct",
    "thing",
    "great",
    "perfect",
    "of",
    "course",
    "i",
    "want",
    "to",
    "the",
    "way",
    "no",
    "nope",
    "don't",
    "dont",
    "not",
    "now",
    "need",
    "thx",
    "ty",
    "pls",
    "plz",
    "really",
    "exactly",
    "all",
    "mind",
    "never",
    "nevermind",
    "bother",
    "for",
    "so",
];

/// A plain yes or no, judged from the first word of a short message and
/// the words after it ("yes please go ahead", "no thanks", "don't").
pub fn affirmation(text: &str) -> Option<bool> {
    let toks = tokens(text);
    if toks.iter().any(|t| t.kind == TokenKind::Emoji && t.raw.starts_with('👍')) && toks.len() <= 2
    {
        return Some(true);
    }
    let words: Vec<String> = toks
        .iter()
        .filter(|t| t.kind == TokenKind::Word)
        .map(|t| crate::text::fold(t.raw))
        .collect();
    if words.is_empty() || words.len() > 6 {
        return None;
    }
    let joined = words.join(" ");
    if ["of course", "go ahead", "do it", "sounds good", "please do"].contains(&joined.as_str()) {
        return Some(true);
    }
    if ["never mind", "no thanks", "not now", "do not", "no thank you"].contains(&joined.as_str()) {
        return Some(false);
    }
    let first = words[0].as_str();
    let verdict = if YES.contains(&first) {
        // "ok go ahead" is a yes; "ok but ..." is not plain.
        if first == "please" && words.len() == 1 {
            return None;
        }
        true
    } else if NO.contains(&first) {
        if matches!(first, "not" | "never" | "stop" | "wait") && words.len() > 1 {
            return None;
        }
        false
    } else {
        return None;
    };
    if !words[1..].iter().all(|w| FILLER.contains(&w.as_str())) {
        return None;
    }
    // A "no" anywhere after a yes word makes it a no ("ok no thanks").
    let mixed = words[1..].iter().any(|w| NO.contains(&w.as_str()) || w == "nope");
    Some(if verdict && mixed { false } else { verdict })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::{TrainOptions, TrainingExample};
    use baton_core::analysis::{CueKind, EntityKind};
    use chrono::TimeZone;

    fn analyzer() -> Analyzer {
        let mut ex = Vec::new();
        for (intent, texts) in [
            (
                "track_order",
                [
                    "where is my order",
                    "track my package",
                    "when will my order arrive",
                    "has my order shipped",
                    "where is my parcel",
                    "order status",
                ],
            ),
            (
                "refund",
                [
                    "i want a refund",
                    "refund my order",
                    "money back please",
                    "how do i get a refund",
                    "refund the item",
                    "give me my money back",
                ],
            ),
            (
                "change_address",
                [
                    "change my address",
                    "can i change the address",
                    "update the shipping address",
                    "wrong address",
                    "new delivery address",
                    "edit my address",
                ],
            ),
        ] {
            for t in texts {
                ex.push(TrainingExample::new(t, intent));
            }
        }
        let mut opts = TrainOptions::default();
        opts.features.min_df = 1;
        let model = IntentModel::train(&ex, &opts).unwrap();
        let config = AnalyzerConfig {
            order_patterns: vec![r"#?W\d{7}".into()],
            products: vec!["Smart Watch".into()],
            locale: "en-GB".into(),
            timezone: "Europe/Lisbon".into(),
            ..AnalyzerConfig::default()
        };
        Analyzer::new(model, config).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 12, 10, 0, 0).unwrap()
    }

    #[test]
    fn analyse_fills_every_part_of_the_analysis() {
        let a = analyzer().analyse(
            "I want a human NOW, my Smart Watch order #W1234567 from yesterday is ridiculous",
            now(),
        );
        assert_eq!(a.language.code, "en");
        assert!(a.language.supported);
        assert!(!a.intents.is_empty());
        assert!(a.sentiment.score < 0.0);
        assert!(a.cue(CueKind::HumanRequest).is_some());
        assert!(a.cue(CueKind::Frustration).is_some());
        let kinds: Vec<EntityKind> = a.entities.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EntityKind::Product, EntityKind::OrderNumber, EntityKind::Date]);
        assert_eq!(a.affirmation, None);
    }

    #[test]
    fn a_language_the_model_does_not_know_gets_no_intents() {
        let a = analyzer().analyse("¿Dónde está mi pedido? Lo pedí hace una semana", now());
        assert_eq!(a.language.code, "es");
        assert!(!a.language.supported);
        assert!(a.intents.is_empty());
    }

    #[test]
    fn a_bad_order_pattern_is_refused_by_name() {
        let model = analyzer().model().clone();
        let config =
            AnalyzerConfig { order_patterns: vec!["A-(\\d".into()], ..AnalyzerConfig::default() };
        let err = Analyzer::new(model, config).unwrap_err();
        assert!(matches!(err, NluError::BadPattern { ref pattern, .. } if pattern == "A-(\\d"));
    }

    #[test]
    fn plain_yes_and_no_are_recognised() {
        for t in ["yes", "Yep!", "sure", "ok go ahead", "OK", "yes please", "👍"] {
            assert_eq!(affirmation(t), Some(true), "{t}");
        }
        for t in ["no", "Nope.", "don't", "no thanks", "no, don't"] {
            assert_eq!(affirmation(t), Some(false), "{t}");
        }
        for t in ["yes but the address is wrong", "where is my order", "", "please"] {
            assert_eq!(affirmation(t), None, "{t}");
        }
    }

    #[test]
    fn odd_input_never_panics() {
        let an = analyzer();
        for t in ["", " ", "\u{0}\u{200D}\u{FE0F}", "🏳️‍🌈🏳️‍🌈", "a\u{301}\u{301}\u{301}", "ℌ𝔢𝔩𝔩𝔬"]
        {
            let _ = an.analyse(t, now());
        }
        let long = "My order is late and nobody answers. ".repeat(170);
        assert!(long.len() > 6000);
        let a = an.analyse(&long, now());
        assert_eq!(a.intents[0].intent, "track_order");
    }

    #[test]
    fn the_analyzer_can_be_shared_between_threads() {
        fn is_send_sync<T: Send + Sync>() {}
        is_send_sync::<Analyzer>();
    }
}
