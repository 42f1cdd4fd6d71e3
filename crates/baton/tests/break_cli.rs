//! Black-box regressions found by breaking the command line: `workspace
//! check`, `replay`. Each test asserts the correct behaviour; the ones that
//! fail today are ignored with the bug they pin down.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use common::demo_workspace;

fn baton() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_baton"));
    command.env("RUST_LOG", "warn").env_remove("BATON_DATA").env_remove("BATON_WORKSPACE");
    command
}

/// A copy of the demo workspace in `dir`, with `edit` applied to one file.
fn broken_demo(dir: &Path, file: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let target = dir.join("ws");
    copy_dir(&demo_workspace(), &target);
    let path = target.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed nothing");
    std::fs::write(&path, edited).unwrap();
    target
}

fn copy_dir(from: &Path, to: &Path) {
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

fn check(workspace: &Path) -> Output {
    baton().args(["workspace", "check"]).arg(workspace).output().unwrap()
}

fn replay_json(file: &Path) -> Output {
    baton()
        .args(["replay", "--json", "--workspace"])
        .arg(demo_workspace())
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn workspace_check_refuses_a_demo_password_serve_would_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = broken_demo(dir.path(), "workspace.toml", |t| {
        t.replace("password = \"hollowbrook-demo\"", "password = \"x\"")
    });

    let output = check(&workspace);

    assert!(!output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    let report = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(report.contains("workspace.toml:"), "no file and line: {report}");
}

#[test]
fn workspace_check_refuses_a_demo_email_that_is_not_an_address() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = broken_demo(dir.path(), "workspace.toml", |t| {
        t.replace("email = \"agent@example.com\"", "email = \"not-an-email\"")
    });

    let output = check(&workspace);

    assert!(!output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    let report = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(report.contains("workspace.toml:"), "no file and line: {report}");
}

#[test]
fn replay_does_not_silently_drop_an_over_long_turn() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("long.jsonl");
    let line = serde_json::json!({"id": "long", "turns": ["a".repeat(20_001)]});
    std::fs::write(&file, format!("{line}\n")).unwrap();

    let output = replay_json(&file);

    // The turn is refused, as it would be from a customer, and reported.
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["conversations"][0]["turns"], 0);
    assert_eq!(
        report["conversations"][0]["skipped"][0],
        "turn 1: `text` is 20001 characters long; the limit is 20000"
    );
}

#[test]
fn replay_reads_a_jsonl_file_with_a_byte_order_mark() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bom.jsonl");
    std::fs::write(&file, "\u{feff}{\"id\": \"bom\", \"turns\": [\"hi\"]}\n").unwrap();

    let output = replay_json(&file);

    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["conversations"][0]["id"], "bom", "{report}");
}

#[test]
fn replay_of_an_empty_file_says_it_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nothing.jsonl");
    std::fs::write(&file, "").unwrap();

    let output = replay_json(&file);

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
    assert!(stderr.contains("empty") || stderr.contains("no conversations"), "{stderr}");
}

#[test]
fn a_bad_reference_in_a_tool_summary_is_told_on_the_tool_line_of_tools_toml() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = broken_demo(dir.path(), "tools.toml", |t| {
        t.replace("reason: {reason}. Shall", "reason: {reasonx}. Shall")
    });

    let output = check(&workspace);

    assert!(!output.status.success());
    let report = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    let at = workspace.join("tools.toml").display().to_string();
    let expected = format!(
        "{at}:49: tool `cancel_order`, `confirm`: flow `cancel_order`, step 5: `reasonx` names \
         `reasonx`, which is no slot, no tool called before this step and not `customer`"
    );
    assert!(report.lines().any(|l| l == expected), "{report}");
    assert!(!report.contains("flows.toml"), "{report}");
}
