//! `templates.toml`: the bot's reply texts by id, with `{name}` placeholders.
//!
//! The file is a flat table, `id = "text"`. Write `{{` and `}}` for literal
//! braces. Some ids are required because the engine says those things in
//! every workspace ([`SYSTEM_TEMPLATES`]); each of them may use only the
//! placeholders the engine fills for it, plus the [`GLOBAL_PLACEHOLDERS`]
//! filled from the settings. Every other template (an intent's answer, say)
//! may use the global placeholders and [`ANSWER_PLACEHOLDERS`].

use std::collections::BTreeMap;

use toml::Spanned;

use super::source::{Problem, Source};
use super::WorkspaceError;

/// Placeholders filled in every template from the settings.
pub const GLOBAL_PLACEHOLDERS: &[&str] = &["bot_name", "company"];

/// Placeholders the engine fills in an intent's answer template, from what
/// the conversation knows. The engine passes an empty string for what it
/// does not know; templates should read well either way.
pub const ANSWER_PLACEHOLDERS: &[&str] = &["customer_name", "order_id"];

/// The templates every workspace must have, with the placeholders the engine
/// fills in each, beyond the global ones.
pub const SYSTEM_TEMPLATES: &[(&str, &[&str])] = &[
    ("greeting", &[]),
    ("fallback", &[]),
    ("clarify", &["options"]),
    ("out_of_scope", &[]),
    ("handoff", &[]),
    ("queued", &["position", "wait_minutes", "wait"]),
    ("agent_joined", &["agent_name"]),
    ("csat_request", &[]),
    ("csat_thanks", &[]),
    ("resolved", &[]),
    ("handed_back", &[]),
    ("unsupported_language", &[]),
    ("outside_hours", &["opening"]),
];

/// Reply templates by id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Templates {
    texts: BTreeMap<String, String>,
    /// Values of the global placeholders, filled in every render.
    globals: Vec<(String, String)>,
}

/// A piece of a template: literal text or a placeholder name.
#[derive(Debug, PartialEq)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    /// `{{` or `}}`.
    Brace(char),
    Placeholder(&'a str),
}

impl Templates {
    /// Templates from texts, with the values of the global placeholders.
    pub fn new(texts: BTreeMap<String, String>, globals: Vec<(String, String)>) -> Templates {
        Templates { texts, globals }
    }

    /// The raw text of a template.
    pub fn get(&self, id: &str) -> Option<&str> {
        self.texts.get(id).map(String::as_str)
    }

    /// All template ids, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.texts.keys().map(String::as_str)
    }

    /// A template with its placeholders filled from `values`, then from the
    /// global values. A placeholder with no value is an error, never left
    /// in the text the customer sees.
    pub fn render(&self, id: &str, values: &[(&str, String)]) -> Result<String, WorkspaceError> {
        let text = self.get(id).ok_or_else(|| WorkspaceError::UnknownTemplate(id.to_string()))?;
        let pieces = pieces(text)
            .map_err(|message| WorkspaceError::BadTemplate { id: id.to_string(), message })?;

        let mut out = String::with_capacity(text.len());
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Brace(c) => out.push(c),
                Piece::Placeholder(name) => {
                    let value = values
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| v.as_str())
                        .or_else(|| {
                            self.globals.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
                        })
                        .ok_or_else(|| WorkspaceError::MissingValue {
                            template: id.to_string(),
                            placeholder: name.to_string(),
                        })?;
                    out.push_str(value);
                }
            }
        }
        Ok(out)
    }
}

/// The placeholder names of a template text, in order, or why it is
/// malformed.
pub fn placeholders(text: &str) -> Result<Vec<&str>, String> {
    Ok(pieces(text)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Placeholder(name) => Some(name),
            _ => None,
        })
        .collect())
}

/// Splits a template into pieces.
pub(crate) fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    split(text, false)
}

