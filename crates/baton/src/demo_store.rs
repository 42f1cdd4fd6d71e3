//! `baton demo-store`: the demo store backend on its own port, loaded from a
//! folder of `users.json`, `orders.json` and `products.json`; and the same
//! store started in process for a workspace's tools, by `baton serve` and
//! `baton replay`.

use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tracing::info;

use baton_demo_store::StoreData;
use baton_engine::workspace::Workspace;

use crate::cli::DemoStoreArgs;

pub async fn run(args: DemoStoreArgs) -> Result<ExitCode> {
    // 1. The data, whole, or the file that is wrong; a saved state wins.
    let data = match &args.state {
        Some(file) => StoreData::load_with_state(&args.data, file),
        None => StoreData::load(&args.data),
    };
    let data =
        data.with_context(|| format!("while loading the store from {}", args.data.display()))?;
    let counts = (data.users.len(), data.orders.len(), data.products.len());

    // 2. Bind and say where it is.
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("while binding {}", args.listen))?;
    let addr = listener.local_addr().context("while reading the bound address")?;
    println!("Demo store listening on http://{addr}");
    let from = match &args.state {
        Some(file) if file.exists() => file.display().to_string(),
        _ => args.data.display().to_string(),
    };
    println!("  {} users, {} orders, {} products from {from}", counts.0, counts.1, counts.2);
    if let Some(file) = &args.state {
        println!("  changes are saved to {}", file.display());
    }
    info!(%addr, "demo store listening");

    // 3. Serve until Ctrl-C; the state lives in memory unless --state.
    let store = Arc::new(Mutex::new(data));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    baton_demo_store::serve(listener, store, shutdown).await.context("while serving")?;
    Ok(ExitCode::SUCCESS)
}

/// Starts the demo store of a workspace that has `store/` and tools, in
/// this process on a free loopback port, and returns its URL; `None` when
/// there is none or the environment variable the tools name sends them to
/// another backend. With `saved`, the state is read from that file when it
/// exists and written to it after each change (serving); without, it is a
/// fresh copy of `store/` in memory (a replay). It stops when `shutdown`
/// completes.
pub async fn start_in_process(
    workspace: &Workspace,
    saved: Option<&Path>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Option<String>> {
    let backend = &workspace.actions.backend;
    let overridden = backend.base_url_env.as_ref().is_some_and(|v| std::env::var(v).is_ok());
    let dir = workspace.dir.join("store");
    if workspace.actions.tools.is_empty() || overridden || !dir.is_dir() {
        return Ok(None);
    }
    let data = match saved {
        Some(file) => StoreData::load_with_state(&dir, file),
        None => StoreData::load(&dir),
    };
    let data =
        data.with_context(|| format!("while loading the demo store from {}", dir.display()))?;
    let listener =
        TcpListener::bind("127.0.0.1:0").await.context("while binding the demo store")?;
    let addr = listener.local_addr().context("while reading the demo store's address")?;
    let store = Arc::new(Mutex::new(data));
    tokio::spawn(async move {
        let serving = baton_demo_store::serve(listener, store, shutdown);
        if let Err(err) = serving.await {
            tracing::error!(error = %err, "the demo store stopped");
        }
    });
    Ok(Some(format!("http://{addr}")))
}
