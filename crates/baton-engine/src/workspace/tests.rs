//! Whole-folder tests: a small valid workspace written to a temporary
//! folder, then broken one way at a time.

use std::path::Path;

use super::*;

const SETTINGS: &str = "\
[workspace]
name = \"tiny\"
bot_name = \"Pip\"
company = \"Tiny Shop\"
timezone = \"Europe/Paris\"
currency = \"EUR\"

[escalation]
human_only_intents = [\"complaint\"]
";

const INTENTS: &str = "\
[[intent]]
name = \"greeting\"
answer = { template = \"greeting\" }
examples = [\"hi\", \"hello\", \"hey there\", \"good morning\", \"good evening\"]

[[intent]]
name = \"shipping_policy\"
answer = { knowledge = true }
examples = [\"shipping cost\", \"how long is delivery\", \"do you ship abroad\",
            \"delivery time\", \"is shipping free\"]

[[intent]]
name = \"complaint\"
examples = [\"this is awful\", \"I want to complain\", \"terrible service\",
            \"I am very unhappy\", \"worst shop ever\"]

[[intent]]
name = \"talk_to_human\"
human_only = true
examples = [\"agent please\", \"a real person\", \"talk to a human\",
            \"speak to someone\", \"representative\"]
";

fn templates() -> String {
    SYSTEM_TEMPLATES
        .iter()
        .map(|(id, own)| {
            let fills: String = own.iter().map(|p| format!(" {{{p}}}")).collect();
            format!("{id} = \"{id} from {{bot_name}}{fills}\"\n")
        })
        .collect()
}

const ARTICLE: &str = "+++\ntitle = \"Shipping\"\n+++\n## Costs\nShipping is free over 40 EUR.\n";

/// A valid workspace in a temporary folder.
fn valid() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "workspace.toml", SETTINGS);
    write(dir.path(), "intents.toml", INTENTS);
    write(dir.path(), "templates.toml", &templates());
    write(dir.path(), "knowledge/shipping.md", ARTICLE);
    dir
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Problems as `file:line: message`, with the file relative to the folder.
fn problems(dir: &Path) -> Vec<String> {
    Workspace::check(dir)
        .into_iter()
        .map(|p| {
            let file = p.file.strip_prefix(dir).unwrap_or(&p.file).to_path_buf();
            Problem { file, ..p }.to_string()
        })
        .collect()
}

#[test]
fn a_valid_workspace_loads_with_everything_in_it() {
    let dir = valid();
    let ws = Workspace::load(dir.path()).unwrap();
    assert_eq!(ws.settings.workspace.name, "tiny");
    assert_eq!(ws.settings.workspace.timezone, chrono_tz::Europe::Paris);
    assert_eq!(ws.settings.queue.business_hours.timezone, chrono_tz::Europe::Paris);
    assert_eq!(ws.intents.len(), 4);
    assert_eq!(ws.knowledge.articles().len(), 1);
    assert!(ws.products.is_empty());
    assert_eq!(ws.templates.render("greeting", &[]).unwrap(), "greeting from Pip");
    assert_eq!(ws.training_examples().len(), 20);
    assert_eq!(
        ws.training_examples()[5],
        ("shipping cost".to_string(), "shipping_policy".to_string())
    );
}

#[test]
fn human_only_comes_from_the_intent_flag_or_the_settings_list() {
    let dir = valid();
    let ws = Workspace::load(dir.path()).unwrap();
    assert!(ws.is_human_only("talk_to_human"));
    assert!(ws.is_human_only("complaint"));
    assert!(!ws.is_human_only("greeting"));
    assert!(!ws.is_human_only("no_such_intent"));
}

#[test]
fn a_missing_folder_is_one_problem() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let found = Workspace::check(&missing);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].message, "workspace folder not found");
}

#[test]
fn missing_required_files_are_each_reported() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        problems(dir.path()),
        vec![
            "workspace.toml: file is missing",
            "intents.toml: file is missing",
            "templates.toml: file is missing",
        ]
    );
}

#[test]
fn load_fails_with_the_first_problem_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let err = Workspace::load(dir.path()).unwrap_err().to_string();
    assert!(err.ends_with(
        "workspace.toml: file is missing (and 2 more; `baton workspace check` lists them all)"
    ));
}

