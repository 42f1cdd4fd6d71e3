//! The report figures agree wherever they are read: `baton report --data`
//! on a stopped server's folder, `GET /api/v1/reports/summary` on the
//! running server, and `baton report --url` against it. The conversations
//! are driven through the real engine with a manual clock, into the data
//! folder the binary then reads.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

use baton_core::{Actor, AgentId, ManualClock};
use baton_engine::workspace::Workspace;
use baton_engine::{CustomerDetails, Engine, LocalBus};
use baton_store::{Agent, AgentRole, AgentStatus, SqliteStore, Store};

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo")
}

/// Two conversations in `data`: one the AI resolves and that is rated 4,
/// one escalated, taken by an agent 2 minutes later and resolved by them.
async fn write_fixture(data: &Path) -> AgentId {
    let workspace = Workspace::load(&demo_dir()).unwrap();
    let (analyzer, _) =
        baton_engine::model::load_or_train(&workspace, Some(&data.join("models"))).unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(data).await.unwrap());
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let engine = Engine::new(
        Arc::new(workspace),
        Arc::new(analyzer),
        store.clone(),
        clock.clone(),
        Arc::new(LocalBus::new()),
    );
    let agent = Agent {
        id: AgentId::new(),
        email: "casey@example.com".into(),
        name: "Casey Marsh".into(),
        password_hash: "not used in this test".into(),
        role: AgentRole::Agent,
        status: AgentStatus::Online,
        capacity: 3,
        skills: vec![],
        working_hours: None,
        created_at: t0,
    };
    store.create_agent(&agent).await.unwrap();
    let later = |s: i64| clock.set(t0 + Duration::seconds(s));

    let a = engine.start_conversation("web", CustomerDetails::default()).await.unwrap().id;
    later(20);
    engine.customer_message(a, "where is my order", None).await.unwrap();
    later(80);
    engine.customer_message(a, "thanks, that's all", None).await.unwrap();
    engine.csat(a, 4, None).await.unwrap();

    later(600);
    let b = engine.start_conversation("web", CustomerDetails::default()).await.unwrap().id;
    later(610);
    engine.customer_message(b, "I want to talk to a human", None).await.unwrap();
    later(730);
    engine.assign(b, agent.id, Actor::Agent(agent.id), false).await.unwrap();
    later(760);
    engine.agent_message(b, agent.id, "Hello, Casey here.", None).await.unwrap();
    later(1000);
    engine.resolve(b, Actor::Agent(agent.id)).await.unwrap();
    agent.id
}

fn baton(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_baton")).args(args).output().unwrap()
}

