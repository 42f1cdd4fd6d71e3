//! Webhooks: the company's own systems hear of escalations, resolutions
//! and ratings as they happen.
//!
//! Endpoints are registered in the workspace's `webhooks.toml` (see
//! `docs/workspace.md`). A background worker reads the engine's bus, so a
//! slow or failing endpoint never slows a conversation: each delivery runs
//! in its own task, is retried with exponential backoff, and every attempt
//! is appended to `webhook-deliveries.jsonl` in the data folder with its
//! status.
//!
//! Each delivery is signed: `X-Baton-Timestamp` holds the Unix time of the
//! attempt and `X-Baton-Signature` is `sha256=` and the hex HMAC-SHA256 of
//! `timestamp.body` under the endpoint's shared secret, read from the
//! environment variable the endpoint names.
//!
//! Endpoints are `https://`; the server's certificate is checked against
//! the machine's roots and the workspace's `[tls] ca_file`. Plain
//! `http://` is accepted only to a loopback address and only with
//! `allow_loopback_http = true`, for local testing. A refused certificate
//! is recorded with its cause and not retried.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::broadcast;

use baton_core::{Event, EventKind};
use baton_engine::tls::{self, TlsSettings};

/// The event types an endpoint may subscribe to.
pub const EVENT_TYPES: [&str; 3] =
    ["conversation.escalated", "conversation.resolved", "csat.received"];

/// The file endpoints are registered in, inside the workspace folder.
pub const CONFIG_FILE: &str = "webhooks.toml";

/// The file every delivery attempt is recorded in, inside the data folder.
pub const DELIVERIES_FILE: &str = "webhook-deliveries.jsonl";

/// Why the webhook configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{file}: {message}")]
    Config { file: PathBuf, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    endpoint: Vec<RawEndpoint>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    url: String,
    events: Vec<String>,
    secret_env: String,
    #[serde(default)]
    allow_loopback_http: bool,
}

/// One registered endpoint, checked.
#[derive(Clone)]
pub struct Endpoint {
    pub url: String,
    pub events: Vec<String>,
    /// The shared secret; never printed.
    secret: String,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Endpoint {
    /// An endpoint built in code (tests, embedding), with its secret.
    pub fn new(url: impl Into<String>, events: Vec<String>, secret: impl Into<String>) -> Self {
        Endpoint { url: url.into(), events, secret: secret.into() }
    }
}

/// Read `webhooks.toml` from a workspace folder; no file means no endpoint.
/// `env` looks up environment variables, so that tests need not set any.
pub fn load(
    workspace_dir: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Endpoint>, WebhookError> {
    let file = workspace_dir.join(CONFIG_FILE);
    let problem = |message: String| WebhookError::Config { file: file.clone(), message };
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(problem(format!("cannot be read: {e}"))),
    };
    let raw: RawConfig = toml::from_str(&text).map_err(|e| problem(e.message().to_string()))?;
    raw.endpoint
        .into_iter()
        .map(|e| {
            let https = e.url.starts_with("https://");
            if tls::check_url(&e.url).is_err() || !(https || e.allow_loopback_http) {
                return Err(problem(format!(
                    "`{}` must be an https:// URL (plain http is allowed only to a loopback \
                     address, 127.0.0.1, ::1 or localhost, with allow_loopback_http = true)",
                    e.url
                )));
            }
            if let Some(bad) = e.events.iter().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
                return Err(problem(format!(
                    "unknown event `{bad}`; use {}",
                    EVENT_TYPES.join(", ")
                )));
            }
            let secret = env(&e.secret_env).filter(|s| !s.is_empty()).ok_or_else(|| {
                problem(format!("the secret variable `{}` is not set", e.secret_env))
            })?;
            Ok(Endpoint { url: e.url, events: e.events, secret })
        })
        .collect()
}

/// `sha256=` and the hex HMAC-SHA256 of `timestamp.body`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The webhook type of a committed event, if it has one.
fn event_type(event: &Event) -> Option<&'static str> {
    match event.kind {
        EventKind::Escalated { .. } => Some("conversation.escalated"),
        EventKind::Resolved => Some("conversation.resolved"),
        EventKind::CsatReceived { .. } => Some("csat.received"),
        _ => None,
    }
}

/// The body sent for an event: no message text, so no customer's words
/// leave Baton through a webhook.
fn payload(kind: &str, event: &Event) -> Value {
    let data = match &event.kind {
        EventKind::Escalated { reason, priority, queue, .. } => {
            json!({"reason": reason.as_str(), "priority": priority, "queue": queue})
        }
        EventKind::CsatReceived { score, .. } => json!({"score": score}),
        _ => json!({}),
    };
    json!({
        "id": format!("{}:{}", event.conversation_id, event.seq),
        "type": kind,
        "conversation_id": event.conversation_id,
        "at": event.at,
        "data": data,
    })
}

/// One attempt, as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub url: String,
    pub event: String,
    pub attempt: u32,
    /// The HTTP status, when the endpoint answered.
    pub status: Option<u16>,
    pub ok: bool,
    pub error: Option<String>,
    pub at: chrono::DateTime<Utc>,
}

