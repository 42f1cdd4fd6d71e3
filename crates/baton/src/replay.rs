//! `baton replay`: recorded conversations through the engine, in process,
//! on a throw-away store; with `--compare`, through two workspaces.
//!
//! The tools call the workspace's demo store started in process, a fresh
//! copy each run, when the workspace has one and no URL overrides it;
//! otherwise the backend the workspace or the environment names, with its
//! writes withheld unless `--allow-writes`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use baton_engine::model::load_or_train;
use baton_engine::replay::{self, ReplayConversation, ReplayOptions, ReplayReport};
use baton_engine::tools::Writes;
use baton_engine::whatif;
use baton_store::SqliteStore;

use crate::cli::ReplayArgs;

pub async fn run(args: ReplayArgs) -> Result<ExitCode> {
    let input = std::fs::read_to_string(&args.file)
        .with_context(|| format!("while reading {}", args.file.display()))?;
    let conversations =
        replay::parse(&input).with_context(|| format!("while reading {}", args.file.display()))?;

    let report = run_one(&args.workspace, &conversations, args.allow_writes).await?;
    if let Some(old) = &args.compare {
        let old_report = run_one(old, &conversations, args.allow_writes)
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
async fn run_one(
    dir: &Path,
    conversations: &[ReplayConversation],
    allow_writes: bool,
) -> Result<ReplayReport> {
    let workspace = crate::workspace::load(dir)?;
    let (analyzer, _) = load_or_train(&workspace, None).context("while training the model")?;
    let store = SqliteStore::in_memory().await.context("while creating the replay store")?;

    // The tools' backend: the workspace's demo store as `baton serve` starts
    // it, but a fresh copy that lives as long as this replay, so its writes
    // change nothing outside; else the configured backend, whose writes are
    // sent only when asked for.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopped = async {
        let _ = stopped.await;
    };
    let demo = crate::demo_store::start_in_process(&workspace, None, stopped).await?;
    let options = match demo {
        Some(url) => {
            eprintln!(
                "tools: the demo store of {}, a fresh copy in process; writes are sent to it",
                workspace.dir.join("store").display()
            );
            ReplayOptions { tool_base_url: Some(url), writes: Writes::Send, ..Default::default() }
        }
        None if workspace.actions.tools.is_empty() => ReplayOptions::default(),
        None if allow_writes => {
            eprintln!("tools: {}; writes are sent (--allow-writes)", backend_name(&workspace));
            ReplayOptions { writes: Writes::Send, ..Default::default() }
        }
        None => {
            eprintln!(
                "tools: {}; writes are withheld (--allow-writes sends them)",
                backend_name(&workspace)
            );
            ReplayOptions { writes: Writes::Withhold, ..Default::default() }
        }
    };

    let report = replay::run(
        Arc::new(workspace),
        Arc::new(analyzer),
        Arc::new(store),
        conversations,
        &options,
    )
    .await?;
    // The in-process store, if any, stops with the replay.
    drop(stop);
    Ok(report)
}

/// Where the tools go: the environment variable's value or the file's URL.
fn backend_name(workspace: &baton_engine::workspace::Workspace) -> String {
    let backend = &workspace.actions.backend;
    let from_env = backend.base_url_env.as_ref().and_then(|v| std::env::var(v).ok());
    from_env.or_else(|| backend.base_url.clone()).unwrap_or_else(|| "no backend URL".into())
}
