//! Answers to searches, for people and as JSON, written as the matches
//! stream in: an answer of any size is never built in memory.
//!
//! [`Matches`] is what can be searched (the [`Pool`]'s shards, an
//! [`Index`], or matches already collected); [`write_answer`] and
//! [`write_json`] write the answer to one pattern. [`format_answer`] and
//! [`format_json`] give the same text for collected matches.

use std::io::{self, Write};

use super::pool::Pool;
use super::{Index, Match};

/// Something to search: words in order, each with its files' names sorted.
pub trait Matches {
    /// The number of words beginning with `pattern`, and the length in
    /// characters of the longest.
    ///
    /// # Errors
    ///
    /// When the search fails (a worker is gone).
    fn measure(&mut self, pattern: &str) -> io::Result<(usize, usize)>;

    /// Calls `f` with each word beginning with `pattern`, in order, and its
    /// files' names, sorted; stops at the first error of `f`.
    ///
    /// # Errors
    ///
    /// The first error of `f`, or of the search.
    fn for_each_match(
        &mut self,
        pattern: &str,
        f: &mut dyn FnMut(&str, &[&str]) -> io::Result<()>,
    ) -> io::Result<()>;
}

impl Matches for Pool {
    fn measure(&mut self, pattern: &str) -> io::Result<(usize, usize)> {
        Pool::measure(self, pattern)
    }

    fn for_each_match(
        &mut self,
        pattern: &str,
        f: &mut dyn FnMut(&str, &[&str]) -> io::Result<()>,
    ) -> io::Result<()> {
        Pool::for_each_match(self, pattern, f)
    }
}

impl Matches for Index {
    fn measure(&mut self, pattern: &str) -> io::Result<(usize, usize)> {
        let (mut count, mut width) = (0, 0);
        self.trie().for_each_prefixed(pattern, |word, _| {
            count += 1;
            width = width.max(word.chars().count());
        });
        Ok((count, width))
    }

    fn for_each_match(
        &mut self,
        pattern: &str,
        f: &mut dyn FnMut(&str, &[&str]) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut result = Ok(());
        let mut names: Vec<&str> = Vec::new();
        let files = self.files();
        self.trie().for_each_prefixed(pattern, |word, ids| {
            if result.is_err() {
                return;
            }
            names.clear();
            names.extend(ids.iter().map(|&id| files[id as usize].as_str()));
            names.sort_unstable();
            result = f(word, &names);
        });
        result
    }
}

/// Collected matches (they are taken to begin with the pattern).
impl Matches for &[Match] {
    fn measure(&mut self, _: &str) -> io::Result<(usize, usize)> {
        let width = self.iter().map(|m| m.word.chars().count()).max();
        Ok((self.len(), width.unwrap_or(0)))
    }

    fn for_each_match(
        &mut self,
        _: &str,
        f: &mut dyn FnMut(&str, &[&str]) -> io::Result<()>,
    ) -> io::Result<()> {
        for m in self.iter() {
            let files: Vec<&str> = m.files.iter().map(String::as_str).collect();
            f(&m.word, &files)?;
        }
        Ok(())
    }
}

/// Writes the answer to `pattern` for people: a count, then one line per
/// word with its files, words aligned (see [`format_answer`]).
///
/// # Errors
///
/// A write error, or the search's.
pub fn write_answer(
    out: &mut impl Write,
    pattern: &str,
    matches: &mut dyn Matches,
) -> io::Result<()> {
    let (count, width) = matches.measure(pattern)?;
    match count {
        0 => return writeln!(out, "no word begins with \"{pattern}\""),
        1 => writeln!(out, "1 word begins with \"{pattern}\":")?,
        n => writeln!(out, "{n} words begin with \"{pattern}\":")?,
    }
    matches.for_each_match(pattern, &mut |word, files| {
        let pad = width.saturating_sub(word.chars().count());
        write!(out, "  {word}{:pad$}  ", "")?;
        for (i, file) in files.iter().enumerate() {
            if i > 0 {
                out.write_all(b", ")?;
            }
            out.write_all(file.as_bytes())?;
        }
        out.write_all(b"\n")
    })
}

