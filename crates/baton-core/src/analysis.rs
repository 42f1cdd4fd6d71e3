//! What the language layer read in one customer message.
//!
//! These types are produced by `baton-nlu` and recorded in the event log, so
//! that every decision the engine takes can be explained afterwards from the
//! same numbers it was taken on.

use serde::{Deserialize, Serialize};

/// The full reading of one customer message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub language: Language,
    /// Intents ranked by calibrated probability, best first. Empty when the
    /// model has nothing to say (an empty message, say).
    pub intents: Vec<IntentScore>,
    /// True when the message is about something the workspace does not cover.
    pub out_of_scope: bool,
    /// Further intents found in the same message ("where is my order and can
    /// I change the address?"), beyond the top one.
    pub extra_intents: Vec<IntentScore>,
    pub sentiment: Sentiment,
    pub cues: Vec<Cue>,
    pub entities: Vec<Entity>,
    /// `Some(true)` for a plain yes ("yes", "sure", "ok go ahead"),
    /// `Some(false)` for a plain no ("no", "nope", "don't"), else `None`.
    pub affirmation: Option<bool>,
}

impl Analysis {
    /// The best intent, if any.
    pub fn top_intent(&self) -> Option<&IntentScore> {
        self.intents.first()
    }

    /// The first cue of a kind, if the message shows it.
    pub fn cue(&self, kind: CueKind) -> Option<&Cue> {
        self.cues.iter().find(|c| c.kind == kind)
    }

    /// Entities of one kind, in the order they appear.
    pub fn entities_of(&self, kind: EntityKind) -> impl Iterator<Item = &Entity> {
        self.entities.iter().filter(move |e| e.kind == kind)
    }
}

/// The language a message is written in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Language {
    /// ISO 639-1 code, or `und` when it cannot be told.
    pub code: String,
    pub confidence: f32,
    /// Whether the intent model was trained on this language; when false the
    /// intents are not to be trusted and the engine says so.
    pub supported: bool,
}

impl Default for Language {
    fn default() -> Self {
        Self { code: "und".into(), confidence: 0.0, supported: true }
    }
}

/// One intent with its calibrated probability in [0, 1].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntentScore {
    pub intent: String,
    pub confidence: f32,
}

/// Sentiment of one message, in [-1, 1] (negative to positive).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    pub score: f32,
    /// The words or signs that moved the score most, for explanations.
    pub evidence: Vec<String>,
}

/// A customer-experience signal, with the words that triggered it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cue {
    pub kind: CueKind,
    /// The words of the message that triggered the cue, as typed.
    pub words: Vec<String>,
    /// How strongly the cue is present, in [0, 1].
    pub strength: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CueKind {
    /// "let me talk to a person", "agent please".
    HumanRequest,
    /// Anger or exasperation ("this is ridiculous", "useless bot").
    Frustration,
    /// "third time I ask", "I already told you".
    RepeatedContact,
    /// "cancel my account", "switching to another store".
    ChurnThreat,
    /// Chargeback, lawyer, regulator, formal complaint.
    Legal,
    /// Self-harm, danger, abuse, a vulnerable customer.
    Safety,
    /// "asap", "urgent", "today".
    Urgency,
}

impl CueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CueKind::HumanRequest => "human_request",
            CueKind::Frustration => "frustration",
            CueKind::RepeatedContact => "repeated_contact",
            CueKind::ChurnThreat => "churn_threat",
            CueKind::Legal => "legal",
            CueKind::Safety => "safety",
            CueKind::Urgency => "urgency",
        }
    }
}

/// Something the customer named that the engine can act on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub kind: EntityKind,
    /// The text as the customer typed it.
    pub text: String,
    /// The normalised value: an order number without decoration, a
    /// lower-cased e-mail domain, an E.164-like phone number, an amount as
    /// `"1299.00 EUR"`, a date as `YYYY-MM-DD`, a product's catalogue name.
    pub value: String,
    /// Byte offsets of `text` in the message.
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    OrderNumber,
    Email,
    Phone,
    Money,
    Date,
    Product,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::OrderNumber => "order_number",
            EntityKind::Email => "email",
            EntityKind::Phone => "phone",
            EntityKind::Money => "money",
            EntityKind::Date => "date",
            EntityKind::Product => "product",
        }
    }
}
