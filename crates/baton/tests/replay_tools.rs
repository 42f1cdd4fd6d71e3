//! `baton replay` and the systems its tools call: writes to an outside
//! backend are withheld unless `--allow-writes`, the demo workspace reaches
//! its own store started in process, and business hours are judged at the
//! time a conversation recorded.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use common::{demo_workspace, DemoStore};

/// The replay refuses this write and says why; it tells nothing that did
/// not happen.
const WITHHELD_REPLY: &str = "I couldn't do that: this is a replay, and a replay does not \
                              change outside systems, so the change was not sent.";

const CANCELLED_REPLY: &str = "Done: order #W7363125 is cancelled (ordered by mistake). The \
                               refund goes back to your original payment method within 5 to 7 \
                               business days.";

fn baton() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_baton"));
    command.env("RUST_LOG", "warn").env_remove("BATON_DATA").env_remove("BATON_WORKSPACE");
    command.env_remove("BATON_STORE_URL").env_remove("BATON_STORE_KEY");
    command
}

/// The order's status and cancel reason, from the store's `GET /state`.
async fn order(store: &DemoStore, id: &str) -> (Value, Value) {
    let state = store.state().await;
    let order = &state["orders"][id];
    (order["status"].clone(), order["cancel_reason"].clone())
}

/// Priya cancels her pending order #W7363125 and confirms twice (her
/// e-mail, then the cancellation).
fn cancel_conversation(dir: &Path) -> PathBuf {
    let line = json!({
        "id": "c1",
        "customer": {"email": "priya.okonkwo15@example.com"},
        "turns": ["I want to cancel order #W7363125, I ordered it by mistake", "yes", "yes"],
    });
    let file = dir.join("cancel.jsonl");
    std::fs::write(&file, format!("{line}\n")).unwrap();
    file
}

/// `baton replay --json` of `file` with `extra` flags and the tools sent to
/// `store_url`, if any: the report.
fn replay(file: &Path, store_url: Option<&str>, extra: &[&str]) -> Value {
    let mut command = baton();
    command.args(["replay", "--json", "--workspace"]).arg(demo_workspace()).args(extra).arg(file);
    if let Some(url) = store_url {
        command.env("BATON_STORE_URL", url);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the report is JSON")
}

fn last_reply(conversation: &Value) -> String {
    let replies = conversation["bot_replies"].as_array().unwrap();
    replies.last().unwrap().as_str().unwrap().to_string()
}

#[tokio::test]
async fn replay_withholds_writes_to_an_outside_store_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let store = DemoStore::start(&demo_workspace().join("store"));
    let file = cancel_conversation(dir.path());

    // By default the cancellation is not sent: the store is unchanged, the
    // customer is not told it was done, and the report counts it.
    let report = replay(&file, Some(&store.url), &[]);
    let conversation = &report["conversations"][0];
    assert_eq!(
        conversation["tools"],
        json!(["find_user_by_email", "get_user", "get_order", "cancel_order"])
    );
    assert_eq!(conversation["writes_withheld"], 1);
    assert_eq!(report["totals"]["writes_withheld"], 1);
    assert_eq!(last_reply(conversation), WITHHELD_REPLY);
    assert_eq!(order(&store, "#W7363125").await, (json!("pending"), Value::Null));

    // With the flag, the same replay cancels the order in that store.
    let report = replay(&file, Some(&store.url), &["--allow-writes"]);
    let conversation = &report["conversations"][0];
    assert_eq!(conversation["writes_withheld"], 0);
    assert_eq!(report["totals"]["writes_withheld"], 0);
    assert_eq!(last_reply(conversation), CANCELLED_REPLY);
    assert_eq!(order(&store, "#W7363125").await, (json!("cancelled"), json!("ordered by mistake")));
}

#[test]
fn the_demo_workspace_replays_against_its_own_store_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("status.jsonl");
    let line = json!({
        "id": "s1",
        "customer": {"email": "priya.okonkwo15@example.com"},
        "turns": ["where is my order #W7363125?", "yes"],
    });
    std::fs::write(&file, format!("{line}\n")).unwrap();

    let report = replay(&file, None, &[]);

    // The read answered: the order's items and status come from the store.
    let conversation = &report["conversations"][0];
    assert_eq!(conversation["tool_kinds"], json!(["find_user", "user_details", "order_details"]));
    assert_eq!(
        last_reply(conversation),
        "Order #W7363125 (Wool Blanket) is pending. It hasn't shipped yet, so there's no \
         tracking number so far."
    );
}

#[test]
fn a_write_to_the_in_process_demo_store_is_sent_and_each_run_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let file = cancel_conversation(dir.path());

    // Twice: the second run cancels the same order again, since the first
    // one's change lived only in its own copy of the store.
    for _ in 0..2 {
        let report = replay(&file, None, &[]);
        let conversation = &report["conversations"][0];
        assert_eq!(conversation["writes_withheld"], 0);
        assert_eq!(last_reply(conversation), CANCELLED_REPLY);
    }
    // The workspace's files are untouched.
    let orders = std::fs::read_to_string(demo_workspace().join("store/orders.json")).unwrap();
    let orders: Value = serde_json::from_str(&orders).unwrap();
    assert_eq!(orders["#W7363125"]["status"], "pending");
}

#[test]
fn business_hours_are_judged_at_the_time_the_conversation_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hours.jsonl");
    // The demo desk opens 08:00 to 20:00, Monday to Friday, in Chicago
    // (UTC-6 in January). Tuesday 6 January 2026: 04:00 there, then 09:00.
    let closed = json!({"id": "early", "started_at": "2026-01-06T10:00:00Z",
                        "turns": ["I want to talk to a person"]});
    let open = json!({"id": "open", "started_at": "2026-01-06T15:00:00Z",
                      "turns": ["I want to talk to a person"]});
    std::fs::write(&file, format!("{closed}\n{open}\n")).unwrap();

    let report = replay(&file, None, &[]);

    let early = &report["conversations"][0];
    assert_eq!(early["started_at"], "2026-01-06T10:00:00Z");
    assert_eq!(
        last_reply(early),
        "Our team is away right now. We'll be back today at 08:00, and your message will be \
         waiting for them at the top of the queue."
    );
    let open = &report["conversations"][1];
    assert_eq!(open["started_at"], "2026-01-06T15:00:00Z");
    // Open, with no agent online in a replay.
    assert_eq!(
        last_reply(open),
        "Nobody on the team who can take this is online right now. Leave your message here and \
         a colleague will follow it up as soon as they are back."
    );
}

#[test]
fn a_started_at_that_is_not_a_time_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"a\", \"turns\": [\"hi\"]}\n\
         {\"messages_display\": \"user: hi\", \"started_at\": \"Tuesday morning\"}\n",
    )
    .unwrap();
    let output = baton().args(["replay", "--workspace"]).arg(demo_workspace()).arg(&file).output();
    let output = output.unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "line 2: `started_at` must be an RFC 3339 time such as 2026-03-02T15:04:00Z, \
             not \"Tuesday morning\""
        ),
        "{stderr}"
    );
}
