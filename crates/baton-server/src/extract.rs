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
        // The content type, the syntax and the size first.
        let axum::Json(raw) = axum::Json::<serde_json::Value>::from_request(req, state).await?;
        let bytes = serde_json::to_vec(&raw).unwrap_or_default();
        object_from_bytes(&bytes).map(ApiJson)
    }
}

/// Read a JSON object into `T`. An array or a string is told as such (a
/// struct would take an array field by field, and the error would speak of
/// `[0]`), and a field that does not fit is named.
fn object_from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let axum::Json(raw) = axum::Json::<serde_json::Value>::from_bytes(bytes)?;
    if !raw.is_object() {
        return Err(ApiError::Unprocessable(format!(
            "the JSON body must be an object (`{{...}}`), not {}",
            json_kind(&raw)
        )));
    }
    let axum::Json(value) = axum::Json::<T>::from_bytes(bytes)?;
    Ok(value)
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
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
        object_from_bytes(&bytes).map(|value| OptionalJson(Some(value)))
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::header::CONTENT_TYPE;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body1 {
        text: String,
        #[serde(default)]
        agent_id: Option<baton_core::AgentId>,
    }

    async fn read(body: &str) -> Result<Body1, String> {
        let request = Request::builder()
            .method("POST")
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        match ApiJson::<Body1>::from_request(request, &()).await {
            Ok(ApiJson(value)) => Ok(value),
            Err(ApiError::Unprocessable(message) | ApiError::BadRequest(message)) => Err(message),
            Err(other) => Err(format!("unexpected error {other:?}")),
        }
    }

    #[tokio::test]
    async fn a_body_that_is_not_an_object_is_told_so() {
        assert_eq!(
            read("[1, 2]").await.unwrap_err(),
            "the JSON body must be an object (`{...}`), not an array"
        );
        assert_eq!(
            read("\"hello\"").await.unwrap_err(),
            "the JSON body must be an object (`{...}`), not a string"
        );
    }

    async fn read_optional(body: &str) -> Result<Option<Body1>, String> {
        let request = Request::builder().method("POST").body(Body::from(body.to_string())).unwrap();
        match OptionalJson::<Body1>::from_request(request, &()).await {
            Ok(OptionalJson(value)) => Ok(value),
            Err(ApiError::Unprocessable(message) | ApiError::BadRequest(message)) => Err(message),
            Err(other) => Err(format!("unexpected error {other:?}")),
        }
    }

    #[tokio::test]
    async fn an_optional_body_may_be_empty_and_names_a_field_that_does_not_fit() {
        assert!(read_optional("  ").await.unwrap().is_none());
        let message = read_optional(r#"{"text": "hi", "agent_id": "bob"}"#).await.unwrap_err();
        assert!(message.starts_with("the JSON body does not fit: agent_id: "), "{message}");
        assert_eq!(
            read_optional("[]").await.unwrap_err(),
            "the JSON body must be an object (`{...}`), not an array"
        );
    }

    #[tokio::test]
    async fn a_field_of_the_wrong_kind_is_named() {
        let message = read(r#"{"text": "hi", "agent_id": "bob"}"#).await.unwrap_err();
        assert!(message.starts_with("the JSON body does not fit: agent_id: "), "{message}");
        assert_eq!(read(r#"{"text": "hi"}"#).await.unwrap().text, "hi");
    }
}
