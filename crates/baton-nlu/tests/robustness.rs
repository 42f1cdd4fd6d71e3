//! What customers really type, on a small store model trained from the
//! invented examples in `fixtures/store_intents.csv`: typos, shouting, emoji
//! glued to words, a very long complaint, other languages, two requests in
//! one message, and one-word replies.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use baton_core::analysis::{CueKind, EntityKind};
use baton_nlu::eval::{load_examples, Role};
use baton_nlu::{Analyzer, AnalyzerConfig, IntentModel, TrainOptions};
use chrono::{TimeZone, Utc};

fn analyzer() -> Arc<Analyzer> {
    static ANALYZER: OnceLock<Arc<Analyzer>> = OnceLock::new();
    ANALYZER
        .get_or_init(|| {
            let path =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store_intents.csv");
            let examples = load_examples(&path, Role::Train).expect("fixture");
            let mut opts = TrainOptions::default();
            opts.features.min_df = 1;
            let model = IntentModel::train(&examples, &opts).expect("model");
            let config = AnalyzerConfig {
                order_patterns: vec![r"#?W\d{7}".into(), r"A-\d{5}".into()],
                products: vec!["Trail Runner 2".into(), "Smart Watch".into()],
                locale: "en-GB".into(),
                timezone: "Europe/Lisbon".into(),
                ..AnalyzerConfig::default()
            };
            Arc::new(Analyzer::new(model, config).expect("analyzer"))
        })
        .clone()
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 12, 10, 0, 0).unwrap()
}

fn top(text: &str) -> String {
    let a = analyzer().analyse(text, now());
    a.top_intent().map(|i| i.intent.clone()).unwrap_or_default()
}

#[test]
fn typos_still_reach_the_right_intent() {
    assert_eq!(top("refnd my ordr pls"), "refund_request");
    assert_eq!(top("wher is my pakage"), "track_order");
    assert_eq!(top("cancle my ordr"), "cancel_order");
}

#[test]
fn shouting_reads_like_the_same_request_and_shows_frustration() {
    let a = analyzer().analyse("WHERE IS MY ORDER", now());
    assert_eq!(a.top_intent().unwrap().intent, "track_order");
    assert!(a.cue(CueKind::Frustration).is_some());
}

#[test]
fn emoji_glued_to_words_count_for_sentiment_and_do_not_break_intents() {
    let a = analyzer().analyse("where is my order😡😡", now());
    assert_eq!(a.top_intent().unwrap().intent, "track_order");
    assert!(a.sentiment.score < -0.3, "{:?}", a.sentiment);
    assert!(a.sentiment.evidence.contains(&"😡".to_string()));
}

#[test]
fn a_six_thousand_character_complaint_is_analysed_whole() {
    let mut text = String::from("I want a refund. ");
    while text.len() < 6000 {
        text.push_str("The parcel came late, the box was crushed and nobody answered my emails. ");
    }
    text.push_str("My order was #W1234567 and I'll call my lawyer.");
    let a = analyzer().analyse(&text, now());
    assert!(text.len() > 6000);
    assert!(!a.intents.is_empty());
    assert!(a.sentiment.score < 0.0);
    // The entity and the cue at the very end were found, so nothing was cut.
    let order: Vec<_> = a.entities_of(EntityKind::OrderNumber).collect();
    assert_eq!(order.len(), 1);
    assert_eq!(order[0].value, "W1234567");
    assert_eq!(a.cue(CueKind::Legal).unwrap().words, vec!["lawyer"]);
}

#[test]
fn a_language_the_model_was_not_trained_on_is_detected_and_not_guessed() {
    for (text, code) in [
        ("¿Dónde está mi pedido? Lo compré hace una semana", "es"),
        ("Bonjour, je n'ai toujours pas reçu ma commande", "fr"),
        ("Hallo, wo ist meine Bestellung? Ich warte schon lange", "de"),
        ("Где мой заказ?", "ru"),
        ("Olá, onde está a minha encomenda?", "pt"),
        ("Ciao, dove è il mio ordine? Non è ancora arrivato", "it"),
    ] {
        let a = analyzer().analyse(text, now());
        assert_eq!(a.language.code, code, "{text}");
        assert!(!a.language.supported, "{text}");
        assert!(a.intents.is_empty(), "{text}");
    }
}

#[test]
fn an_english_message_with_one_word_shared_by_another_language_keeps_its_intents() {
    let a = analyzer().analyse("Refund per item?", now());
    assert!(a.language.supported, "{:?}", a.language);
    assert_eq!(a.top_intent().unwrap().intent, "refund_request");
}

#[test]
fn two_requests_in_one_message_yield_both_intents() {
    let a = analyzer().analyse("where is my order and can I change the address?", now());
    let mut found: Vec<&str> = a.intents.iter().take(1).map(|i| i.intent.as_str()).collect();
    found.extend(a.extra_intents.iter().map(|i| i.intent.as_str()));
    found.sort();
    assert_eq!(found, vec!["change_address", "track_order"]);
}

#[test]
fn one_word_replies_are_read_as_yes_no_or_an_intent() {
    assert_eq!(analyzer().analyse("yes", now()).affirmation, Some(true));
    assert_eq!(analyzer().analyse("nope", now()).affirmation, Some(false));
    let a = analyzer().analyse("Cancel", now());
    assert_eq!(a.top_intent().unwrap().intent, "cancel_order");
    assert_eq!(a.affirmation, None);
}

#[test]
fn a_question_far_from_the_store_is_out_of_scope() {
    let a = analyzer().analyse("what's the weather in Lisbon?", now());
    assert!(a.out_of_scope, "{:?}", a.intents);
}

#[test]
fn a_request_for_a_person_is_caught_whatever_the_wording() {
    for t in ["I want a human", "AGENT", "can I speak to a manager", "real person please"] {
        assert!(analyzer().analyse(t, now()).cue(CueKind::HumanRequest).is_some(), "{t}");
    }
}

#[test]
fn the_analyzer_is_shared_across_threads() {
    let an = analyzer();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let an = an.clone();
            std::thread::spawn(move || an.analyse("where is my order", now()).intents.len())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 5);
    }
}
