//! The approval endpoints over a real socket: a refund above the limit is
//! queued, the agent sees the exact call and approves or rejects it in one
//! request, and the demo store shows the result.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use baton_core::SystemClock;
use baton_demo_store::StoreData;
use baton_engine::workspace::Workspace;
use baton_engine::{Engine, LocalBus};
use baton_server::auth::hash_password;
use baton_server::AppState;
use baton_store::{Agent, AgentRole, AgentStatus, SqliteStore, Store};

struct Server {
    url: String,
    store: Arc<Mutex<StoreData>>,
    client: reqwest::Client,
}

async fn spawn() -> Server {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo");
    let workspace = Workspace::load(&dir).unwrap();
    let store = Arc::new(Mutex::new(StoreData::load(&dir.join("store")).unwrap()));
    let backend = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend_url = format!("http://{}", backend.local_addr().unwrap());
    tokio::spawn(baton_demo_store::serve(backend, store.clone(), std::future::pending()));

    let db: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    db.create_agent(&Agent {
        id: baton_core::AgentId::new(),
        email: "robin@example.com".into(),
        name: "Robin".into(),
        password_hash: hash_password("correct horse").unwrap(),
        role: AgentRole::Agent,
        status: AgentStatus::Online,
        capacity: 3,
        skills: vec![],
        working_hours: None,
        created_at: chrono::Utc::now(),
    })
    .await
    .unwrap();
    let (analyzer, _) = baton_engine::model::load_or_train(&workspace, None).unwrap();
    let engine = Engine::new(
        Arc::new(workspace),
        Arc::new(analyzer),
        db,
        Arc::new(SystemClock),
        Arc::new(LocalBus::new()),
    )
    .with_tool_base_url(backend_url);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(Arc::new(engine));
    tokio::spawn(baton_server::serve(listener, state, std::future::pending()));
    Server { url, store, client: reqwest::Client::new() }
}

impl Server {
    async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let response =
            self.client.get(format!("{}{path}", self.url)).bearer_auth(token).send().await;
        response.unwrap().json().await.unwrap()
    }

    /// A conversation waiting for approval of Ivo's $349.96 refund, and
    /// an agent's token.
    async fn waiting_refund(&self) -> (String, String) {
        let (_, started) = self.post("/api/v1/conversations", "", json!({"channel": "web"})).await;
        let id = started["id"].as_str().unwrap().to_string();
        let token = started["customer_token"].as_str().unwrap().to_string();
        for text in [
            "refund my order #W0420662, the full $349.96 please",
            "ivo.pemberley90@example.com",
            "yes",
        ] {
            let path = format!("/api/v1/conversations/{id}/messages");
            let (status, _) = self.post(&path, &token, json!({"text": text})).await;
            assert_eq!(status, 201);
        }
        let login = json!({"email": "robin@example.com", "password": "correct horse"});
        let (_, agent) = self.post("/api/v1/auth/login", "", login).await;
        (id, agent["token"].as_str().unwrap().to_string())
    }

    fn refunds(&self) -> usize {
        let data = self.store.lock().unwrap();
        let history = data.orders["#W0420662"]["payment_history"].as_array().unwrap().clone();
        history.iter().filter(|p| p["transaction_type"] == "refund").count()
    }
}

#[tokio::test]
async fn an_agent_sees_the_held_call_and_approves_it_in_one_request() {
    let server = spawn().await;
    let (id, agent) = server.waiting_refund().await;
    let held = server.get(&format!("/api/v1/conversations/{id}/approvals"), &agent).await;
    let approval = &held["approvals"][0];
    assert_eq!(approval["tool"], "refund_order");
    assert_eq!(approval["parameters"], json!({"order_id": "W0420662", "amount": 349.96}));
    assert_eq!(approval["policy"], "amount 349.96 is above the 250.00 the assistant may approve");
    assert_eq!(server.refunds(), 0);

    let path = format!("/api/v1/conversations/{id}/approvals/{}", approval["id"].as_str().unwrap());
    let (status, body) = server.post(&path, &agent, json!({"decision": "approve"})).await;
    assert_eq!((status, body["stage"].as_str()), (200, Some("bot")));
    assert_eq!(server.refunds(), 1);
}

#[tokio::test]
async fn a_rejection_changes_nothing_and_a_bad_decision_or_a_customer_token_is_refused() {
    let server = spawn().await;
    let (id, agent) = server.waiting_refund().await;
    let held = server.get(&format!("/api/v1/conversations/{id}/approvals"), &agent).await;
    let path = format!(
        "/api/v1/conversations/{id}/approvals/{}",
        held["approvals"][0]["id"].as_str().unwrap()
    );

    let (status, body) = server.post(&path, &agent, json!({"decision": "maybe"})).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["error"]["message"],
        "`decision` must be \"approve\" or \"reject\", got \"maybe\""
    );

    let (status, _) = server.post(&path, "not-a-token", json!({"decision": "approve"})).await;
    assert_eq!(status, 401);

    let (status, _) = server.post(&path, &agent, json!({"decision": "reject"})).await;
    assert_eq!(status, 200);
    assert_eq!(server.refunds(), 0);
    let (status, _) = server.post(&path, &agent, json!({"decision": "approve"})).await;
    assert_eq!(status, 409);
    assert_eq!(server.refunds(), 0);
}

#[tokio::test]
async fn an_approval_id_never_held_is_not_found_and_a_second_decision_is_a_conflict() {
    let server = spawn().await;
    let (id, agent) = server.waiting_refund().await;
    let held = server.get(&format!("/api/v1/conversations/{id}/approvals"), &agent).await;
    let approval = held["approvals"][0]["id"].as_str().unwrap().to_string();
    let wrong = format!("/api/v1/conversations/{id}/approvals/apr-unknown");
    let approve = json!({"decision": "approve"});

    // A wrong id while the real one waits: not found, and nothing runs.
    let (status, body) = server.post(&wrong, &agent, approve.clone()).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["message"], "no approval `apr-unknown` in this conversation");
    assert_eq!(server.refunds(), 0);

    let path = format!("/api/v1/conversations/{id}/approvals/{approval}");
    let (status, _) = server.post(&path, &agent, approve.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(server.refunds(), 1);

    // The same approval again is a conflict with what was decided.
    let (status, body) = server.post(&path, &agent, json!({"decision": "reject"})).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(
        body["error"]["message"],
        format!("approval `{approval}` is already decided: it was approved")
    );
    assert_eq!(server.refunds(), 1);

    // And a wrong id stays unknown once nothing waits.
    let (status, body) = server.post(&wrong, &agent, approve).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["message"], "no approval `apr-unknown` in this conversation");
}
