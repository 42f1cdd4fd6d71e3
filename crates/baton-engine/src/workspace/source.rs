//! The text of one workspace file and the problems found in it, with byte
//! offsets turned into the line numbers an author sees in an editor.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One thing wrong with a workspace, where it is and what to do about it.
/// Serialises as `{"file", "line", "message"}` for `--json` output.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The file, as a path under the workspace folder.
    pub file: PathBuf,
    /// The 1-based line, when the problem sits on one.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// A file read into memory, so that every check can point into it.
#[derive(Debug)]
pub(crate) struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    /// Reads a file; a missing or unreadable file becomes a problem.
    pub fn read(path: &Path) -> Result<Source, Problem> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Source { path: path.to_path_buf(), text }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Problem {
                file: path.to_path_buf(),
                line: None,
                message: "file is missing".into(),
            }),
            Err(e) => Err(Problem {
                file: path.to_path_buf(),
                line: None,
                message: format!("cannot read file: {e}"),
            }),
        }
    }

    /// A problem at a byte span of this file.
    pub fn at(&self, span: Range<usize>, message: impl Into<String>) -> Problem {
        Problem {
            file: self.path.clone(),
            line: Some(line_of(&self.text, span.start)),
            message: message.into(),
        }
    }

    /// A problem about the file as a whole.
    pub fn whole(&self, message: impl Into<String>) -> Problem {
        Problem { file: self.path.clone(), line: None, message: message.into() }
    }

    /// A TOML syntax or shape error, at the line its span points to.
    pub fn toml_error(&self, error: &toml::de::Error) -> Problem {
        Problem {
            file: self.path.clone(),
            line: error.span().map(|s| line_of(&self.text, s.start)),
            message: error.message().trim().to_string(),
        }
    }

    /// A problem on the first line that contains `needle`, or about the file
    /// when no line does (JSON values carry no spans).
    pub fn at_text(&self, needle: &str, message: impl Into<String>) -> Problem {
        match self.text.find(needle) {
            Some(offset) => self.at(offset..offset, message),
            None => self.whole(message),
        }
    }
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_one_based_lines() {
        let text = "a\nbb\nccc";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, 2), 2);
        assert_eq!(line_of(text, 5), 3);
        assert_eq!(line_of(text, 999), 3);
    }

    #[test]
    fn a_problem_reads_file_colon_line_colon_message() {
        let problem = Problem {
            file: PathBuf::from("ws/intents.toml"),
            line: Some(7),
            message: "duplicate intent".into(),
        };
        assert_eq!(problem.to_string(), "ws/intents.toml:7: duplicate intent");
        let whole = Problem { line: None, ..problem };
        assert_eq!(whole.to_string(), "ws/intents.toml: duplicate intent");
    }
}
