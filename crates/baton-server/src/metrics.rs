//! Prometheus text metrics at `/metrics`, for the monitoring a team
//! already runs: request latency, conversations by stage, the queue, and
//! tool calls.
//!
//! The exposition is written by hand rather than with the `prometheus` or
//! `metrics` crates: Baton exports six families, the text format is small
//! and stable, and both crates centre on a process-wide registry, where
//! Baton keeps its state in [`crate::AppState`] so that two apps in one
//! test process never share counters.
//!
//! Request latency is measured by the [`track`] middleware. Stage counts and
//! the queue are read from the store at scrape time. Tool calls are counted
//! from the engine's bus as they are committed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::broadcast;

use baton_core::{Event, EventKind, Stage};
use baton_store::ConversationFilter;

use crate::error::ApiError;
use crate::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BOUNDS: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Clone, Debug, Default)]
struct Histogram {
    /// Observations at or below each bound (not cumulative).
    counts: [u64; BOUNDS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BOUNDS.iter().position(|b| seconds <= *b) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, n) in BOUNDS.iter().zip(self.counts) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Clone, Debug, Default)]
struct ToolCounts {
    ok: u64,
    errors: u64,
    /// Only calls whose outcome carries `elapsed_ms`.
    latency: Histogram,
}

/// The counters the process keeps between scrapes.
#[derive(Default)]
pub struct Metrics {
    /// By (route, method, status).
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    tools: Mutex<BTreeMap<String, ToolCounts>>,
}

impl Metrics {
    fn observe_request(&self, route: String, method: String, status: u16, seconds: f64) {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        requests.entry((route, method, status)).or_default().observe(seconds);
    }

    /// Count a committed event if it is a tool call.
    pub fn observe_event(&self, event: &Event) {
        let EventKind::ToolCalled { tool, outcome, ok, .. } = &event.kind else {
            return;
        };
        let mut tools = self.tools.lock().unwrap_or_else(|e| e.into_inner());
        let counts = tools.entry(tool.clone()).or_default();
        if *ok {
            counts.ok += 1;
        } else {
            counts.errors += 1;
        }
        // TODO: tool calls carry their duration only when the tool layer
        // writes `elapsed_ms` into the outcome; calls without it are
        // counted but not timed.
        if let Some(ms) = outcome.get("elapsed_ms").and_then(|v| v.as_f64()) {
            counts.latency.observe(ms / 1000.0);
        }
    }

    /// Count tool calls from the bus until it closes.
    pub async fn watch(self: Arc<Self>, mut events: broadcast::Receiver<Arc<Event>>) {
        loop {
            match events.recv().await {
                Ok(event) => self.observe_event(&event),
                // Missed events are lost to the counters only, which a
                // scraper tolerates; the log itself is complete.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    fn write_requests(&self, out: &mut String) {
        let name = "baton_http_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Time to answer an HTTP request.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        for ((route, method, status), histogram) in requests.iter() {
            let labels = format!(
                "route=\"{}\",method=\"{}\",status=\"{status}\"",
                escape(route),
                escape(method)
            );
            histogram.write(out, name, &labels);
        }
    }

    fn write_tools(&self, out: &mut String) {
        let tools = self.tools.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let calls = "baton_tool_calls_total";
        let _ = writeln!(out, "# HELP {calls} Tool calls by tool and outcome.");
        let _ = writeln!(out, "# TYPE {calls} counter");
        for (tool, counts) in &tools {
            let tool = escape(tool);
            let _ = writeln!(out, "{calls}{{tool=\"{tool}\",outcome=\"ok\"}} {}", counts.ok);
            let _ = writeln!(out, "{calls}{{tool=\"{tool}\",outcome=\"error\"}} {}", counts.errors);
        }
        let latency = "baton_tool_call_duration_seconds";
        let _ = writeln!(out, "# HELP {latency} Time a tool call took, when it was timed.");
        let _ = writeln!(out, "# TYPE {latency} histogram");
        for (tool, counts) in tools.iter().filter(|(_, c)| c.latency.count > 0) {
            counts.latency.write(out, latency, &format!("tool=\"{}\"", escape(tool)));
        }
    }
}

/// A label value with `\`, `"` and line breaks escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Time every request, labelled with its route pattern (not its path, so
/// that conversation ids do not make a series each).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    state.metrics.observe_request(route, method, response.status().as_u16(), seconds);
    response
}

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut out = String::new();
    state.metrics.write_requests(&mut out);

    // TODO: stages are counted by listing summaries; a count query in the
    // store would spare the rows on a large deployment.
    let name = "baton_conversations";
    let _ = writeln!(out, "# HELP {name} Conversations by stage.");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for stage in [Stage::Bot, Stage::Queued, Stage::Human, Stage::Resolved] {
        let filter = ConversationFilter { stages: vec![stage], ..Default::default() };
        let n = state.store.conversations(&filter).await?.len();
        let _ = writeln!(out, "{name}{{stage=\"{}\"}} {n}", stage.as_str());
    }

    let queue = state.engine.queue().await?;
    let oldest = queue.iter().map(|e| e.waiting_seconds).max().unwrap_or(0);
    let _ = writeln!(out, "# HELP baton_queue_length Conversations waiting for a person.");
    let _ = writeln!(out, "# TYPE baton_queue_length gauge");
    let _ = writeln!(out, "baton_queue_length {}", queue.len());
    let _ = writeln!(
        out,
        "# HELP baton_queue_oldest_waiting_seconds How long the longest-waiting conversation \
         has waited; 0 with an empty queue."
    );
    let _ = writeln!(out, "# TYPE baton_queue_oldest_waiting_seconds gauge");
    let _ = writeln!(out, "baton_queue_oldest_waiting_seconds {oldest}");

    state.metrics.write_tools(&mut out);
    let content_type = [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")];
    Ok((content_type, out).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_writes_cumulative_buckets_with_sum_and_count() {
        let mut h = Histogram::default();
        h.observe(0.00390625);
        h.observe(0.00390625);
        h.observe(0.25);
        h.observe(32.0);
        let mut out = String::new();
        h.write(&mut out, "x", "a=\"b\"");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "x_bucket{a=\"b\",le=\"0.001\"} 0");
        assert_eq!(lines[1], "x_bucket{a=\"b\",le=\"0.005\"} 2");
        assert_eq!(lines[6], "x_bucket{a=\"b\",le=\"0.25\"} 3");
        assert_eq!(lines[11], "x_bucket{a=\"b\",le=\"10\"} 3");
        assert_eq!(lines[12], "x_bucket{a=\"b\",le=\"+Inf\"} 4");
        assert_eq!(lines[13], "x_sum{a=\"b\"} 32.2578125");
        assert_eq!(lines[14], "x_count{a=\"b\"} 4");
    }

    #[test]
    fn label_values_escape_quotes_backslashes_and_line_breaks() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
