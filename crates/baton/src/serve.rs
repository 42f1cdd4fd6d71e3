//! `baton serve`: the start-up steps, in order.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tracing::info;

use baton_core::SystemClock;
use baton_engine::model::versions::Reloader;
use baton_engine::model::{load_for_serving, ModelSource};
use baton_engine::{Bus, Engine, LocalBus};
use baton_server::nats::NatsBus;
use baton_server::webhooks::{self, Retry, Webhooks};
use baton_server::AppState;
use baton_store::{PostgresStore, SqliteStore, Store};

use crate::agent::ensure_demo_agent;
use crate::cli::ServeArgs;

/// The folder of the data folder the demo store's state is saved in.
const DEMO_STORE_STATE: &str = "demo-store.json";

pub async fn run(args: ServeArgs) -> Result<ExitCode> {
    // 1. The workspace, whole and valid, or a list of what to fix.
    let workspace = crate::workspace::load(&args.workspace)?;

    // 2. The store, created on first start; PostgreSQL when a URL is given.
    let store = open_store(&args.data, args.database_url.as_deref()).await?;

    // The bus: NATS between nodes when configured, else in process.
    let bus: Arc<dyn Bus> = match &args.nats_url {
        Some(url) => Arc::new(NatsBus::connect(url, &args.nats_subject).await?),
        None => Arc::new(LocalBus::new()),
    };

    // 3. The language model: the version `baton train` promoted, else the
    //    saved one for these files, or trained now.
    //    With an embedding model folder, models train and load with it.
    crate::embeddings::setup(args.embedding_model.as_deref())?;
    let model_dir = args.data.join("models");
    let started = std::time::Instant::now();
    let (analyzer, source) =
        load_for_serving(&workspace, &model_dir).context("while preparing the intent model")?;
    let in_service = match &source {
        ModelSource::Promoted { version } => Some(version.clone()),
        _ => None,
    };
    match &source {
        ModelSource::Promoted { version } => info!(%version, "promoted intent model loaded"),
        ModelSource::Loaded(file) => info!(file = %file.display(), "intent model loaded"),
        ModelSource::Trained { .. } => info!(
            seconds = started.elapsed().as_secs_f64(),
            examples = workspace.training_examples().len(),
            "intent model trained"
        ),
    }

    // 4. The demo agent, on the first start of a workspace that has one.
    let demo = ensure_demo_agent(store.as_ref(), &workspace).await?;

    // 5. The store backend the tools call: a workspace with its own store
    //    and tools gets the demo store in process on a free loopback port,
    //    unless the environment points the tools somewhere else.
    //    Its state is kept in the data folder, so a restart keeps what the
    //    tools changed; the workspace's `store/` is only the first state.
    let saved = args.data.join(DEMO_STORE_STATE);
    let backend =
        crate::demo_store::start_in_process(&workspace, Some(&saved), shutdown_signal()).await?;

    // 6. The engine and the HTTP app.
    let workspace = Arc::new(workspace);
    let mut engine = Engine::new(
        workspace.clone(),
        Arc::new(analyzer),
        store.clone(),
        Arc::new(SystemClock),
        bus,
    );
    if let Some(url) = &backend {
        engine = engine.with_tool_base_url(url.clone());
    }
    let engine = Arc::new(engine);
    let reloader = Arc::new(Reloader::new(model_dir, in_service));
    let state = AppState::new(engine.clone()).with_learning(baton_server::routes::Learning {
        drafts_dir: args.data.join("drafts"),
        reloader: reloader.clone(),
    });

    // A version promoted while serving is put into service without a restart.
    if args.model_poll_seconds > 0 {
        let every = std::time::Duration::from_secs(args.model_poll_seconds);
        tokio::spawn(reloader.watch(Arc::downgrade(&engine), every));
    }

    // 7. Webhooks, delivered beside the conversations from the engine's bus.
    let endpoints = webhooks::load(&workspace.dir, |name| std::env::var(name).ok())?;
    if !endpoints.is_empty() {
        let tls = &workspace.settings.tls;
        let hooks = Webhooks::new(endpoints, Retry::default(), Some(&args.data), tls)
            .context("while preparing webhook deliveries")?;
        tokio::spawn(Arc::new(hooks).run(engine.bus().subscribe()));
    }

    // 8. The routing sweep: SLA breaches and automatic assignment.
    tokio::spawn(baton_server::sweeper::run(
        engine.clone(),
        baton_server::sweeper::SWEEP_EVERY,
        shutdown_signal(),
    ));

    // 9. Bind, say where everything is, serve until asked to stop.
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("while binding {}", args.listen))?;
    let addr = listener.local_addr().context("while reading the bound address")?;
    println!("Baton is listening on http://{addr}");
    println!("  workspace: {} ({})", workspace.dir.display(), workspace.settings.workspace.company);
    match &args.database_url {
        Some(_) => println!("  data:      PostgreSQL (models in {})", args.data.display()),
        None => println!("  data:      {}", args.data.display()),
    }
    if args.nats_url.is_some() {
        println!("  events:    shared over NATS");
    }
    if let Some(demo) = &demo {
        println!("  demo agent login: {} / {}", demo.email, demo.password);
    }
    if let Some(url) = &backend {
        println!("  demo store: {url} (in process; GET {url}/state shows its data)");
    }
    info!(%addr, "listening");
    baton_server::serve(listener, state, shutdown_signal()).await.context("while serving")?;
    info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// The store every command that reads or writes conversations and agents
/// uses: PostgreSQL when a URL is given (its schema brought up to date), else
/// SQLite in the data folder, created there on first use.
pub async fn open_store(data: &Path, database_url: Option<&str>) -> Result<Arc<dyn Store>> {
    Ok(match database_url {
        Some(url) => {
            Arc::new(PostgresStore::connect(url).await.context("while connecting to PostgreSQL")?)
        }
        None => Arc::new(
            SqliteStore::open(data)
                .await
                .with_context(|| format!("while opening the data folder {}", data.display()))?,
        ),
    })
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    info!("shutting down");
}
