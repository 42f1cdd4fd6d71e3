//! `baton eval`: measure the language models on labelled files, as a table
//! or as JSON. The measuring itself lives in `baton_nlu::eval`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};

use baton_nlu::eval::{self, IntentEvalOptions};
use baton_nlu::{EmbeddingMode, NluError};

/// When `eval intents` computes the embedding of a message.
#[derive(Clone, Copy, ValueEnum)]
pub enum Mode {
    Always,
    Cascade,
}

#[derive(Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    pub command: EvalCommand,
}

#[derive(Subcommand)]
pub enum EvalCommand {
    /// Train an intent model on one file and test it on another. Files are
    /// CSV with `text,category` columns, or JSON with `[text, label]` lists
    /// under `train`/`oos_train` and `test`/`oos_test` (else `val`/`oos_val`).
    Intents {
        #[arg(long)]
        train: PathBuf,
        #[arg(long)]
        test: PathBuf,
        /// Call a message out of scope below this top probability
        /// (default: the model's own, 0.3).
        #[arg(long)]
        threshold: Option<f32>,
        /// Train with sentence embeddings from this model folder (else
        /// BATON_EMBEDDING_MODEL; without either, the lexical model alone).
        #[arg(long, value_name = "DIR")]
        embedding_model: Option<PathBuf>,
        /// With embeddings: compute them for every message (`always`) or
        /// only when the lexical model is unsure (`cascade`).
        #[arg(long, value_enum, default_value = "cascade")]
        embeddings: Mode,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Score a sentiment ground-truth file (`id<TAB>rating<TAB>text`, -4..4).
    Sentiment {
        #[arg(long)]
        data: PathBuf,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: EvalArgs) -> Result<ExitCode> {
    match args.command {
        EvalCommand::Intents { train, test, threshold, embedding_model, embeddings, json } => {
            let encoder = crate::embeddings::setup(embedding_model.as_deref())?;
            let mode = match embeddings {
                Mode::Always => EmbeddingMode::Always,
                Mode::Cascade => EmbeddingMode::Cascade,
            };
            let opts = IntentEvalOptions {
                out_of_scope_threshold: threshold,
                encoder,
                mode,
                ..Default::default()
            };
            let files = [(train.as_path(), "training file"), (test.as_path(), "test file")];
            let report = eval::run_intent_eval(&train, &test, &opts)
                .map_err(|e| explain(e, &files, "while evaluating intents"))?;
            print(&report, json)
        }
        EvalCommand::Sentiment { data, json } => {
            let report = eval::run_sentiment_eval(&data)
                .map_err(|e| explain(e, &[(&data, "data file")], "while evaluating sentiment"))?;
            print(&report, json)
        }
    }
}

/// An evaluation error as one message. A file that cannot be read is named
/// with its role (`files`: each path with what it is); the reason is said
/// once, from the I/O error itself, since the language layer's own message
/// already quotes it and the error chain would repeat it.
fn explain(error: NluError, files: &[(&Path, &str)], doing: &str) -> anyhow::Error {
    match error {
        NluError::Io { path, source } => {
            let role = files.iter().find(|(p, _)| *p == path).map_or("file", |(_, role)| *role);
            anyhow::Error::new(source).context(format!("cannot read the {role} {}", path.display()))
        }
        other => anyhow::Error::new(other).context(doing.to_string()),
    }
}

fn print<R: serde::Serialize + std::fmt::Display>(report: &R, json: bool) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}