/// Writes the answer to `pattern` as one line of JSON (newline included):
/// `{"pattern": P, "matches": {WORD: [FILE, ...]}}`, words in order (see
/// [`format_json`]).
///
/// # Errors
///
/// A write error, or the search's.
pub fn write_json(
    out: &mut impl Write,
    pattern: &str,
    matches: &mut dyn Matches,
) -> io::Result<()> {
    out.write_all(b"{\"pattern\":")?;
    serde_json::to_writer(&mut *out, pattern)?;
    out.write_all(b",\"matches\":{")?;
    let mut first = true;
    matches.for_each_match(pattern, &mut |word, files| {
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        serde_json::to_writer(&mut *out, word)?;
        out.write_all(b":")?;
        serde_json::to_writer(&mut *out, files)?;
        Ok(())
    })?;
    out.write_all(b"}}\n")
}

/// The answer to `pattern` for people, for collected matches.
///
/// ```
/// use pprocess_examples::indexer::{Match, answer::format_answer};
/// let found = [
///     Match { word: "cat".into(), files: vec!["a.txt".into(), "b.txt".into()] },
///     Match { word: "catalog".into(), files: vec!["b.txt".into()] },
/// ];
/// assert_eq!(
///     format_answer("cat", &found),
///     "2 words begin with \"cat\":\n  cat      a.txt, b.txt\n  catalog  b.txt\n"
/// );
/// assert_eq!(format_answer("dog", &[]), "no word begins with \"dog\"\n");
/// ```
#[must_use]
#[allow(
    clippy::missing_panics_doc,
    reason = "writing to a Vec cannot fail, and what is written is UTF-8"
)]
pub fn format_answer(pattern: &str, found: &[Match]) -> String {
    let mut out = Vec::new();
    write_answer(&mut out, pattern, &mut { found }).expect("writing to memory");
    String::from_utf8(out).expect("words and names are text")
}

/// The answer to `pattern` as one line of JSON, for collected matches.
///
/// ```
/// use pprocess_examples::indexer::{Match, answer::format_json};
/// let found = [Match { word: "cat".into(), files: vec!["a.txt".into()] }];
/// assert_eq!(
///     format_json("ca", &found),
///     "{\"pattern\":\"ca\",\"matches\":{\"cat\":[\"a.txt\"]}}\n"
/// );
/// ```
#[must_use]
#[allow(
    clippy::missing_panics_doc,
    reason = "writing to a Vec cannot fail, and what is written is UTF-8"
)]
pub fn format_json(pattern: &str, found: &[Match]) -> String {
    let mut out = Vec::new();
    write_json(&mut out, pattern, &mut { found }).expect("writing to memory");
    String::from_utf8(out).expect("JSON is text")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(pairs: &[(&str, &[&str])]) -> Vec<Match> {
        pairs
            .iter()
            .map(|(word, files)| Match {
                word: (*word).to_owned(),
                files: files.iter().map(|f| (*f).to_owned()).collect(),
            })
            .collect()
    }

    #[test]
    fn answers_align_words_by_characters() {
        let answer = format_answer("", &found(&[("é", &["x"]), ("ab", &["y", "z"])]));
        assert_eq!(answer, "2 words begin with \"\":\n  é   x\n  ab  y, z\n");
        let one = format_answer("ab", &found(&[("ab", &["y"])]));
        assert_eq!(one, "1 word begins with \"ab\":\n  ab  y\n");
    }

    #[test]
    fn json_escapes_and_keeps_order() {
        let line = format_json("\"q", &found(&[("b", &["1", "2"]), ("a", &[])]));
        assert_eq!(
            line,
            "{\"pattern\":\"\\\"q\",\"matches\":{\"b\":[\"1\",\"2\"],\"a\":[]}}\n"
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["pattern"], "\"q");
    }

    #[test]
    fn an_index_answers_as_its_collected_matches() {
        let mut index = Index::new();
        let b = index.add_file_name("b.txt".to_owned());
        let a = index.add_file_name("a.txt".to_owned());
        index.add_text(b, "cat catalog dog");
        index.add_text(a, "cat naïve");
        for pattern in ["", "ca", "cat", "n", "zzz"] {
            let collected = index.search(pattern);
            let mut streamed = Vec::new();
            write_json(&mut streamed, pattern, &mut index).unwrap();
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                format_json(pattern, &collected)
            );
            let mut streamed = Vec::new();
            write_answer(&mut streamed, pattern, &mut index).unwrap();
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                format_answer(pattern, &collected)
            );
        }
    }

    #[test]
    fn a_write_error_stops_the_answer() {
        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::ErrorKind::BrokenPipe.into());
                }
                self.0 -= 1;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut index = Index::new();
        let f = index.add_file_name("f".to_owned());
        index.add_text(f, "a b c d e f g h");
        let err = write_answer(&mut Full(5), "", &mut index).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
