//! Persistence of conversations, agents and customers.
