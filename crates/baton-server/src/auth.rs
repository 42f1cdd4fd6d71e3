//! Who is calling: bearer tokens for customers (one conversation each) and
//! agents (after a password login), and the password hashing behind it.
//!
//! Tokens are 32 random bytes, URL-safe base64; only their SHA-256 is kept,
//! so a copy of the database does not hand out sessions.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use baton_core::ConversationId;
use baton_store::{Agent, TokenRecord, TokenSubject};

use crate::error::ApiError;
use crate::AppState;

/// How long an agent's login lasts.
pub const AGENT_SESSION_HOURS: i64 = 12;

/// The caller of a request, resolved from its token.
#[derive(Clone, Debug)]
pub enum Caller {
    /// A customer, allowed to read and write one conversation.
    Customer(ConversationId),
    Agent(Box<Agent>),
}

impl Caller {
    /// Refuse unless the caller is an agent.
    pub fn agent(&self) -> Result<&Agent, ApiError> {
        match self {
            Caller::Agent(agent) => Ok(agent),
            Caller::Customer(_) => {
                Err(ApiError::Forbidden("this call needs an agent's token".into()))
            }
        }
    }

    /// Refuse unless the caller may see and write `id`.
    pub fn may_access(&self, id: ConversationId) -> Result<(), ApiError> {
        match self {
            Caller::Agent(_) => Ok(()),
            Caller::Customer(own) if *own == id => Ok(()),
            Caller::Customer(_) => {
                Err(ApiError::Forbidden("this token belongs to another conversation".into()))
            }
        }
    }
}

/// A new random token and the record to store for it.
pub fn issue_token(
    subject: TokenSubject,
    now: DateTime<Utc>,
    lifetime: Option<Duration>,
) -> (String, TokenRecord) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let record = TokenRecord {
        hash: hash_token(&token),
        subject,
        created_at: now,
        expires_at: lifetime.map(|l| now + l),
    };
    (token, record)
}

pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Resolve a token to its caller, or say why it is refused.
pub async fn resolve(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let refused = || ApiError::Unauthorized("the token is unknown or has expired".into());
    if token.is_empty() || token.len() > 256 {
        return Err(refused());
    }
    let record = state.store.token(&hash_token(token)).await?.ok_or_else(refused)?;
    if record.expires_at.is_some_and(|at| at <= state.engine.now()) {
        return Err(refused());
    }
    match record.subject {
        TokenSubject::Customer(id) => Ok(Caller::Customer(id)),
        TokenSubject::Agent(id) => {
            let agent = state.store.agent(id).await?.ok_or_else(refused)?;
            Ok(Caller::Agent(Box::new(agent)))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("send `Authorization: Bearer <token>`".into()))?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::Unauthorized("the Authorization header is not text".into()))?;
        // The scheme's name is case-insensitive in HTTP.
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token)
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
        resolve(state, token.trim()).await
    }
}

/// Hash a password with Argon2id and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing a password: {e}")))
}

/// Whether `password` matches a stored PHC hash. A malformed hash is a
/// mismatch, not a crash.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_and_no_other() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn a_token_is_stored_only_as_its_hash() {
        let now = Utc::now();
        let (token, record) = issue_token(TokenSubject::Customer(ConversationId::new()), now, None);
        assert_eq!(token.len(), 43);
        assert_eq!(record.hash, hash_token(&token));
        assert_ne!(record.hash, token);
    }
}
