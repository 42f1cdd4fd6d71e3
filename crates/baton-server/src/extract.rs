//! Extractors that answer bad input in the API's own error shape.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body; a malformed or ill-fitting one is a 400 or 422 that names
/// the problem.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// A query string, with the same error shape.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// A conversation id from the path; a malformed one is a 404, since no
/// conversation can have it.
pub fn conversation_id(raw: &str) -> Result<baton_core::ConversationId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(format!("no conversation with id `{raw}`")))
}

/// A JSON body that may be left out entirely (an empty body is `None`).
pub struct OptionalJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::TooLarge(crate::MAX_BODY_BYTES))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        match T::deserialize(&mut de).and_then(|v| de.end().map(|()| v)) {
            Ok(value) => Ok(OptionalJson(Some(value))),
            Err(e) if e.is_data() => {
                Err(ApiError::Unprocessable(format!("the JSON body does not fit: {e}")))
            }
            Err(e) => Err(ApiError::BadRequest(format!("the body is not valid JSON: {e}"))),
        }
    }
}

/// A sequence number from a query string; the store counts in signed 64-bit
/// integers, so anything above that cannot name an event.
pub fn sequence_number(after: u64) -> Result<u64, ApiError> {
    if after > i64::MAX as u64 {
        return Err(ApiError::BadRequest(format!(
            "`after` must be at most {}, got {after}",
            i64::MAX
        )));
    }
    Ok(after)
}
