//! The text indexer `start_indexer`. Its pure parts are here: tokenizing,
//! the prefix tree, the index of files, and listing and reading files.
//!
//! Only [`parallel`] (and [`cli`] through it) starts processes.
//! [`index_sequential`] indexes files one
//! after the other in the calling process; it is the reference that the
//! parallel indexer is compared against.
//!
//! A parallel indexer can intern file names in the parent with
//! [`Index::add_file_name`], send each child paths with their [`FileId`]s,
//! and merge the `(word, FileId)` entries streamed back with [`Index::add`]
//! (or, cheaper, `(word, [FileId])` lists with [`Index::add_files`]); or let
//! each child build its own [`Index`] and combine them with [`Index::merge`].
//! [`parallel`] is the first way, with forked children; [`cli`] is the
//! `start_indexer` program around it, [`embedded`] its default corpus and
//! [`corpus`] the generated corpus of the benchmarks.
//!
//! ```
//! use pprocess_examples::indexer::Index;
//! let mut index = Index::new();
//! let a = index.add_file_name("a.txt".to_owned());
//! let b = index.add_file_name("b.txt".to_owned());
//! index.add_text(a, "The cat sat.");
//! index.add_text(b, "A catalog of cats!");
//! let found = index.search("cat");
//! let words: Vec<&str> = found.iter().map(|m| m.word.as_str()).collect();
//! assert_eq!(words, ["cat", "catalog", "cats"]);
//! assert_eq!(found[0].files, ["a.txt"]);
//! ```

pub mod answer;
pub mod cli;
pub mod corpus;
pub mod embedded;
pub mod parallel;
pub mod pool;
mod progress;
pub mod prompt;
pub mod scan;
pub mod shard;
pub mod tokenize;
pub mod trie;
pub mod walk;

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use tokenize::{distinct_words, iter_words, words};
pub use trie::{FileId, Trie};
pub use walk::{WalkOptions, list_files};

/// One result of a search: a word and the names of the files containing it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Match {
    /// The word found.
    pub word: String,
    /// The names of the files containing the word, sorted.
    pub files: Vec<String>,
}

/// An index from words to the files containing them: interned file names
/// and a [`Trie`].
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// File names, indexed by [`FileId`].
    files: Vec<String>,
    /// File names back to their identifiers.
    ids: HashMap<String, FileId>,
    trie: Trie,
}

impl Index {
    /// An empty index.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Interns a file name and returns its identifier; a name already known
    /// keeps its identifier. Identifiers are given out from 0 in order.
    ///
    /// # Panics
    ///
    /// If more than `u32::MAX` files are added.
    pub fn add_file_name(&mut self, path: String) -> FileId {
        if let Some(&id) = self.ids.get(&path) {
            return id;
        }
        let id = FileId::try_from(self.files.len()).expect("file count overflows u32");
        self.ids.insert(path.clone(), id);
        self.files.push(path);
        id
    }

    /// Records that file `file` contains `word`; returns whether the entry is
    /// new. The empty word is ignored.
    ///
    /// # Panics
    ///
    /// If `file` was not returned by [`add_file_name`](Self::add_file_name).
    pub fn add(&mut self, word: &str, file: FileId) -> bool {
        assert!(
            (file as usize) < self.files.len(),
            "unknown file id {file} (the index has {} files)",
            self.files.len()
        );
        self.trie.insert(word, file)
    }

    /// Records that each of `files` contains `word`; returns the number of
    /// new entries. One lookup for the whole list (see
    /// [`Trie::insert_files`]): the cheap way to merge a child's per-word
    /// lists.
    ///
    /// # Panics
    ///
    /// If one of `files` was not returned by
    /// [`add_file_name`](Self::add_file_name).
    pub fn add_files(&mut self, word: &str, files: &[FileId]) -> usize {
        if let Some(&file) = files
            .iter()
            .find(|&&file| file as usize >= self.files.len())
        {
            panic!(
                "unknown file id {file} (the index has {} files)",
                self.files.len()
            );
        }
        self.trie.insert_files(word, files)
    }

    /// Records every word of `text` (see [`tokenize`]) as contained in file
    /// `file`.
    ///
    /// # Panics
    ///
    /// If `file` was not returned by [`add_file_name`](Self::add_file_name).
    pub fn add_text(&mut self, file: FileId, text: &str) {
        for word in iter_words(text) {
            self.add(word, file);
        }
    }

    /// Adds every file name and entry of `other` to this index, mapping
    /// `other`'s file identifiers to this index's by name.
    pub fn merge(&mut self, other: &Index) {
        let map: Vec<FileId> = other
            .files
            .iter()
            .map(|name| self.add_file_name(name.clone()))
            .collect();
        let mut mapped = Vec::new();
        other.trie.for_each_prefixed("", |word, files| {
            mapped.clear();
            mapped.extend(files.iter().map(|&file| map[file as usize]));
            self.trie.insert_files(word, &mapped);
        });
    }

