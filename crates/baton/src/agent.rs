//! `baton agent add|list`, and the demo agent created on first start.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use baton_core::{AgentId, Clock, SystemClock};
use baton_engine::workspace::{DemoAgent, Workspace};
use baton_server::auth::hash_password;
use baton_store::{Agent, AgentRole, AgentStatus, Store, StoreError};

use crate::cli::{AgentArgs, AgentCommand};
use crate::serve::open_store;

/// The shortest password accepted for an agent account; the same rule the
/// workspace check applies to the demo agent.
const MIN_PASSWORD_CHARS: usize = baton_engine::workspace::DEMO_MIN_PASSWORD_CHARS;

pub async fn run(args: AgentArgs) -> Result<ExitCode> {
    match args.command {
        AgentCommand::Add {
            data,
            database_url,
            email,
            name,
            password_env,
            role,
            capacity,
            skills,
            hours,
        } => {
            if database_url.is_none() {
                require_data_folder(&data)?;
            }
            let role = AgentRole::parse(&role)
                .with_context(|| format!("`--role` must be agent or supervisor, got `{role}`"))?;
            let password = match password_env {
                Some(var) => std::env::var(&var)
                    .with_context(|| format!("the environment variable `{var}` is not set"))?,
                None => read_password_from_stdin()?,
            };
            let store = open_store(&data, database_url.as_deref()).await?;
            let mut agent = new_agent(&email, &name, &password, role, capacity)?;
            agent.skills = baton_engine::routing::clean_skills(&skills)
                .map_err(|e| anyhow::anyhow!("`--skills`: {e}"))?;
            if let Some(hours) = hours {
                baton_engine::routing::parse_working_hours(&hours)
                    .map_err(|e| anyhow::anyhow!("`--hours`: {e}"))?;
                agent.working_hours = Some(hours.trim().to_string());
            }
            match store.create_agent(&agent).await {
                Ok(()) => {}
                Err(StoreError::DuplicateEmail(email)) => {
                    bail!("an agent with e-mail `{email}` already exists")
                }
                Err(other) => return Err(other).context("while adding the agent"),
            }
            println!("added {} <{}> as {} ({})", agent.name, agent.email, role.as_str(), agent.id);
            Ok(ExitCode::SUCCESS)
        }
        AgentCommand::List { data, database_url, json } => {
            if database_url.is_none() {
                require_data_folder(&data)?;
            }
            let store = open_store(&data, database_url.as_deref()).await?;
            let agents = store.agents().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&agents)?);
            } else {
                println!(
                    "{:<36}  {:<28}  {:<24}  {:<10}  {:<7}  {:<8}  skills",
                    "id", "email", "name", "role", "status", "capacity"
                );
                for a in &agents {
                    println!(
                        "{:<36}  {:<28}  {:<24}  {:<10}  {:<7}  {:<8}  {}",
                        a.id.to_string(),
                        a.email,
                        a.name,
                        a.role.as_str(),
                        a.status.as_str(),
                        a.capacity,
                        a.skills.join(",")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The data folder must exist already: opening a mistyped path would create
/// a new, empty database there and the agent would be added to nothing the
/// server reads. An existing empty folder is fine (agents may be added
/// before the first `baton serve`).
fn require_data_folder(data: &Path) -> Result<()> {
    if data.is_dir() {
        return Ok(());
    }
    if data.exists() {
        bail!("the data folder `{}` is a file, not a folder", data.display());
    }
    bail!(
        "the data folder `{}` does not exist; check the path, or create it with \
         `baton serve --data {}` (run once) or `mkdir -p {}`",
        data.display(),
        data.display(),
        data.display()
    )
}

/// The first line of standard input, without its line break.
fn read_password_from_stdin() -> Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut input)
        .context("while reading the password from standard input")?;
    Ok(input.lines().next().unwrap_or("").to_string())
}

fn new_agent(
    email: &str,
    name: &str,
    password: &str,
    role: AgentRole,
    capacity: u32,
) -> Result<Agent> {
    let email = email.trim().to_lowercase();
    if !baton_engine::engine::looks_like_email(&email) {
        bail!("`--email` is not an e-mail address: `{email}`");
    }
    let name = name.trim();
    if name.is_empty() {
        bail!("`--name` must not be empty");
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        bail!("the password must be at least {MIN_PASSWORD_CHARS} characters");
    }
    if capacity == 0 {
        bail!("`--capacity` must be at least 1");
    }
    let password_hash =
        hash_password(password).map_err(|e| anyhow::anyhow!("while hashing the password: {e}"))?;
    Ok(Agent {
        id: AgentId::new(),
        email,
        name: name.to_string(),
        password_hash,
        role,
        status: AgentStatus::Offline,
        capacity,
        skills: vec!["en".into()],
        working_hours: None,
        created_at: SystemClock.now(),
    })
}

/// Create the workspace's demo agent if it has one and it does not exist.
/// Returns the demo login to print.
pub async fn ensure_demo_agent(
    store: &dyn Store,
    workspace: &Workspace,
) -> Result<Option<DemoAgent>> {
    let Some(demo) = workspace.settings.demo.clone() else { return Ok(None) };
    if store.agent_by_email(&demo.email.to_lowercase()).await?.is_none() {
        let mut agent =
            new_agent(&demo.email, &demo.name, &demo.password, AgentRole::Supervisor, 5)?;
        // One login shows the whole demo: the demo agent can take every
        // queue, so no escalation is told that nobody is online while they are.
        for queue in &workspace.settings.queue.queues {
            if let Some(skill) = &queue.skill {
                if !agent.skills.contains(skill) {
                    agent.skills.push(skill.clone());
                }
            }
        }
        match store.create_agent(&agent).await {
            // Another node created it at the same moment: fine.
            Ok(()) | Err(StoreError::DuplicateEmail(_)) => {}
            Err(other) => return Err(other).context("while creating the demo agent"),
        }
    }
    Ok(Some(demo))
}
