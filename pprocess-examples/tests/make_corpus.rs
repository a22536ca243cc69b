//! Runs the `make_corpus` binary and checks that its output is deterministic
//! and of the requested size.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::Path;
use std::process::Command;

use pprocess_examples::indexer::iter_words;

const FILES: usize = 20;
const BYTES: u64 = 200_000;

/// Runs `make_corpus` into `dir` and checks its summary line.
fn make_corpus(dir: &Path, seed: u64) {
    let output = Command::new(env!("CARGO_BIN_EXE_make_corpus"))
        .arg(dir)
        .args(["--files", &FILES.to_string()])
        .args(["--bytes", &BYTES.to_string()])
        .args(["--seed", &seed.to_string()])
        .output()
        .expect("make_corpus runs");
    assert!(
        output.status.success(),
        "make_corpus failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains(&format!("wrote {FILES} files, ")),
        "{stdout}"
    );
}

/// The files of `dir` by name, with their contents.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            (name, fs::read(entry.path()).unwrap())
        })
        .collect()
}

#[test]
fn same_arguments_give_identical_corpora_of_the_requested_size() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    make_corpus(first.path(), 7);
    make_corpus(second.path(), 7);
    let a = contents(first.path());
    let b = contents(second.path());

    assert_eq!(a.len(), FILES);
    let names: Vec<&str> = a.keys().map(String::as_str).collect();
    assert_eq!(names[0], "doc-00000.txt");
    assert_eq!(names[FILES - 1], "doc-00019.txt");
    assert!(a == b, "the two corpora differ");

    let total: u64 = a.values().map(|text| text.len() as u64).sum();
    assert!(
        total.abs_diff(BYTES) * 10 <= BYTES,
        "total size {total} is not within 10% of {BYTES}"
    );
    let share = BYTES / FILES as u64;
    for (name, text) in &a {
        let size = text.len() as u64;
        assert!(
            size <= share && size * 10 >= share * 9,
            "{name} has {size} bytes"
        );
        let text = std::str::from_utf8(text).expect("the corpus is UTF-8");
        assert!(text.ends_with('\n'));
        assert!(
            text.lines().all(|line| line.chars().count() <= 80),
            "{name} has a long line"
        );
    }
}

#[test]
fn corpus_has_a_varied_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    make_corpus(dir.path(), 1);
    let mut words = HashSet::new();
    let mut text = String::new();
    for bytes in contents(dir.path()).values() {
        text.push_str(std::str::from_utf8(bytes).unwrap());
    }
    words.extend(iter_words(&text));
    assert!(words.len() > 2_000, "only {} distinct words", words.len());
    assert!(
        words
            .iter()
            .any(|w| w.chars().next().unwrap().is_uppercase())
    );
    assert!(words.iter().any(|w| w.chars().any(|c| c.is_ascii_digit())));
    assert!(words.iter().any(|w| !w.is_ascii()));
    assert!(text.contains(',') && text.contains('.') && text.contains('('));
}

#[test]
fn different_seeds_give_different_corpora() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    make_corpus(first.path(), 1);
    make_corpus(second.path(), 2);
    assert!(contents(first.path()) != contents(second.path()));
}
