//! The `baton` command: start the server, manage agents, replay recorded
//! conversations, evaluate the language models, check a workspace, serve
//! the demo store.

mod agent;
mod cli;
mod demo_store;
mod embeddings;
mod eval;
mod replay;
mod report;
mod serve;
mod train;
mod workspace;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Agent(args) => agent::run(args).await,
            Command::Replay(args) => replay::run(args).await,
            Command::Workspace(args) => workspace::run(args),
            Command::Eval(args) => eval::run(args),
            Command::Report(args) => report::run(args).await,
            Command::Audit(args) => report::audit(args).await,
            Command::DemoStore(args) => demo_store::run(args).await,
            Command::Train(args) => train::run(args).await,
            Command::Models(args) => train::models(args),
        }
    });

    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs go to standard error; `RUST_LOG` overrides the level the flags set.
fn init_logging(cli: &Cli) {
    let default = if cli.verbose { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
