//! Retrieval evaluation on the demo workspace's articles: each question
//! names the article and section a person would answer it from, and the
//! first hit of a search must be exactly that section. The share of
//! questions answered from the right section is the figure reported in
//! docs/benchmarks.md.

use std::path::Path;

use baton_knowledge::KnowledgeBase;

/// Question, article id, section heading. A section named like the article
/// is the article's opening paragraph, the answer to a general question
/// about its subject.
const CASES: &[(&str, &str, &str)] = &[
    ("what are your opening hours?", "opening-hours", "Customer service hours"),
    ("Do you sell gift cards?", "gift-cards", "Buying a gift card"),
    ("what is your return policy?", "returns", "Returns and exchanges"),
    ("do you ship to Canada?", "shipping", "International shipping"),
    ("how long do refunds take to show up?", "refunds", "How long a refund takes to show"),
    ("what's your warranty on the tent?", "warranty", "What the warranty covers"),
    ("how much does express delivery cost?", "shipping", "Delivery options and costs"),
    ("can I pay with PayPal?", "payment", "Ways to pay"),
    ("when will my card be charged?", "payment", "When you are charged"),
    ("can I pay in instalments?", "payment", "Paying in instalments"),
    ("I forgot my password", "account", "Resetting a forgotten password"),
    ("my account is locked", "account", "A locked account"),
    ("how do I close my account?", "account", "Closing your account"),
    ("do gift cards expire?", "gift-cards", "Using a gift card"),
    ("how do I check my gift card balance?", "gift-cards", "Checking the balance"),
    ("what can't be returned?", "returns", "Items that cannot be returned"),
    ("how do I exchange for a different size?", "returns", "Exchanges"),
    ("how much does a return cost?", "returns", "What it costs"),
    ("how do I track my parcel?", "shipping", "Tracking"),
    ("can I pick up my order at the warehouse?", "shipping", "Picking up in person"),
    ("what size hiking boots should I get?", "sizes", "Boots"),
    ("is the backpack waterproof?", "product-care", "Outdoor gear"),
    ("can I put the cutting board in the dishwasher?", "product-care", "Kitchen"),
    ("what does the warranty not cover?", "warranty", "What it does not cover"),
    ("how do I make a warranty claim?", "warranty", "Making a claim"),
    ("what is your phone number?", "opening-hours", "Phone and e-mail"),
    ("is shipping refunded when I return something?", "refunds", "What is refunded"),
    ("what is your shipping policy?", "shipping", "Shipping and delivery"),
    ("do you have a size chart?", "sizes", "Sizes and fit"),
    ("can I return a gift I received?", "returns", "Returning a gift"),
    ("my item arrived damaged", "returns", "Damaged or wrong items"),
    ("when is the sold out blanket back in stock?", "product-care", "Stock"),
    ("are you open on sunday?", "opening-hours", "Customer service hours"),
    ("is my card number stored safely?", "payment", "Security"),
    ("How long does shipping take?", "shipping", "Delivery options and costs"),
    ("how do returns work?", "returns", "Returns and exchanges"),
];

/// Questions still answered from another section: question, the section
/// that should answer, the section that does. Counted as misses in the
/// figure, and asserted so that a change in either direction is seen.
// TODO: both need more than word overlap. "Leave the warehouse" is in the
// payment article's text as much as in "Dispatch times", whose heading
// says it with a word the customer did not use; "large refund taking
// longer" shares more words with "How long a refund takes to show" than
// with "Larger refunds". Synonyms or embeddings would tell them apart.
const KNOWN_MISSES: &[(&str, &str, &str)] = &[
    (
        "when do orders leave the warehouse?",
        "shipping#Dispatch times",
        "payment#When you are charged",
    ),
    (
        "why is my large refund taking longer?",
        "refunds#Larger refunds",
        "refunds#How long a refund takes to show",
    ),
];

fn demo_base() -> KnowledgeBase {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo/knowledge");
    KnowledgeBase::load_dir(&dir).expect("the demo knowledge folder loads")
}

#[test]
fn every_demo_question_is_answered_from_its_section() {
    let kb = demo_base();
    let mut misses = Vec::new();
    for &(question, article, section) in CASES {
        let hits = kb.search(question, 3);
        let got = hits.first().map(|h| (h.article_id.as_str(), h.section.as_deref()));
        if got != Some((article, Some(section))) {
            misses.push(format!("{question:?}: expected {article}#{section}, got {got:?}"));
        }
    }
    let total = CASES.len() + KNOWN_MISSES.len();
    let right = CASES.len() - misses.len();
    println!(
        "demo retrieval: {right} of {total} questions answered from the expected section ({:.1} %)",
        100.0 * right as f64 / total as f64
    );
    assert!(misses.is_empty(), "{} misses:\n{}", misses.len(), misses.join("\n"));
}

#[test]
fn the_known_misses_still_get_the_section_they_get_today() {
    let kb = demo_base();
    for &(question, _should, gets) in KNOWN_MISSES {
        let hit = kb.search(question, 3).into_iter().next().expect("a hit");
        let got = format!("{}#{}", hit.article_id, hit.section.unwrap_or_default());
        assert_eq!(got, gets, "{question:?}");
    }
}

#[test]
fn a_general_question_about_an_article_gets_its_opening_paragraph() {
    let hit = demo_base().search("what is your return policy?", 3).remove(0);
    assert_eq!(hit.article_id, "returns");
    assert!(hit.passage.starts_with("You can return any delivered item within 30 days"));
    assert!(hit.passage.contains("new condition"), "{}", hit.passage);
}

#[test]
fn the_quoted_answer_keeps_the_heading_and_renders_the_list_as_lines() {
    let kb = demo_base();
    let canada = kb.search("do you ship to Canada?", 3).remove(0);
    assert!(
        canada.answer_text().starts_with("International shipping: We currently ship to Canada"),
        "{}",
        canada.answer_text()
    );
    let costs = kb.search("how much does express delivery cost?", 3).remove(0);
    assert_eq!(
        costs.answer_text(),
        "Delivery options and costs: How long delivery takes and what it costs depends on \
         the option you choose at checkout:\n\
         • Standard delivery takes 3 to 5 business days and costs $5.95. We offer free \
         shipping on orders of $60 or more.\n\
         • Express delivery takes 1 to 2 business days and costs $14.95.\n\
         • Next-day delivery costs $24.95 for orders placed before 1 pm Central time, \
         Monday to Thursday."
    );
}
