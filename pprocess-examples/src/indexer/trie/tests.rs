//! Unit tests of `trie.rs`.

use super::*;

fn sample() -> Trie {
    let mut trie = Trie::new();
    for (word, file) in [
        ("car", 1),
        ("cat", 0),
        ("cart", 2),
        ("ca", 0),
        ("dog", 1),
        ("cat", 2),
        ("catalog", 1),
        ("cat", 1),
    ] {
        assert!(trie.insert(word, file));
    }
    trie
}

fn words_of(found: &[(String, &[FileId])]) -> Vec<String> {
    found.iter().map(|(word, _)| word.clone()).collect()
}

#[test]
fn prefix_gives_words_beginning_with_it_sorted() {
    let trie = sample();
    let found = trie.search("car");
    assert_eq!(words_of(&found), ["car", "cart"]);
    let found = trie.search("c");
    assert_eq!(words_of(&found), ["ca", "car", "cart", "cat", "catalog"]);
}

#[test]
fn exact_word_is_included_with_sorted_files() {
    let trie = sample();
    let found = trie.search("cat");
    assert_eq!(found[0], ("cat".to_owned(), &[0, 1, 2][..]));
    assert_eq!(words_of(&found), ["cat", "catalog"]);
    assert_eq!(trie.files("cat"), [0, 1, 2]);
    assert!(trie.contains("cat"));
    let found = trie.search("catalog");
    assert_eq!(found, [("catalog".to_owned(), &[1][..])]);
}

#[test]
fn no_match() {
    let trie = sample();
    assert!(trie.search("x").is_empty());
    assert!(trie.search("cats").is_empty());
    assert!(trie.search("catalogue").is_empty());
    // A prefix node that is not itself a word.
    assert!(trie.files("cata").is_empty());
    assert!(!trie.contains("cata"));
    assert!(!trie.contains("zebra"));
}

#[test]
fn empty_pattern_gives_every_word() {
    let trie = sample();
    let found = trie.search("");
    assert_eq!(
        words_of(&found),
        ["ca", "car", "cart", "cat", "catalog", "dog"]
    );
    assert_eq!(found.len(), trie.words());
    let entries: usize = found.iter().map(|(_, files)| files.len()).sum();
    assert_eq!(entries, trie.entries());
}

#[test]
fn empty_trie() {
    let trie = Trie::default();
    assert!(trie.is_empty());
    assert!(trie.search("").is_empty());
    assert_eq!((trie.words(), trie.entries(), trie.nodes()), (0, 0, 1));
}

#[test]
fn duplicates_are_counted_once() {
    let mut trie = Trie::new();
    assert!(trie.insert("word", 3));
    assert!(!trie.insert("word", 3));
    assert!(trie.insert("word", 1));
    assert!(!trie.insert("word", 1));
    assert!(!trie.insert("word", 3));
    assert!(trie.insert("word", 2));
    assert!(!trie.insert("word", 2));
    assert_eq!(trie.files("word"), [1, 2, 3]);
    assert_eq!((trie.words(), trie.entries()), (1, 3));
}

#[test]
fn empty_word_is_ignored() {
    let mut trie = Trie::new();
    assert!(!trie.insert("", 0));
    assert!(trie.is_empty());
    assert!(trie.search("").is_empty());
}

#[test]
fn files_in_any_order_end_up_sorted() {
    let mut trie = Trie::new();
    for file in [9, 4, 7, 0, 4, 12, 1, 9] {
        trie.insert("x", file);
    }
    assert_eq!(trie.files("x"), [0, 1, 4, 7, 9, 12]);
    assert_eq!(trie.entries(), 6);
}

#[test]
fn unicode_words_sort_by_code_point_like_strings() {
    let mut trie = Trie::new();
    let words = [
        "café", "cafe", "caff", "Ωmega", "naïve", "naive", "٣٤", "Straße", "z",
    ];
    for (file, word) in words.iter().enumerate() {
        trie.insert(word, FileId::try_from(file).unwrap());
    }
    let mut expected: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    expected.sort();
    assert_eq!(words_of(&trie.search("")), expected);
    assert_eq!(words_of(&trie.search("caf")), ["cafe", "caff", "café"]);
    assert_eq!(words_of(&trie.search("caf\u{e9}")), ["café"]);
    assert_eq!(words_of(&trie.search("Ω")), ["Ωmega"]);
    assert_eq!(words_of(&trie.search("na")), ["naive", "naïve"]);
}

