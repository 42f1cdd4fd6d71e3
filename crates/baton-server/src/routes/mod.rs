//! The REST API, one router per resource.

mod actions;
mod agents;
mod approvals;
mod assist;
mod conversations;
mod feedback;
mod reports;

pub(crate) use conversations::customer_copy;
pub use feedback::Learning;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::AppState;

/// The OpenAPI description of this API, kept beside the code it describes.
const OPENAPI: &str = include_str!("../../openapi.json");

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(conversations::router())
        .merge(agents::router())
        .merge(reports::router())
        .merge(approvals::router())
        .merge(actions::router())
        .merge(feedback::router())
        .merge(assist::router())
        .route("/api/v1/health", get(health))
        .route("/api/v1/openapi.json", get(openapi))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn openapi() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}
