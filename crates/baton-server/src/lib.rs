//! Baton's HTTP and WebSocket API.
//!
//! - [`routes`]: one router per resource, merged by [`app`].
//! - [`ws`]: the event stream for customers' widgets and agents' consoles.
//! - [`auth`]: bearer tokens and password hashing.
//! - [`live`]: typing notices and queue position, never stored.
//! - [`web`]: the chat, widget, console and dashboard pages.
//! - [`error`]: the one error type and its mapping to statuses.
//! - [`metrics`]: Prometheus text metrics and the request timer.
//! - [`webhooks`]: signed, retried deliveries of events to the company's systems.
//! - [`sweeper`]: the periodic SLA and automatic-assignment sweep.
//!
//! [`app`] builds the whole router from an [`AppState`] without binding a
//! socket, so tests can drive it directly; [`serve`] runs it on a listener
//! until the shutdown signal, then lets requests in flight finish.

pub mod auth;
pub mod error;
mod extract;
pub mod live;
pub mod metrics;
pub mod nats;
pub mod routes;
pub mod sweeper;
pub mod web;
pub mod webhooks;
pub mod ws;

use std::future::Future;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use baton_engine::Engine;
use baton_store::Store;

/// The largest request body accepted. A long pasted complaint fits with
/// room to spare; anything bigger is refused with 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What every handler can reach; passed explicitly, never global.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub store: Arc<dyn Store>,
    /// Typing notices for the open sockets; never stored.
    pub notices: live::Notices,
    pub metrics: Arc<metrics::Metrics>,
    /// The drafts folder and the model reloader; `None` for an app built
    /// without a data folder, which then saves no drafts.
    pub learning: Option<Arc<routes::Learning>>,
}

impl AppState {
    /// The state for an engine. Inside a Tokio runtime this also starts the
    /// task that counts tool calls from the engine's bus.
    pub fn new(engine: Arc<Engine>) -> Self {
        let store = engine.store().clone();
        let metrics = Arc::new(metrics::Metrics::default());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(metrics.clone().watch(engine.bus().subscribe()));
        }
        Self { engine, store, notices: live::Notices::new(), metrics, learning: None }
    }

    /// The same state saving drafts and reloading models under a data folder.
    pub fn with_learning(mut self, learning: routes::Learning) -> Self {
        self.learning = Some(Arc::new(learning));
        self
    }
}

/// The whole HTTP surface.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(routes::router())
        .merge(ws::router())
        .merge(live::router())
        .merge(web::router())
        .merge(metrics::router())
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn no_route(uri: axum::http::Uri) -> error::ApiError {
    error::ApiError::NotFound(format!("no such endpoint: {}", uri.path()))
}

async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> error::ApiError {
    error::ApiError::MethodNotAllowed(format!("{} does not accept {method}", uri.path()))
}

/// Serve until `shutdown` completes, then finish the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}
