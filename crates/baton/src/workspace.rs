//! `baton workspace check`, and loading a workspace for the other commands
//! with every problem listed when it is not valid.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};

use baton_engine::workspace::Workspace;

use crate::cli::{WorkspaceArgs, WorkspaceCommand};

pub fn run(args: WorkspaceArgs) -> Result<ExitCode> {
    match args.command {
        WorkspaceCommand::Check { dir } => {
            let problems = Workspace::check(&dir);
            if problems.is_empty() {
                println!("{}: ok", dir.display());
                return Ok(ExitCode::SUCCESS);
            }
            for problem in &problems {
                println!("{problem}");
            }
            let n = problems.len();
            eprintln!("{n} problem{} found", if n == 1 { "" } else { "s" });
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Load a workspace, or fail with every problem it has.
pub fn load(dir: &Path) -> Result<Workspace> {
    if !dir.is_dir() {
        bail!(
            "the workspace folder `{}` does not exist; pass --workspace DIR \
             (the demo is workspaces/demo in the repository)",
            dir.display()
        );
    }
    match Workspace::load(dir) {
        Ok(workspace) => Ok(workspace),
        Err(_) => {
            let problems = Workspace::check(dir);
            let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
            bail!("the workspace `{}` is not valid:\n{}", dir.display(), listed.join("\n"))
        }
    }
}
