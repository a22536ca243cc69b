//! Splitting text into words, the way pprocess's indexer does it.
//!
//! Text is split on whitespace, as Python's `str.split()` with no argument
//! splits it; from each token the first run of word characters is kept
//! (leading non-word characters are skipped, and the word ends at the first
//! non-word character after it), and tokens without any word character give
//! no word. A word character is a Unicode letter or digit
//! ([`char::is_alphanumeric`]). Words keep their case.

use std::collections::HashSet;

/// Whether `c` separates tokens, as in Python's `str.split()` with no
/// argument.
///
/// This is Unicode whitespace ([`char::is_whitespace`]) plus the ASCII
/// information separators U+001C..=U+001F, which Python's `str.isspace()`
/// also counts as whitespace.
///
/// ```
/// use pprocess_examples::indexer::tokenize::is_separator;
/// assert!(is_separator(' ') && is_separator('\t') && is_separator('\u{3000}'));
/// assert!(is_separator('\u{1f}'));
/// assert!(!is_separator('-'));
/// ```
#[must_use]
pub fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}')
}

/// Whether `c` is a word character: a Unicode letter or digit.
///
/// ```
/// use pprocess_examples::indexer::tokenize::is_word_char;
/// assert!(is_word_char('a') && is_word_char('ß') && is_word_char('٣'));
/// assert!(!is_word_char('_') && !is_word_char('\''));
/// ```
#[must_use]
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// The word of one whitespace-free token: its first run of word characters,
/// or `None` when it has no word character.
///
/// ```
/// use pprocess_examples::indexer::tokenize::first_word;
/// assert_eq!(first_word("(don't"), Some("don"));
/// assert_eq!(first_word("!!!"), None);
/// ```
pub fn first_word(token: &str) -> Option<&str> {
    let start = token.find(is_word_char)?;
    let rest = &token[start..];
    let end = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The words of `text`, in order and with repetitions, borrowed from `text`.
///
/// This allocates nothing; [`words`] is the same collected into strings.
///
/// ```
/// use pprocess_examples::indexer::tokenize::iter_words;
/// let words: Vec<&str> = iter_words("Hello, (world)! e-mail").collect();
/// assert_eq!(words, ["Hello", "world", "e"]);
/// ```
pub fn iter_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_separator).filter_map(first_word)
}

/// The words of `text`, in order and with repetitions.
///
/// ```
/// use pprocess_examples::indexer::tokenize::words;
/// assert_eq!(words("a b\ta --x2y!"), ["a", "b", "a", "x2y"]);
/// ```
pub fn words(text: &str) -> Vec<String> {
    iter_words(text).map(str::to_owned).collect()
}

/// Each distinct word of `text` once, in the order of first appearance.
///
/// ```
/// use pprocess_examples::indexer::tokenize::distinct_words;
/// assert_eq!(distinct_words("b a b A a"), ["b", "a", "A"]);
/// ```
pub fn distinct_words(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    iter_words(text)
        .filter(|word| seen.insert(*word))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_around_and_inside_tokens() {
        assert_eq!(words("(don't"), ["don"]);
        assert_eq!(words("e-mail,"), ["e"]);
        assert_eq!(words("--x2y!"), ["x2y"]);
        assert_eq!(words("end."), ["end"]);
        assert_eq!(words("\"quoted\""), ["quoted"]);
    }

    #[test]
    fn tokens_without_word_characters_give_nothing() {
        assert!(words("!!!").is_empty());
        assert!(words("-- ... ( ) _ __").is_empty());
        assert!(words("").is_empty());
        assert!(words(" \t\n ").is_empty());
    }

    #[test]
    fn underscore_is_not_a_word_character() {
        assert_eq!(words("snake_case _x"), ["snake", "x"]);
    }

    #[test]
    fn unicode_letters() {
        assert_eq!(words("naïve café Ωmega"), ["naïve", "café", "Ωmega"]);
        assert_eq!(words("«Straße»"), ["Straße"]);
        assert_eq!(words("日本語テキスト"), ["日本語テキスト"]);
    }

    #[test]
    fn unicode_digits() {
        assert_eq!(words("٣٤"), ["٣٤"]);
        assert_eq!(words("x٣٤y 42%"), ["x٣٤y", "42"]);
    }

    #[test]
    fn whitespace_kinds() {
        assert_eq!(words("a\tb\nc\r\nd"), ["a", "b", "c", "d"]);
        assert_eq!(words("a\u{a0}b\u{2003}c\u{3000}d"), ["a", "b", "c", "d"]);
        assert_eq!(words("a\u{b}b\u{c}c\u{85}d"), ["a", "b", "c", "d"]);
        // Python's str.split() also splits on U+001C..=U+001F.
        assert_eq!(words("a\u{1c}b\u{1f}c"), ["a", "b", "c"]);
        assert_eq!(
            words("  leading and trailing  "),
            ["leading", "and", "trailing"]
        );
    }

    #[test]
    fn zero_width_space_is_not_whitespace() {
        // U+200B is neither whitespace (Python agrees) nor a word character.
        assert_eq!(words("ab\u{200b}cd"), ["ab"]);
    }

    #[test]
    fn case_is_kept() {
        assert_eq!(words("Word word WORD"), ["Word", "word", "WORD"]);
        assert_eq!(
            distinct_words("Word word WORD word"),
            ["Word", "word", "WORD"]
        );
    }

    #[test]
    fn distinct_words_keep_first_seen_order() {
        assert_eq!(
            distinct_words("the cat, the (cat) and the dog."),
            ["the", "cat", "and", "dog"]
        );
        assert!(distinct_words("!!! ...").is_empty());
    }

    #[test]
    fn iter_words_borrows_from_the_text() {
        let text = String::from("one, two");
        let got: Vec<&str> = iter_words(&text).collect();
        assert_eq!(got, ["one", "two"]);
    }
}