/// Splits a flow text into pieces, whose placeholders are references
/// (`get_order.items[name=item].price`).
pub(crate) fn reference_pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    split(text, true)
}

/// The references of a flow text, in order, or why it is malformed.
pub fn references(text: &str) -> Result<Vec<&str>, String> {
    Ok(reference_pieces(text)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Placeholder(name) => Some(name),
            _ => None,
        })
        .collect())
}

fn split(text: &str, references: bool) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        if i > 0 {
            out.push(Piece::Text(&rest[..i]));
        }
        let brace = rest.as_bytes()[i] as char;
        let after = &rest[i + 1..];
        if after.starts_with(brace) {
            out.push(Piece::Brace(brace));
            rest = &after[1..];
            continue;
        }
        if brace == '}' {
            return Err("a lone `}`; write `}}` for a literal brace".into());
        }
        let never_closed = || "a `{` is never closed; write `{{` for a literal brace".to_string();
        let end = after.find('}').ok_or_else(never_closed)?;
        if after[..end].contains('{') {
            return Err(never_closed());
        }
        let name = &after[..end];
        let valid = !name.is_empty()
            && name.chars().all(|c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || c == '_'
                    || (references && (c.is_ascii_alphabetic() || ".[]=".contains(c)))
            });
        if !valid && references {
            return Err(format!(
                "`{{{name}}}` is not a reference: use letters, digits, `_`, `.`, `[]` and `=`"
            ));
        }
        if !valid {
            return Err(format!(
                "`{{{name}}}` is not a placeholder: use lower-case letters, digits and `_`"
            ));
        }
        out.push(Piece::Placeholder(name));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// A parsed `templates.toml`: texts and where each one starts.
pub(crate) struct ParsedTemplates {
    /// False when the file is not valid TOML; then nothing else is checked.
    pub valid: bool,
    pub texts: BTreeMap<String, String>,
    pub spans: BTreeMap<String, std::ops::Range<usize>>,
}

/// Parses `templates.toml`, pushing syntax problems.
pub(crate) fn parse(source: &Source, problems: &mut Vec<Problem>) -> ParsedTemplates {
    let mut parsed =
        ParsedTemplates { valid: false, texts: BTreeMap::new(), spans: BTreeMap::new() };
    let raw: BTreeMap<String, Spanned<String>> = match toml::from_str(&source.text) {
        Ok(raw) => raw,
        Err(e) => {
            problems.push(source.toml_error(&e));
            return parsed;
        }
    };
    parsed.valid = true;
    for (id, text) in raw {
        if let Err(message) = pieces(text.get_ref()) {
            problems.push(source.at(text.span(), format!("template `{id}`: {message}")));
        }
        parsed.spans.insert(id.clone(), text.span());
        parsed.texts.insert(id, text.into_inner());
    }
    parsed
}

