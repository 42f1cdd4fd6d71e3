//! `baton replay`: recorded conversations through the engine, in process,
//! on a throw-away store.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use baton_engine::model::load_or_train;
use baton_engine::replay;
use baton_store::SqliteStore;

use crate::cli::ReplayArgs;

pub async fn run(args: ReplayArgs) -> Result<ExitCode> {
    let workspace = crate::workspace::load(&args.workspace)?;
    let input = std::fs::read_to_string(&args.file)
        .with_context(|| format!("while reading {}", args.file.display()))?;
    let conversations =
        replay::parse(&input).with_context(|| format!("while reading {}", args.file.display()))?;

    let (analyzer, _) = load_or_train(&workspace, None).context("while training the model")?;
    let store = SqliteStore::in_memory().await.context("while creating the replay store")?;
    let report =
        replay::run(Arc::new(workspace), Arc::new(analyzer), Arc::new(store), &conversations)
            .await?;

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}
