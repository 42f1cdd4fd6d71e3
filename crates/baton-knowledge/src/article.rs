//! One knowledge article: its front matter, its Markdown body, and the
//! sections the body splits into for retrieval.
//!
//! An article file looks like this:
//!
//! ```text
//! +++
//! title = "Shipping"
//! tags = ["delivery"]
//! url = "https://help.example.com/shipping"
//! +++
//! # Shipping
//! Intro paragraph.
//!
//! ## Costs
//! Standard delivery is free over 50 EUR.
//! ```
//!
//! The front matter is optional; without a `title` the first top-level
//! heading is the title, and without that the file name.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::KnowledgeError;

/// The line that opens and closes the front matter.
const FENCE: &str = "+++";

/// A knowledge article as written by the workspace author.
#[derive(Clone, Debug, PartialEq)]
pub struct Article {
    /// The file stem (`shipping` for `knowledge/shipping.md`); stable, so it
    /// is what citations and events refer to.
    pub id: String,
    pub title: String,
    /// Where the customer can read the full article, if it is published.
    pub url: Option<String>,
    pub tags: Vec<String>,
    /// The Markdown text after the front matter.
    pub body: String,
    pub path: PathBuf,
}

/// A part of an article under one heading.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// The heading text, or `None` for the text before the first heading.
    pub heading: Option<String>,
    /// The paragraphs under that heading, each with its lines joined by
    /// single spaces, except that every list item and table row starts a
    /// line of its own (joined by `\n`), so that a list stays a list.
    pub paragraphs: Vec<String>,
}

/// The keys allowed in the front matter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: Option<String>,
    url: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

impl Article {
    /// Reads one article from its text. `path` names the file in errors and
    /// gives the article its id.
    pub fn parse(path: &Path, text: &str) -> Result<Article, KnowledgeError> {
        let id = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let (front, body) = split_front_matter(path, text)?;

        // A title in the front matter wins; else the first `# ` heading; else
        // the id, so that every article can be cited by a readable name.
        let title = front
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or_else(|| first_title(body))
            .unwrap_or_else(|| id.clone());

        Ok(Article {
            id,
            title,
            url: front.url,
            tags: front.tags,
            body: body.to_string(),
            path: path.to_path_buf(),
        })
    }

    /// The body split at Markdown headings, then into paragraphs at blank
    /// lines. Empty sections (a heading directly followed by another) are
    /// kept only when they have text, so a passage is never empty.
    pub fn sections(&self) -> Vec<Section> {
        let mut sections = Vec::new();
        let mut current = Section { heading: None, paragraphs: Vec::new() };
        let mut paragraph: Vec<&str> = Vec::new();
        let mut in_code = false;

        for line in self.body.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with("```") {
                in_code = !in_code;
                continue;
            }
            if !in_code {
                if let Some(heading) = heading_text(trimmed) {
                    flush_paragraph(&mut paragraph, &mut current);
                    let next =
                        Section { heading: Some(heading.to_string()), paragraphs: Vec::new() };
                    let done = std::mem::replace(&mut current, next);
                    if !done.paragraphs.is_empty() {
                        sections.push(done);
                    }
                    continue;
                }
            }
            if trimmed.is_empty() {
                flush_paragraph(&mut paragraph, &mut current);
            } else {
                paragraph.push(trimmed);
            }
        }
        flush_paragraph(&mut paragraph, &mut current);
        if !current.paragraphs.is_empty() {
            sections.push(current);
        }
        sections
    }
}

/// Ends the paragraph being collected and adds it to the section. A line
/// that opens a list item or a table row starts a new line; any other line
/// continues the one before it.
fn flush_paragraph(lines: &mut Vec<&str>, section: &mut Section) {
    if lines.is_empty() {
        return;
    }
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            text.push(if starts_block_line(line) { '\n' } else { ' ' });
        }
        text.push_str(line);
    }
    section.paragraphs.push(text);
    lines.clear();
}

/// Whether a trimmed Markdown line opens a list item (`- `, `* `, `+ `,
/// `1. `, `1) `) or a table row (`| ... `).
pub(crate) fn starts_block_line(line: &str) -> bool {
    list_marker_len(line).is_some() || line.starts_with('|')
}