    /// Every word beginning with `pattern` (the pattern included when it is a
    /// word) with the names of its files; words sorted, each word's file
    /// names sorted. The empty pattern gives every word.
    #[must_use]
    pub fn search(&self, pattern: &str) -> Vec<Match> {
        let mut found = Vec::new();
        self.trie.for_each_prefixed(pattern, |word, ids| {
            let mut files: Vec<String> = ids
                .iter()
                .map(|&id| self.files[id as usize].clone())
                .collect();
            files.sort_unstable();
            found.push(Match {
                word: word.to_owned(),
                files,
            });
        });
        found
    }

    /// The number of distinct words.
    #[must_use]
    pub fn words(&self) -> usize {
        self.trie.words()
    }

    /// The number of distinct (word, file) entries.
    #[must_use]
    pub fn entries(&self) -> usize {
        self.trie.entries()
    }

    /// The file names, indexed by [`FileId`].
    #[must_use]
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// The name of file `id`, if known.
    pub fn file_name(&self, id: FileId) -> Option<&str> {
        self.files.get(id as usize).map(String::as_str)
    }

    /// The identifier of the file named `name`, if known.
    #[must_use]
    pub fn file_id(&self, name: &str) -> Option<FileId> {
        self.ids.get(name).copied()
    }

    /// The underlying prefix tree.
    #[must_use]
    pub fn trie(&self) -> &Trie {
        &self.trie
    }
}

/// The name under which a path is indexed: the path as text, lossily.
#[must_use]
pub fn file_name_of(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Indexes `paths` one after the other, in this process: the reference
/// that every other indexer is checked against.
///
/// Each path gets the [`FileId`] equal to its position in `paths` (unless it
/// repeats an earlier path) and is named by [`file_name_of`]; files are read
/// whole with [`read_lossy`]. A file that cannot be read, or that is binary
/// (a NUL byte in its first 8 KiB, see [`scan::is_binary`]), is still
/// listed but contributes no words; [`try_index_sequential`] stops at an
/// unreadable file instead.
#[must_use]
pub fn index_sequential(paths: &[PathBuf]) -> Index {
    let mut index = Index::new();
    for path in paths {
        let id = index.add_file_name(file_name_of(path));
        if let Ok(bytes) = fs::read(path) {
            if !scan::is_binary(&bytes) {
                index.add_text(id, &String::from_utf8_lossy(&bytes));
            }
        }
    }
    index
}

/// Like [`index_sequential`], but fails at the first file that cannot be
/// read.
///
/// # Errors
///
/// The first read error, its message naming the file.
pub fn try_index_sequential(paths: &[PathBuf]) -> io::Result<Index> {
    let mut index = Index::new();
    for path in paths {
        let id = index.add_file_name(file_name_of(path));
        let bytes = fs::read(path).map_err(|e| with_path("cannot read", path, e))?;
        if !scan::is_binary(&bytes) {
            index.add_text(id, &String::from_utf8_lossy(&bytes));
        }
    }
    Ok(index)
}

/// Reads a file as text, replacing invalid UTF-8 with U+FFFD; also returns
/// whether any replacement happened.
///
/// # Errors
///
/// The read error, its message naming the file.
pub fn read_lossy(path: &Path) -> io::Result<(String, bool)> {
    let bytes = fs::read(path).map_err(|e| with_path("cannot read", path, e))?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => (text, false),
        Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), true),
    })
}

