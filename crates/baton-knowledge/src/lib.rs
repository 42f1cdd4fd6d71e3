//! Knowledge articles of a workspace, indexed for retrieval, so that the AI
//! answers from the company's own text and cites where it came from.
//!
//! The crate owns four steps: reading articles from Markdown files with an
//! optional TOML front matter ([`article`]), turning text into index terms
//! ([`text`]), ranking passages with BM25 ([`index`]) and turning a passage
//! into the plain text of a chat reply ([`render`]). It does not decide
//! whether a hit is good enough to show a customer: every [`Hit`] carries its
//! score and the share of the query it covers, and the engine sets the bar.
//!
//! Article text is data. Nothing in an article is ever read as an instruction
//! to the AI; it is only matched, quoted and cited.

pub mod article;
pub mod index;
pub mod render;
pub mod text;

use std::path::PathBuf;

pub use article::Article;
pub use index::{Hit, KnowledgeBase};

/// Why a knowledge folder or article could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// The folder or a file in it could not be read from disk.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The front matter of an article is not valid TOML or has unknown keys.
    #[error("{}:{line}: {message}", path.display())]
    FrontMatter {
        path: PathBuf,
        /// 1-based line in the article file.
        line: usize,
        message: String,
    },
}