#[test]
fn a_template_referenced_by_an_intent_must_exist() {
    let dir = valid();
    let intents = INTENTS.replace("template = \"greeting\"", "template = \"hello_there\"");
    write(dir.path(), "intents.toml", &intents);
    assert_eq!(
        problems(dir.path()),
        vec![
            "intents.toml:3: intent `greeting` answers with template `hello_there`, which \
             templates.toml does not define"
        ]
    );
}

#[test]
fn an_intent_cannot_answer_with_a_template_whose_placeholders_it_cannot_fill() {
    let dir = valid();
    let intents = INTENTS.replace("template = \"greeting\"", "template = \"queued\"");
    write(dir.path(), "intents.toml", &intents);
    assert_eq!(
        problems(dir.path()),
        vec![
            "intents.toml:3: intent `greeting` answers with template `queued`, which uses \
             `{position}`; an answer can only use customer_name, order_id, bot_name, company",
            "intents.toml:3: intent `greeting` answers with template `queued`, which uses \
             `{wait_minutes}`; an answer can only use customer_name, order_id, bot_name, company",
            "intents.toml:3: intent `greeting` answers with template `queued`, which uses \
             `{wait}`; an answer can only use customer_name, order_id, bot_name, company",
        ]
    );
}

#[test]
fn a_knowledge_answer_needs_articles() {
    let dir = valid();
    std::fs::remove_file(dir.path().join("knowledge/shipping.md")).unwrap();
    assert_eq!(
        problems(dir.path()),
        vec![
            "intents.toml:8: intent `shipping_policy` answers from knowledge, but knowledge/ \
             has no articles"
        ]
    );
}

#[test]
fn an_unknown_human_only_intent_in_the_settings_is_reported() {
    let dir = valid();
    let settings = SETTINGS.replace("[\"complaint\"]", "[\"complaint\", \"complain\"]");
    write(dir.path(), "workspace.toml", &settings);
    assert_eq!(
        problems(dir.path()),
        vec!["workspace.toml:9: human_only_intents names unknown intent `complain`"]
    );
}

#[test]
fn a_bad_article_front_matter_is_reported_on_its_line() {
    let dir = valid();
    write(dir.path(), "knowledge/bad.md", "+++\ntitle = \"x\"\ntags = \"one\"\n+++\nText\n");
    let found = problems(dir.path());
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("knowledge/bad.md:3: invalid type"), "{found:?}");
}

#[test]
fn problems_from_several_files_are_all_reported() {
    let dir = valid();
    write(dir.path(), "workspace.toml", &SETTINGS.replace("Europe/Paris", "Nowhere"));
    write(dir.path(), "templates.toml", &templates().replace("resolved = ", "resolvd = "));
    assert_eq!(
        problems(dir.path()),
        vec![
            "workspace.toml:5: `Nowhere` is not an IANA time zone like \"Europe/Berlin\"",
            "templates.toml: the required template `resolved` is missing",
        ]
    );
}

#[test]
fn the_fingerprint_changes_with_any_file_and_only_then() {
    let dir = valid();
    let first = Workspace::load(dir.path()).unwrap().fingerprint();
    assert_eq!(first.len(), 64);
    assert_eq!(Workspace::load(dir.path()).unwrap().fingerprint(), first);

    write(dir.path(), "knowledge/shipping.md", &ARTICLE.replace("40", "45"));
    let second = Workspace::load(dir.path()).unwrap().fingerprint();
    assert_ne!(second, first);
}

#[test]
fn store_products_are_read_sorted_and_inconsistent_orders_reported() {
    let dir = valid();
    write(
        dir.path(),
        "store/products.json",
        r#"{"1": {"name": "Teapot", "product_id": "1", "variants": {}},
            "2": {"name": "Lamp", "product_id": "2", "variants": {}}}"#,
    );
    assert_eq!(Workspace::load(dir.path()).unwrap().products, vec!["Lamp", "Teapot"]);

    write(
        dir.path(),
        "store/users.json",
        r##"{"ann_1": {"email": "ann@example.com", "orders": ["#W1"]}}"##,
    );
    write(
        dir.path(),
        "store/orders.json",
        "{\n\"#W1\": {\"order_id\": \"#W1\", \"user_id\": \"ann_1\", \"status\": \"lost\"},\n\
         \"#W2\": {\"order_id\": \"#W2\", \"user_id\": \"bob_2\", \"status\": \"pending\"}\n}",
    );
    assert_eq!(
        problems(dir.path()),
        vec![
            "store/orders.json:2: order `#W1` has status `lost`; expected one of pending, \
             processed, delivered, cancelled",
            "store/orders.json:3: order `#W2` belongs to unknown user `bob_2`",
        ]
    );
}

