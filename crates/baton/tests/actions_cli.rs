//! The command line around actions: `baton workspace check` on the tools
//! and flows of a workspace, and `baton replay` comparing the tools Baton
//! calls with those a transcript recorded, against `baton demo-store`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use common::{copy_dir, demo_workspace, DemoStore};

fn baton() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_baton"));
    command.env("RUST_LOG", "warn").env_remove("BATON_DATA").env_remove("BATON_WORKSPACE");
    command.env_remove("BATON_STORE_URL").env_remove("BATON_STORE_KEY");
    command
}

/// Replaces `from` (which must be there) by `to` in a file.
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// The 1-based line of the `header` (`[[tool]]`, `[[flow]]`) that opens
/// the table holding `needle`: where a problem with that table is told.
fn table_line(file: &Path, header: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(file).unwrap();
    let at = text.find(needle).unwrap_or_else(|| panic!("no {needle:?} in {}", file.display()));
    let table = text[..at].rfind(header).expect("the table has a header");
    text[..table].matches('\n').count() + 1
}

/// The 1-based line of the first `needle` in a file.
fn line_of(file: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(file).unwrap();
    let at = text.find(needle).unwrap_or_else(|| panic!("no {needle:?} in {}", file.display()));
    text[..at].matches('\n').count() + 1
}

/// `baton workspace check DIR`: whether it passed, and what it printed.
fn check(workspace: &Path) -> (bool, Vec<String>) {
    let output = baton().args(["workspace", "check"]).arg(workspace).output().unwrap();
    let report = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), report.lines().map(str::to_string).collect())
}

#[test]
fn workspace_check_reports_every_mistake_in_tools_and_flows_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    copy_dir(&demo_workspace(), &ws);
    let tools = ws.join("tools.toml");
    let flows = ws.join("flows.toml");

    // Three mistakes in tools.toml: a path placeholder that is no
    // parameter, a write the customer would not confirm, an approval limit
    // on a text.
    edit(&tools, "path = \"/orders/{order_id}\"\n", "path = \"/orders/{order_number}\"\n");
    edit(
        &tools,
        "path = \"/users/{user_id}/password-reset\"\nrequires_verified_customer = true\n\
         requires_confirmation = true\n",
        "path = \"/users/{user_id}/password-reset\"\nrequires_verified_customer = true\n",
    );
    edit(
        &tools,
        "params.amount = { type = \"number\", from = \"amount\" }",
        "params.amount = { type = \"string\", from = \"amount\" }",
    );
    // Two in flows.toml: an unknown tool and an unknown entity.
    edit(&flows, "call = \"return_items\"", "call = \"return_item\"");
    edit(&flows, "entity = \"money\"", "entity = \"cash\"");

    let (ok, report) = check(&ws);

    assert!(!ok);
    let at = |file: &Path, header: &str, needle: &str| {
        format!("{}:{}:", file.display(), table_line(file, header, needle))
    };
    let get_order = at(&tools, "[[tool]]", "name = \"get_order\"");
    let reset = at(&tools, "[[tool]]", "name = \"send_password_reset\"");
    let refund = at(&tools, "[[tool]]", "name = \"refund_order\"");
    // A step's problem is told on the line of its key, a slot's on the line
    // of its name.
    let key = |file: &Path, needle: &str| format!("{}:{}:", file.display(), line_of(file, needle));
    let return_step = key(&flows, "call = \"return_item\"");
    let amount_slot = key(&flows, "name = \"amount\"");
    let expected = [
        format!(
            "{get_order} tool `get_order`: path uses `{{order_number}}`, which is no parameter"
        ),
        format!(
            "{reset} tool `send_password_reset` is a write: set `requires_confirmation = true`, \
             the customer says yes before anything changes"
        ),
        format!(
            "{refund} tool `refund_order`: approval is on `amount`, which is no number parameter"
        ),
        format!("{return_step} flow `return_item`, step 4 calls unknown tool `return_item`"),
        format!(
            "{amount_slot} flow `refund_request`, slot `amount`: unknown entity `cash`; use one \
             of order_number, email, phone, money, date, product"
        ),
    ];
    for line in &expected {
        assert!(report.contains(line), "missing {line:?} in:\n{}", report.join("\n"));
    }
    assert_eq!(report.last().map(String::as_str), Some("5 problems found"), "{report:?}");
}