/// How deliveries are retried.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    pub attempts: u32,
    /// The wait before the second attempt; doubled before each next one.
    pub first_backoff: Duration,
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 5,
            first_backoff: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Delivers events to the registered endpoints.
pub struct Webhooks {
    endpoints: Vec<Endpoint>,
    client: reqwest::Client,
    retry: Retry,
    log: Option<Mutex<std::fs::File>>,
}

impl Webhooks {
    /// `log_dir` is where `webhook-deliveries.jsonl` is appended to; `tls`
    /// names the CA bundle trusted beside the machine's roots.
    pub fn new(
        endpoints: Vec<Endpoint>,
        retry: Retry,
        log_dir: Option<&Path>,
        tls: &TlsSettings,
    ) -> std::io::Result<Self> {
        let log = match log_dir {
            Some(dir) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join(DELIVERIES_FILE))?,
            )),
            None => None,
        };
        let client = tls::client(tls, retry.timeout).map_err(std::io::Error::other)?;
        Ok(Webhooks { endpoints, client, retry, log })
    }

    /// Read the bus until it closes, starting a delivery task per event and
    /// endpoint.
    pub async fn run(self: Arc<Self>, mut events: broadcast::Receiver<Arc<Event>>) {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // TODO: events missed by a lagging worker are not
                    // delivered; reading them back from the store needs a
                    // delivery cursor that survives restarts.
                    tracing::warn!(missed, "webhook worker lagged; events were not delivered");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let Some(kind) = event_type(&event) else { continue };
            for endpoint in self.endpoints.iter().filter(|e| e.events.iter().any(|t| t == kind)) {
                let (this, endpoint, event) = (self.clone(), endpoint.clone(), event.clone());
                tokio::spawn(async move { this.deliver(&endpoint, kind, &event).await });
            }
        }
    }

    /// Send one event to one endpoint, retrying until it answers 2xx or the
    /// attempts run out.
    pub async fn deliver(&self, endpoint: &Endpoint, kind: &str, event: &Event) -> bool {
        let body = payload(kind, event).to_string();
        let mut backoff = self.retry.first_backoff;
        for attempt in 1..=self.retry.attempts {
            let timestamp = Utc::now().timestamp();
            let result = self
                .client
                .post(&endpoint.url)
                .header("content-type", "application/json")
                .header("x-baton-event", kind)
                .header("x-baton-timestamp", timestamp.to_string())
                .header(
                    "x-baton-signature",
                    signature(&endpoint.secret, timestamp, body.as_bytes()),
                )
                .body(body.clone())
                .send()
                .await;
            let (status, error, untrusted) = match result {
                Ok(response) => (Some(response.status().as_u16()), None, false),
                Err(e) if tls::is_certificate_error(&e) => {
                    let cause = tls::chain(&e);
                    let text = format!("the endpoint's TLS certificate is not trusted: {cause}");
                    (None, Some(text), true)
                }
                Err(e) => (None, Some(tls::chain(&e)), false),
            };
            let ok = status.is_some_and(|s| (200..300).contains(&s));
            self.record(Delivery {
                id: format!("{}:{}", event.conversation_id, event.seq),
                url: endpoint.url.clone(),
                event: kind.to_string(),
                attempt,
                status,
                ok,
                error,
                at: Utc::now(),
            });
            if ok {
                return true;
            }
            // A certificate does not become trusted by asking again.
            if untrusted {
                return false;
            }
            if attempt < self.retry.attempts {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        false
    }

    fn record(&self, delivery: Delivery) {
        tracing::info!(
            url = %delivery.url,
            event = %delivery.event,
            attempt = delivery.attempt,
            status = delivery.status,
            ok = delivery.ok,
            "webhook delivery"
        );
        if let Some(log) = &self.log {
            let mut file = log.lock().unwrap_or_else(|e| e.into_inner());
            let line = serde_json::to_string(&delivery).unwrap_or_default();
            if let Err(e) = writeln!(file, "{line}") {
                tracing::error!(error = %e, "cannot record a webhook delivery");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently of this code, with another HMAC library.
        assert_eq!(
            signature("s3cret", 1_767_225_600, b"{\"a\":1}"),
            "sha256=7d4120fcebf444efab10ba7cd6c651bf463cefb039db5fad37ff9f7231ac8a4a"
        );
    }

    /// The problem `webhooks.toml` with one endpoint gives, or its URL.
    fn check(url: &str, event: &str, secret_env: &str, loopback: bool) -> String {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[[endpoint]]\nurl = \"{url}\"\nevents = [\"{event}\"]\n\
             secret_env = \"{secret_env}\"\nallow_loopback_http = {loopback}\n"
        );
        std::fs::write(dir.path().join(CONFIG_FILE), text).unwrap();
        let env = |name: &str| (name == "HOOK_SECRET").then(|| "abc".to_string());
        match load(dir.path(), env) {
            Ok(endpoints) => endpoints[0].url.clone(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn plain_http_is_refused_unless_to_loopback_and_allowed() {
        let event = "csat.received";
        let remote = check("http://hooks.example.com/x", event, "HOOK_SECRET", true);
        assert!(remote.contains("must be an https:// URL"), "{remote}");
        let not_allowed = check("http://127.0.0.1:9/x", event, "HOOK_SECRET", false);
        assert!(not_allowed.contains("must be an https:// URL"), "{not_allowed}");
        assert_eq!(
            check("http://127.0.0.1:9/x", event, "HOOK_SECRET", true),
            "http://127.0.0.1:9/x"
        );
        assert_eq!(check("http://[::1]:9/x", event, "HOOK_SECRET", true), "http://[::1]:9/x");
    }

    #[test]
    fn https_is_accepted_and_unknown_events_and_missing_secrets_are_each_named() {
        let https = check("https://hooks.example.com/x", "csat.received", "HOOK_SECRET", false);
        assert_eq!(https, "https://hooks.example.com/x");
        let unknown = check("http://127.0.0.1:9/x", "chat.started", "HOOK_SECRET", true);
        assert!(unknown.contains("unknown event `chat.started`"), "{unknown}");
        let missing = check("http://127.0.0.1:9/x", "csat.received", "MISSING", true);
        assert!(missing.ends_with("the secret variable `MISSING` is not set"), "{missing}");
    }

    #[test]
    fn no_file_means_no_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path(), |_| None).unwrap().is_empty());
    }
}

#[cfg(test)]
mod delivery_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use axum::Router;
    use baton_core::{Actor, ConversationId, EscalationReason};
    use baton_engine::{Bus, LocalBus};
    use tokio::sync::mpsc;

    use super::*;

    /// What the test receiver saw of one request.
    struct Seen {
        headers: HeaderMap,
        body: String,
    }

    /// A receiver on a free loopback port that answers 500 to its first
    /// request and 200 after; it reports each request on the channel.
    async fn receiver() -> (String, mpsc::UnboundedReceiver<Seen>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let calls = Arc::new(AtomicUsize::new(0));
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: String| {
                let (tx, calls) = (tx.clone(), calls.clone());
                async move {
                    let _ = tx.send(Seen { headers, body });
                    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/hook"), rx)
    }

    async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("the receiver heard nothing within 10 s")
            .expect("the receiver stopped")
    }

    #[tokio::test]
    async fn an_escalation_is_delivered_signed_and_retried_after_a_500() {
        let (url, mut seen) = receiver().await;
        let data = tempfile::tempdir().unwrap();
        let endpoint = Endpoint::new(url.clone(), vec!["conversation.escalated".into()], "k3y");
        let retry = Retry {
            attempts: 3,
            first_backoff: Duration::from_millis(20),
            timeout: Duration::from_secs(5),
        };
        let webhooks = Webhooks::new(vec![endpoint], retry, Some(data.path()), &Default::default());
        let webhooks = Arc::new(webhooks.unwrap());
        let bus = LocalBus::new();
        let worker = tokio::spawn(webhooks.clone().run(bus.subscribe()));

        let id = ConversationId::new();
        let event =
            |seq, kind| Event { conversation_id: id, seq, at: Utc::now(), actor: Actor::Bot, kind };
        bus.publish(&[
            event(7, EventKind::CsatRequested),
            event(
                8,
                EventKind::Escalated {
                    reason: EscalationReason::HumanRequested,
                    evidence: json!({"words": ["agent"]}),
                    priority: 1,
                    queue: "general".into(),
                },
            ),
        ]);

        let first = next(&mut seen).await;
        let second = next(&mut seen).await;
        assert_eq!(first.body, second.body);
        let body: Value = serde_json::from_str(&second.body).unwrap();
        assert_eq!(body["type"], "conversation.escalated");
        assert_eq!(body["id"], format!("{id}:8"));
        assert_eq!(
            body["data"],
            json!({"reason": "human_requested", "priority": 1, "queue": "general"})
        );
        for request in [&first, &second] {
            let header = |name: &str| request.headers[name].to_str().unwrap().to_string();
            let timestamp: i64 = header("x-baton-timestamp").parse().unwrap();
            assert_eq!(
                header("x-baton-signature"),
                signature("k3y", timestamp, request.body.as_bytes())
            );
            assert_eq!(header("x-baton-event"), "conversation.escalated");
        }

        // Both attempts are recorded once the second has been answered.
        let log = data.path().join(DELIVERIES_FILE);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let deliveries: Vec<Delivery> = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<Delivery> =
                text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            if lines.len() == 2 || std::time::Instant::now() > deadline {
                break lines;
            }
            tokio::task::yield_now().await;
        };
        let summary: Vec<(u32, Option<u16>, bool)> =
            deliveries.iter().map(|d| (d.attempt, d.status, d.ok)).collect();
        assert_eq!(summary, vec![(1, Some(500), false), (2, Some(200), true)]);
        assert!(seen.try_recv().is_err(), "no third attempt after a 200");

        drop(bus);
        tokio::time::timeout(Duration::from_secs(5), worker).await.unwrap().unwrap();
    }
}
