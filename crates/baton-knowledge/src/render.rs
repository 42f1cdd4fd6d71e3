//! Turning a retrieved passage into the plain text of a chat reply.
//!
//! Articles are Markdown; a chat bubble shows text, never HTML and never
//! Markdown. So a reply keeps the shape a reader needs (each list item and
//! table row on a line of its own, the section heading as context) and
//! drops the markup (emphasis, inline code, link syntax).

use crate::article::list_marker_len;
use crate::Hit;

impl Hit {
    /// The passage as plain text for a customer, led by its section
    /// heading unless the passage is the article's opening, whose heading
    /// is the title the reply cites anyway. The heading matters: "We ship
    /// to Canada only" means something else without "International
    /// shipping" in front of it.
    pub fn answer_text(&self) -> String {
        let body = plain_text(&self.passage);
        let heading = self
            .section
            .as_deref()
            .map(|h| plain_inline(h.trim()))
            .filter(|h| !h.is_empty() && !h.eq_ignore_ascii_case(self.title.trim()));
        let Some(heading) = heading else {
            return body;
        };
        let opens_with_list = self.passage.lines().next().is_some_and(|l| {
            let l = l.trim_start();
            list_marker_len(l).is_some() || l.starts_with('|')
        });
        if heading.ends_with(['?', '!', '.', ':']) {
            format!("{heading}\n{body}")
        } else if opens_with_list {
            format!("{heading}:\n{body}")
        } else {
            format!("{heading}: {body}")
        }
    }
}

/// Markdown passage text as plain lines: list items start with a bullet,
/// numbered items keep their number, table rows become their cells joined
/// by ` | ` (the line under the header row is dropped), and inline markup
/// is removed from every line.
pub fn plain_text(markdown: &str) -> String {
    let mut lines = Vec::new();
    for line in markdown.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('|') {
            let cells: Vec<String> =
                line.trim_matches('|').split('|').map(|c| plain_inline(c.trim())).collect();
            // The row of dashes under a table's header carries no text.
            if cells.iter().all(|c| c.chars().all(|ch| matches!(ch, '-' | ':' | ' '))) {
                continue;
            }
            lines.push(cells.join(" | "));
            continue;
        }
        match list_marker_len(line) {
            Some(n) if !line.as_bytes()[0].is_ascii_digit() => {
                lines.push(format!("• {}", plain_inline(&line[n..])));
            }
            _ => lines.push(plain_inline(line)),
        }
    }
    lines.join("\n")
}

/// One line without inline Markdown: `**strong**`, `*em*`, `__strong__`,
/// `_em_` and `` `code` `` lose their markers, `[text](url)` becomes
/// `text (url)` and `![alt](url)` becomes `alt`. A `*` between spaces
/// ("2 * 3") and an `_` inside a word (`order_id`) are text and stay.
pub fn plain_inline(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '!' if chars.get(i + 1) == Some(&'[') => {
                if let Some((text, _url, next)) = link_at(&chars, i + 1) {
                    out.push_str(&plain_inline(&text));
                    i = next;
                    continue;
                }
                out.push(c);
            }
            '[' => {
                if let Some((text, url, next)) = link_at(&chars, i) {
                    out.push_str(&plain_inline(&text));
                    if !url.is_empty() && url != text {
                        out.push_str(&format!(" ({url})"));
                    }
                    i = next;
                    continue;
                }
                out.push(c);
            }
            '`' => {}
            '*' | '_' => {
                let before = i.checked_sub(1).map(|j| chars[j]);
                let mut run = i;
                while run < chars.len() && chars[run] == c {
                    run += 1;
                }
                let after = chars.get(run).copied();
                let word = |ch: Option<char>| ch.is_some_and(char::is_alphanumeric);
                let space = |ch: Option<char>| ch.is_none_or(char::is_whitespace);
                let is_text = if c == '_' {
                    word(before) && word(after)
                } else {
                    space(before) && space(after)
                };
                if is_text {
                    out.extend(&chars[i..run]);
                }
                i = run;
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// A link `[text](url)` starting at `open` (the `[`): its text, its URL and
/// the index after the closing `)`.
fn link_at(chars: &[char], open: usize) -> Option<(String, String, usize)> {
    let close = open + chars[open..].iter().position(|&c| c == ']')?;
    if chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let end = close + 1 + chars[close + 1..].iter().position(|&c| c == ')')?;
    let text: String = chars[open + 1..close].iter().collect();
    let url: String = chars[close + 2..end].iter().collect();
    Some((text, url.trim().to_string(), end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(section: Option<&str>, passage: &str) -> Hit {
        Hit {
            article_id: "shipping".into(),
            title: "Shipping and delivery".into(),
            section: section.map(str::to_string),
            passage: passage.into(),
            score: 1.0,
            coverage: 1.0,
        }
    }

    #[test]
    fn a_list_becomes_one_line_per_item_without_emphasis_markers() {
        let passage = "Costs depend on the option:\n\
                       - **Standard delivery** takes 3 to 5 days.\n\
                       - **Express delivery** takes 1 to 2 days.";
        assert_eq!(
            plain_text(passage),
            "Costs depend on the option:\n\
             • Standard delivery takes 3 to 5 days.\n\
             • Express delivery takes 1 to 2 days."
        );
    }

    #[test]
    fn numbered_items_keep_their_numbers_and_tables_lose_their_rule() {
        let passage = "1. Pack it\n2) Send it\n| EU | US |\n| --- | :-: |\n| 40 | 7 |";
        assert_eq!(plain_text(passage), "1. Pack it\n2) Send it\nEU | US\n40 | 7");
    }

    #[test]
    fn inline_markup_is_dropped_but_plain_symbols_stay() {
        assert_eq!(
            plain_inline("Use `code` and _care_, see [the page](https://x.example/p)."),
            "Use code and care, see the page (https://x.example/p)."
        );
        assert_eq!(
            plain_inline("![logo](l.png) 2 * 3 = 6 and order_id"),
            "logo 2 * 3 = 6 and order_id"
        );
        assert_eq!(plain_inline("__strong__ and *em*"), "strong and em");
        assert_eq!(plain_inline("[not a link] (x)"), "[not a link] (x)");
    }

    #[test]
    fn the_answer_keeps_its_section_heading_as_context() {
        let h = hit(Some("International shipping"), "We currently ship to Canada only.");
        assert_eq!(h.answer_text(), "International shipping: We currently ship to Canada only.");
    }

    #[test]
    fn the_opening_of_an_article_is_quoted_without_repeating_the_title() {
        let h = hit(Some("Shipping and delivery"), "We ship to every address.");
        assert_eq!(h.answer_text(), "We ship to every address.");
        assert_eq!(hit(None, "We ship.").answer_text(), "We ship.");
    }

    #[test]
    fn a_heading_before_a_list_or_ending_in_a_question_mark_stands_on_its_own_line() {
        let h = hit(Some("**Options**"), "- Standard\n- Express");
        assert_eq!(h.answer_text(), "Options:\n• Standard\n• Express");
        let h = hit(Some("Can I collect?"), "No.");
        assert_eq!(h.answer_text(), "Can I collect?\nNo.");
    }
}