#[test]
fn long_word_does_not_overflow_the_stack() {
    let mut trie = Trie::new();
    let long = "a".repeat(200_000);
    trie.insert(&long, 0);
    trie.insert("ab", 1);
    let found = trie.search("a");
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].0, long);
    assert_eq!(found[1].0, "ab");
    drop(trie);
}

#[test]
fn pack_is_the_padded_bytes_and_the_length() {
    for len in 0..=PACKED {
        let word: String = "abcdefghijklmnopq"[..len].to_owned();
        let mut expected = [0u8; 16];
        expected[..len].copy_from_slice(word.as_bytes());
        expected[PACKED] = u8::try_from(len).expect("packed words are short");
        assert_eq!(pack(&word), Some(u128::from_le_bytes(expected)), "{word:?}");
    }
    assert_eq!(pack("abcdefghijklmnop"), None);
    assert_ne!(pack("é"), pack("e"));
}

#[test]
fn short_and_long_words_mix() {
    let mut trie = Trie::new();
    let long = "abcdefghijklmnopqrstuvwxyz";
    for len in 1..=long.len() {
        trie.insert(&long[..len], FileId::try_from(len).expect("26 letters"));
        trie.insert(&long[..len], 0);
    }
    assert_eq!(trie.words(), long.len());
    assert_eq!(trie.entries(), 2 * long.len());
    for len in 1..=long.len() {
        assert_eq!(
            trie.files(&long[..len]),
            [0, FileId::try_from(len).expect("26 letters")]
        );
    }
    assert_eq!(trie.search("abcdefghijklmnop").len(), long.len() - 15);
}

#[test]
fn insert_files_merges_sorted_lists() {
    let mut trie = Trie::new();
    assert_eq!(trie.insert_files("w", &[]), 0);
    assert_eq!(trie.insert_files("", &[1]), 0);
    assert_eq!(trie.insert_files("w", &[3, 1, 3]), 2);
    assert_eq!(trie.insert_files("w", &[5, 6]), 2);
    assert_eq!(trie.insert_files("w", &[0, 6, 2]), 2);
    assert_eq!(trie.files("w"), [0, 1, 2, 3, 5, 6]);
    assert!(!trie.insert("w", 6));
    assert!(trie.insert("w", 7));
    assert!(trie.insert("w", 4));
    assert_eq!(trie.files("w"), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert_eq!((trie.words(), trie.entries()), (1, 8));
}

#[test]
#[allow(
    clippy::cast_possible_truncation,
    reason = "pseudo-random values below small bounds"
)]
fn agrees_with_a_simple_model() {
    use std::collections::{BTreeMap, BTreeSet};
    // Deterministic pseudo-random words over a small alphabet, so that
    // prefixes are shared, with some long enough not to be packed.
    let alphabet: Vec<char> = "abé日".chars().collect();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut trie = Trie::new();
    let mut model: BTreeMap<String, BTreeSet<FileId>> = BTreeMap::new();
    for _ in 0..5_000 {
        let longest = if next(10) == 0 { 12 } else { 5 };
        let len = 1 + next(longest) as usize;
        let word: String = (0..len)
            .map(|_| alphabet[next(alphabet.len() as u64) as usize])
            .collect();
        let file = next(40) as FileId;
        let new = model.entry(word.clone()).or_default().insert(file);
        assert_eq!(trie.insert(&word, file), new, "{word} {file}");
    }
    assert_eq!(trie.words(), model.len());
    assert_eq!(
        trie.entries(),
        model.values().map(BTreeSet::len).sum::<usize>()
    );
    for pattern in ["", "a", "ab", "é", "日a", "bbb", "zzz"] {
        let expected: Vec<(String, Vec<FileId>)> = model
            .iter()
            .filter(|(word, _)| word.starts_with(pattern))
            .map(|(word, files)| (word.clone(), files.iter().copied().collect()))
            .collect();
        let got: Vec<(String, Vec<FileId>)> = trie
            .search(pattern)
            .into_iter()
            .map(|(word, files)| (word, files.to_vec()))
            .collect();
        assert_eq!(got, expected, "pattern {pattern:?}");
    }
}

#[test]
fn for_each_prefixed_matches_search() {
    let trie = sample();
    let mut visited = Vec::new();
    trie.for_each_prefixed("ca", |word, files| visited.push((word.to_owned(), files)));
    assert_eq!(visited, trie.search("ca"));
}
