//! The event bus across nodes, over NATS.
//!
//! A node publishes every event it committed to one subject; every node,
//! the publisher included, subscribes to it and hands what arrives to its
//! own [`LocalBus`], so each socket sees each event once, whichever node
//! wrote it. Events are already durable in the shared store when they are
//! published, so a lost NATS message delays a socket at worst: a client
//! that reconnects with its last `seq` reads the rest from the store.

use std::sync::Arc;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc};

use baton_core::Event;
use baton_engine::{Bus, LocalBus};

/// The subject nodes publish committed events on unless told otherwise;
/// deployments that share a NATS server give each its own.
pub const DEFAULT_SUBJECT: &str = "baton.events";

/// Events waiting to be published; beyond this a burst waits for NATS.
const PENDING: usize = 10_000;

pub struct NatsBus {
    local: LocalBus,
    outgoing: mpsc::Sender<Event>,
}

impl NatsBus {
    /// Connect, subscribe to `subject`, and start the publishing task.
    pub async fn connect(url: &str, subject: &str) -> Result<NatsBus> {
        let subject = subject.to_string();
        let client = async_nats::connect(url)
            .await
            .with_context(|| format!("while connecting to NATS at {url}"))?;
        let mut subscriber = client
            .subscribe(subject.clone())
            .await
            .with_context(|| format!("while subscribing to {subject}"))?;

        let local = LocalBus::new();
        let deliver = local.clone();
        tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                match serde_json::from_slice::<Event>(&message.payload) {
                    Ok(event) => deliver.deliver(Arc::new(event)),
                    Err(err) => tracing::warn!(error = %err, "ignoring a malformed bus message"),
                }
            }
            tracing::error!("the NATS subscription ended; sockets no longer see other nodes");
        });

        // One publishing task keeps the order in which events were committed.
        let (outgoing, mut queue) = mpsc::channel::<Event>(PENDING);
        tokio::spawn(async move {
            while let Some(event) = queue.recv().await {
                let payload = match serde_json::to_vec(&event) {
                    Ok(payload) => payload,
                    Err(err) => {
                        tracing::error!(error = %err, "an event could not be encoded");
                        continue;
                    }
                };
                if let Err(err) = client.publish(subject.clone(), payload.into()).await {
                    tracing::warn!(error = %err, "publishing an event to NATS failed");
                }
            }
        });

        Ok(NatsBus { local, outgoing })
    }
}

impl Bus for NatsBus {
    fn publish(&self, events: &[Event]) {
        for event in events {
            if let Err(err) = self.outgoing.try_send(event.clone()) {
                // The store has the event; sockets catch up on reconnect.
                tracing::warn!(error = %err, "the NATS publish queue is full; event not broadcast");
            }
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe()
    }
}
