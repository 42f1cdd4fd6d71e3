//! A small retail store backend over HTTP, for Baton's demos and tests: the
//! kind of company system Baton's tools call. It owns the store's rules
//! (what can be cancelled, returned, changed) and its state in memory; it
//! knows nothing of conversations.
//!
//! - [`data`]: the records and the rules of each operation, without HTTP.
//! - [`router`]: the HTTP surface over a shared [`StoreData`];
//!   [`saving_router`] the same, writing the store to a folder after every
//!   change it accepts, so that a restart keeps the orders' state.
//!
//! ```text
//! GET  /users?email=E | ?first_name=F&last_name=L&zip=Z   → {"user_id"}
//! GET  /users/{id}   /orders/{id}   /products/{id}   /state
//! POST /orders/{id}/cancel    {"reason"}
//! POST /orders/{id}/address   {"address1","address2","city","state","country","zip"}
//! POST /orders/{id}/payment   {"payment_method_id"}
//! POST /orders/{id}/items     {"item_ids","new_item_ids","payment_method_id"}
//! POST /orders/{id}/return    {"item_ids","payment_method_id"}
//! POST /orders/{id}/exchange  {"item_ids","new_item_ids","payment_method_id"}
//! POST /orders/{id}/refund    {"amount"}
//! POST /users/{id}/address    {address}
//! POST /users/{id}/password-reset
//! ```
//!
//! Order ids may be given without their `#`. Errors are
//! `{"error": {"code", "message"}}` with 404 for an unknown record, 409 for
//! a record in the wrong state and 422 for a bad request.

pub mod data;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub use data::{LoadError, StoreData, StoreError, CANCEL_REASONS};

/// The store shared by every request.
pub type SharedStore = Arc<Mutex<StoreData>>;

/// The whole HTTP surface over a store.
pub fn router(store: SharedStore) -> Router {
    Router::new()
        .route("/users", get(find_user))
        .route("/users/{id}", get(user))
        .route("/users/{id}/address", post(user_address))
        .route("/users/{id}/password-reset", post(password_reset))
        .route("/orders/{id}", get(order))
        .route("/orders/{id}/cancel", post(cancel))
        .route("/orders/{id}/address", post(order_address))
        .route("/orders/{id}/payment", post(payment))
        .route("/orders/{id}/items", post(items))
        .route("/orders/{id}/return", post(return_items))
        .route("/orders/{id}/exchange", post(exchange))
        .route("/orders/{id}/refund", post(refund))
        .route("/products/{id}", get(product))
        .route("/state", get(state))
        .with_state(store)
}

/// The HTTP surface over a store that is written to `dir` (with
/// [`StoreData::save`]) after every request that changed it: a write
/// answered with a 2xx. Load it back with [`StoreData::load`] on start.
pub fn saving_router(store: SharedStore, dir: PathBuf) -> Router {
    let saved = store.clone();
    let dir = Arc::new(dir);
    router(store).layer(middleware::from_fn(move |request: Request, next: Next| {
        let (store, dir) = (saved.clone(), dir.clone());
        async move {
            let changes = request.method() != Method::GET;
            let response = next.run(request).await;
            if changes && response.status().is_success() {
                let snapshot = with(&store, |s| s.clone());
                if let Err(err) = snapshot.save(&dir) {
                    // The change stands in memory; the next save may succeed.
                    let dir = dir.display();
                    tracing::error!(error = %err, %dir, "cannot save the demo store");
                }
            }
            response
        }
    }))
}

/// Serve a store on a listener until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    store: SharedStore,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(store)).with_graceful_shutdown(shutdown).await
}

/// Serve a store that is saved to `dir` after every change (see
/// [`saving_router`]) until `shutdown` completes.
pub async fn serve_saving(
    listener: TcpListener,
    store: SharedStore,
    dir: PathBuf,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, saving_router(store, dir)).with_graceful_shutdown(shutdown).await
}

/// An error as the store's clients see it.
#[derive(Debug)]
pub struct ApiError(StatusCode, &'static str, String);

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(m) => ApiError(StatusCode::NOT_FOUND, "not_found", m),
            StoreError::Conflict(m) => ApiError(StatusCode::CONFLICT, "conflict", m),
            StoreError::Invalid(m) => ApiError(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError(rejection.status(), "bad_request", rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": {"code": self.1, "message": self.2}}))).into_response()
    }
}

type Reply = Result<Json<Value>, ApiError>;

/// Run an operation on the store under its lock. A poisoned lock still
/// holds consistent data: every operation checks before it changes.
fn with<T>(store: &SharedStore, f: impl FnOnce(&mut StoreData) -> T) -> T {
    let mut guard = store.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut guard)
}

