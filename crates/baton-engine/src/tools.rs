//! Calling the company's systems: one HTTP request per tool call, with a
//! timeout, retries only where a repeat is harmless, and the API key kept
//! out of every log and event.
//!
//! A call ends in one of three ways ([`CallOutcome`]): the backend
//! answered with JSON (`Done`), the backend refused and said why in a 4xx
//! (`Refused`: a precondition the customer can be told about), or the call
//! could not be completed (`Failed`: timeout, connection, a refused TLS
//! certificate, 5xx, bad JSON).
//!
//! A client may withhold writes ([`Writes::Withhold`], what `baton replay`
//! does unless told otherwise): a write is then not sent at all, and ends
//! as a `Refused` marked `withheld`, recorded as `"result": "withheld"`.
//!
//! The base URL must be `https://`, or `http://` to a loopback address
//! (see [`crate::tls::check_url`]); the server's certificate is checked
//! against the machine's roots and the workspace's `[tls] ca_file`.

use std::fmt;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tracing::{debug, warn};

use crate::tls::{self, TlsSettings};
use crate::workspace::{path_placeholders, Backend, ToolDef, ToolKind};

/// A secret that cannot be printed by accident.
#[derive(Clone)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq)]
pub enum CallOutcome {
    Done {
        status: u16,
        body: Value,
        attempts: u32,
    },
    /// `withheld` when the client did not send the write at all (see
    /// [`Writes::Withhold`]); `status` and `attempts` are 0 then.
    // TODO: a withheld write is a kind of `Refused` so that the flows,
    // which match the three outcomes, tell the customer it was not done
    // with no change of their own; a variant of its own wants the flows to
    // handle it.
    Refused {
        status: u16,
        message: String,
        attempts: u32,
        withheld: bool,
    },
    /// `detail` is the cause under `error`, for the record: the TLS
    /// library's word on a refused certificate, say.
    Failed {
        error: String,
        attempts: u32,
        detail: Option<String>,
    },
}

impl CallOutcome {
    pub fn ok(&self) -> bool {
        matches!(self, CallOutcome::Done { .. })
    }

    /// The outcome as recorded in a `tool_called` event.
    pub fn to_json(&self) -> Value {
        match self {
            CallOutcome::Done { status, body, attempts } => {
                json!({"result": "done", "status": status, "body": body, "attempts": attempts})
            }
            CallOutcome::Refused { message, withheld: true, .. } => {
                json!({"result": "withheld", "error": message, "attempts": 0})
            }
            CallOutcome::Refused { status, message, attempts, withheld: false } => json!({
                "result": "refused", "status": status, "error": message, "attempts": attempts
            }),
            CallOutcome::Failed { error, attempts, detail: None } => {
                json!({"result": "failed", "error": error, "attempts": attempts})
            }
            CallOutcome::Failed { error, attempts, detail: Some(detail) } => json!({
                "result": "failed", "error": error, "detail": detail, "attempts": attempts
            }),
        }
    }
}

/// Whether a client sends the calls of write tools.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Writes {
    /// Writes are sent like reads: serving, or a replay against a test store.
    #[default]
    Send,
    /// Writes are not sent: a replay must not change outside systems.
    Withhold,
}

/// Why a withheld write was not sent; the customer is told it too, so it
/// says only what happened.
pub const WITHHELD: &str =
    "this is a replay, and a replay does not change outside systems, so the change was not sent";

/// The HTTP side of every tool of a workspace.
#[derive(Clone, Debug)]
pub struct ToolClient {
    /// The client, or why none could be built (every call then fails with
    /// that reason rather than pretending).
    http: Result<reqwest::Client, String>,
    base_url: Option<String>,
    secret: Option<Secret>,
    timeout: Duration,
    writes: Writes,
}

