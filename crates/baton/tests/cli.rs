//! The admin commands: agent accounts and workspace checks.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use common::{demo_workspace, Client, Server};

fn baton() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_baton"));
    command.env("RUST_LOG", "warn").env_remove("BATON_DATA");
    command
}

#[tokio::test]
async fn an_agent_added_from_the_command_line_can_log_in() {
    let data = tempfile::tempdir().unwrap();

    let output = baton()
        .args(["agent", "add", "--email", "Sam.Okafor@Example.com", "--name", "Sam Okafor"])
        .args(["--password-env", "NEW_AGENT_PASSWORD", "--data"])
        .arg(data.path())
        .env("NEW_AGENT_PASSWORD", "long enough secret")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    // Standard input works too.
    let mut child = baton()
        .args(["agent", "add", "--email", "lee@example.com", "--name", "Lee Marsh", "--data"])
        .arg(data.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"another long secret\n").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());

    let output =
        baton().args(["agent", "list", "--json", "--data"]).arg(data.path()).output().unwrap();
    let agents: Value = serde_json::from_slice(&output.stdout).unwrap();
    let emails: Vec<&str> =
        agents.as_array().unwrap().iter().map(|a| a["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["sam.okafor@example.com", "lee@example.com"]);
    assert!(agents[0].get("password_hash").is_none());

    let server = Server::start(data.path());
    let client = Client::new();
    let (status, body) = client
        .post(
            &server.url("/api/v1/auth/login"),
            None,
            json!({"email": "sam.okafor@example.com", "password": "long enough secret"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["agent"]["name"], "Sam Okafor");
}

#[test]
fn a_duplicate_or_weak_agent_is_refused_with_the_reason() {
    let data = tempfile::tempdir().unwrap();
    let add = |email: &str, password: &str| {
        baton()
            .args(["agent", "add", "--email", email, "--name", "Pat", "--password-env", "PW"])
            .arg("--data")
            .arg(data.path())
            .env("PW", password)
            .output()
            .unwrap()
    };
    assert!(add("pat@example.com", "long enough secret").status.success());

    let duplicate = add("PAT@example.com", "long enough secret");
    assert!(!duplicate.status.success());
    assert_eq!(
        String::from_utf8_lossy(&duplicate.stderr).trim(),
        "error: an agent with e-mail `pat@example.com` already exists"
    );

    let weak = add("kim@example.com", "short");
    assert!(!weak.status.success());
    assert_eq!(
        String::from_utf8_lossy(&weak.stderr).trim(),
        "error: the password must be at least 8 characters"
    );
}

#[test]
fn the_demo_workspace_checks_clean_and_a_broken_one_names_file_and_line() {
    let output = baton().args(["workspace", "check"]).arg(demo_workspace()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));

    let broken = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(demo_workspace()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), broken.path().join(entry.file_name())).unwrap();
        }
    }
    let settings = broken.path().join("workspace.toml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(
        &settings,
        text.replace("timezone = \"America/Chicago\"", "timezone = \"Mars/Olympus\""),
    )
    .unwrap();

    let output = baton().args(["workspace", "check"]).arg(broken.path()).output().unwrap();
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().position(|l| l.starts_with("timezone")).unwrap() + 1;
    let expected = format!("{}:{line}:", settings.display());
    assert!(
        stdout.lines().any(|l| l.starts_with(&expected) && l.contains("Mars/Olympus")),
        "{stdout}"
    );
}

#[test]
fn serve_refuses_a_missing_workspace_with_a_hint() {
    let data = tempfile::tempdir().unwrap();
    let output = baton()
        .args(["serve", "--listen", "127.0.0.1:0", "--workspace", "/nonexistent/ws", "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the workspace folder `/nonexistent/ws` does not exist"), "{stderr}");
}
