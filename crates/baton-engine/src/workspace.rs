//! Loading and checking a workspace folder: the settings, intents, reply
//! templates, knowledge articles and demo store that make one company's
//! bot. The format is described in `docs/workspace.md`.
//!
//! ```text
//! workspace.toml      settings (see [`Settings`])
//! intents.toml        intents with examples and answers (see [`IntentDef`])
//! templates.toml      reply templates by id (see [`Templates`])
//! knowledge/*.md      articles (see [`baton_knowledge::Article`])
//! store/*.json        the demo store: users, orders, products
//! tools.toml          HTTP tools and their guardrails (optional)
//! flows.toml          flows per intent and identity checks (optional)
//! ```
//!
//! [`Workspace::check`] reports every problem with its file and line, for
//! `baton workspace check`; [`Workspace::load`] refuses a workspace with any
//! problem, so that a running server never works from half a configuration.

mod actions;
mod intents;
mod queues;
mod settings;
mod source;
mod store;
pub(crate) mod templates;

use std::path::{Path, PathBuf};

use baton_knowledge::{Article, Hit, KnowledgeBase};
use sha2::{Digest, Sha256};

pub use actions::{
    parse_condition, path_placeholders, ActionMessages, Actions, ApprovalLimit, Backend, Condition,
    FlowDef, IdentityDef, Op, Operand, ParamDef, ParamType, SlotDef, StepDef, ToolDef, ToolKind,
    ENTITY_KINDS,
};
pub use intents::{Answer, IntentDef, MIN_EXAMPLES};
pub use queues::{Assignment, QueueConfig, DEFAULT_SLA_MINUTES};
pub(crate) use settings::parse_days;
pub use settings::{
    BusinessHours, DemoAgent, EscalationSettings, KnowledgeSettings, LifecycleSettings,
    NluSettings, OpeningPeriod, QueueSettings, ReportSettings, Settings, WorkspaceSettings,
    DEMO_MIN_PASSWORD_CHARS,
};
pub use source::Problem;
pub use store::ORDER_STATUSES;
pub use templates::{
    placeholders, Templates, ANSWER_PLACEHOLDERS, GLOBAL_PLACEHOLDERS, SYSTEM_TEMPLATES,
};

use source::Source;

/// Why a workspace could not be loaded or a template not rendered.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The workspace has problems; the first is named, all are listed by
    /// [`Workspace::check`].
    #[error("{first}{}", more_note(*.total))]
    Invalid { first: Problem, total: usize },

    #[error("there is no template `{0}`")]
    UnknownTemplate(String),

    #[error("template `{template}` needs a value for `{{{placeholder}}}`")]
    MissingValue { template: String, placeholder: String },

    #[error("template `{id}` is malformed: {message}")]
    BadTemplate { id: String, message: String },
}

fn more_note(total: usize) -> String {
    match total {
        0 | 1 => String::new(),
        n => format!(" (and {} more; `baton workspace check` lists them all)", n - 1),
    }
}

/// A loaded, checked workspace. Immutable once loaded; share it behind an
/// `Arc`, or clone it (articles and index included) for a replay.
#[derive(Clone, Debug)]
pub struct Workspace {
    /// The folder it was loaded from.
    pub dir: PathBuf,
    pub settings: Settings,
    /// In file order.
    pub intents: Vec<IntentDef>,
    pub templates: Templates,
    pub knowledge: KnowledgeBase,
    /// Product names of the store catalogue, sorted; empty without a store.
    pub products: Vec<String>,
    /// Tools, flows and their guardrails; empty without tools.toml and
    /// flows.toml.
    pub actions: Actions,
    /// SHA-256 over the files read, computed once at load.
    fingerprint: String,
}

impl Workspace {
    /// Loads a workspace, or fails with its first problem.
    pub fn load(dir: &Path) -> Result<Workspace, WorkspaceError> {
        let (workspace, problems) = build(dir);
        let total = problems.len();
        match (workspace, problems.into_iter().next()) {
            (Some(workspace), None) => Ok(workspace),
            (_, Some(first)) => Err(WorkspaceError::Invalid { first, total }),
            // `build` gives no workspace only together with a problem.
            (None, None) => Err(WorkspaceError::Invalid {
                first: Problem {
                    file: dir.to_path_buf(),
                    line: None,
                    message: "workspace could not be loaded".into(),
                },
                total: 1,
            }),
        }
    }

    /// Every problem of a workspace, grouped by file (settings, intents,
    /// templates, articles, store, then those between files); empty when
    /// the workspace loads.
    pub fn check(dir: &Path) -> Vec<Problem> {
        build(dir).1
    }

