//! `baton replay --compare`: the same conversations under an old and a new
//! workspace, with the outcome that changed between them.

mod common;

use std::process::Command;

use serde_json::Value;

use common::{copy_dir, demo_workspace as demo_dir};

#[test]
fn a_workspace_that_sends_order_questions_to_people_changes_only_those_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new");
    copy_dir(&demo_dir(), &new);
    let settings = std::fs::read_to_string(new.join("workspace.toml")).unwrap();
    let settings =
        settings.replace("human_only_intents = []", "human_only_intents = [\"order_status\"]");
    std::fs::write(new.join("workspace.toml"), settings).unwrap();
    let input = dir.path().join("conversations.jsonl");
    std::fs::write(
        &input,
        "{\"id\":\"order\",\"turns\":[\"where is my order\"]}\n\
         {\"id\":\"person\",\"turns\":[\"agent please\"]}\n",
    )
    .unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("replay")
        .arg("--json")
        .arg("--workspace")
        .arg(&new)
        .arg("--compare")
        .arg(demo_dir())
        .arg(&input)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let comparison: Value = serde_json::from_slice(&output.stdout).unwrap();

    assert_eq!(comparison["old"]["not_escalated"], 1);
    assert_eq!(comparison["new"]["not_escalated"], 0);
    assert_eq!(comparison["old"]["escalated_by_reason"]["human_requested"], 1);
    assert_eq!(comparison["new"]["escalated_by_reason"]["human_only_intent"], 1);
    assert_eq!(
        comparison["changed"],
        serde_json::json!([{
            "id": "order",
            "old": {"stage": "bot", "escalation_reason": null},
            "new": {"stage": "queued", "escalation_reason": "human_only_intent"},
        }])
    );
}
