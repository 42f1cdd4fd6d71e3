//! `baton train` and `baton models`: build a model version from the
//! workspace's examples plus the accepted relabels in the data folder's
//! conversations, compare it with the one in service, promote it if it is
//! not worse; and list the versions.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{ModelsArgs, TrainArgs};
use crate::serve::open_store;
use baton_engine::feedback;
use baton_engine::model::versions::{self, Manifest};

/// The exit code when the new version was built but not promoted.
const NOT_PROMOTED: u8 = 2;

pub async fn run(args: TrainArgs) -> Result<ExitCode> {
    let workspace = crate::workspace::load(&args.workspace)?;
    crate::embeddings::setup(args.embedding_model.as_deref())?;

    // The accepted relabels, from the conversations' logs.
    // A data folder without a database (`baton.db`, the file the SQLite
    // store keeps) has no feedback yet; opening it would create one.
    let has_store = args.database_url.is_some() || args.data.join("baton.db").is_file();
    let events = if has_store {
        let store = open_store(&args.data, args.database_url.as_deref()).await?;
        store.events_between(None, None).await.context("while reading the event log")?
    } else {
        Vec::new()
    };
    let relabels = feedback::accepted_relabels(&feedback::records(&events));
    let (examples, used, skipped) = versions::combine(&workspace, &relabels);

    // Nothing new since the version in service: another build would be a
    // copy of it, so none is made unless forced.
    let models_dir = args.data.join("models");
    let force = args.force;
    if !force {
        if let Some(in_service) = versions::in_service_with_same_data(&models_dir, &examples)
            .with_context(|| format!("while reading {}", models_dir.display()))?
        {
            let message = unchanged_text(&in_service);
            if args.json {
                let body = serde_json::json!({
                    "built": false,
                    "in_service": in_service,
                    "message": message,
                });
                println!("{}", serde_json::to_string_pretty(&body)?);
            } else {
                println!("{message}");
            }
            return Ok(ExitCode::SUCCESS);
        }
    }

    // Training is seconds of CPU work; keep it off the async threads.
    let report = tokio::task::spawn_blocking(move || {
        versions::train_version(&models_dir, &workspace, examples, used, skipped, force)
    })
    .await
    .context("the training task failed")?
    .context("while training the model version")?;

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", train_text(&report));
    }
    Ok(if report.manifest.promoted { ExitCode::SUCCESS } else { ExitCode::from(NOT_PROMOTED) })
}

/// The one line `baton train` prints when it builds nothing.
fn unchanged_text(in_service: &Manifest) -> String {
    format!(
        "Nothing to build: the version in service, {}, was trained on the same data \
         (training sha256 {}); --force builds a new version anyway.",
        in_service.version,
        in_service.training_sha256.chars().take(16).collect::<String>()
    )
}

fn train_text(report: &versions::TrainReport) -> String {
    let m = &report.manifest;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Built model version {} from {} workspace examples and {} accepted relabels \
         ({} skipped: intent no longer in the workspace).",
        m.version, m.examples.workspace, m.examples.feedback, report.skipped_feedback
    );
    let _ = writeln!(out, "Held-out examples: {} (by text hash, about 1 in 5)", m.examples.heldout);
    let old = m.compared_with.clone().unwrap_or_else(|| "workspace examples".into());
    let _ = writeln!(
        out,
        "  in service ({old}): accuracy {:.3}  macro F1 {:.3}",
        m.baseline.accuracy, m.baseline.macro_f1
    );
    let _ = writeln!(
        out,
        "  new ({}): accuracy {:.3}  macro F1 {:.3}",
        m.version, m.heldout.accuracy, m.heldout.macro_f1
    );
    let verdict = match (m.promoted, report.not_worse) {
        (true, true) => format!("Promoted {}: it scores no worse.", m.version),
        (true, false) => format!("Promoted {} with --force although it scores worse.", m.version),
        _ => format!(
            "Not promoted: {} scores worse than the model in service (--force promotes it).",
            m.version
        ),
    };
    let _ = writeln!(out, "{verdict}");
    out
}

pub fn models(args: ModelsArgs) -> Result<ExitCode> {
    let list = versions::list(&args.data.join("models"))
        .with_context(|| format!("while reading {}", args.data.join("models").display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        print!("{}", models_text(&list));
    }
    Ok(ExitCode::SUCCESS)
}

fn models_text(list: &[Manifest]) -> String {
    if list.is_empty() {
        return "No model versions yet; `baton train` builds one.\n".into();
    }
    let mut out = String::from(
        "version  created (UTC)     examples  feedback  heldout  accuracy  macro_f1  \
         baseline  promoted  training sha256\n",
    );
    for m in list {
        let _ = writeln!(
            out,
            "{:<8} {:<17} {:>8}  {:>8}  {:>7}  {:>8.3}  {:>8.3}  {:>8.3}  {:<8}  {}",
            m.version,
            m.created_at.format("%Y-%m-%d %H:%M"),
            m.examples.total,
            m.examples.feedback,
            m.examples.heldout,
            m.heldout.accuracy,
            m.heldout.macro_f1,
            m.baseline.accuracy,
            if m.promoted { "yes" } else { "no" },
            m.training_sha256.chars().take(16).collect::<String>(),
        );
    }
    out
}