    /// Every example as `(text, intent name)`, for training the intent model.
    pub fn training_examples(&self) -> Vec<(String, String)> {
        self.intents
            .iter()
            .flat_map(|i| i.examples.iter().map(|e| (e.clone(), i.name.clone())))
            .collect()
    }

    /// A hex SHA-256 over the names and contents of every file the workspace
    /// was loaded from, so that a trained model can say which workspace
    /// version it was trained on. Stable across machines and load order.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    /// The settings the language layer reads this workspace's messages with:
    /// its order patterns, catalogue, locale and time zone, the language of
    /// the locale as the one the model is trained on, and the workspace's
    /// out-of-scope threshold (which overrides the model's own, so that the
    /// number that decided is the one written in `workspace.toml`).
    pub fn analyzer_config(&self) -> baton_nlu::AnalyzerConfig {
        let w = &self.settings.workspace;
        let language = w.locale.split('-').next().unwrap_or("en").to_ascii_lowercase();
        baton_nlu::AnalyzerConfig {
            order_patterns: self.settings.nlu.order_patterns.clone(),
            products: self.products.clone(),
            locale: w.locale.clone(),
            timezone: w.timezone.name().to_string(),
            languages: vec![language],
            out_of_scope_threshold: Some(self.settings.nlu.out_of_scope_threshold),
        }
    }

    /// The knowledge passages good enough to answer a question with: at most
    /// `[knowledge] max_hits`, each covering at least `min_coverage` of the
    /// question's content words. Empty means "do not answer from knowledge".
    pub fn knowledge_hits(&self, question: &str) -> Vec<Hit> {
        let wanted = self.settings.knowledge.max_hits;
        let min_coverage = self.settings.knowledge.min_coverage;
        self.knowledge
            .search(question, wanted)
            .into_iter()
            .filter(|hit| hit.coverage >= min_coverage)
            .collect()
    }

    /// An intent by name.
    pub fn intent(&self, name: &str) -> Option<&IntentDef> {
        self.intents.iter().find(|i| i.name == name)
    }

    /// Whether an intent always goes to a person: marked `human_only` in
    /// `intents.toml` or listed in `[escalation] human_only_intents` (both
    /// end up in [`IntentDef::human_only`]). False for an unknown intent.
    pub fn is_human_only(&self, intent: &str) -> bool {
        self.intent(intent).is_some_and(|i| i.human_only)
    }
}

/// Reads every file, collecting problems as it goes; the workspace is built
/// only when the required files could be read.
fn build(dir: &Path) -> (Option<Workspace>, Vec<Problem>) {
    let mut problems = Vec::new();
    if !dir.is_dir() {
        problems.push(Problem {
            file: dir.to_path_buf(),
            line: None,
            message: "workspace folder not found".into(),
        });
        return (None, problems);
    }
    let folder_name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "workspace".into());
    let mut sources = Vec::new();

    // Step 1: each required file on its own.
    let settings_src = read(&dir.join("workspace.toml"), &mut problems);
    let intents_src = read(&dir.join("intents.toml"), &mut problems);
    let templates_src = read(&dir.join("templates.toml"), &mut problems);

    let (settings, human_only_spans) = match &settings_src {
        Some(src) => settings::parse(src, &folder_name, &mut problems),
        None => (Settings::default(), None),
    };
    let human_only =
        human_only_spans.as_ref().map(|_| settings.escalation.human_only_intents.as_slice());
    let parsed_intents =
        intents_src.as_ref().map(|src| intents::parse(src, human_only, &mut problems));
    let parsed_templates = templates_src.as_ref().map(|src| {
        let parsed = templates::parse(src, &mut problems);
        templates::check(src, &parsed, &mut problems);
        parsed
    });

    // Step 2: the knowledge articles, each reported on its own.
    let articles = read_articles(&dir.join("knowledge"), &mut sources, &mut problems);

    // Step 3: the store.
    let products = store::parse(&dir.join("store"), &mut sources, &mut problems);

    // Step 4: the tools and flows, both optional.
    let tools_src = read_optional(&dir.join("tools.toml"), &mut problems);
    let flows_src = read_optional(&dir.join("flows.toml"), &mut problems);
    let intent_names: Vec<String> = parsed_intents
        .as_ref()
        .map(|p| p.intents.iter().map(|i| i.name.clone()).collect())
        .unwrap_or_default();
    let actions =
        actions::parse(tools_src.as_ref(), flows_src.as_ref(), &intent_names, &mut problems);
    sources.extend([tools_src, flows_src].into_iter().flatten());

    // Step 5: what one file says about another.
    if let (Some(src), Some(intents)) = (&intents_src, &parsed_intents) {
        let templates = parsed_templates.as_ref().filter(|t| t.valid);
        check_answers(src, intents, templates, !articles.is_empty(), &mut problems);
    }
    if let (Some(src), Some(intents), Some(spans)) =
        (&settings_src, &parsed_intents, &human_only_spans)
    {
        for (name, span, key) in spans {
            if !intents.intents.iter().any(|i| &i.name == name) {
                let msg = format!("{key} names unknown intent `{name}`");
                problems.push(src.at(span.clone(), msg));
            }
        }
    }

    let (Some(settings_src), Some(intents_src), Some(templates_src)) =
        (settings_src, intents_src, templates_src)
    else {
        return (None, problems);
    };
    sources.extend([settings_src, intents_src, templates_src]);

    let globals = vec![
        ("bot_name".to_string(), settings.workspace.bot_name.clone()),
        ("company".to_string(), settings.workspace.company.clone()),
    ];
    let workspace = Workspace {
        dir: dir.to_path_buf(),
        fingerprint: fingerprint(dir, &sources),
        settings,
        intents: parsed_intents.map(|p| p.intents).unwrap_or_default(),
        templates: Templates::new(parsed_templates.map(|t| t.texts).unwrap_or_default(), globals),
        knowledge: KnowledgeBase::from_articles(articles),
        products,
        actions,
    };
    (Some(workspace), problems)
}