/// `e` with a message naming what failed and on which path.
fn with_path(what: &str, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(found: &[Match]) -> Vec<&str> {
        found.iter().map(|m| m.word.as_str()).collect()
    }

    #[test]
    fn file_names_are_interned() {
        let mut index = Index::new();
        assert_eq!(index.add_file_name("b".to_owned()), 0);
        assert_eq!(index.add_file_name("a".to_owned()), 1);
        assert_eq!(index.add_file_name("b".to_owned()), 0);
        assert_eq!(index.files(), ["b", "a"]);
        assert_eq!(index.file_id("a"), Some(1));
        assert_eq!(index.file_id("c"), None);
        assert_eq!(index.file_name(0), Some("b"));
        assert_eq!(index.file_name(2), None);
    }

    #[test]
    fn search_gives_file_names_sorted() {
        let mut index = Index::new();
        let z = index.add_file_name("z.txt".to_owned());
        let a = index.add_file_name("a.txt".to_owned());
        assert!(index.add("word", z));
        assert!(index.add("word", a));
        assert!(!index.add("word", z));
        index.add("wordy", a);
        index.add("other", z);
        let found = index.search("word");
        assert_eq!(
            found,
            [
                Match {
                    word: "word".to_owned(),
                    files: vec!["a.txt".to_owned(), "z.txt".to_owned()],
                },
                Match {
                    word: "wordy".to_owned(),
                    files: vec!["a.txt".to_owned()],
                },
            ]
        );
        assert_eq!(names(&index.search("")), ["other", "word", "wordy"]);
        assert!(index.search("nothing").is_empty());
        assert_eq!((index.words(), index.entries()), (3, 4));
        assert_eq!(index.trie().words(), 3);
    }

    #[test]
    #[should_panic(expected = "unknown file id")]
    fn adding_with_an_unknown_file_panics() {
        Index::new().add("word", 0);
    }

    #[test]
    #[should_panic(expected = "unknown file id 1")]
    fn adding_lists_with_an_unknown_file_panics() {
        let mut index = Index::new();
        index.add_file_name("a".to_owned());
        index.add_files("word", &[0, 1]);
    }

    #[test]
    fn add_files_merges_lists() {
        let mut index = Index::new();
        for name in ["c", "a", "b"] {
            index.add_file_name(name.to_owned());
        }
        assert_eq!(index.add_files("word", &[2, 0]), 2);
        assert_eq!(index.add_files("word", &[0, 1]), 1);
        assert_eq!(index.add_files("other", &[]), 0);
        assert_eq!(
            index.search(""),
            [Match {
                word: "word".to_owned(),
                files: vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
            }]
        );
        assert_eq!((index.words(), index.entries()), (1, 3));
    }

    #[test]
    fn add_text_tokenizes() {
        let mut index = Index::new();
        let f = index.add_file_name("f".to_owned());
        index.add_text(f, "(don't) e-mail, --x2y! !!! don");
        assert_eq!(names(&index.search("")), ["don", "e", "x2y"]);
        assert_eq!(index.entries(), 3);
    }

    #[test]
    fn merge_maps_file_ids_by_name() {
        let mut left = Index::new();
        let a = left.add_file_name("a".to_owned());
        left.add_text(a, "apple banana");

        let mut right = Index::new();
        let c = right.add_file_name("c".to_owned());
        let a2 = right.add_file_name("a".to_owned());
        right.add_text(c, "cherry apple");
        right.add_text(a2, "apple date");

        left.merge(&right);
        assert_eq!(left.files(), ["a", "c"]);
        let found = left.search("");
        assert_eq!(names(&found), ["apple", "banana", "cherry", "date"]);
        assert_eq!(found[0].files, ["a", "c"]);
        assert_eq!(found[3].files, ["a"]);
        assert_eq!(left.entries(), 5);
    }

    #[test]
    fn read_lossy_reports_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.txt");
        let bad = dir.path().join("bad.txt");
        fs::write(&good, "naïve text").unwrap();
        fs::write(&bad, b"ab\xffcd caf\xc3").unwrap();
        assert_eq!(read_lossy(&good).unwrap(), ("naïve text".to_owned(), false));
        assert_eq!(
            read_lossy(&bad).unwrap(),
            ("ab\u{fffd}cd caf\u{fffd}".to_owned(), true)
        );
        let err = read_lossy(&dir.path().join("missing")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().starts_with("cannot read "), "{err}");
    }

    #[test]
    fn index_sequential_reads_and_indexes_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("one.txt"), "Alpha beta, (gamma)\nalpha").unwrap();
        fs::write(root.join("two.txt"), b"beta \xff delta").unwrap();
        let mut paths = list_files(root, &WalkOptions::default()).0;
        paths.push(root.join("missing.txt"));

        let index = index_sequential(&paths);
        assert_eq!(index.files().len(), 3);
        assert_eq!(index.file_id(&file_name_of(&paths[1])), Some(1));
        let found = index.search("");
        assert_eq!(names(&found), ["Alpha", "alpha", "beta", "delta", "gamma"]);
        let beta = &found[2];
        assert_eq!(
            beta.files,
            [file_name_of(&paths[0]), file_name_of(&paths[1])]
        );
        assert_eq!(index.entries(), 6);

        let err = try_index_sequential(&paths).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let ok = try_index_sequential(&paths[..2]).unwrap();
        assert_eq!(ok.search(""), index.search(""));
    }

    #[test]
    fn merging_parts_gives_the_whole() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let texts = [
            "shared words, one",
            "shared (words) two",
            "three: shared",
            "four four four",
            "Words one two",
        ];
        for (i, text) in texts.iter().enumerate() {
            fs::write(root.join(format!("f{i}.txt")), text).unwrap();
        }
        let paths = list_files(root, &WalkOptions::default()).0;
        let whole = index_sequential(&paths);

        // In order, and out of order (identifiers then differ, names agree).
        for (first, second) in [(&paths[..2], &paths[2..]), (&paths[3..], &paths[..3])] {
            let mut merged = index_sequential(first);
            merged.merge(&index_sequential(second));
            assert_eq!(merged.search(""), whole.search(""));
            assert_eq!(merged.entries(), whole.entries());
            assert_eq!(merged.words(), whole.words());
        }
        let mut again = whole.clone();
        again.merge(&whole);
        assert_eq!(again.search(""), whole.search(""));
        assert_eq!(again.entries(), whole.entries());
    }
}
