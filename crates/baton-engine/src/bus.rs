//! Where committed events go so that every open socket hears of them.
//!
//! One process uses [`LocalBus`], an in-memory broadcast. Several nodes
//! share events through a broker: a node publishes what it committed, and
//! every node (itself included) feeds what the broker delivers into its own
//! local broadcast, so that a customer's socket on one node sees an agent's
//! reply written on another.

use std::sync::Arc;

use tokio::sync::broadcast;

use baton_core::Event;

/// How many events a slow subscriber may fall behind before it is told it
/// lagged (it then reloads from the store, so nothing is lost).
const CAPACITY: usize = 4096;

/// Publishes committed events and hands out subscriptions to them.
pub trait Bus: Send + Sync + 'static {
    /// Called after the events are durable in the store.
    fn publish(&self, events: &[Event]);
    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>>;
}

/// The in-process bus.
#[derive(Clone)]
pub struct LocalBus {
    sender: broadcast::Sender<Arc<Event>>,
}

impl LocalBus {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        Self { sender }
    }

    /// Deliver an event to this node's subscribers only; what a broker
    /// adapter calls for each event it receives.
    pub fn deliver(&self, event: Arc<Event>) {
        // No subscriber is not an error: nobody is listening right now.
        let _ = self.sender.send(event);
    }
}

impl Default for LocalBus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus for LocalBus {
    fn publish(&self, events: &[Event]) {
        for event in events {
            self.deliver(Arc::new(event.clone()));
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }
}