impl ToolClient {
    /// A client for a workspace's backend: the base URL from the
    /// environment variable the workspace names, else from the file; TLS
    /// trusting the machine's roots and the workspace's CA bundle.
    pub fn new(backend: &Backend, tls: &TlsSettings) -> ToolClient {
        let from_env = backend.base_url_env.as_ref().and_then(|v| std::env::var(v).ok());
        let secret = backend.secret_env.as_ref().and_then(|v| std::env::var(v).ok()).map(Secret);
        let timeout = Duration::from_millis(backend.timeout_ms.max(1));
        ToolClient {
            http: tls::client(tls, timeout).map_err(|e| e.to_string()),
            base_url: from_env.or_else(|| backend.base_url.clone()),
            secret,
            timeout,
            writes: Writes::Send,
        }
    }

    /// The same client against another base URL (a store started in
    /// process on a free port, say).
    pub fn with_base_url(mut self, url: impl Into<String>) -> ToolClient {
        self.base_url = Some(url.into());
        self
    }

    /// The same client sending, or withholding, the calls of write tools.
    pub fn with_writes(mut self, writes: Writes) -> ToolClient {
        self.writes = writes;
        self
    }

    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref()
    }

    pub fn writes(&self) -> Writes {
        self.writes
    }

    /// Calls a tool with checked parameters. `key` is sent as the
    /// `Idempotency-Key` of a write that declares one.
    pub async fn call(
        &self,
        tool: &ToolDef,
        params: &Map<String, Value>,
        key: &str,
    ) -> CallOutcome {
        // A withheld write goes nowhere, whatever the backend.
        if tool.kind == ToolKind::Write && self.writes == Writes::Withhold {
            debug!(tool = %tool.name, "write withheld");
            return CallOutcome::Refused {
                status: 0,
                message: WITHHELD.into(),
                attempts: 0,
                withheld: true,
            };
        }
        let failed = |error: String| CallOutcome::Failed { error, attempts: 0, detail: None };
        let Some(base) = &self.base_url else {
            return failed("no backend URL is configured for the tools".into());
        };
        // The file's URL is checked at load; this also holds an override
        // from the environment to the rule.
        if let Err(problem) = tls::check_url(base) {
            return failed(format!("the tools' base URL {problem}"));
        }
        let http = match &self.http {
            Ok(http) => http,
            Err(e) => return failed(e.clone()),
        };

        // Path parameters go in the URL; the others in the query of a GET
        // or the JSON body of anything else.
        let in_path = path_placeholders(&tool.path);
        let mut path = tool.path.clone();
        for name in &in_path {
            let value = params.get(*name).map(plain).unwrap_or_default();
            path = path.replace(&format!("{{{name}}}"), &encode(&value));
        }
        let rest: Map<String, Value> = params
            .iter()
            .filter(|(k, _)| !in_path.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let url = format!("{}{path}", base.trim_end_matches('/'));

        let repeatable = tool.kind == ToolKind::Read || tool.idempotency_key;
        let attempts_allowed = 1 + if repeatable { tool.retries.min(5) } else { 0 };
        let mut last_error = String::new();
        for attempt in 1..=attempts_allowed {
            let method =
                reqwest::Method::from_bytes(tool.method.as_bytes()).unwrap_or(reqwest::Method::GET);
            let mut request = http.request(method.clone(), &url).timeout(self.timeout);
            if method == reqwest::Method::GET {
                let query: Vec<(String, String)> =
                    rest.iter().map(|(k, v)| (k.clone(), plain(v))).collect();
                request = request.query(&query);
            } else {
                request = request.json(&Value::Object(rest.clone()));
            }
            if let Some(secret) = &self.secret {
                request = request.bearer_auth(&secret.0);
            }
            if tool.idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            debug!(tool = %tool.name, attempt, "calling tool");

            match self.attempt(request).await {
                Attempt::Answer(status, body) => {
                    return CallOutcome::Done { status, body, attempts: attempt };
                }
                Attempt::Refused(status, message) => {
                    return CallOutcome::Refused {
                        status,
                        message,
                        attempts: attempt,
                        withheld: false,
                    };
                }
                Attempt::Untrusted(detail) => {
                    // A certificate does not become trusted on a retry.
                    warn!(tool = %tool.name, attempt, %detail, "tool server's certificate refused");
                    return CallOutcome::Failed {
                        error: "the system's TLS certificate is not trusted".into(),
                        attempts: attempt,
                        detail: Some(detail),
                    };
                }
                Attempt::Transient(error) => {
                    warn!(tool = %tool.name, attempt, %error, "tool call failed");
                    last_error = error;
                }
            }
        }
        CallOutcome::Failed { error: last_error, attempts: attempts_allowed, detail: None }
    }

    async fn attempt(&self, request: reqwest::RequestBuilder) -> Attempt {
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Attempt::Transient("the system did not answer in time".into())
            }
            Err(e) if tls::is_certificate_error(&e) => return Attempt::Untrusted(tls::chain(&e)),
            Err(_) => return Attempt::Transient("the system could not be reached".into()),
        };
        let status = response.status().as_u16();
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) if e.is_timeout() => {
                return Attempt::Transient("the system did not answer in time".into())
            }
            Err(_) => return Attempt::Transient("the answer was cut off".into()),
        };
        if status >= 500 {
            return Attempt::Transient(format!("the system answered with an error ({status})"));
        }
        let body: Result<Value, _> = serde_json::from_str(&text);
        match (status, body) {
            (200..=299, Ok(body)) => Attempt::Answer(status, body),
            (200..=299, Err(_)) => {
                Attempt::Transient("the system's answer was not valid JSON".into())
            }
            (_, Ok(body)) => {
                let message = body["error"]["message"]
                    .as_str()
                    .or_else(|| body["error"].as_str())
                    .or_else(|| body["message"].as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("the request was refused ({status})"));
                Attempt::Refused(status, message)
            }
            (_, Err(_)) => Attempt::Refused(status, format!("the request was refused ({status})")),
        }
    }
}