#[test]
fn broken_store_json_is_reported_with_its_line() {
    let dir = valid();
    write(dir.path(), "store/users.json", "{\n  \"a\": {\"email\": \n}");
    let found = problems(dir.path());
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("store/users.json:3: invalid store data"), "{found:?}");
}

fn demo_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo")
}

#[test]
fn the_demo_workspace_has_no_problems() {
    let found: Vec<String> = Workspace::check(&demo_dir()).iter().map(|p| p.to_string()).collect();
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn the_demo_workspace_has_every_intent_with_enough_examples() {
    let ws = Workspace::load(&demo_dir()).unwrap();
    let names: Vec<&str> = ws.intents.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "greeting",
            "goodbye",
            "order_status",
            "track_shipment",
            "cancel_order",
            "return_item",
            "change_address",
            "reset_password",
            "refund_request",
            "shipping_policy",
            "returns_policy",
            "payment_methods",
            "opening_hours",
            "product_question",
            "complaint",
            "talk_to_human",
            "billing_dispute",
        ]
    );
    for intent in &ws.intents {
        assert!(intent.examples.len() >= 15, "{} has too few examples", intent.name);
    }
    let human_only: Vec<&str> = names.iter().copied().filter(|n| ws.is_human_only(n)).collect();
    assert_eq!(human_only, vec!["complaint", "talk_to_human", "billing_dispute"]);
    let resolving: Vec<&str> =
        ws.intents.iter().filter(|i| i.resolves).map(|i| i.name.as_str()).collect();
    assert_eq!(resolving, vec!["goodbye"]);
    let demo = ws.settings.demo.as_ref().unwrap();
    assert_eq!(demo.email, "agent@example.com");
}

#[test]
fn the_demo_store_lists_its_catalogue() {
    let ws = Workspace::load(&demo_dir()).unwrap();
    assert_eq!(ws.products.len(), 12);
    assert_eq!(ws.products[0], "Camping Stove");
    assert!(ws.products.contains(&"Trail Backpack".to_string()));
}

#[test]
fn demo_knowledge_questions_find_the_right_article_first() {
    let ws = Workspace::load(&demo_dir()).unwrap();
    let cases = [
        ("how much is express delivery", "shipping", "Delivery options and costs"),
        ("do you offer free shipping", "shipping", "Delivery options and costs"),
        ("how long does delivery take", "shipping", "Delivery options and costs"),
        ("is there a restocking fee", "returns", "What it costs"),
        ("what's your exchange policy", "returns", "Exchanges"),
        ("can I return a gift", "returns", "Returning a gift"),
        ("which cards can I use", "payment", "Ways to pay"),
        ("do you ship to Canada", "shipping", "International shipping"),
        ("who pays for return shipping", "returns", "What it costs"),
        ("how long until my refund shows on my card", "refunds", "How long a refund takes to show"),
        ("can I pay with PayPal", "payment", "Ways to pay"),
        ("are you open on Sundays", "opening-hours", "Customer service hours"),
        ("my account is locked", "account", "A locked account"),
        ("do gift cards expire", "gift-cards", "Using a gift card"),
        ("what size boots should I order", "sizes", "Boots"),
        ("is the cutting board dishwasher safe", "product-care", "Kitchen"),
        ("how long is the warranty on the kettle", "warranty", "What the warranty covers"),
    ];
    let mut wrong = Vec::new();
    for (question, article, section) in cases {
        let hits = ws.knowledge.search(question, 3);
        let top = hits.first().map(|h| (h.article_id.as_str(), h.section.as_deref()));
        if top != Some((article, Some(section))) {
            wrong.push(format!("{question:?} -> {top:?}"));
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
}

#[test]
fn knowledge_hits_drop_passages_that_cover_too_little_of_the_question() {
    let ws = Workspace::load(&demo_dir()).unwrap();
    let hits = ws.knowledge_hits("do you ship to Canada");
    let ids: Vec<&str> = hits.iter().map(|h| h.article_id.as_str()).collect();
    assert_eq!(ids[0], "shipping");
    assert!(hits.len() <= 2);
    assert!(hits.iter().all(|h| h.coverage >= 0.5));

    // One word of four found is not an answer.
    assert!(ws.knowledge_hits("canada volcano penguin telescope").is_empty());
}

#[test]
fn a_loaded_workspace_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Workspace>();
}

#[test]
fn an_unknown_settings_key_in_a_folder_is_reported_with_its_line() {
    let dir = valid();
    write(dir.path(), "workspace.toml", &format!("{SETTINGS}[lifecycle]\nreopen_window = 5\n"));
    let found = problems(dir.path());
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("workspace.toml:11: unknown field `reopen_window`"), "{found:?}");
}

