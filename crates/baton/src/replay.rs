//! `baton replay`: recorded conversations through the engine, in process,
//! on a throw-away store; with `--compare`, through two workspaces.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use baton_engine::model::load_or_train;
use baton_engine::replay::{self, ReplayConversation, ReplayReport};
use baton_engine::whatif;
use baton_store::SqliteStore;

use crate::cli::ReplayArgs;

pub async fn run(args: ReplayArgs) -> Result<ExitCode> {
    let input = std::fs::read_to_string(&args.file)
        .with_context(|| format!("while reading {}", args.file.display()))?;
    let conversations =
        replay::parse(&input).with_context(|| format!("while reading {}", args.file.display()))?;

    let report = run_one(&args.workspace, &conversations).await?;
    if let Some(old) = &args.compare {
        let old_report = run_one(old, &conversations)
            .await
            .with_context(|| format!("while replaying under {}", old.display()))?;
        let comparison = whatif::compare(&old_report, &report);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&comparison)?);
        } else {
            println!("old: {}  new: {}", old.display(), args.workspace.display());
            print!("{comparison}");
        }
        return Ok(ExitCode::SUCCESS);
    }

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

/// One replay under one workspace, on its own throw-away store.
async fn run_one(dir: &Path, conversations: &[ReplayConversation]) -> Result<ReplayReport> {
    let workspace = crate::workspace::load(dir)?;
    let (analyzer, _) = load_or_train(&workspace, None).context("while training the model")?;
    let store = SqliteStore::in_memory().await.context("while creating the replay store")?;
    let report =
        replay::run(Arc::new(workspace), Arc::new(analyzer), Arc::new(store), conversations)
            .await?;
    Ok(report)
}