enum Attempt {
    Answer(u16, Value),
    Refused(u16, String),
    /// The server's certificate was refused; the text says why.
    Untrusted(String),
    Transient(String),
}

/// A value as plain text for a URL or query.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Percent-encoding of everything but unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_values_are_percent_encoded() {
        assert_eq!(encode("#W1234567"), "%23W1234567");
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }

    fn tool(kind: &str) -> ToolDef {
        let def = json!({"name": "t", "description": "d", "kind": kind, "method": "POST",
                         "path": "/orders/{order_id}/cancel"});
        serde_json::from_value(def).unwrap()
    }

    #[tokio::test]
    async fn a_withheld_write_is_not_sent_while_a_read_still_is() {
        // No backend URL: whatever is sent fails for want of one.
        let client = ToolClient::new(&Backend::default(), &TlsSettings::default());
        let client = client.with_writes(Writes::Withhold);
        let params = Map::new();

        let write = client.call(&tool("write"), &params, "k").await;
        assert_eq!(
            write,
            CallOutcome::Refused {
                status: 0,
                message: WITHHELD.into(),
                attempts: 0,
                withheld: true
            }
        );
        assert_eq!(
            write.to_json(),
            json!({"result": "withheld", "error": WITHHELD, "attempts": 0})
        );
        assert!(!write.ok());

        let read = client.call(&tool("read"), &params, "k").await;
        let no_url = "no backend URL is configured for the tools".to_string();
        assert_eq!(read, CallOutcome::Failed { error: no_url.clone(), attempts: 0, detail: None });

        // Sent again once writes are allowed.
        let write = client.with_writes(Writes::Send).call(&tool("write"), &params, "k").await;
        assert_eq!(write, CallOutcome::Failed { error: no_url, attempts: 0, detail: None });
    }

    #[test]
    fn a_secret_never_prints() {
        let s = Secret("sk-live-123".into());
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }
}