#[test]
fn a_bad_order_pattern_in_a_folder_is_reported_with_its_line() {
    let dir = valid();
    let settings = format!("{SETTINGS}[nlu]\norder_patterns = ['[0-9']\n");
    write(dir.path(), "workspace.toml", &settings);
    let found = problems(dir.path());
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("workspace.toml:11: order pattern `[0-9` is not a valid regex"),
        "{found:?}"
    );
}

#[test]
fn a_bad_timezone_in_a_folder_is_reported_with_its_line() {
    let dir = valid();
    let settings = format!("{SETTINGS}[queue]\ntimezone = \"Europe/Atlantis\"\n");
    write(dir.path(), "workspace.toml", &settings);
    assert_eq!(
        problems(dir.path()),
        vec![
            "workspace.toml:11: `Europe/Atlantis` is not an IANA time zone like \"Europe/Berlin\""
        ]
    );
}

#[test]
fn an_intent_with_too_few_examples_in_a_folder_is_reported_with_its_line() {
    let dir = valid();
    let intents = INTENTS.replace(", \"good morning\", \"good evening\"", "");
    write(dir.path(), "intents.toml", &intents);
    assert_eq!(
        problems(dir.path()),
        vec!["intents.toml:4: intent `greeting` has 3 examples; it needs at least 5"]
    );
}

#[test]
fn duplicate_intent_names_in_a_folder_are_reported_with_their_line() {
    let dir = valid();
    let intents = INTENTS.replace("name = \"talk_to_human\"", "name = \"greeting\"");
    write(dir.path(), "intents.toml", &intents);
    assert_eq!(
        problems(dir.path()),
        vec!["intents.toml:18: duplicate intent `greeting` (first defined on line 2)"]
    );
}

#[test]
fn a_placeholder_the_engine_cannot_fill_in_a_folder_is_reported_with_its_line() {
    let dir = valid();
    let templates =
        format!("{}thanks = \"Thanks, {{customer_name}}, order {{tracking}}\"\n", templates());
    write(dir.path(), "templates.toml", &templates);
    assert_eq!(
        problems(dir.path()),
        vec![
            "templates.toml:14: template `thanks` uses `{tracking}`, which the engine cannot \
             fill here (it fills: customer_name, order_id, bot_name, company)"
        ]
    );
}

#[test]
fn a_malformed_template_in_a_folder_is_reported_with_its_line() {
    let dir = valid();
    let templates = templates().replace("fallback = \"fallback", "fallback = \"{fallback");
    write(dir.path(), "templates.toml", &templates);
    let found = problems(dir.path());
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("templates.toml:2: template `fallback`: a `{` is never"));
}

#[test]
fn the_analyzer_config_carries_the_demo_settings() {
    let ws = Workspace::load(&demo_dir()).unwrap();
    let config = ws.analyzer_config();
    assert_eq!(config.order_patterns, vec![r"#?W\d{7}".to_string()]);
    assert_eq!(config.products.len(), 12);
    assert_eq!(config.locale, "en-US");
    assert_eq!(config.timezone, "America/Chicago");
    assert_eq!(config.languages, vec!["en".to_string()]);
    assert_eq!(config.out_of_scope_threshold, Some(0.3));
}

