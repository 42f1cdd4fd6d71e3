//! The HTTP layer's one error type and the one place that maps it to a
//! status and the stable body `{"error": {"code", "message"}}`.
//!
//! Messages tell the caller how to fix the request. Internal failures are
//! logged here, once, with their detail, and answered with a generic 500.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use baton_engine::EngineError;
use baton_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is larger than the {0} bytes allowed")]
    TooLarge(usize),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(err) = &self {
            tracing::error!(error = ?err, "request failed");
        }
        let body = json!({"error": {"code": code, "message": self.to_string()}});
        (status, Json(body)).into_response()
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::NotFound(id) => {
                ApiError::NotFound(format!("no conversation with id {id}"))
            }
            EngineError::Conflict(m) => ApiError::Conflict(m),
            EngineError::Missing(m) => ApiError::NotFound(m),
            EngineError::Invalid(m) => ApiError::Unprocessable(m),
            EngineError::Forbidden(m) => ApiError::Forbidden(m),
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::DuplicateEmail(email) => {
                ApiError::Conflict(format!("an agent with e-mail `{email}` already exists"))
            }
            StoreError::NotFound(what) => ApiError::NotFound(what),
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => {
                // Keep the part that names the field and the problem.
                let text = e.body_text();
                let text = text
                    .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                    .unwrap_or(&text);
                ApiError::Unprocessable(format!("the JSON body does not fit: {text}"))
            }
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::BadRequest(format!("the body is not valid JSON: {}", e.body_text()))
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::BadRequest(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge(crate::MAX_BODY_BYTES)
            }
            other => ApiError::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(format!("bad query string: {}", rejection.body_text()))
    }
}