#[test]
fn a_secret_written_into_tools_toml_is_refused_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    copy_dir(&demo_workspace(), &ws);
    let tools = ws.join("tools.toml");
    edit(&tools, "secret_env = \"BATON_STORE_KEY\"", "secret = \"hb-live-key-0000\"");

    let (ok, report) = check(&ws);

    assert!(!ok);
    let text = std::fs::read_to_string(&tools).unwrap();
    let line = text[..text.find("secret = ").unwrap()].matches('\n').count() + 1;
    let prefix = format!("{}:{line}: unknown field `secret`", tools.display());
    assert!(report.iter().any(|l| l.starts_with(&prefix)), "{report:?}");
    // The value itself is never repeated back.
    assert!(report.iter().all(|l| !l.contains("hb-live-key-0000")), "{report:?}");
}

/// A recorded transcript in the `role: text` layout: the customer cancels
/// Priya's pending order; the recorded assistant found her, read the order
/// and a product, and cancelled. Tool outputs follow `assistant: None`.
fn transcript(dir: &Path) -> PathBuf {
    let order = json!({
        "order_id": "#W7363125", "user_id": "priya_okonkwo_7922", "status": "pending",
        "address": {"zip": "78745"}, "payment_history": []
    });
    let mut cancelled = order.clone();
    cancelled["status"] = json!("cancelled");
    let product = json!({"name": "Wool Blanket", "product_id": "1", "variants": {}});
    let display = [
        "user: I want to cancel order #W7363125, I ordered it by mistake".to_string(),
        "assistant: Sure. What's your e-mail address?".into(),
        "user: priya.okonkwo15@example.com".into(),
        "assistant: None".into(),
        "tool: priya_okonkwo_7922".into(),
        "assistant: None".into(),
        format!("tool: {order}"),
        "assistant: None".into(),
        format!("tool: {product}"),
        "assistant: I'll cancel it, reason: ordered by mistake. Shall I?".into(),
        "user: yes".into(),
        "assistant: None".into(),
        format!("tool: {cancelled}"),
        "assistant: Done.".into(),
    ]
    .join("\n");
    let file = dir.join("transcripts.jsonl");
    let line = json!({"id": "cancel-1", "messages_display": display});
    std::fs::write(&file, format!("{line}\n")).unwrap();
    file
}

#[tokio::test]
async fn replay_compares_the_tools_baton_called_with_the_transcripts_per_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let store = DemoStore::start(&demo_workspace().join("store"));
    let file = transcript(dir.path());

    // A fresh test store, so its writes may be sent.
    let output = baton()
        .args(["replay", "--json", "--allow-writes", "--workspace"])
        .arg(demo_workspace())
        .arg(&file)
        .env("BATON_STORE_URL", &store.url)
        .output()
        .unwrap();

    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let conversation = &report["conversations"][0];
    assert_eq!(conversation["id"], "cancel-1");
    assert_eq!(
        conversation["tools"],
        json!(["find_user_by_email", "get_user", "get_order", "cancel_order"])
    );
    assert_eq!(
        conversation["tool_kinds"],
        json!(["find_user", "user_details", "order_details", "cancel"])
    );
    assert_eq!(
        conversation["expected_tool_kinds"],
        json!(["find_user", "order_details", "product_details", "cancel"])
    );
    // Three of the transcript's four kinds, and three of Baton's four.
    let totals = &report["totals"];
    assert_eq!(totals["with_expected_tools"], 1);
    assert_eq!(totals["tool_recall"], 0.75);
    assert_eq!(totals["tool_precision"], 0.75);
    assert_eq!(totals["tool_sets_equal"], 0);

    // The replay went through the store's HTTP API: the order is cancelled.
    let state: Value = store.state().await;
    let order = &state["orders"]["#W7363125"];
    assert_eq!(
        (&order["status"], &order["cancel_reason"]),
        (&json!("cancelled"), &json!("ordered by mistake"))
    );
}
