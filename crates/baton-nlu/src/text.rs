//! Normalisation and tokenisation shared by the features, the sentiment
//! scorer, the cues and the language detector, so that they all agree on
//! what a "word" is.

/// Whether a character is an emoji or a pictograph that carries meaning on
/// its own (as opposed to the joiners and modifiers inside a sequence).
pub fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F300..=0x1F5FF | 0x1F600..=0x1F64F | 0x1F680..=0x1F6FF | 0x1F900..=0x1F9FF
        | 0x1FA70..=0x1FAFF | 0x2600..=0x26FF | 0x2700..=0x27BF | 0x1F1E6..=0x1F1FF
        | 0x2B50 | 0x2B55 | 0x203C | 0x2049)
}

/// Joiners, variation selectors and skin-tone modifiers: parts of an emoji
/// sequence that carry no meaning by themselves.
pub fn is_emoji_modifier(c: char) -> bool {
    matches!(c as u32, 0x200D | 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF | 0x20E3 | 0xE0020..=0xE007F)
}

/// A token of a message, with its byte span in the original text.
#[derive(Clone, Debug, PartialEq)]
pub struct Token<'a> {
    /// The token as typed.
    pub raw: &'a str,
    pub start: usize,
    pub kind: TokenKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// Letters, digits and inner apostrophes ("don't", "W1234567").
    Word,
    /// One emoji (a multi-code-point sequence is one token).
    Emoji,
    /// A run of punctuation ("!!!", "?!", ":)").
    Punct,
}

/// Splits a message into words, emoji and punctuation runs. Emoji glued to
/// words ("thanks😡") come out as separate tokens; whitespace is dropped.
pub fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut iter = text.char_indices().peekable();
    while let Some((start, c)) = iter.next() {
        if c.is_whitespace() || is_emoji_modifier(c) {
            continue;
        }
        let mut end = start + c.len_utf8();
        let kind = if c.is_alphanumeric() {
            while let Some(&(i, n)) = iter.peek() {
                let inner_quote = (n == '\'' || n == '’')
                    && text[i + n.len_utf8()..].chars().next().is_some_and(|a| a.is_alphabetic());
                if n.is_alphanumeric() || inner_quote {
                    end = i + n.len_utf8();
                    iter.next();
                } else {
                    break;
                }
            }
            TokenKind::Word
        } else if is_emoji(c) {
            // Keep a sequence (flag pairs, joiners, modifiers) as one emoji.
            while let Some(&(i, n)) = iter.peek() {
                let joined = text[..i].ends_with('\u{200D}');
                let flag_pair = (0x1F1E6..=0x1F1FF).contains(&(c as u32))
                    && (0x1F1E6..=0x1F1FF).contains(&(n as u32))
                    && end - start == c.len_utf8();
                if is_emoji_modifier(n) || (joined && is_emoji(n)) || flag_pair {
                    end = i + n.len_utf8();
                    iter.next();
                } else {
                    break;
                }
            }
            TokenKind::Emoji
        } else {
            while let Some(&(i, n)) = iter.peek() {
                if !n.is_whitespace() && !n.is_alphanumeric() && !is_emoji(n) {
                    end = i + n.len_utf8();
                    iter.next();
                } else {
                    break;
                }
            }
            TokenKind::Punct
        };
        out.push(Token { raw: &text[start..end], start, kind });
    }
    out
}

/// Lower-cases a word and folds the typographic apostrophe, so that
/// "Don’t" and "don't" are the same word.
pub fn fold(word: &str) -> String {
    let mut s = String::with_capacity(word.len());
    for c in word.chars() {
        if c == '’' {
            s.push('\'');
        } else {
            s.extend(c.to_lowercase());
        }
    }
    s
}

/// The lower-cased words of a message, without punctuation or emoji.
pub fn words(text: &str) -> Vec<String> {
    tokens(text).into_iter().filter(|t| t.kind == TokenKind::Word).map(|t| fold(t.raw)).collect()
}

/// Whether a word is written in capitals ("NEVER"), ignoring one-letter
/// words and words without letters.
pub fn is_shouted(word: &str) -> bool {
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    letters >= 2 && word.chars().all(|c| !c.is_lowercase())
}

/// Cuts a string to at most `max` bytes on a character boundary.
pub fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_glued_to_a_word_is_its_own_token() {
        let t = tokens("thanks😡!!");
        let raws: Vec<_> = t.iter().map(|t| t.raw).collect();
        assert_eq!(raws, vec!["thanks", "😡", "!!"]);
        assert_eq!(t[1].kind, TokenKind::Emoji);
    }

    #[test]
    fn a_joined_emoji_sequence_is_one_token() {
        let t = tokens("ok 👍🏽 and 👨‍👩‍👧 done");
        let raws: Vec<_> = t.iter().map(|t| t.raw).collect();
        assert_eq!(raws, vec!["ok", "👍🏽", "and", "👨‍👩‍👧", "done"]);
    }

    #[test]
    fn inner_apostrophes_stay_in_the_word() {
        assert_eq!(words("Don’t 'quote' me"), vec!["don't", "quote", "me"]);
    }

    #[test]
    fn shouted_words_are_told_from_short_ones() {
        assert!(is_shouted("NEVER"));
        assert!(!is_shouted("I"));
        assert!(!is_shouted("Never"));
    }

    #[test]
    fn clip_respects_character_boundaries() {
        assert_eq!(clip("héllo", 2), "h");
    }
}
