//! `baton demo-store`: the demo store backend on its own port, loaded from a
//! folder of `users.json`, `orders.json` and `products.json`.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tracing::info;

use baton_demo_store::StoreData;

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
