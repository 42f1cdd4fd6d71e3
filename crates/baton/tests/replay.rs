//! `baton replay` on recorded input: the README's demo conversations, the 69
//! retail transcripts and the Banking77 test queries as one-turn conversations.

mod common;

use std::process::Command;

use serde_json::Value;

use common::{demo_workspace, shared_data};

/// Run `baton replay --json` and return its report.
fn replay(file: &std::path::Path) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["replay", "--json", "--workspace"])
        .arg(demo_workspace())
        .arg(file)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the report is JSON")
}

/// The totals agree with the per-conversation results they summarise.
fn assert_totals_add_up(report: &Value, expected_conversations: usize, expected_turns: usize) {
    let totals = &report["totals"];
    let conversations = report["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), expected_conversations);
    assert_eq!(totals["conversations"], expected_conversations);

    let not_escalated = conversations.iter().filter(|c| c["escalation_reason"].is_null()).count();
    let escalated = expected_conversations - not_escalated;
    assert_eq!(totals["not_escalated"], not_escalated);
    assert_eq!(totals["escalated"], escalated);
    let by_reason: u64 = totals["escalated_by_reason"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(by_reason as usize, escalated);

    let turns: u64 = conversations.iter().map(|c| c["turns"].as_u64().unwrap()).sum();
    assert_eq!(turns as usize, expected_turns);
    let mean = totals["mean_turns"].as_f64().unwrap();
    assert!((mean - expected_turns as f64 / expected_conversations as f64).abs() < 1e-9);

    // Every customer turn was analysed, and every escalated conversation
    // ended in the queue, never silently in the bot stage.
    for c in conversations {
        assert_eq!(c["intents"].as_array().unwrap().len() as u64, c["turns"].as_u64().unwrap());
        if !c["escalation_reason"].is_null() {
            assert_ne!(c["final_stage"], "bot", "{}", c["id"]);
        }
    }
}

#[test]
fn the_retail_transcripts_replay_with_totals_that_add_up() {
    let Some(data) = shared_data() else {
        eprintln!("skipped: ../shared/data is not beside the repository");
        return;
    };
    let file = data.join("tau-bench-retail/transcripts.jsonl");

    // Count the customer turns independently of the product's parser.
    let text = std::fs::read_to_string(&file).unwrap();
    let mut turns = 0;
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        let display = value["messages_display"].as_str().unwrap();
        turns += display
            .split('\n')
            .filter_map(|l| l.strip_prefix("user: "))
            .filter(|t| !t.replace("###STOP###", "").trim().is_empty())
            .count();
    }

    let report = replay(&file);
    assert_totals_add_up(&report, 69, turns);
}

#[test]
fn the_banking77_test_queries_replay_as_one_turn_conversations() {
    let Some(data) = shared_data() else {
        eprintln!("skipped: ../shared/data is not beside the repository");
        return;
    };
    let report = replay(&data.join("banking77/test.csv"));
    assert_totals_add_up(&report, 3080, 3080);
    assert_eq!(report["totals"]["mean_turns"], 1.0);
}

#[test]
fn the_text_report_counts_conversations_not_escalated_rather_than_contained() {
    let file = common::repo_root().join("examples/demo-conversations.jsonl");
    let output = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["replay", "--workspace"])
        .arg(demo_workspace())
        .arg(&file)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    let totals: Vec<&str> = text.lines().skip_while(|l| !l.starts_with("conversations")).collect();
    // Containment needs a resolution; this figure counts the conversations
    // that ended without a person, resolved or not.
    assert_eq!(
        totals[..5],
        [
            "conversations  6",
            "not escalated  3 (50.0 %)",
            "escalated      3 (50.0 %)",
            "  approval_required          1",
            "  human_only_intent          2",
        ],
        "{text}"
    );
    assert!(!text.contains("contained"), "{text}");
}

#[test]
fn a_malformed_replay_file_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    std::fs::write(&file, "{\"id\": \"a\", \"turns\": [\"hi\"]}\nnot json\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["replay", "--workspace"])
        .arg(demo_workspace())
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2: not JSON"), "{stderr}");
}

#[test]
fn the_demo_conversations_of_the_readme_replay_as_described() {
    let file = common::repo_root().join("examples/demo-conversations.jsonl");
    let report = replay(&file);

    assert_totals_add_up(&report, 6, 13);
    let totals = &report["totals"];
    assert_eq!(totals["not_escalated"], 3);
    assert_eq!(
        totals["escalated_by_reason"],
        serde_json::json!({"approval_required": 1, "human_only_intent": 2})
    );
    let by_id = |id: &str| {
        report["conversations"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone()
    };
    // The cancellation runs against the in-process copy of the demo store.
    let cancel = by_id("cancel-by-mistake");
    let replies = cancel["bot_replies"].as_array().unwrap();
    assert_eq!(
        replies[replies.len() - 2],
        "To confirm: I'll cancel order #W7363125 (Wool Blanket, $93.76 refunded to your original \
         payment method), reason: ordered by mistake. Shall I go ahead?"
    );
    assert_eq!(cancel["tools"].as_array().unwrap().last().unwrap(), "cancel_order");
    assert_eq!(
        cancel["bot_replies"].as_array().unwrap().last().unwrap(),
        "Done: order #W7363125 is cancelled (ordered by mistake). The refund goes back to your \
         original payment method within 5 to 7 business days."
    );
    assert_eq!(by_id("refund-over-limit")["escalation_reason"], "approval_required");
    // Recorded at 04:00 in Chicago: the desk is closed.
    let after_hours = by_id("after-hours");
    assert_eq!(
        after_hours["bot_replies"].as_array().unwrap().last().unwrap(),
        "Our team is away right now. We'll be back tomorrow at 08:00, and your message will be \
         waiting for them at the top of the queue."
    );
}
