//! Outbound HTTPS: the one way Baton builds an HTTP client for the
//! company's systems (tools and webhooks), the rule on which URLs it may
//! call, and errors worded so that a refused certificate says so.
//!
//! TLS is rustls with the `ring` provider; no OpenSSL is needed. Servers
//! are trusted when their certificate chains to the machine's root
//! certificates or to the CA bundle named by `[tls] ca_file` in
//! `workspace.toml`, for a company's internal CA. Plain `http://` is only
//! ever allowed to a loopback address, where nothing leaves the machine.

use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::workspace::Problem;

/// `[tls]` of `workspace.toml`, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TlsSettings {
    /// The CA bundle file as written (relative to the workspace folder).
    pub ca_file: Option<PathBuf>,
    /// Its PEM text, read and checked at load, so that a server never
    /// starts with a bundle it cannot use.
    pub ca_pem: Option<String>,
}

/// `[tls]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawTls {
    ca_file: Option<Spanned<String>>,
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the CA bundle holds no usable certificate: {0}")]
    BadBundle(String),
    #[error("the HTTP client cannot be built: {0}")]
    Client(String),
}

/// Reads and checks `[tls]`: a named CA file must exist under the
/// workspace folder (or at an absolute path) and hold at least one PEM
/// certificate. `at` turns a span of `workspace.toml` into a problem.
pub(crate) fn check(
    raw: RawTls,
    workspace_dir: &Path,
    at: impl Fn(Range<usize>, String) -> Problem,
    problems: &mut Vec<Problem>,
) -> TlsSettings {
    let Some(file) = raw.ca_file else {
        return TlsSettings::default();
    };
    let span = file.span();
    let written = PathBuf::from(file.into_inner());
    let path = workspace_dir.join(&written);
    let pem = match std::fs::read_to_string(&path) {
        Ok(pem) => pem,
        Err(e) => {
            let msg = format!("ca_file `{}` cannot be read: {e}", written.display());
            problems.push(at(span, msg));
            return TlsSettings::default();
        }
    };
    if let Err(e) = certificates(&pem).and_then(|certs| {
        let builder = reqwest::Client::builder().use_rustls_tls().tls_built_in_root_certs(false);
        let builder = certs.into_iter().fold(builder, |b, c| b.add_root_certificate(c));
        builder.build().map_err(|e| TlsError::BadBundle(chain(&e)))
    }) {
        problems.push(at(span, format!("ca_file `{}`: {e}", written.display())));
        return TlsSettings::default();
    }
    TlsSettings { ca_file: Some(written), ca_pem: Some(pem) }
}

/// The certificates of a PEM bundle; at least one.
fn certificates(pem: &str) -> Result<Vec<reqwest::Certificate>, TlsError> {
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
        .map_err(|e| TlsError::BadBundle(chain(&e)))?;
    if certs.is_empty() {
        return Err(TlsError::BadBundle("no `BEGIN CERTIFICATE` block was found".into()));
    }
    Ok(certs)
}

/// An HTTP client that trusts the machine's roots and the workspace's own
/// CA bundle, with a timeout per request.
pub fn client(tls: &TlsSettings, timeout: Duration) -> Result<reqwest::Client, TlsError> {
    let mut builder = reqwest::Client::builder().use_rustls_tls().timeout(timeout);
    if let Some(pem) = &tls.ca_pem {
        for cert in certificates(pem)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| TlsError::Client(chain(&e)))
}

/// Whether Baton may call a URL: `https://` anywhere, or `http://` to a
/// loopback address (`127.0.0.0/8`, `::1` or `localhost`). The error says
/// which rule the URL broke.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        "http" => Err(format!(
            "`{url}` must be an https:// URL: plain http is allowed only to a loopback \
             address (127.0.0.1, ::1 or localhost)"
        )),
        _ => Err(format!("`{url}` must start with https:// (or http:// to a loopback address)")),
    }
}

/// Whether a URL's host is this machine.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// An error and every error under it, joined by `: `, so that the cause
/// (an unknown issuer, an expired certificate, a refused connection) is
/// in the text.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Whether a failed request failed on the server's certificate.
pub fn is_certificate_error(err: &reqwest::Error) -> bool {
    let text = chain(err).to_ascii_lowercase();
    text.contains("certificate") || text.contains("unknownissuer")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_allowed_anywhere_and_http_only_to_loopback() {
        assert_eq!(check_url("https://tools.example.com/api"), Ok(()));
        assert_eq!(check_url("http://127.0.0.1:8090"), Ok(()));
        assert_eq!(check_url("http://127.3.4.5/x"), Ok(()));
        assert_eq!(check_url("http://[::1]:9/x"), Ok(()));
        assert_eq!(check_url("http://localhost:8090"), Ok(()));
        assert_eq!(
            check_url("http://tools.example.com"),
            Err("`http://tools.example.com` must be an https:// URL: plain http is allowed \
                 only to a loopback address (127.0.0.1, ::1 or localhost)"
                .into())
        );
        assert_eq!(
            check_url("http://10.0.0.8:80/x").unwrap_err(),
            "`http://10.0.0.8:80/x` must be an https:// URL: plain http is allowed only to \
             a loopback address (127.0.0.1, ::1 or localhost)"
        );
        assert_eq!(
            check_url("ftp://127.0.0.1/x").unwrap_err(),
            "`ftp://127.0.0.1/x` must start with https:// (or http:// to a loopback address)"
        );
        assert!(check_url("not a url").unwrap_err().starts_with("`not a url` is not a URL"));
    }

    #[test]
    fn a_client_builds_without_a_bundle_and_a_bundle_without_certificates_is_refused() {
        assert!(client(&TlsSettings::default(), Duration::from_secs(1)).is_ok());
        let err = certificates("just text\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the CA bundle holds no usable certificate: no `BEGIN CERTIFICATE` block was found"
        );
    }
}