#[derive(Deserialize)]
struct FindQuery {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    zip: Option<String>,
}

async fn find_user(State(store): State<SharedStore>, Query(q): Query<FindQuery>) -> Reply {
    let found = with(&store, |s| match (&q.email, &q.first_name, &q.last_name, &q.zip) {
        (Some(email), _, _, _) => s.find_by_email(email),
        (None, Some(first), Some(last), Some(zip)) => s.find_by_name_zip(first, last, zip),
        _ => {
            Err(StoreError::Invalid("give `email`, or `first_name`, `last_name` and `zip`".into()))
        }
    })?;
    Ok(Json(json!({"user_id": found})))
}

async fn user(State(store): State<SharedStore>, Path(id): Path<String>) -> Reply {
    Ok(Json(with(&store, |s| s.user(&id).cloned())?))
}

async fn order(State(store): State<SharedStore>, Path(id): Path<String>) -> Reply {
    Ok(Json(with(&store, |s| s.order(&id).cloned())?))
}

async fn product(State(store): State<SharedStore>, Path(id): Path<String>) -> Reply {
    Ok(Json(with(&store, |s| s.product(&id).cloned())?))
}

async fn state(State(store): State<SharedStore>) -> Json<Value> {
    Json(with(&store, |s| json!({"users": s.users, "orders": s.orders, "products": s.products})))
}

#[derive(Deserialize)]
struct CancelBody {
    reason: String,
}

async fn cancel(
    State(store): State<SharedStore>,
    Path(id): Path<String>,
    body: Result<Json<CancelBody>, JsonRejection>,
) -> Reply {
    let Json(body) = body?;
    Ok(Json(with(&store, |s| s.cancel(&id, &body.reason))?))
}

async fn order_address(
    State(store): State<SharedStore>,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Reply {
    let Json(body) = body?;
    Ok(Json(with(&store, |s| s.modify_order_address(&id, &body))?))
}

#[derive(Deserialize)]
struct PaymentBody {
    payment_method_id: String,
}

async fn payment(
    State(store): State<SharedStore>,
    Path(id): Path<String>,
    body: Result<Json<PaymentBody>, JsonRejection>,
) -> Reply {
    let Json(body) = body?;
    Ok(Json(with(&store, |s| s.modify_payment(&id, &body.payment_method_id))?))
}

#[derive(Deserialize)]
struct SwapBody {
    item_ids: Vec<String>,
    #[serde(default)]
    new_item_ids: Vec<String>,
    payment_method_id: String,
}

async fn items(
    State(store): State<SharedStore>,
    Path(id): Path<String>,
    body: Result<Json<SwapBody>, JsonRejection>,
) -> Reply {
    let Json(b) = body?;
    let changed =
        with(&store, |s| s.modify_items(&id, &b.item_ids, &b.new_item_ids, &b.payment_method_id));
    Ok(Json(changed?))
}

async fn return_items(
    State(store): State<SharedStore>,
    Path(id): Path<String>,
    body: Result<Json<SwapBody>, JsonRejection>,
) -> Reply {
    let Json(b) = body?;
    Ok(Json(with(&store, |s| s.request_return(&id, &b.item_ids, &b.payment_method_id))?))
}

async fn exchange(
    State(store): State<SharedStore>,
    Path(id): Path<String>,
    body: Result<Json<SwapBody>, JsonRejection>,
) -> Reply {
    let Json(b) = body?;
    let changed = with(&store, |s| {
        s.request_exchange(&id, &b.item_ids, &b.new_item_ids, &b.payment_method_id)
    });
    Ok(Json(changed?))
}

#[derive(Deserialize)]
struct RefundBody {
    amount: f64,
}

async fn refund(
    State(store): State<SharedStore>,
    Path(id): Path<String>,
    body: Result<Json<RefundBody>, JsonRejection>,
) -> Reply {
    let Json(body) = body?;
    Ok(Json(with(&store, |s| s.refund(&id, body.amount))?))
}

async fn user_address(
    State(store): State<SharedStore>,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Reply {
    let Json(body) = body?;
    Ok(Json(with(&store, |s| s.modify_user_address(&id, &body))?))
}

async fn password_reset(State(store): State<SharedStore>, Path(id): Path<String>) -> Reply {
    Ok(Json(with(&store, |s| s.reset_password(&id))?))
}
