//! The command line as typed: flags with their defaults and environment
//! variables, parsed by clap. Each subcommand resolves them in its module.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "Customer support with an AI first responder and a warm handoff to people"
)]
pub struct Cli {
    /// Log debug detail (RUST_LOG overrides).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server: API, WebSocket and web pages.
    Serve(ServeArgs),
    /// Manage agent accounts in a data folder.
    Agent(AgentArgs),
    /// Run recorded conversations through the engine and print what the AI did.
    Replay(ReplayArgs),
    /// Check a workspace folder and report every problem with file and line.
    Workspace(WorkspaceArgs),
    /// Serve a demo store backend (users, orders, products) over HTTP.
    DemoStore(DemoStoreArgs),
}

#[derive(Args)]
pub struct DemoStoreArgs {
    /// The folder holding users.json, orders.json and products.json.
    #[arg(long)]
    pub data: PathBuf,
    /// The address to listen on; port 0 picks a free port and prints it.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
}

#[derive(Args)]
pub struct ServeArgs {
    /// The workspace folder (settings, intents, templates, knowledge).
    #[arg(long, env = "BATON_WORKSPACE", default_value = "workspaces/demo")]
    pub workspace: PathBuf,
    /// Where the SQLite database and trained models live.
    #[arg(long, env = "BATON_DATA", default_value = "baton-data")]
    pub data: PathBuf,
    /// The address to listen on; port 0 picks a free port and prints it.
    #[arg(long, env = "BATON_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

#[derive(Args)]
pub struct AgentArgs {
    #[command(subcommand)]
    pub command: AgentCommand,
}

#[derive(Subcommand)]
pub enum AgentCommand {
    /// Add an agent. The password is read from standard input unless
    /// --password-env names a variable holding it.
    Add {
        #[arg(long, env = "BATON_DATA", default_value = "baton-data")]
        data: PathBuf,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// The environment variable holding the password.
        #[arg(long)]
        password_env: Option<String>,
        /// `agent` or `supervisor`.
        #[arg(long, default_value = "agent")]
        role: String,
        /// How many conversations the agent takes at once.
        #[arg(long, default_value_t = 3)]
        capacity: u32,
    },
    /// List the agents.
    List {
        #[arg(long, env = "BATON_DATA", default_value = "baton-data")]
        data: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct ReplayArgs {
    /// The workspace to replay against.
    #[arg(long, env = "BATON_WORKSPACE", default_value = "workspaces/demo")]
    pub workspace: PathBuf,
    /// Baton JSONL, role-prefixed transcripts (JSONL with `messages_display`)
    /// or a CSV with a `text` column.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct WorkspaceArgs {
    #[command(subcommand)]
    pub command: WorkspaceCommand,
}

#[derive(Subcommand)]
pub enum WorkspaceCommand {
    /// Validate every file of a workspace.
    Check {
        /// The workspace folder.
        dir: PathBuf,
    },
}
