//! Typed identifiers, so that an agent id can never be passed where a
//! conversation id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh identifier; v7 so that ids sort by creation time.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// One conversation between a customer and the support team.
    ConversationId
);
id_type!(
    /// A customer, known or anonymous.
    CustomerId
);
id_type!(
    /// A support agent (or supervisor) who logs in to the console.
    AgentId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_round_trips_through_its_text_form() {
        let id = ConversationId::new();
        let parsed: ConversationId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
    }

    #[test]
    fn a_malformed_id_is_an_error_not_a_panic() {
        assert!("not-a-uuid".parse::<AgentId>().is_err());
    }
}