/// Each intent's answer can be given: its template exists and uses only
/// placeholders an answer gets, or there are articles to answer from.
/// `templates` is `None` when templates.toml could not be read, so that a
/// broken file does not make every reference look wrong.
fn check_answers(
    src: &Source,
    intents: &intents::ParsedIntents,
    templates: Option<&templates::ParsedTemplates>,
    has_articles: bool,
    problems: &mut Vec<Problem>,
) {
    // A system template may need values that only its own moment provides
    // (a queue position, say), so an answer is held to the answer set.
    let allowed: Vec<&str> =
        ANSWER_PLACEHOLDERS.iter().chain(GLOBAL_PLACEHOLDERS).copied().collect();

    for (intent, span) in intents.intents.iter().zip(&intents.answer_spans) {
        let name = &intent.name;
        match &intent.answer {
            Answer::Template(id) => {
                let Some(templates) = templates else {
                    continue;
                };
                let Some(text) = templates.texts.get(id) else {
                    let msg = format!(
                        "intent `{name}` answers with template `{id}`, which templates.toml \
                         does not define"
                    );
                    problems.push(src.at(span.clone(), msg));
                    continue;
                };
                let used = placeholders(text).unwrap_or_default();
                for placeholder in used.into_iter().filter(|p| !allowed.contains(p)) {
                    let msg = format!(
                        "intent `{name}` answers with template `{id}`, which uses \
                         `{{{placeholder}}}`; an answer can only use {}",
                        allowed.join(", ")
                    );
                    problems.push(src.at(span.clone(), msg));
                }
            }
            Answer::Knowledge if !has_articles => {
                let msg = format!(
                    "intent `{name}` answers from knowledge, but knowledge/ has no articles"
                );
                problems.push(src.at(span.clone(), msg));
            }
            Answer::Knowledge => {}
        }
    }
}

/// A file that a workspace may leave out.
fn read_optional(path: &Path, problems: &mut Vec<Problem>) -> Option<Source> {
    path.exists().then(|| read(path, problems)).flatten()
}

fn read(path: &Path, problems: &mut Vec<Problem>) -> Option<Source> {
    Source::read(path).map_err(|p| problems.push(p)).ok()
}

/// Every `*.md` file of the knowledge folder, sorted by name; a missing
/// folder has none.
fn read_articles(
    dir: &Path,
    sources: &mut Vec<Source>,
    problems: &mut Vec<Problem>,
) -> Vec<Article> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "md"))
        .collect();
    paths.sort();

    let mut articles = Vec::new();
    for path in paths {
        let Some(source) = read(&path, problems) else {
            continue;
        };
        match Article::parse(&path, &source.text) {
            Ok(article) => articles.push(article),
            Err(baton_knowledge::KnowledgeError::FrontMatter { line, message, .. }) => {
                problems.push(Problem { file: path.clone(), line: Some(line), message });
            }
            Err(other) => problems.push(source.whole(other.to_string())),
        }
        sources.push(source);
    }
    articles
}

/// SHA-256 over `(relative path, length, content)` of every file, sorted by
/// relative path so the result does not depend on read order.
fn fingerprint(dir: &Path, sources: &[Source]) -> String {
    let mut files: Vec<(String, &str)> = sources
        .iter()
        .map(|s| {
            let relative = s.path.strip_prefix(dir).unwrap_or(&s.path);
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            (name, s.text.as_str())
        })
        .collect();
    files.sort();

    let mut hasher = Sha256::new();
    for (name, text) in files {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
