//! The background sweep: on a fixed period, the engine raises the SLA
//! breaches that fell due and retries automatic assignment, on the engine's
//! own clock. Several nodes may sweep at once; the engine raises each breach
//! once whoever gets there first. Before the first period, the messages a
//! stop of the server left unanswered are answered.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use baton_engine::Engine;

/// How often the sweep runs: a breach is raised at most this late.
pub const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// How far back start-up looks for customer messages a stop left
/// unanswered; an older one is left for the customer to send again.
pub const ANSWER_INTERRUPTED_WITHIN: chrono::Duration = chrono::Duration::hours(24);

/// Sweep every `every` until `shutdown` completes.
pub async fn run(engine: Arc<Engine>, every: Duration, shutdown: impl Future<Output = ()>) {
    match engine.answer_interrupted(engine.now() - ANSWER_INTERRUPTED_WITHIN).await {
        Ok(0) => {}
        Ok(answered) => info!(answered, "answered the messages a stop had left unanswered"),
        Err(error) => warn!(%error, "could not answer the messages a stop left unanswered"),
    }
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = ticks.tick() => {}
        }
        match engine.sweep(engine.now()).await {
            Ok(outcome) if !outcome.breaches.is_empty() || outcome.assigned > 0 => {
                info!(breaches = outcome.breaches.len(), assigned = outcome.assigned, "swept");
            }
            Ok(_) => {}
            Err(error) => warn!(%error, "the routing sweep failed; it runs again next period"),
        }
    }
}