fn json_of(output: &std::process::Output) -> Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `baton serve` on a free loopback port; stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(data: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--workspace")
            .arg(demo_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + StdDuration::from_secs(120);
        let url = loop {
            assert!(Instant::now() < deadline, "the server did not start in time");
            let line = lines.next().expect("the server stopped before listening").unwrap();
            if let Some(url) = line.strip_prefix("Baton is listening on ") {
                break url.trim().to_string();
            }
        };
        // Keep reading, so that the server never writes into a closed pipe;
        // the thread ends when the server's standard output closes.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a report filtered on a queue the demo workspace lacks answers.
const UNKNOWN_QUEUE: &str =
    "`queue` names no queue of the workspace: `nope`; the queues are billing, general, returns";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_api_and_baton_report_give_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let agent = write_fixture(&data).await;
    let (data_arg, workspace_arg) = (data.to_str().unwrap(), demo_dir());
    let workspace_arg = workspace_arg.to_str().unwrap();

    // From the stopped server's folder.
    let local =
        json_of(&baton(&["report", "--json", "--data", data_arg, "--workspace", workspace_arg]));
    assert_eq!(local["conversations"], 2);
    assert_eq!(local["resolved"], 2);
    assert_eq!(local["contained"], 1);
    assert_eq!(local["containment_rate"], 0.5);
    assert_eq!(local["escalations_by_reason"]["human_requested"], 1);
    assert_eq!(local["time_to_human"]["median_seconds"], 120);
    assert_eq!(local["first_response_human"]["median_seconds"], 150);
    assert_eq!(local["handle_time"]["median_seconds"], 270);
    assert_eq!(local["resolution_time"]["p90_seconds"], 400);
    assert_eq!(local["csat"]["average"], 4.0);
    assert_eq!(local["csat"]["response_rate"], 0.5);

    // A period that ends before the escalation sees only the first one.
    let early = json_of(&baton(&[
        "report",
        "--json",
        "--data",
        data_arg,
        "--workspace",
        workspace_arg,
        "--to",
        "2026-03-02T09:05:00Z",
    ]));
    assert_eq!(early["conversations"], 1);

    // A queue the workspace does not have is refused, not reported as empty.
    let args = ["report", "--data", data_arg, "--workspace", workspace_arg, "--queue", "nope"];
    let unknown = baton(&args);
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains(UNKNOWN_QUEUE), "{stderr}");

    // From the running server, over the API and through `baton report --url`.
    let server = Server::start(&data);
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{}/api/v1/auth/login", server.url))
        .json(&json!({"email": "agent@example.com", "password": "hollowbrook-demo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    let get = |path: String| {
        let client = client.clone();
        let token = token.clone();
        async move { client.get(path).bearer_auth(token).send().await.unwrap() }
    };

    let api: Value =
        get(format!("{}/api/v1/reports/summary", server.url)).await.json().await.unwrap();
    assert_eq!(api, local);
    let remote = json_of(&baton(&["report", "--json", "--url", &server.url, "--token", &token]));
    assert_eq!(remote, local);

    // The agent filter and the breakdowns answer on the same events.
    let mine: Value = get(format!("{}/api/v1/reports/summary?agent={agent}", server.url))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["conversations"], 1);
    let agents: Value =
        get(format!("{}/api/v1/reports/agents", server.url)).await.json().await.unwrap();
    assert_eq!(agents["agents"][0]["name"], "Casey Marsh");
    assert_eq!(agents["agents"][0]["resolved"], 1);
    let series: Value = get(format!("{}/api/v1/reports/timeseries?bucket=hour", server.url))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(series["points"][0]["start"], "2026-03-02T09:00:00Z");
    assert_eq!(series["points"][0]["conversations"], 2);
    let audit: Value =
        get(format!("{}/api/v1/reports/audit", server.url)).await.json().await.unwrap();
    assert_eq!(audit["intents"][0]["intent"], "order_status");
    assert_eq!(audit["intents"][0]["recommendation"], "automate");

    // Bad input is a 400 that names the problem.
    let bad = get(format!("{}/api/v1/reports/summary?from=yesterday", server.url)).await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "`from` is not a date or an instant: `yesterday`; write 2026-03-02 or 2026-03-02T09:00:00Z"
    );
    let bad = get(format!("{}/api/v1/reports/timeseries?bucket=week", server.url)).await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["message"], "unknown bucket `week`: use `hour` or `day`");
    let bad = get(format!("{}/api/v1/reports/summary?queue=nope", server.url)).await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["message"], UNKNOWN_QUEUE);

    // Reports need an agent's token.
    let anonymous = client.get(format!("{}/api/v1/reports/summary", server.url)).send().await;
    assert_eq!(anonymous.unwrap().status(), 401);

    // The Prometheus page counts the stages and the requests just made.
    let metrics = client.get(format!("{}/metrics", server.url)).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(metrics.contains("baton_conversations{stage=\"resolved\"} 2\n"), "{metrics}");
    assert!(metrics.contains("baton_conversations{stage=\"queued\"} 0\n"), "{metrics}");
    assert!(metrics.contains("baton_queue_length 0\n"), "{metrics}");
    assert!(
        metrics.contains(
            "baton_http_request_duration_seconds_count{route=\"/api/v1/reports/summary\",\
             method=\"GET\",status=\"400\"} 2\n"
        ),
        "{metrics}"
    );
}

#[test]
fn baton_report_on_a_folder_without_a_database_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let output = baton(&["report", "--data", dir.path().to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds no Baton database (baton.db)"), "{stderr}");
}

#[test]
fn baton_report_refuses_a_bad_date_before_reading_anything() {
    let output = baton(&["report", "--from", "2026-13-40", "--url", "http://127.0.0.1:9"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`from` is not a date or an instant: `2026-13-40`"), "{stderr}");
}
