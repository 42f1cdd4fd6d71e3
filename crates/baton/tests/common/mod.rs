//! Starting the real `baton` binary for black-box tests: each server gets
//! its own free loopback port and its own temporary data folder.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The repository root, for the demo workspace and the shared data.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

pub fn demo_workspace() -> PathBuf {
    repo_root().join("workspaces/demo")
}

/// The public datasets beside the repository, if present.
pub fn shared_data() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/data");
    dir.is_dir().then_some(dir)
}

/// A copy of a folder (a workspace to edit in a test), with its subfolders.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// A running `baton serve`, stopped when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub data: PathBuf,
}

impl Server {
    /// Start on a fresh data folder that lives as long as `data`.
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    /// Start with more `serve` flags (a database URL, a NATS URL...).
    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["serve", "--listen", "127.0.0.1:0", "--workspace"])
            .arg(demo_workspace())
            .arg("--data")
            .arg(data)
            .args(extra)
            // The default is the lexical model; a test asks for embeddings
            // with `--embedding-model`, never through the environment.
            .env_remove("BATON_EMBEDDING_MODEL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the baton binary starts");
        let base = announced_address(&mut child, "Baton is listening on ");
        Server { child, base, data: data.to_path_buf() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn ws_url(&self, query: &str) -> String {
        format!("{}/api/v1/ws?{}", self.base.replacen("http://", "ws://", 1), query)
    }

    /// Kill the process as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address a started process prints on the stdout line that begins with
/// `prefix`; waits for it, a minute at most.
fn announced_address(child: &mut Child, prefix: &'static str) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).expect("the process printed its address in time");
        if let Some(url) = line.strip_prefix(prefix) {
            return url.trim().to_string();
        }
    }
}

/// `baton demo-store` on a free loopback port, stopped when dropped.
pub struct DemoStore {
    child: Child,
    pub url: String,
}

impl DemoStore {
    pub fn start(data: &Path) -> DemoStore {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["demo-store", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the baton binary starts");
        let url = announced_address(&mut child, "Demo store listening on ");
        DemoStore { child, url }
    }

    /// The store's current data, from its `GET /state`.
    pub async fn state(&self) -> Value {
        reqwest::get(format!("{}/state", self.url)).await.unwrap().json().await.unwrap()
    }
}

impl Drop for DemoStore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A thin JSON client over reqwest.
pub struct Client {
    http: reqwest::Client,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    pub fn new() -> Client {
        Client {
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        }
    }

    pub async fn post(&self, url: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(url).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn post_raw(
        &self,
        url: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut request = self.http.post(url).header("content-type", content_type).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, url: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap_or(Value::Null))
    }
}

/// A started conversation: its id and the customer's token.
pub struct Conversation {
    pub id: String,
    pub token: String,
}

pub async fn start_conversation(client: &Client, server: &Server, customer: Value) -> Conversation {
    let (status, body) = client
        .post(
            &server.url("/api/v1/conversations"),
            None,
            json!({"channel": "web", "customer": customer}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    Conversation {
        id: body["id"].as_str().unwrap().to_string(),
        token: body["customer_token"].as_str().unwrap().to_string(),
    }
}

/// Post as the customer; returns the status and body.
pub async fn say(
    client: &Client,
    server: &Server,
    conversation: &Conversation,
    text: &str,
) -> (u16, Value) {
    client
        .post(
            &server.url(&format!("/api/v1/conversations/{}/messages", conversation.id)),
            Some(&conversation.token),
            json!({"text": text}),
        )
        .await
}

/// Log in as the demo agent; returns the token.
pub async fn login_demo_agent(client: &Client, server: &Server) -> String {
    login(client, server, "agent@example.com", "hollowbrook-demo").await
}

/// Log in as any agent; returns the token.
pub async fn login(client: &Client, server: &Server, email: &str, password: &str) -> String {
    let body = json!({"email": email, "password": password});
    let (status, body) = client.post(&server.url("/api/v1/auth/login"), None, body).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

/// The authors of a conversation's messages, in order.
pub fn authors(conversation: &Value) -> Vec<String> {
    conversation["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"].as_str().unwrap().to_string())
        .collect()
}

impl Client {
    pub async fn http_put(&self, url: &str, token: &str, body: Value) -> (u16, Value) {
        let response =
            self.http.put(url).bearer_auth(token).json(&body).send().await.expect("answers");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap_or(Value::Null))
    }
}
