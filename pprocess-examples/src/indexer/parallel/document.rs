//! The documents the parallel indexer shares out, and what a child sends
//! back about each: its distinct words, or why it could not be read.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::{self, Read};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::super::read_lossy;
use super::super::scan::open_file;
use super::super::scan::{Outcome, Scanner};
use super::super::trie::BuildWordHasher;
use super::super::{file_name_of, iter_words};

/// Where a document's text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file, read (lossily, as [`read_lossy`] reads, but in chunks) by
    /// the child that parses it.
    Path(PathBuf),
    /// Text in memory (the embedded default corpus, tests).
    Text(Cow<'static, str>),
}

/// A document to index: the name it is indexed under and its text's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The name searches report (for a file: its path, as found).
    pub name: String,
    /// Where the text comes from.
    pub source: Source,
}

impl Document {
    /// The file at `path`, named by [`file_name_of`] as
    /// [`index_sequential`](super::super::index_sequential) names it.
    #[must_use]
    pub fn file(path: PathBuf) -> Self {
        Document {
            name: file_name_of(&path),
            source: Source::Path(path),
        }
    }

    /// A document held in memory.
    pub fn text(name: impl Into<String>, text: impl Into<Cow<'static, str>>) -> Self {
        Document {
            name: name.into(),
            source: Source::Text(text.into()),
        }
    }

    /// A reader of the document's bytes: the file, opened (see
    /// [`open_file`]), or the text in memory.
    ///
    /// # Errors
    ///
    /// For a file, the open error (which does not repeat the name).
    pub fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        match &self.source {
            Source::Path(path) => Ok(Box::new(open_file(path)?)),
            Source::Text(text) => Ok(Box::new(text.as_bytes())),
        }
    }
}

/// The documents of `paths`, in order (see [`Document::file`]).
pub fn documents(paths: impl IntoIterator<Item = PathBuf>) -> Vec<Document> {
    paths.into_iter().map(Document::file).collect()
}

/// How a child opens a document: [`Document::open`] unless a test says
/// otherwise.
pub type Reader = fn(&Document) -> io::Result<Box<dyn Read + '_>>;

/// What a child sends for each file it was given, as soon as the file is
/// parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Report {
    /// The file was parsed.
    Parsed {
        /// The file's position in the document list.
        file: u32,
        /// Whether invalid UTF-8 was replaced.
        lossy: bool,
        /// Whether the file is binary (it then has no words).
        binary: bool,
        /// The file's distinct words in order of first appearance, each
        /// followed by one space. (Words never contain whitespace; one
        /// string decodes with one allocation rather than one per word.)
        words: String,
    },
    /// The file could not be read.
    Failed {
        /// The file's position in the document list.
        file: u32,
        /// Why.
        error: String,
    },
    /// A reused worker has reported every file of its slice and waits for
    /// the next (the parent answers with an [`Assignment`]).
    SliceDone,
}

/// What the parent sends a reused worker after [`Report::SliceDone`]: the
/// bounds (start, end) of its next slice, or `None` to stop.
pub type Assignment = Option<(u32, u32)>;

impl Report {
    /// Parses document `file` (opened by `read`) into its report, reading
    /// it in chunks (see [`Scanner`]). A binary document is parsed as
    /// having no words.
    pub fn parse(file: u32, document: &Document, read: Reader) -> Report {
        let mut seen: HashSet<Box<str>, BuildWordHasher> = HashSet::default();
        let mut words = String::new();
        let scanned = read(document).and_then(|reader| {
            Scanner::new().scan(reader, |word| {
                if !seen.contains(word) {
                    seen.insert(word.into());
                    words.push_str(word);
                    words.push(' ');
                }
            })
        });
        match scanned {
            Ok(Outcome::Text { lossy, .. }) => Report::Parsed {
                file,
                lossy,
                binary: false,
                words,
            },
            Ok(Outcome::Binary) => Report::Parsed {
                file,
                lossy: false,
                binary: true,
                words: String::new(),
            },
            Err(e) => Report::Failed {
                file,
                error: e.to_string(),
            },
        }
    }
}

/// The distinct words of `text` in order of first appearance, each followed
/// by a space.
#[must_use]
pub fn joined_distinct_words(text: &str) -> String {
    let mut seen: HashSet<&str, BuildWordHasher> = HashSet::default();
    let mut joined = String::new();
    for word in iter_words(text) {
        if seen.insert(word) {
            joined.push_str(word);
            joined.push(' ');
        }
    }
    joined
}