/// Checks that every system template exists and that every template uses
/// only placeholders the engine can fill.
pub(crate) fn check(source: &Source, parsed: &ParsedTemplates, problems: &mut Vec<Problem>) {
    if !parsed.valid {
        return;
    }
    for (id, _) in SYSTEM_TEMPLATES {
        if !parsed.texts.contains_key(*id) {
            problems.push(source.whole(format!("the required template `{id}` is missing")));
        }
    }

    for (id, text) in &parsed.texts {
        let Ok(names) = placeholders(text) else {
            continue; // already reported by `parse`
        };
        let allowed: Vec<&str> = match SYSTEM_TEMPLATES.iter().find(|(s, _)| s == id) {
            Some((_, own)) => own.iter().chain(GLOBAL_PLACEHOLDERS).copied().collect(),
            None => ANSWER_PLACEHOLDERS.iter().chain(GLOBAL_PLACEHOLDERS).copied().collect(),
        };
        for name in names {
            if !allowed.contains(&name) {
                let msg = format!(
                    "template `{id}` uses `{{{name}}}`, which the engine cannot fill here \
                     (it fills: {})",
                    allowed.join(", ")
                );
                problems.push(source.at(parsed.spans[id].clone(), msg));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn templates() -> Templates {
        let mut texts = BTreeMap::new();
        texts.insert("queued".to_string(), "You are number {position}.".to_string());
        texts.insert("greeting".to_string(), "Hi, I'm {bot_name} from {company}.".to_string());
        texts.insert("braces".to_string(), "Use {{curly}} braces.".to_string());
        let globals = vec![
            ("bot_name".to_string(), "Nova".to_string()),
            ("company".to_string(), "Example Shop".to_string()),
        ];
        Templates::new(texts, globals)
    }

    #[test]
    fn rendering_fills_given_and_global_placeholders() {
        let t = templates();
        assert_eq!(t.render("queued", &[("position", "3".into())]).unwrap(), "You are number 3.");
        assert_eq!(t.render("greeting", &[]).unwrap(), "Hi, I'm Nova from Example Shop.");
        assert_eq!(t.render("braces", &[]).unwrap(), "Use {curly} braces.");
    }

    #[test]
    fn a_given_value_overrides_a_global_one() {
        let t = templates();
        let out = t.render("greeting", &[("bot_name", "Kit".into())]).unwrap();
        assert_eq!(out, "Hi, I'm Kit from Example Shop.");
    }

    #[test]
    fn a_placeholder_without_a_value_is_an_error() {
        let err = templates().render("queued", &[]).unwrap_err();
        assert_eq!(err.to_string(), "template `queued` needs a value for `{position}`");
    }

    #[test]
    fn an_unknown_template_is_an_error() {
        let err = templates().render("nope", &[]).unwrap_err();
        assert_eq!(err.to_string(), "there is no template `nope`");
    }

    #[test]
    fn malformed_templates_are_explained() {
        assert_eq!(placeholders("a {b} c {d}").unwrap(), vec!["b", "d"]);
        assert!(placeholders("open { never").unwrap_err().contains("never closed"));
        assert!(placeholders("lone } here").unwrap_err().contains("lone"));
        assert!(placeholders("{Bad Name}").unwrap_err().contains("not a placeholder"));
    }

    fn check_text(text: &str) -> Vec<String> {
        let source = Source { path: PathBuf::from("templates.toml"), text: text.into() };
        let mut problems = Vec::new();
        let parsed = parse(&source, &mut problems);
        check(&source, &parsed, &mut problems);
        problems.iter().map(|p| p.to_string()).collect()
    }

    fn all_system_templates() -> String {
        SYSTEM_TEMPLATES
            .iter()
            .map(|(id, own)| {
                let fills: String = own.iter().map(|p| format!(" {{{p}}}")).collect();
                format!("{id} = \"text{fills}\"\n")
            })
            .collect()
    }

    #[test]
    fn a_complete_file_has_no_problems() {
        assert_eq!(check_text(&all_system_templates()), Vec::<String>::new());
    }

    #[test]
    fn a_missing_system_template_is_reported() {
        let text = all_system_templates().replace("handoff = \"text\"\n", "");
        assert_eq!(
            check_text(&text),
            vec!["templates.toml: the required template `handoff` is missing"]
        );
    }

    #[test]
    fn a_placeholder_the_engine_cannot_fill_is_reported_on_its_line() {
        let text = format!("{}agent_joined2 = \"x\"\n", all_system_templates())
            .replace("agent_joined = \"text {agent_name}\"", "agent_joined = \"{agent_nme}\"");
        let problems = check_text(&text);
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0],
            "templates.toml:7: template `agent_joined` uses `{agent_nme}`, which the engine \
             cannot fill here (it fills: agent_name, bot_name, company)"
        );
    }

    #[test]
    fn a_non_string_template_is_reported_on_its_line() {
        let problems = check_text("greeting = \"hi\"\nfallback = 3\n");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("templates.toml:2: "), "{problems:?}");
    }
}
