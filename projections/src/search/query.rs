//! The search box's syntax: words, `"phrases in quotes"` and `-excluded` words.
//! Anything else that could be meant as syntax but is not well formed (an
//! unclosed quote, a lone `-`, an empty phrase) is refused with the reason,
//! never guessed at.

use crate::Error;

/// The longest search text accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most words, phrases and exclusions in one search.
pub const MAX_CLAUSES: usize = 16;

/// One part of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// Must match, typos forgiven (by its length).
    Word(String),
    /// Must match these words in this order, exactly.
    Phrase(String),
    /// Must not match.
    Excluded(String),
}

/// Splits `text` into clauses, or says why it cannot.
pub fn parse(text: &str) -> Result<Vec<Clause>, Error> {
    let invalid = |reason: String| Error::InvalidSearch(reason);
    let length = text.chars().count();
    if length > MAX_QUERY_CHARS {
        return Err(invalid(format!(
            "the search is {length} characters long; at most {MAX_QUERY_CHARS} are allowed"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid("the search contains control characters".into()));
    }
    let mut clauses = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        if let Some(after_quote) = rest.strip_prefix('"') {
            let end = after_quote.find('"').ok_or_else(|| {
                invalid("a quote is not closed: phrases are written \"like this\"".into())
            })?;
            let phrase = after_quote[..end].trim();
            if phrase.is_empty() {
                return Err(invalid(
                    "an empty phrase (\"\") searches for nothing".into(),
                ));
            }
            clauses.push(Clause::Phrase(phrase.to_owned()));
            rest = &after_quote[end + 1..];
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            let word = &rest[..end];
            match word.strip_prefix('-') {
                Some("") => {
                    return Err(invalid(
                        "a '-' must be followed by the word to exclude, as in -plastic".into(),
                    ))
                }
                Some(excluded) => clauses.push(Clause::Excluded(excluded.to_owned())),
                None => clauses.push(Clause::Word(word.to_owned())),
            }
            rest = &rest[end..];
        }
        rest = rest.trim_start();
    }
    if clauses.len() > MAX_CLAUSES {
        return Err(invalid(format!(
            "the search has {} words and phrases; at most {MAX_CLAUSES} are allowed",
            clauses.len()
        )));
    }
    if !clauses.is_empty() && clauses.iter().all(|c| matches!(c, Clause::Excluded(_))) {
        return Err(invalid(
            "a search of exclusions only finds everything else: add a word to look for".into(),
        ));
    }
    Ok(clauses)
}

/// How many typos a word may carry and still match: none below 4 letters, one
/// from 4, two from 8.
pub fn typo_allowance(word: &str) -> u8 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_phrases_and_exclusions() {
        assert_eq!(
            parse(r#" blue  "coffee mug" -plastic "#).unwrap(),
            vec![
                Clause::Word("blue".into()),
                Clause::Phrase("coffee mug".into()),
                Clause::Excluded("plastic".into()),
            ]
        );
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn refuses_malformed_searches_with_a_reason() {
        for text in [r#"a "b"#, "-", "mug -", r#""""#, "-plastic", "a\u{0}b"] {
            let error = parse(text).unwrap_err();
            assert!(matches!(error, Error::InvalidSearch(_)), "{text}: {error}");
        }
        assert!(parse(&"a ".repeat(17)).is_err());
        assert!(parse(&"a".repeat(201)).is_err());
    }

    #[test]
    fn allows_more_typos_in_longer_words() {
        assert_eq!(typo_allowance("mug"), 0);
        assert_eq!(typo_allowance("kettle"), 1);
        assert_eq!(typo_allowance("espresso"), 2);
    }
}
