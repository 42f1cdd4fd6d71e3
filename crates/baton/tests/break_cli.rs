//! Black-box regressions found by breaking the command line: `workspace
//! check`, `replay`, `agent`, `eval`. Each test asserts the correct
//! behaviour; the ones that fail today are ignored with the bug they pin
//! down.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use common::{copy_dir, demo_workspace};

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

#[test]
fn agent_add_and_list_refuse_a_data_folder_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let mistyped = dir.path().join("baton-dta");
    let expected = format!(
        "error: the data folder `{0}` does not exist; check the path, or create it with \
         `baton serve --data {0}` (run once) or `mkdir -p {0}`",
        mistyped.display()
    );

    let add = baton()
        .args(["agent", "add", "--email", "pat@example.com", "--name", "Pat"])
        .args(["--password-env", "PW", "--data"])
        .arg(&mistyped)
        .env("PW", "long enough secret")
        .output()
        .unwrap();
    let list = baton().args(["agent", "list", "--data"]).arg(&mistyped).output().unwrap();

    for output in [add, list] {
        assert!(!output.status.success());
        assert_eq!(String::from_utf8_lossy(&output.stderr).trim(), expected);
    }
    assert!(!mistyped.exists(), "a folder was created for the mistyped path");
}

#[test]
fn agent_add_refuses_markup_in_the_email_address() {
    let data = tempfile::tempdir().unwrap();

    let output = baton()
        .args(["agent", "add", "--email", "<script>@example.com", "--name", "Pat"])
        .args(["--password-env", "PW", "--data"])
        .arg(data.path())
        .env("PW", "long enough secret")
        .output()
        .unwrap();

    assert!(!output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "error: `--email` is not an e-mail address: `<script>@example.com`"
    );
}

#[test]
fn eval_names_the_file_it_cannot_read_and_says_why_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing_train = dir.path().join("train.csv");
    let missing_test = dir.path().join("test.csv");
    let present = dir.path().join("present.csv");
    std::fs::write(&present, "text,category\nhi,greeting\n").unwrap();
    let eval = |args: &[&std::ffi::OsStr]| {
        let output = baton().args(["eval"]).args(args).output().unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        stderr.lines().last().unwrap_or_default().to_string()
    };
    // What the system says of a missing file, said once in each message.
    let why = std::fs::read(&missing_train).unwrap_err();

    let both_missing = eval(&[
        "intents".as_ref(),
        "--train".as_ref(),
        missing_train.as_os_str(),
        "--test".as_ref(),
        missing_test.as_os_str(),
    ]);
    assert_eq!(
        both_missing,
        format!("error: cannot read the training file {}: {why}", missing_train.display())
    );

    let test_missing = eval(&[
        "intents".as_ref(),
        "--train".as_ref(),
        present.as_os_str(),
        "--test".as_ref(),
        missing_test.as_os_str(),
    ]);
    assert_eq!(
        test_missing,
        format!("error: cannot read the test file {}: {why}", missing_test.display())
    );

    let sentiment_missing =
        eval(&["sentiment".as_ref(), "--data".as_ref(), missing_train.as_os_str()]);
    assert_eq!(
        sentiment_missing,
        format!("error: cannot read the data file {}: {why}", missing_train.display())
    );
}

#[test]
fn replay_refuses_a_csv_whose_quote_is_never_closed_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rows.csv");
    std::fs::write(&file, "text\nwhere is my order?\n\"unterminated\n").unwrap();

    let output = replay_json(&file);

    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stdout));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        format!(
            "error: while reading {}: line 3: a quoted field is never closed (a `\"` is missing)",
            file.display()
        )
    );
}

/// The 1-based line of the `nth` (from 0) `needle` in a file.
fn line_of(file: &Path, needle: &str, nth: usize) -> usize {
    let text = std::fs::read_to_string(file).unwrap();
    let (at, _) = text.match_indices(needle).nth(nth).expect("the needle is in the file");
    text[..at].matches('\n').count() + 1
}

/// What `baton workspace check` printed, one problem a line.
fn problem_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect()
}

#[test]
fn an_unknown_backend_key_is_the_only_problem_told() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = broken_demo(dir.path(), "tools.toml", |t| {
        t.replacen("timeout_ms = 3000\n", "timeout_ms = 3000\ntimeuot = 5\n", 1)
    });
    let tools = workspace.join("tools.toml");

    let output = check(&workspace);

    assert!(!output.status.success());
    assert_eq!(
        problem_lines(&output),
        [format!(
            "{}:{}: unknown field `timeuot`, expected one of `base_url`, `base_url_env`, \
             `timeout_ms`, `secret_env`",
            tools.display(),
            line_of(&tools, "timeuot", 0)
        )]
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr).trim(), "1 problem found");
}

#[test]
fn every_broken_tool_is_told_on_its_line_and_no_flow_calls_it_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = broken_demo(dir.path(), "tools.toml", |t| {
        t.replace("kind = \"write\"", "kind = \"wrote\"")
    });
    let tools = workspace.join("tools.toml");
    let writes = std::fs::read_to_string(&tools).unwrap().matches("kind = \"wrote\"").count();
    assert!(writes >= 5, "the demo has {writes} write tools");

    let output = check(&workspace);

    assert!(!output.status.success());
    let expected: Vec<String> = (0..writes)
        .map(|n| {
            format!(
                "{}:{}: unknown variant `wrote`, expected `read` or `write`",
                tools.display(),
                line_of(&tools, "kind = \"wrote\"", n)
            )
        })
        .collect();
    assert_eq!(problem_lines(&output), expected);
}

#[test]
fn a_step_calling_an_unknown_tool_is_told_on_the_line_of_its_call() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = broken_demo(dir.path(), "flows.toml", |t| {
        t.replace("call = \"send_password_reset\"", "call = \"send_pasword_reset\"")
    });
    let flows = workspace.join("flows.toml");

    let output = check(&workspace);

    assert!(!output.status.success());
    let expected = format!(
        "{}:{}: flow `reset_password`, step 1 calls unknown tool `send_pasword_reset`",
        flows.display(),
        line_of(&flows, "call = \"send_pasword_reset\"", 0)
    );
    assert_eq!(problem_lines(&output).first(), Some(&expected));
}

#[test]
fn serve_refuses_a_workspace_with_a_broken_tool() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = broken_demo(dir.path(), "tools.toml", |t| {
        t.replacen("kind = \"write\"", "kind = \"wrote\"", 1)
    });
    let data = dir.path().join("data");

    let mut child = baton()
        .args(["serve", "--listen", "127.0.0.1:0", "--workspace"])
        .arg(&workspace)
        .arg("--data")
        .arg(&data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It refuses at once; a server that started anyway is stopped here.
    let mut status = None;
    for _ in 0..300 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if status.is_none() {
        child.kill().unwrap();
    }
    let output = child.wait_with_output().unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tools = workspace.join("tools.toml");
    let told = format!(
        "{}:{}: unknown variant `wrote`, expected `read` or `write`",
        tools.display(),
        line_of(&tools, "kind = \"wrote\"", 0)
    );
    assert!(stderr.contains("is not valid"), "{stderr}");
    assert!(stderr.lines().any(|l| l == told), "{stderr}");
}
