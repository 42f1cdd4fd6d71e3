//! Black-box regressions found by driving the demo's flows over the HTTP
//! API as a customer would, trying to get a write past its guardrails.

mod common;

use common::*;
use serde_json::{json, Value};

/// The successful calls of a tool in a conversation's log, with their
/// parameters, as an agent reads them.
async fn calls(
    client: &Client,
    server: &Server,
    agent: &str,
    conversation: &Conversation,
    tool: &str,
) -> Vec<Value> {
    let url = server.url(&format!("/api/v1/conversations/{}/events", conversation.id));
    let (status, body) = client.get(&url, Some(agent)).await;
    assert_eq!(status, 200, "{body}");
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "tool_called" && e["tool"] == tool && e["ok"] == true)
        .map(|e| e["parameters"].clone())
        .collect()
}

/// A conversation opened without an e-mail that asks for a refund, verifies
/// Ivo by his e-mail and says yes; returns it with the last answer.
async fn refund(client: &Client, server: &Server, amount: &str) -> (Conversation, Value) {
    let conversation = start_conversation(client, server, json!({})).await;
    let text = format!("refund my order #W0420662, {amount} please");
    let (status, body) = say(client, server, &conversation, &text).await;
    assert_eq!(status, 201, "{body}");
    let (_, body) = say(client, server, &conversation, "ivo.pemberley90@example.com").await;
    let summary = body["replies"][0]["text"].as_str().unwrap().to_string();
    assert!(summary.starts_with("To confirm: I'll refund"), "{body}");
    let (_, body) = say(client, server, &conversation, "yes").await;
    (conversation, body)
}

#[tokio::test]
async fn a_refund_split_over_two_conversations_still_needs_the_approval_its_sum_does() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let agent = login_demo_agent(&client, &server).await;

    // Under the $250 limit on its own: done on the customer's yes.
    let (first, body) = refund(&client, &server, "$240").await;
    assert_eq!(body["stage"], "bot", "{body}");
    let done = calls(&client, &server, &agent, &first, "refund_order").await;
    assert_eq!(done, vec![json!({"order_id": "W0420662", "amount": 240.0})]);

    // The rest of the $349.96 in a new conversation: $349.96 in all is above
    // the limit, so it waits for a person and nothing is refunded.
    let (second, body) = refund(&client, &server, "$109.96").await;
    assert_eq!(body["stage"], "queued", "{body}");
    assert!(calls(&client, &server, &agent, &second, "refund_order").await.is_empty());
    let url = server.url(&format!("/api/v1/conversations/{}/approvals", second.id));
    let (status, body) = client.get(&url, Some(&agent)).await;
    assert_eq!(status, 200, "{body}");
    let approvals = body["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 1, "{body}");
    assert_eq!(approvals[0]["parameters"], json!({"order_id": "W0420662", "amount": 109.96}));
    assert_eq!(
        approvals[0]["policy"],
        "amount 109.96, with the 240.00 the assistant already approved for the same order id, \
         is above the 250.00 the assistant may approve"
    );
}

#[tokio::test]
async fn a_limit_per_customer_counts_the_account_across_conversations_opened_without_an_email() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let agent = login_demo_agent(&client, &server).await;

    // `send_password_reset` allows 3 per customer: the fourth conversation
    // verified as the same account is refused, however new it is.
    let mut sent = Vec::new();
    for _ in 0..4 {
        let conversation = start_conversation(&client, &server, json!({})).await;
        say(&client, &server, &conversation, "I forgot my password").await;
        let (_, body) =
            say(&client, &server, &conversation, "jonah.bellweather66@example.com").await;
        let reply = body["replies"][0]["text"].as_str().unwrap_or_default().to_string();
        say(&client, &server, &conversation, "yes").await;
        let n = calls(&client, &server, &agent, &conversation, "send_password_reset").await.len();
        sent.push((n, reply));
    }
    let counts: Vec<usize> = sent.iter().map(|(n, _)| *n).collect();
    assert_eq!(counts, vec![1, 1, 1, 0], "{sent:?}");
    let summary = "I'll send a password-reset link to the e-mail address on your account. \
                   Shall I go ahead?";
    assert!(sent[..3].iter().all(|(_, reply)| reply == summary), "{sent:?}");
    assert!(sent[3].1.starts_with("I can't do that again"), "{sent:?}");
}

#[tokio::test]
async fn an_item_the_order_does_not_have_is_asked_for_again_and_the_right_one_is_returned() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let agent = login_demo_agent(&client, &server).await;
    let conversation = start_conversation(&client, &server, json!({})).await;

    say(&client, &server, &conversation, "I want to return the Desk Lamp from order #W3278407")
        .await;
    let (_, body) = say(&client, &server, &conversation, "jonah.bellweather66@example.com").await;
    let replies: Vec<&str> =
        body["replies"].as_array().unwrap().iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert_eq!(
        replies,
        [
            "I can't find the Desk Lamp there.",
            "Which item would you like to return? Please give its name as on the order."
        ]
    );

    let (_, body) = say(&client, &server, &conversation, "the rain jacket").await;
    assert_eq!(
        body["replies"][0]["text"],
        "To confirm: I'll start a return of Rain Jacket from order #W3278407, refunded to the \
         original payment method. Shall I go ahead?"
    );
    say(&client, &server, &conversation, "yes").await;
    let done = calls(&client, &server, &agent, &conversation, "return_items").await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0]["order_id"], "W3278407");
    assert_eq!(done[0]["item_ids"], json!(["4507961114"]));
}

#[tokio::test]
async fn an_order_number_the_store_does_not_know_is_asked_for_again() {
    // workspaces/demo/README.md: Priya's pending order is #W7363125.
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let conversation = start_conversation(&client, &server, json!({})).await;
    say(&client, &server, &conversation, "where is my order #W7363152?").await;
    let (_, body) = say(&client, &server, &conversation, "priya.okonkwo15@example.com").await;

    // A typo in the number: told, and the number asked for again.
    let reply = body["replies"][0]["text"].as_str().unwrap_or_default();
    assert!(reply.starts_with("I couldn't do that: "), "{body}");
    assert!(reply.contains("#W7363152"), "{body}");
    let question = "Which order is it? The number starts with #W, for example #W1234567.";
    assert!(reply.ends_with(question), "{body}");

    // The right number goes on with the same flow, the customer still verified.
    let (_, body) = say(&client, &server, &conversation, "sorry, it's #W7363125").await;
    let reply = body["replies"][0]["text"].as_str().unwrap_or_default().to_lowercase();
    assert!(reply.contains("pending"), "the reply does not give the order's status: {body}");
}

#[tokio::test]
async fn a_yes_at_length_confirms_the_email_the_conversation_started_with() {
    // workspaces/demo/README.md: Ivo's delivered order #W0420662, $349.96.
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let client = Client::new();
    let customer = json!({"name": "Ivo Pemberley-Roe", "email": "ivo.pemberley90@example.com"});
    let conversation = start_conversation(&client, &server, customer).await;
    let (_, body) =
        say(&client, &server, &conversation, "refund my order #W0420662, the full $349.96 please")
            .await;
    assert_eq!(
        body["replies"][0]["text"],
        "Before I look at your account: is ivo.pemberley90@example.com the e-mail address on it?"
    );

    let (_, body) = say(&client, &server, &conversation, "yes, that's my e-mail").await;

    assert_eq!(body["stage"], "bot", "{body}");
    assert_eq!(
        body["replies"][0]["text"],
        "To confirm: I'll refund 349.96 USD for order #W0420662 to the original payment method. \
         Shall I go ahead?"
    );
}
