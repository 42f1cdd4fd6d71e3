//! The web surfaces people use: the customer chat (`/chat`) and its
//! embeddable loader (`/widget.js`), the agent console (`/console`) and the
//! supervisor dashboard (`/dashboard`).
//!
//! The pages are plain HTML, CSS and JavaScript compiled into the binary, so
//! `baton serve` needs no front-end build and no files beside it. Every
//! answer carries a strict Content-Security-Policy: scripts and styles come
//! from this server only, never inline, so text a customer or the AI wrote
//! can never run even if a page forgot to treat it as text.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::AppState;

/// One embedded file and how to serve it.
struct Asset {
    body: &'static str,
    content_type: &'static str,
    /// Whether other sites may show it in a frame: only the chat may, as the
    /// embeddable widget is that page in a frame on the company's own site.
    framable: bool,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

const CHAT_HTML: Asset =
    Asset { body: include_str!("../assets/chat.html"), content_type: HTML, framable: true };
const CHAT_JS: Asset =
    Asset { body: include_str!("../assets/chat.js"), content_type: JS, framable: false };
const CHAT_CSS: Asset =
    Asset { body: include_str!("../assets/chat.css"), content_type: CSS, framable: false };
const WIDGET_JS: Asset =
    Asset { body: include_str!("../assets/widget.js"), content_type: JS, framable: false };
const CONSOLE_HTML: Asset =
    Asset { body: include_str!("../assets/console.html"), content_type: HTML, framable: false };
const CONSOLE_JS: Asset =
    Asset { body: include_str!("../assets/console.js"), content_type: JS, framable: false };
const CONSOLE_FEEDBACK_JS: Asset = Asset {
    body: include_str!("../assets/console-feedback.js"),
    content_type: JS,
    framable: false,
};
const CONSOLE_APPROVALS_JS: Asset = Asset {
    body: include_str!("../assets/console-approvals.js"),
    content_type: JS,
    framable: false,
};
const CONSOLE_CSS: Asset =
    Asset { body: include_str!("../assets/console.css"), content_type: CSS, framable: false };
const COMMON_JS: Asset =
    Asset { body: include_str!("../assets/common.js"), content_type: JS, framable: false };
const DASHBOARD_HTML: Asset =
    Asset { body: include_str!("../assets/dashboard.html"), content_type: HTML, framable: false };
const DASHBOARD_JS: Asset =
    Asset { body: include_str!("../assets/dashboard.js"), content_type: JS, framable: false };

/// Scripts, styles, fetches and sockets from this origin only; no inline
/// code, no plugins, no foreign forms. `'self'` covers same-host `ws:`.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/chat", get(|| serve(&CHAT_HTML)))
        .route("/assets/chat.js", get(|| serve(&CHAT_JS)))
        .route("/assets/chat.css", get(|| serve(&CHAT_CSS)))
        .route("/widget.js", get(|| serve(&WIDGET_JS)))
        .route("/console", get(|| serve(&CONSOLE_HTML)))
        .route("/assets/console.js", get(|| serve(&CONSOLE_JS)))
        .route("/assets/console-feedback.js", get(|| serve(&CONSOLE_FEEDBACK_JS)))
        .route("/assets/console-approvals.js", get(|| serve(&CONSOLE_APPROVALS_JS)))
        .route("/assets/console.css", get(|| serve(&CONSOLE_CSS)))
        .route("/assets/common.js", get(|| serve(&COMMON_JS)))
        .route("/dashboard", get(|| serve(&DASHBOARD_HTML)))
        .route("/assets/dashboard.js", get(|| serve(&DASHBOARD_JS)))
}

async fn serve(asset: &'static Asset) -> Response {
    // TODO: the chat may be framed by any site; a workspace setting listing
    // the company's own origins would narrow `frame-ancestors` to them.
    let frames = if asset.framable { "*" } else { "'none'" };
    let csp = format!("{CSP}; frame-ancestors {frames}");
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    // Assets change with the binary, not by the hour; revalidate each load.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
