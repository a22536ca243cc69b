//! The corpus and helpers shared by the `start_indexer*` tests.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use pprocess_examples::indexer::{Index, Match, WalkOptions, index_sequential, list_files};
use serde_json::Value;

/// Patterns asked in every run: the empty pattern (every word), prefixes,
/// whole words, Unicode, the replacement character and misses.
pub const PATTERNS: &[&str] = &[
    "",
    "a",
    "al",
    "alpha",
    "Alpha",
    "be",
    "caf",
    "café",
    "Straße",
    "日本",
    "٣",
    "deep",
    "x2y",
    "\u{fffd}",
    "don",
    "huge",
    "huge12",
    "boundary",
    "late",
    "hid",
    "ign",
    "nested",
    "nothing-here",
    "zzz",
];

/// What [`make_corpus`] made that cannot be read.
pub const UNREADABLE: usize = 3;

/// A corpus with Unicode, punctuation, a file that is not UTF-8, an empty
/// file, a binary file, a huge file (words across read chunks), hidden and
/// ignored files, nested directories, and (if `unreadable`) a FIFO, a
/// dangling symbolic link and a link to a file whose read fails with EIO.
pub fn make_corpus(root: &Path, unreadable: bool) {
    let mut binary = b"\x7fELF binary alpha ".to_vec();
    binary.push(0);
    binary.extend_from_slice(b" more words");
    let mut late_nul = vec![b'x'; 9000];
    late_nul.extend_from_slice(b" late\0nul alpha");
    let mut huge = String::new();
    let mut i = 0;
    while huge.len() < 1_300_000 {
        write!(huge, "huge{i} alpha boundary{} ", i % 97).unwrap();
        if i % 11 == 0 {
            huge.push_str("naïve\n");
        }
        i += 1;
    }
    let files: &[(&str, &[u8])] = &[
        ("one.txt", b"Alpha beta, (gamma)\nalpha -- alphabet!"),
        (
            "two.txt",
            "beta caf\u{e9} café's «Straße» naïve 日本語テキスト 日本".as_bytes(),
        ),
        ("three.md", b"(don't) e-mail, --x2y! !!! don ... ___ x2y"),
        ("digits.txt", "٣٤ x٣٤y 42% 7 alpha".as_bytes()),
        ("latin1.txt", b"caf\xe9 cr\xe8me beta \xff\xfe alpha"),
        ("empty.txt", b""),
        ("spaces.txt", b"  \t\n\r\n  "),
        ("binary.bin", &binary),
        ("late-nul.txt", &late_nul),
        ("huge.txt", huge.as_bytes()),
        ("sub/deep.txt", b"deep deeper alpha\tbeta"),
        ("sub/more/deepest.txt", "deepest café".as_bytes()),
        ("only-dirs/a/b/nested.txt", b"nested alpha"),
        (".hidden.txt", b"hidden alpha"),
        (".hidden-dir/inside.txt", b"hiddeninside"),
        (".git/config", b"gitconfig"),
        ("ignored.log", b"ignored alpha"),
        (".gitignore", b"*.log\n"),
    ];
    for (name, bytes) in files {
        let path = root.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
    fs::create_dir(root.join("empty-dir")).unwrap();
    if unreadable {
        use std::os::unix::fs::symlink;
        let status = std::process::Command::new("mkfifo")
            .arg(root.join("fifo"))
            .status()
            .unwrap();
        assert!(status.success());
        symlink(root.join("missing"), root.join("dangling")).unwrap();
        // Reading a process's own memory from offset 0 fails with EIO.
        symlink("/proc/self/mem", root.join("eio.txt")).unwrap();
    }
}

/// The files the walk finds with `options`, and their sequential index.
pub fn reference(root: &Path, options: &WalkOptions) -> (Vec<PathBuf>, Index) {
    let (paths, _) = list_files(root, options);
    let index = index_sequential(&paths);
    (paths, index)
}

/// The expected JSON answer to `pattern`.
pub fn expected(index: &Index, pattern: &str) -> Value {
    let matches: serde_json::Map<String, Value> = index
        .search(pattern)
        .into_iter()
        .map(|Match { word, files }| (word, files.into()))
        .collect();
    serde_json::json!({ "pattern": pattern, "matches": matches })
}

/// Checks that `stdout` holds exactly one JSON answer per pattern, equal to
/// the sequential index's, with words in sorted order.
pub fn check_answers(stdout: &str, index: &Index, patterns: &[&str]) {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), patterns.len(), "stdout:\n{stdout}");
    for (line, pattern) in lines.iter().zip(patterns) {
        let got: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("answer to {pattern:?} is not JSON ({e}): {line}"));
        assert_eq!(got, expected(index, pattern), "answer to {pattern:?}");
        // serde_json's Map sorts keys: check the order on the line itself.
        let words: Vec<String> = index.search(pattern).into_iter().map(|m| m.word).collect();
        let mut at = 0;
        for word in &words {
            let key = serde_json::to_string(word).unwrap() + ":";
            let found = line[at..]
                .find(&key)
                .unwrap_or_else(|| panic!("{key} missing or out of order in {line}"));
            at += found + key.len();
        }
    }
}

/// One line per pattern.
pub fn input(patterns: &[&str]) -> String {
    patterns.iter().map(|p| format!("{p}\n")).collect()
}
