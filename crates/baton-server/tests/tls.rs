//! HTTPS to the company's systems over a real TLS server on 127.0.0.1,
//! with a certificate authority made in the test: a webhook arrives signed
//! over https, a tool call trusts the workspace's own CA bundle, and a
//! certificate from an unknown issuer is refused with a recorded reason.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use serde_json::{json, Map, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use baton_core::{Actor, ConversationId, Event, EventKind};
use baton_demo_store::StoreData;
use baton_engine::tls::TlsSettings;
use baton_engine::tools::{CallOutcome, ToolClient};
use baton_engine::workspace::Workspace;
use baton_server::webhooks::{signature, Delivery, Endpoint, Retry, Webhooks, DELIVERIES_FILE};

/// A certificate authority and a server certificate for 127.0.0.1 that it
/// signed, both made now.
struct Pki {
    ca_pem: String,
    server: Arc<ServerConfig>,
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "Hollowbrook internal CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    Pki { ca_pem: ca.pem(), server: Arc::new(server) }
}

/// A listener that completes the TLS handshake before handing a
/// connection to axum; a client that gives up on the handshake (because it
/// does not trust the certificate) is dropped and the next one accepted.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else { continue };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// Serves an app over TLS on a free loopback port; gives its `https://` URL.
async fn serve_tls(app: Router, pki: &Pki) -> String {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let listener = TlsListener { tcp, acceptor: TlsAcceptor::from(pki.server.clone()) };
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("https://127.0.0.1:{port}")
}

/// A webhook receiver that answers 200 and reports each request.
async fn receiver(pki: &Pki) -> (String, mpsc::UnboundedReceiver<(HeaderMap, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                "ok"
            }
        }),
    );
    (format!("{}/hook", serve_tls(app, pki).await), rx)
}

fn rating() -> Event {
    Event {
        conversation_id: ConversationId::new(),
        seq: 9,
        at: chrono::Utc::now(),
        actor: Actor::Bot,
        kind: EventKind::CsatReceived { score: 4, comment: None },
    }
}

fn retry() -> Retry {
    Retry { attempts: 3, first_backoff: Duration::from_millis(10), timeout: Duration::from_secs(5) }
}

fn deliveries(dir: &Path) -> Vec<Delivery> {
    let text = std::fs::read_to_string(dir.join(DELIVERIES_FILE)).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn trusting(pki: &Pki) -> TlsSettings {
    TlsSettings { ca_file: Some("ca.pem".into()), ca_pem: Some(pki.ca_pem.clone()) }
}

#[tokio::test]
async fn a_webhook_arrives_over_https_with_a_correct_signature() {
    let pki = pki();
    let (url, mut seen) = receiver(&pki).await;
    let data = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new(url.clone(), vec!["csat.received".into()], "s3cret");
    let hooks = Webhooks::new(vec![endpoint.clone()], retry(), Some(data.path()), &trusting(&pki));
    let event = rating();

    assert!(hooks.unwrap().deliver(&endpoint, "csat.received", &event).await);

    let (headers, body) = seen.try_recv().expect("the receiver got the delivery");
    let header = |name: &str| headers[name].to_str().unwrap().to_string();
    let timestamp: i64 = header("x-baton-timestamp").parse().unwrap();
    assert_eq!(header("x-baton-signature"), signature("s3cret", timestamp, body.as_bytes()));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["id"], format!("{}:9", event.conversation_id));
    assert_eq!(body["data"], json!({"score": 4}));
    let recorded: Vec<_> =
        deliveries(data.path()).into_iter().map(|d| (d.attempt, d.status, d.ok, d.error)).collect();
    assert_eq!(recorded, vec![(1, Some(200), true, None)]);
}

#[tokio::test]
async fn a_webhook_to_an_untrusted_certificate_is_recorded_as_refused_and_not_retried() {
    let pki = pki();
    let (url, mut seen) = receiver(&pki).await;
    let data = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new(url.clone(), vec!["csat.received".into()], "s3cret");
    let hooks =
        Webhooks::new(vec![endpoint.clone()], retry(), Some(data.path()), &Default::default());

    assert!(!hooks.unwrap().deliver(&endpoint, "csat.received", &rating()).await);

    assert!(seen.try_recv().is_err(), "nothing reached the receiver");
    let recorded = deliveries(data.path());
    assert_eq!(recorded.len(), 1, "a refused certificate is not retried: {recorded:?}");
    let (status, ok) = (recorded[0].status, recorded[0].ok);
    assert_eq!((status, ok), (None, false));
    let error = recorded[0].error.clone().unwrap();
    assert!(
        error.starts_with(&format!(
            "the endpoint's TLS certificate is not trusted: error sending request for url \
             ({url})"
        )),
        "{error}"
    );
    assert!(error.ends_with("invalid peer certificate: UnknownIssuer"), "{error}");
}

/// The demo workspace copied with `[tls] ca_file` naming the test's CA.
fn workspace_trusting(pki: &Pki) -> (tempfile::TempDir, Workspace) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&demo, dir.path());
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::write(dir.path().join("certs/internal-ca.pem"), &pki.ca_pem).unwrap();
    let settings = dir.path().join("workspace.toml");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str("\n[tls]\nca_file = \"certs/internal-ca.pem\"\n");
    std::fs::write(&settings, text).unwrap();
    let workspace = Workspace::load(dir.path()).unwrap();
    (dir, workspace)
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The demo store over TLS, and the parameters of a lookup of one order.
async fn store_over_https(pki: &Pki) -> (String, Map<String, Value>) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo/store");
    let store = Arc::new(Mutex::new(StoreData::load(&demo).unwrap()));
    let url = serve_tls(baton_demo_store::router(store), pki).await;
    let params = json!({"order_id": "#W0420662"}).as_object().unwrap().clone();
    (url, params)
}

#[tokio::test]
async fn a_tool_call_over_https_trusts_the_ca_bundle_the_workspace_names() {
    let pki = pki();
    let (_dir, workspace) = workspace_trusting(&pki);
    assert_eq!(workspace.settings.tls.ca_file.as_deref(), Some(Path::new("certs/internal-ca.pem")));
    let (url, params) = store_over_https(&pki).await;
    let tools =
        ToolClient::new(&workspace.actions.backend, &workspace.settings.tls).with_base_url(url);
    let get_order = workspace.actions.tools.iter().find(|t| t.name == "get_order").unwrap();

    let outcome = tools.call(get_order, &params, "key-1").await;

    let CallOutcome::Done { status, body, attempts } = outcome else {
        panic!("the call over https did not succeed: {outcome:?}");
    };
    assert_eq!((status, attempts), (200, 1));
    assert_eq!(body["order_id"], "#W0420662");
    assert_eq!(body["status"], "delivered");
}

#[tokio::test]
async fn a_tool_call_to_an_untrusted_certificate_fails_with_the_reason_recorded() {
    let pki = pki();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo");
    let workspace = Workspace::load(&demo).unwrap();
    let (url, params) = store_over_https(&pki).await;
    let tools =
        ToolClient::new(&workspace.actions.backend, &workspace.settings.tls).with_base_url(url);
    let get_order = workspace.actions.tools.iter().find(|t| t.name == "get_order").unwrap();

    let recorded = tools.call(get_order, &params, "key-1").await.to_json();

    assert_eq!(recorded["result"], "failed");
    assert_eq!(recorded["error"], "the system's TLS certificate is not trusted");
    assert_eq!(recorded["attempts"], 1, "a refused certificate is not retried");
    let detail = recorded["detail"].as_str().unwrap();
    assert!(detail.ends_with("invalid peer certificate: UnknownIssuer"), "{detail}");
}