/// Questions written apart from the examples, one or two per intent, to
/// check that the demo examples teach the intent model what they should.
const HELD_OUT: &[(&str, &str)] = &[
    ("hey, good to see you", "greeting"),
    ("ok that's all I needed, thank you!", "goodbye"),
    ("any news on order #W8930109?", "order_status"),
    ("is my order still being prepared or has it gone out", "order_status"),
    ("could you share the tracking code for my delivery", "track_shipment"),
    ("please cancel order W7363125, I don't need it anymore", "cancel_order"),
    ("the boots are too small, how can I send them back", "return_item"),
    ("I gave you my old address by mistake, can you fix it", "change_address"),
    ("I can't remember my password and can't get in", "reset_password"),
    ("I still haven't got my money back for the returned lamp", "refund_request"),
    ("how much do you charge for delivery", "shipping_policy"),
    ("how many days do I have to send something back", "returns_policy"),
    ("do you take Google Pay", "payment_methods"),
    ("what time do you open on Saturday", "opening_hours"),
    ("is the rain jacket true to size", "product_question"),
    ("this is ridiculous, I'm so disappointed with your service", "complaint"),
    ("can I talk to an actual person please", "talk_to_human"),
    ("you took money from my card twice for one order", "billing_dispute"),
];

#[test]
fn the_demo_examples_teach_the_intent_model_the_held_out_questions() {
    let ws = Workspace::load(&demo_dir()).unwrap();
    let examples: Vec<baton_nlu::TrainingExample> = ws
        .training_examples()
        .into_iter()
        .map(|(text, intent)| baton_nlu::TrainingExample::new(text, intent))
        .collect();
    let model = baton_nlu::IntentModel::train(&examples, &Default::default()).unwrap();

    let misses: Vec<String> = HELD_OUT
        .iter()
        .filter_map(|(text, want)| {
            let got = model.predict(text);
            let top = got.intents.first().map(|i| i.intent.clone()).unwrap_or_default();
            (top != *want).then(|| format!("{text:?}: wanted {want}, got {top:?}"))
        })
        .collect();
    // The model is another crate's and may change; a miss or two is noise,
    // more means the demo examples need work.
    assert!(misses.len() <= 2, "{misses:#?}");
}

#[test]
fn the_orders_in_the_demo_readme_exist_with_the_customer_and_status_it_gives() {
    let dir = demo_dir();
    let read_json = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    let (users, orders) = (read_json("store/users.json"), read_json("store/orders.json"));
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();

    let mut checked = 0;
    for row in readme.lines().filter(|l| l.starts_with("| ") && l.contains("| #W")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (email, order_id, status) = (cells[2], cells[4], cells[5]);
        let order = &orders[order_id];
        assert_eq!(order["status"], status, "{order_id}");
        let user = &users[order["user_id"].as_str().unwrap()];
        assert_eq!(user["email"], email, "{order_id}");
        checked += 1;
    }
    assert_eq!(checked, 6);
}

/// A small deterministic generator, so the garbage below is the same on
/// every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// Text made of the characters that matter to TOML, JSON, Markdown and
    /// templates, with some multi-byte ones.
    fn garbage(&mut self, len: usize) -> String {
        const PIECES: &[&str] = &[
            "[",
            "]",
            "[[",
            "]]",
            "{",
            "}",
            "=",
            "\"",
            "'",
            "#",
            "\n",
            " ",
            "+++",
            "+++\n",
            "a",
            "name",
            "intent",
            "examples",
            "answer",
            "template",
            "1",
            "-0.5",
            ".",
            ",",
            ":",
            "é",
            "→",
            "\\",
            "true",
            "hours",
            "days",
            "open",
            "#W1234567",
            "```",
        ];
        (0..len).map(|_| PIECES[self.next() as usize % PIECES.len()]).collect()
    }
}

#[test]
fn garbage_in_any_file_gives_problems_and_never_a_panic() {
    let mut rng = Lcg(42);
    let files = [
        "workspace.toml",
        "intents.toml",
        "templates.toml",
        "knowledge/a.md",
        "store/users.json",
        "store/orders.json",
        "store/products.json",
    ];
    for round in 0..60 {
        let dir = valid();
        // Break one file per round, in turn, and sometimes a second one.
        write(dir.path(), files[round % files.len()], &rng.garbage(80));
        if round % 3 == 0 {
            let other = files[rng.next() as usize % files.len()];
            write(dir.path(), other, &rng.garbage(40));
        }
        let _ = Workspace::check(dir.path());
        let _ = Workspace::load(dir.path());
    }
}

