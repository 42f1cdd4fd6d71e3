//! The learning loop, black-box: agents' feedback over the API, a
//! supervisor's review, `baton train` and `baton models` on the data folder
//! of a running server, and the server putting a promoted version into
//! service without a restart.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use baton_engine::model::versions::is_heldout;
use baton_engine::workspace::Workspace;
use common::*;

/// Phrasings a customer might use, each with the intent it has. Some of
/// them the demo model reads wrongly; the tests find which by asking it.
const CANDIDATES: [(&str, &str); 30] = [
    ("the box never turned up at my flat", "order_status"),
    ("can I pay with my grandmother's voucher", "payment_methods"),
    ("is the shop staffed on bank holidays", "opening_hours"),
    ("the zip on the jacket broke after a week", "complaint"),
    ("I typed the wrong street when I ordered", "change_address"),
    ("I can't get into my account any more", "reset_password"),
    ("scrap the purchase I made this morning", "cancel_order"),
    ("the trainers pinch my toes, I want to send them back", "return_item"),
    ("you took money from my card twice", "billing_dispute"),
    ("how many days until things arrive in Ireland", "shipping_policy"),
    ("what's your policy if something arrives damaged", "returns_policy"),
    ("is the wool coat machine washable", "product_question"),
    ("put me through to someone real", "talk_to_human"),
    ("cheers, sorted", "goodbye"),
    ("morning all", "greeting"),
    ("where's the courier with my stuff", "track_shipment"),
    ("I want the cash back for the broken lamp", "refund_request"),
    ("do you take apple pay", "payment_methods"),
    ("I forgot the secret word for logging in", "reset_password"),
    ("don't ship it, I changed my mind", "cancel_order"),
    ("the charge on my statement is not one I recognise", "billing_dispute"),
    ("when do your phone lines open", "opening_hours"),
    ("the delivery man left it in the rain and it's ruined", "complaint"),
    ("deliver to my office instead please", "change_address"),
    ("do I have to pay for postage on returns", "returns_policy"),
    ("which size should I get if I'm usually a medium", "product_question"),
    ("how much is express delivery", "shipping_policy"),
    ("the refund still hasn't hit my bank", "refund_request"),
    ("let me speak with a manager", "talk_to_human"),
    ("can I swap these boots for a bigger pair", "return_item"),
];

/// Run `baton` with arguments; the output whatever the exit code.
fn baton(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the baton binary runs")
}

fn train(data: &Path, force: bool) -> (i32, Value) {
    let workspace = demo_workspace();
    let mut args = vec!["train", "--json", "--workspace", workspace.to_str().unwrap()];
    if force {
        args.push("--force");
    }
    let output = baton(&args, data);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|_| {
        panic!("train printed no JSON: {stdout} {}", String::from_utf8_lossy(&output.stderr))
    });
    (output.status.code().unwrap_or(-1), report)
}

/// One customer message in its own conversation: the conversation, the
/// message's seq and the intent the server's model read in it.
async fn ask(
    client: &Client,
    server: &Server,
    agent: &str,
    text: &str,
) -> (Conversation, u64, String) {
    let conversation = start_conversation(client, server, json!({})).await;
    let (status, body) = say(client, server, &conversation, text).await;
    assert_eq!(status, 201, "{body}");
    let seq = body["message"]["seq"].as_u64().unwrap();
    let intent = analysed_intent(client, server, agent, &conversation, seq).await;
    (conversation, seq, intent)
}

/// The intent in the analysis event of a message (`out_of_scope` when the
/// model called it that).
async fn analysed_intent(
    client: &Client,
    server: &Server,
    agent: &str,
    conversation: &Conversation,
    seq: u64,
) -> String {
    let url = server.url(&format!("/api/v1/conversations/{}/events", conversation.id));
    let (status, body) = client.get(&url, Some(agent)).await;
    assert_eq!(status, 200, "{body}");
    let event = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "message_analysed" && e["message_seq"] == seq)
        .cloned()
        .expect("the message was analysed");
    let analysis = &event["analysis"];
    if analysis["out_of_scope"] == true {
        return "out_of_scope".into();
    }
    analysis["intents"][0]["intent"].as_str().unwrap_or("out_of_scope").to_string()
}