/// The length of the list marker and its space at the start of a trimmed
/// line, if the line is a list item.
pub(crate) fn list_marker_len(line: &str) -> Option<usize> {
    if ["- ", "* ", "+ "].iter().any(|m| line.starts_with(m)) {
        return Some(2);
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let rest = &line[digits..];
    (digits > 0 && digits <= 3 && (rest.starts_with(". ") || rest.starts_with(") ")))
        .then_some(digits + 2)
}

/// The text of a Markdown ATX heading (`## Costs` gives `Costs`).
fn heading_text(line: &str) -> Option<&str> {
    let hashes = line.chars().take_while(|&c| c == '#').count();
    if hashes == 0 || hashes > 6 {
        return None;
    }
    let rest = &line[hashes..];
    if !rest.starts_with(' ') {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim();
    (!text.is_empty()).then_some(text)
}

/// The first top-level heading of a body, used as the title.
fn first_title(body: &str) -> Option<String> {
    body.lines()
        .map(str::trim)
        .find(|l| l.starts_with("# "))
        .and_then(heading_text)
        .map(str::to_string)
}

/// Separates the front matter from the body. Errors carry the line in the
/// whole file, not in the front matter alone, so authors can jump to it.
fn split_front_matter<'a>(
    path: &Path,
    text: &'a str,
) -> Result<(FrontMatter, &'a str), KnowledgeError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(first_line_end) = text.find('\n') else {
        return Ok((FrontMatter::default(), text));
    };
    if text[..first_line_end].trim_end() != FENCE {
        return Ok((FrontMatter::default(), text));
    }

    let rest = &text[first_line_end + 1..];
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == FENCE {
            let toml_text = &rest[..offset];
            let body = &rest[offset + line.len()..];
            let front = toml::from_str::<FrontMatter>(toml_text).map_err(|e| {
                let at = e.span().map(|s| s.start).unwrap_or(0);
                KnowledgeError::FrontMatter {
                    path: path.to_path_buf(),
                    line: line_of(toml_text, at) + 1,
                    message: e.message().to_string(),
                }
            })?;
            return Ok((front, body));
        }
        offset += line.len();
    }
    Err(KnowledgeError::FrontMatter {
        path: path.to_path_buf(),
        line: 1,
        message: format!("front matter opened with `{FENCE}` is never closed"),
    })
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Article, KnowledgeError> {
        Article::parse(Path::new("kb/shipping.md"), text)
    }

    #[test]
    fn front_matter_gives_title_tags_and_url() {
        let text = "+++\ntitle = \"Delivery\"\ntags = [\"a\", \"b\"]\n\
                    url = \"https://help.example.com/d\"\n+++\nBody text.\n";
        let article = parse(text).unwrap();
        assert_eq!(article.id, "shipping");
        assert_eq!(article.title, "Delivery");
        assert_eq!(article.tags, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(article.url.as_deref(), Some("https://help.example.com/d"));
        assert_eq!(article.body, "Body text.\n");
    }

    #[test]
    fn without_front_matter_the_first_heading_is_the_title() {
        let article = parse("# Shipping costs\n\nFree over 50.\n").unwrap();
        assert_eq!(article.title, "Shipping costs");
        assert_eq!(article.url, None);
        assert!(article.tags.is_empty());
    }

    #[test]
    fn without_any_title_the_file_stem_is_the_title() {
        assert_eq!(parse("Just text.").unwrap().title, "shipping");
    }

    #[test]
    fn an_unknown_front_matter_key_is_reported_with_its_file_line() {
        let err = parse("+++\ntitle = \"x\"\nauthor = \"y\"\n+++\nBody\n").unwrap_err();
        match err {
            KnowledgeError::FrontMatter { line, message, .. } => {
                assert_eq!(line, 3);
                assert!(message.contains("unknown field `author`"), "{message}");
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn an_unclosed_front_matter_is_an_error_not_a_body() {
        let err = parse("+++\ntitle = \"x\"\nBody\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "kb/shipping.md:1: front matter opened with `+++` is never closed"
        );
    }

    #[test]
    fn the_body_splits_into_sections_and_paragraphs() {
        let text = "# Shipping\nWe ship fast.\nVery fast.\n\nSecond.\n\n## Costs\n\
                    Free over 50.\n## Empty\n### Abroad ###\nNot yet.\n";
        let sections = parse(text).unwrap().sections();
        assert_eq!(
            sections,
            vec![
                Section {
                    heading: Some("Shipping".into()),
                    paragraphs: vec!["We ship fast. Very fast.".into(), "Second.".into()],
                },
                Section { heading: Some("Costs".into()), paragraphs: vec!["Free over 50.".into()] },
                Section { heading: Some("Abroad".into()), paragraphs: vec!["Not yet.".into()] },
            ]
        );
    }

    #[test]
    fn list_items_and_table_rows_keep_lines_of_their_own() {
        let text = "Options:\n- **Fast** takes a day\n  and costs more.\n* Slow is free.\n\
                    2. Numbered\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n";
        let sections = parse(text).unwrap().sections();
        assert_eq!(
            sections[0].paragraphs,
            vec![
                "Options:\n- **Fast** takes a day and costs more.\n* Slow is free.\n2. Numbered"
                    .to_string(),
                "| a | b |\n| --- | --- |\n| 1 | 2 |".to_string(),
            ]
        );
    }

    #[test]
    fn a_hash_inside_a_code_block_is_not_a_heading() {
        let text = "Intro.\n```\n# not a heading\n```\n";
        let sections = parse(text).unwrap().sections();
        assert_eq!(sections.len(), 1);
        assert_eq!(sections[0].heading, None);
        assert_eq!(sections[0].paragraphs, vec!["Intro. # not a heading".to_string()]);
    }
}