#[test]
fn rendering_garbage_templates_gives_errors_and_never_a_panic() {
    let mut rng = Lcg(7);
    for _ in 0..500 {
        let text = rng.garbage(12);
        let mut texts = std::collections::BTreeMap::new();
        texts.insert("t".to_string(), text.clone());
        let templates = Templates::new(texts, Vec::new());
        let rendered = templates.render("t", &[("a", "x".into()), ("name", "y".into())]);
        // Only a well-formed template renders.
        if let Ok(out) = rendered {
            assert!(placeholders(&text).is_ok(), "{text:?} rendered as {out:?}");
        }
    }
}

#[test]
fn a_ca_file_that_is_missing_or_holds_no_certificate_is_reported_with_its_line() {
    let dir = valid();
    let settings = format!("{SETTINGS}[tls]\nca_file = \"certs/internal-ca.pem\"\n");
    write(dir.path(), "workspace.toml", &settings);
    let found = problems(dir.path());
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("workspace.toml:11: ca_file `certs/internal-ca.pem` cannot be read:"),
        "{found:?}"
    );

    write(dir.path(), "certs/internal-ca.pem", "not a certificate\n");
    assert_eq!(
        problems(dir.path()),
        vec![
            "workspace.toml:11: ca_file `certs/internal-ca.pem`: the CA bundle holds no usable \
              certificate: no `BEGIN CERTIFICATE` block was found"
        ]
    );
    assert!(Workspace::load(dir.path()).is_err());
}

#[test]
fn a_tools_backend_over_plain_http_to_another_host_is_reported() {
    let dir = valid();
    let tools = "[backend]\nbase_url = \"http://store.example.com/api\"\n";
    write(dir.path(), "tools.toml", tools);
    assert_eq!(
        problems(dir.path()),
        vec![
            "tools.toml:2: `base_url`: `http://store.example.com/api` must be an https:// URL: \
              plain http is allowed only to a loopback address (127.0.0.1, ::1 or localhost)"
        ]
    );
    write(dir.path(), "tools.toml", "[backend]\nbase_url = \"https://store.example.com/api\"\n");
    assert_eq!(problems(dir.path()), Vec::<String>::new());
}

const PAIR_TOOLS: &str = r#"
[backend]
base_url = "http://127.0.0.1:9"

[[tool]]
name = "get_order"
description = "An order"
kind = "read"
method = "GET"
path = "/orders/{order_id}"
params = { order_id = { type = "string", from = "order_id" } }

[[tool]]
name = "get_product"
description = "A product"
kind = "read"
method = "GET"
path = "/products/{product_id}"
params = { product_id = { type = "string", from = "get_order.items[item_id=item].product_id" } }

[[tool]]
name = "swap"
description = "Swap items"
kind = "write"
method = "POST"
path = "/orders/{order_id}/swap"
requires_confirmation = true
confirm = "I'll swap {lines.new_items.summary}. Shall I?"
params.order_id = { type = "string", from = "order_id" }
params.item_ids = { type = "list", from = "items" }
params.new_item_ids = { type = "list", from = "new_items" }
"#;

/// A flow that swaps several items of an order, each for a variant of its
/// own product; `{EACH}` is replaced by the per-item slot's own settings.
const PAIR_FLOW: &str = r#"
[[flow]]
intent = "greeting"

[[flow.slot]]
name = "order_id"
question = "Which order?"
entity = "order_number"

[[flow.slot]]
name = "items"
question = "Which items?"
lookup = "get_order"
among = "get_order.items"
value = "item_id"
match = "name"
many = true
wider = "get_order.items"
not_in_list = "No {named} in #{order_id}."

[[flow.slot]]
name = "new_items"
question = "Which {get_product.name}?"
{EACH}
lookup = "get_product"
among = "get_product.variants"
value = "item_id"
match = "options"
lines.summary = "the {get_order.items[item_id=item].name} for {get_product.variants[item_id=new_items].options}"

[[flow.step]]
call = "swap"
say = "Done."
stop = true
"#;

fn pair_problems(each: &str, step_say: &str) -> Vec<String> {
    let dir = valid();
    write(dir.path(), "tools.toml", PAIR_TOOLS);
    let flow = PAIR_FLOW.replace("{EACH}", each).replace("say = \"Done.\"", step_say);
    write(dir.path(), "flows.toml", &flow);
    problems(dir.path())
}