async fn give(
    client: &Client,
    server: &Server,
    token: &str,
    conversation: &str,
    body: Value,
) -> (u16, Value) {
    let url = server.url(&format!("/api/v1/conversations/{conversation}/feedback"));
    client.post(&url, Some(token), body).await
}

async fn accept(client: &Client, server: &Server, token: &str, id: &str) -> (u16, Value) {
    client.post(&server.url(&format!("/api/v1/feedback/{id}/accept")), Some(token), json!({})).await
}

/// Wait, bounded, until the server says `version` is in service.
async fn wait_for_version(client: &Client, server: &Server, token: &str, version: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = client.get(&server.url("/api/v1/models"), Some(token)).await;
        assert_eq!(status, 200, "{body}");
        if body["in_service"] == version {
            return;
        }
        assert!(Instant::now() < deadline, "{version} was not put into service: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn relabelling_five_misclassified_messages_and_retraining_fixes_them_while_serving() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data.path(), &["--model-poll-seconds", "1"]);
    let client = Client::new();
    let supervisor = login_demo_agent(&client, &server).await;

    // Five phrasings the demo model reads wrongly, found by asking it.
    let mut wrong = Vec::new();
    for (text, truth) in CANDIDATES {
        let (conversation, seq, read) = ask(&client, &server, &supervisor, text).await;
        if read != truth {
            wrong.push((conversation, seq, text, truth, read));
        }
        if wrong.len() == 5 {
            break;
        }
    }
    assert_eq!(wrong.len(), 5, "the demo model reads fewer than five candidates wrongly");

    // Each is relabelled, is pending, and is accepted by a supervisor.
    for (conversation, seq, _, truth, read) in &wrong {
        let (status, record) = give(
            &client,
            &server,
            &supervisor,
            &conversation.id,
            json!({"kind": "relabel", "message_seq": seq, "intent": truth}),
        )
        .await;
        assert_eq!(status, 201, "{record}");
        assert_eq!(record["status"], "pending");
        assert_eq!(record["previous_intent"], json!(read));
        assert_eq!(record["intent"], json!(truth));
    }
    let (_, pending) =
        client.get(&server.url("/api/v1/feedback?status=pending"), Some(&supervisor)).await;
    let pending = pending["feedback"].as_array().unwrap().clone();
    assert_eq!(pending.len(), 5);
    for record in &pending {
        let (status, body) =
            accept(&client, &server, &supervisor, record["id"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "accepted");
    }

    // Training while the server runs builds v1 from them and promotes it.
    let (code, report) = train(data.path(), false);
    assert_eq!(code, 0, "{report}");
    let manifest = &report["manifest"];
    assert_eq!(manifest["version"], "v1");
    assert_eq!(manifest["examples"]["feedback"], 5);
    assert_eq!(manifest["compared_with"], Value::Null);
    assert_eq!(manifest["promoted"], true);
    assert_eq!(manifest["forced"], false);
    let (new, old) =
        (manifest["heldout"]["accuracy"].as_f64(), manifest["baseline"]["accuracy"].as_f64());
    assert!(new >= old, "the held-out score fell: {new:?} < {old:?}");

    // The server notices the promoted version and reads with it.
    wait_for_version(&client, &server, &supervisor, "v1").await;
    for (_, _, text, truth, read) in &wrong {
        let (_, _, now) = ask(&client, &server, &supervisor, text).await;
        assert_eq!(&now, truth, "`{text}` was read as {read} and is now read as {now}");
    }
}

/// The demo workspace's examples of `intent` outside the held-out split.
fn training_part(workspace: &Workspace, intent: &str) -> Vec<String> {
    workspace
        .training_examples()
        .into_iter()
        .filter(|(text, i)| i == intent && !is_heldout(text))
        .map(|(text, _)| text)
        .collect()
}

#[tokio::test]
async fn a_worse_model_is_refused_without_force_and_promoted_with_it() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data.path(), &["--model-poll-seconds", "0"]);
    let client = Client::new();
    let supervisor = login_demo_agent(&client, &server).await;
    let workspace = Workspace::load(&demo_workspace()).unwrap();

    // A first version on the workspace alone.
    let (code, first) = train(data.path(), false);
    assert_eq!(code, 0, "{first}");
    assert_eq!(first["manifest"]["version"], "v1");

    // Every training example of three intents relabelled as the next one.
    let cycle = [
        ("order_status", "payment_methods"),
        ("payment_methods", "opening_hours"),
        ("opening_hours", "order_status"),
    ];
    let mut relabelled = 0;
    for (from, to) in cycle {
        let conversation = start_conversation(&client, &server, json!({})).await;
        for text in training_part(&workspace, from) {
            let (status, body) = say(&client, &server, &conversation, &text).await;
            assert_eq!(status, 201, "{body}");
            let seq = body["message"]["seq"].as_u64().unwrap();
            let body = json!({"kind": "relabel", "message_seq": seq, "intent": to});
            let (status, record) =
                give(&client, &server, &supervisor, &conversation.id, body).await;
            if status == 422 {
                // The model already read it as `to`: nothing to mislabel.
                continue;
            }
            assert_eq!(status, 201, "{record}");
            let (status, body) =
                accept(&client, &server, &supervisor, record["id"].as_str().unwrap()).await;
            assert_eq!(status, 200, "{body}");
            relabelled += 1;
        }
    }
    assert!(relabelled >= 30, "only {relabelled} examples were mislabelled");

    // Refused without --force: built, scored lower, not promoted.
    let (code, refused) = train(data.path(), false);
    let manifest = &refused["manifest"];
    assert_eq!(code, 2, "{refused}");
    assert_eq!(manifest["version"], "v2");
    assert_eq!(manifest["compared_with"], "v1");
    assert_eq!(manifest["examples"]["feedback"], relabelled);
    assert_eq!(manifest["promoted"], false);
    assert_eq!(refused["not_worse"], false);
    let (new, old) =
        (manifest["heldout"]["accuracy"].as_f64(), manifest["baseline"]["accuracy"].as_f64());
    assert!(new < old, "{new:?} >= {old:?}");

    // Promoted with --force, and marked as forced.
    let (code, forced) = train(data.path(), true);
    assert_eq!(code, 0, "{forced}");
    assert_eq!(forced["manifest"]["version"], "v3");
    assert_eq!(forced["manifest"]["compared_with"], "v1");
    assert_eq!(forced["manifest"]["promoted"], true);
    assert_eq!(forced["manifest"]["forced"], true);

    // `baton models` lists the three with their scores and hashes.
    let output = baton(&["models", "--json"], data.path());
    assert!(output.status.success());
    let list: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let versions: Vec<(&str, bool)> = list
        .iter()
        .map(|m| (m["version"].as_str().unwrap(), m["promoted"].as_bool().unwrap()))
        .collect();
    assert_eq!(versions, vec![("v1", false), ("v2", false), ("v3", true)]);
    assert_eq!(list[1]["training_sha256"], list[2]["training_sha256"]);
    assert_ne!(list[0]["training_sha256"], list[2]["training_sha256"]);
    assert_eq!(list[0]["training_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(list[2]["heldout"], refused["manifest"]["heldout"]);
    let text = baton(&["models"], data.path());
    let text = String::from_utf8_lossy(&text.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("version  created (UTC)"));
    assert!(lines[3].starts_with("v3 "));
    assert!(lines[3].contains(" yes "));

    // With polling off, the admin endpoint puts v3 into service, once.
    let url = server.url("/api/v1/models/reload");
    let (status, body) = client.post(&url, Some(&supervisor), json!({})).await;
    assert_eq!((status, body), (200, json!({"version": "v3", "changed": true})));
    let (status, body) = client.post(&url, Some(&supervisor), json!({})).await;
    assert_eq!((status, body), (200, json!({"version": "v3", "changed": false})));
}

#[test]
fn training_again_on_the_same_data_builds_nothing_unless_forced() {
    let data = tempfile::tempdir().unwrap();
    let (code, first) = train(data.path(), false);
    assert_eq!(code, 0, "{first}");
    assert_eq!(first["manifest"]["version"], "v1");
    let hash = first["manifest"]["training_sha256"].as_str().unwrap().to_string();

    // Nothing new: no version is built, and that is not a failure.
    let (code, again) = train(data.path(), false);
    assert_eq!(code, 0, "{again}");
    assert_eq!(again["built"], false);
    assert_eq!(again["in_service"]["version"], "v1");
    assert_eq!(again["in_service"]["training_sha256"], hash.as_str());
    let workspace = demo_workspace();
    let args = ["train", "--workspace", workspace.to_str().unwrap()];
    let output = baton(&args, data.path());
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!(
            "Nothing to build: the version in service, v1, was trained on the same data \
             (training sha256 {}); --force builds a new version anyway.\n",
            &hash[..16]
        )
    );

    // --force still builds one, which then is the version in service.
    let (code, forced) = train(data.path(), true);
    assert_eq!(code, 0, "{forced}");
    assert_eq!(forced["manifest"]["version"], "v2");
    assert_eq!(forced["manifest"]["compared_with"], "v1");
    assert_eq!(forced["manifest"]["training_sha256"], hash.as_str());
    let (code, after) = train(data.path(), false);
    assert_eq!(
        (code, &after["built"], &after["in_service"]["version"]),
        (0, &json!(false), &json!("v2"))
    );

    let output = baton(&["models", "--json"], data.path());
    let list: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let versions: Vec<&str> = list.iter().map(|m| m["version"].as_str().unwrap()).collect();
    assert_eq!(versions, ["v1", "v2"]);
}

#[tokio::test]
async fn feedback_that_does_not_fit_its_message_is_refused_with_a_clear_error() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let supervisor = login_demo_agent(&client, &server).await;
    let conversation = start_conversation(&client, &server, json!({})).await;
    let (_, body) = say(&client, &server, &conversation, "I want to talk to a human").await;
    let customer_seq = body["message"]["seq"].as_u64().unwrap();
    let id = conversation.id.clone();
    let error = |status: u16, message: &str| (status, message.to_string());
    let of = |(status, body): (u16, Value)| {
        (status, body["error"]["message"].as_str().unwrap_or_default().to_string())
    };

    // The greeting (seq 2) is the bot's; seq 1 is the conversation's start.
    let relabel =
        |seq: u64, intent: &str| json!({"kind": "relabel", "message_seq": seq, "intent": intent});
    assert_eq!(
        of(give(&client, &server, &supervisor, &id, relabel(2, "greeting")).await),
        error(422, "message 2 was written by the bot; only a customer message can be relabelled")
    );
    assert_eq!(
        of(give(&client, &server, &supervisor, &id, relabel(1, "greeting")).await),
        error(422, "`message_seq` 1 is not a message of this conversation")
    );
    let (status, message) =
        of(give(&client, &server, &supervisor, &id, relabel(customer_seq, "teleport")).await);
    assert_eq!(status, 422);
    assert!(message.starts_with("`intent` `teleport` is not an intent of this workspace"));
    let wrong = json!({"kind": "answer_wrong", "message_seq": customer_seq});
    assert_eq!(
        of(give(&client, &server, &supervisor, &id, wrong).await),
        error(
            422,
            &format!(
                "message {customer_seq} was written by the customer; only a bot message can be \
             marked wrong"
            )
        )
    );
    let bad_kind = json!({"kind": "praise", "message_seq": 2});
    assert_eq!(
        of(give(&client, &server, &supervisor, &id, bad_kind).await),
        error(
            422,
            "`kind` must be one of relabel, answer_wrong, save_template, save_article_draft; \
             got \"praise\""
        )
    );
    assert_eq!(
        of(give(&client, &server, &conversation.token, &id, relabel(customer_seq, "greeting"))
            .await),
        error(403, "this call needs an agent's token")
    );

    // A relabel is accepted once; a second verdict is a conflict.
    let (status, record) =
        give(&client, &server, &supervisor, &id, relabel(customer_seq, "complaint")).await;
    assert_eq!(status, 201, "{record}");
    let feedback_id = record["id"].as_str().unwrap().to_string();
    assert_eq!(feedback_id, format!("{id}.{}", record["seq"]));
    assert_eq!(accept(&client, &server, &supervisor, &feedback_id).await.0, 200);
    assert_eq!(
        of(accept(&client, &server, &supervisor, &feedback_id).await),
        error(409, &format!("feedback {feedback_id} was already accepted"))
    );
    assert_eq!(
        of(accept(&client, &server, &supervisor, "nonsense.3").await),
        error(404, "no feedback with id `nonsense.3`")
    );
    assert_eq!(
        of(client.get(&server.url("/api/v1/feedback?status=maybe"), Some(&supervisor)).await),
        error(400, "`status` must be pending, accepted, rejected or all; got \"maybe\"")
    );

    // An agent who is not a supervisor may give feedback but not review it.
    let output = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["agent", "add", "--email", "sam@example.com", "--name", "Sam Okafor"])
        .args(["--password-env", "LEARNING_SAM_PASSWORD", "--data"])
        .arg(data.path())
        .env("LEARNING_SAM_PASSWORD", "sam-password-1")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (_, login) = client
        .post(
            &server.url("/api/v1/auth/login"),
            None,
            json!({"email": "sam@example.com", "password": "sam-password-1"}),
        )
        .await;
    let sam = login["token"].as_str().unwrap().to_string();
    assert_eq!(
        of(client.get(&server.url("/api/v1/feedback"), Some(&sam)).await),
        error(403, "only a supervisor may review feedback and models")
    );

    // An agent's reply saved as a template lands in drafts/, and is listed.
    let path = format!("/api/v1/conversations/{id}");
    client.post(&server.url(&format!("{path}/assign")), Some(&supervisor), json!({})).await;
    let text = "Our returns are free within 30 days.";
    let (status, reply) = client
        .post(&server.url(&format!("{path}/messages")), Some(&supervisor), json!({"text": text}))
        .await;
    assert_eq!(status, 201, "{reply}");
    let seq = reply["message"]["seq"].as_u64().unwrap();
    let save = json!({"kind": "save_template", "message_seq": seq, "title": "Free returns"});
    let (status, record) = give(&client, &server, &sam, &id, save).await;
    assert_eq!(status, 201, "{record}");
    let draft = record["draft"].as_str().unwrap().to_string();
    assert_eq!(draft, format!("templates/free-returns-{}-{seq}.toml", &id[..8]));
    let file = std::fs::read_to_string(data.path().join("drafts").join(&draft)).unwrap();
    assert!(file.ends_with(&format!("free_returns = \"{text}\"\n")), "{file}");
    let (status, drafts) = client.get(&server.url("/api/v1/drafts"), Some(&sam)).await;
    assert_eq!(status, 200);
    assert_eq!(drafts["drafts"][0]["path"], format!("drafts/{draft}"));
    assert_eq!(drafts["drafts"][0]["status"], "pending");
    assert_eq!(drafts["drafts"][0]["content"], json!(file));
}