#[test]
fn a_slot_picked_per_entry_of_a_list_slot_checks_clean() {
    let problems = pair_problems("each = \"items\"\nas = \"item\"", "say = \"Done.\"");
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn mistakes_in_a_slot_picked_per_entry_are_reported_on_its_line() {
    // The slot `new_items` is named on line 22 of flows.toml; the step's
    // `say` is on line 34.
    let at = "flows.toml:22: flow `greeting`, slot `new_items`";
    let done = "say = \"Done.\"";
    let cases = [
        (
            "each = \"order_id\"\nas = \"item\"",
            done,
            format!(
                "{at}: `each = \"order_id\"` needs slot `order_id` to be a list (`many = true`)"
            ),
        ),
        (
            "each = \"colour\"\nas = \"item\"",
            done,
            format!("{at}: `each = \"colour\"` names no slot defined before this one"),
        ),
        ("each = \"items\"", done, format!("{at}: `each` needs `as`, the name of the entry")),
        (
            "each = \"items\"\nas = \"order_id\"",
            done,
            format!("{at}: `as = \"order_id\"` is already the name of a slot or a value"),
        ),
        ("", done, format!("{at}: `lines` are said per entry of `each`, which is missing")),
        (
            "each = \"items\"\nas = \"item\"",
            "say = \"Done: {lines.new_items.done}.\"",
            "flows.toml:34: flow `greeting`, step 1: `lines.new_items.done`: slot `new_items` \
             has no line `done`"
                .to_string(),
        ),
    ];
    for (each, say, expected) in cases {
        let found = pair_problems(each, say);
        assert!(found.contains(&expected), "{each:?}: {found:?}");
    }
}

#[test]
fn each_broken_table_of_tools_toml_is_told_on_its_line_and_references_to_it_are_not() {
    let dir = valid();
    let tools = PAIR_TOOLS
        .replace(
            "base_url = \"http://127.0.0.1:9\"\n",
            "base_url = \"http://127.0.0.1:9\"\ntimeuot = 5\n",
        )
        .replacen("kind = \"read\"", "kind = \"rread\"", 1)
        .replace("kind = \"write\"", "kind = \"wrote\"");
    write(dir.path(), "tools.toml", &tools);
    let flow = PAIR_FLOW.replace("{EACH}", "each = \"items\"\nas = \"item\"");
    write(dir.path(), "flows.toml", &flow);

    // The flow looks up get_order and calls swap, both broken: neither is
    // told unknown, nor are the references to their answers.
    assert_eq!(
        problems(dir.path()),
        vec![
            "tools.toml:4: unknown field `timeuot`, expected one of `base_url`, `base_url_env`, \
             `timeout_ms`, `secret_env`",
            "tools.toml:9: unknown variant `rread`, expected `read` or `write`",
            "tools.toml:25: unknown variant `wrote`, expected `read` or `write`",
        ]
    );
    assert!(Workspace::load(dir.path()).is_err());
}

#[test]
fn a_broken_slot_or_step_is_told_on_its_line_and_hides_nothing_else() {
    let dir = valid();
    write(dir.path(), "tools.toml", PAIR_TOOLS);
    let flow = PAIR_FLOW
        .replace("{EACH}", "each = \"items\"\nas = \"item\"")
        .replace("entity = \"order_number\"", "entity = \"order_number\"\noptinal = true")
        .replace("call = \"swap\"", "call = \"swap\"\nstop_ = true")
        .replace("stop = true\n", "stop = true\n\n[[flow.step]]\nsay = \"{nothing.here}\"\n");
    write(dir.path(), "flows.toml", &flow);

    // The slot `order_id` and the step calling swap are broken; the step
    // after them is still checked, on the line of its `say`.
    let found = problems(dir.path());
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].starts_with("flows.toml:9: unknown field `optinal`, expected one of"));
    assert!(found[1].starts_with("flows.toml:35: unknown field `stop_`, expected one of"));
    assert_eq!(
        found[2],
        "flows.toml:40: flow `greeting`, step 2: `nothing.here` names `nothing`, which is no \
         slot, no tool called before this step and not `customer`"
    );
}

#[test]
fn a_tools_file_that_is_no_toml_makes_no_tool_unknown() {
    let dir = valid();
    write(dir.path(), "tools.toml", &PAIR_TOOLS.replace("[backend]", "[backend"));
    let flow = PAIR_FLOW.replace("{EACH}", "each = \"items\"\nas = \"item\"");
    write(dir.path(), "flows.toml", &flow);

    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("tools.toml:2: invalid table header"), "{found:?}");
}
