//! A prefix tree from words to the files containing them.
//!
//! Nodes live in an arena (a `Vec`), one node per character; each node keeps
//! its children sorted by character in a small `Vec` and, when a word ends
//! there, the number of that word. Each word's files are a sorted `Vec` of
//! [`FileId`]s. The tree serves prefix searches; inserting goes through hash
//! tables from words to their numbers instead, one lookup rather than a walk
//! down the tree (two cache misses per character on a large trie), and short
//! words are packed into the table's keys so that a lookup touches one cache
//! line. Files are interned by the owner of the trie (see
//! [`Index`](super::Index)), so that an entry streamed from a child process is
//! just a word and a small integer.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A file's interned identifier.
pub type FileId = u32;

/// Index of a node in the arena.
type NodeIndex = u32;

/// Number of a word, in order of first insertion.
type WordIndex = u32;

/// The root node's index.
const ROOT: NodeIndex = 0;

/// [`Node::word`] of a node where no word ends.
const NO_WORD: WordIndex = WordIndex::MAX;

#[derive(Debug, Clone)]
struct Node {
    /// Children, sorted by character.
    children: Vec<(char, NodeIndex)>,
    /// The word ending here, or [`NO_WORD`].
    word: WordIndex,
}

impl Node {
    const EMPTY: Node = Node {
        children: Vec::new(),
        word: NO_WORD,
    };
}

/// A fast, non-cryptographic hasher for words (the indexer hashes local
/// text, so resistance to crafted collisions does not matter): one multiply
/// per 8 bytes, and a full mix at the end so every bit of the hash counts.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WordHasher(u64);

impl WordHasher {
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(23) ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("chunk of 8")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[allow(
        clippy::cast_possible_truncation,
        reason = "the two halves are taken apart on purpose"
    )]
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        // SplitMix64's finalizer.
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Builds [`WordHasher`]s.
pub(crate) type BuildWordHasher = BuildHasherDefault<WordHasher>;

/// A prefix tree from words to the sets of files containing them.
///
/// ```
/// use pprocess_examples::indexer::trie::Trie;
/// let mut trie = Trie::new();
/// trie.insert("cat", 0);
/// trie.insert("catalog", 1);
/// trie.insert("cat", 2);
/// trie.insert("dog", 0);
/// let found = trie.search("cat");
/// assert_eq!(found, [("cat".to_owned(), &[0, 2][..]), ("catalog".to_owned(), &[1][..])]);
/// assert_eq!((trie.words(), trie.entries()), (3, 4));
/// ```
#[derive(Debug, Clone)]
pub struct Trie {
    nodes: Vec<Node>,
    /// The slots of the words of at most [`PACKED`] bytes, by packed word
    /// (see [`pack`]): the key is in the table, so a lookup does not chase a
    /// pointer to the word's text.
    short: HashMap<u128, Slot, BuildWordHasher>,
    /// The slots of longer words.
    long: HashMap<Box<str>, Slot, BuildWordHasher>,
    /// Each word's files, sorted and distinct, by word number.
    files: Vec<Vec<FileId>>,
    entries: usize,
}

/// What the lookup tables know of a word.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The word's number.
    word: WordIndex,
    /// The word's greatest file, so that repeated entries are caught without
    /// reading the word's files.
    last: FileId,
}

/// The longest words, in bytes, that [`pack`] packs.
const PACKED: usize = 15;

/// `word` packed into an integer when it has at most [`PACKED`] bytes: its
/// bytes (little-endian), zero padding, and its length in the last byte.
fn pack(word: &str) -> Option<u128> {
    let bytes = word.as_bytes();
    let len = bytes.len();
    if len > PACKED {
        return None;
    }
    // Whole-word loads, overlapping where the length is not a power of two
    // (the overlapping bytes agree), rather than a byte copy into a buffer
    // read back as an integer, which stalls on store forwarding.
    let (low, high) = if len >= 8 {
        let high = match len {
            8 => 0,
            _ => read_u64(&bytes[len - 8..]) >> (8 * (16 - len)),
        };
        (read_u64(bytes), high)
    } else if len >= 4 {
        let low = u64::from(read_u32(bytes))
            | (u64::from(read_u32(&bytes[len - 4..])) << (8 * (len - 4)));
        (low, 0)
    } else {
        let low = bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
        (low, 0)
    };
    Some(u128::from(low) | (u128::from(high | ((len as u64) << 56)) << 64))
}

/// The first 8 bytes of `bytes`, little-endian.
fn read_u64(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"))
}

/// The first 4 bytes of `bytes`, little-endian.
fn read_u32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"))
}

impl Default for Trie {
    fn default() -> Self {
        Self::new()
    }
}

impl Trie {
    /// An empty trie.
    #[must_use]
    pub fn new() -> Self {
        Self {
            nodes: vec![Node::EMPTY],
            short: HashMap::default(),
            long: HashMap::default(),
            files: Vec::new(),
            entries: 0,
        }
    }

    /// The slot of `word`, if it is a word of the trie.
    fn slot(&self, word: &str) -> Option<Slot> {
        match pack(word) {
            Some(key) => self.short.get(&key).copied(),
            None => self.long.get(word).copied(),
        }
    }

    /// Records that `file` contains `word`; returns whether the entry is new.
    ///
    /// Inserting an entry again changes nothing. The empty word is ignored
    /// (the tokenizer never produces it). Inserting a word's files in
    /// increasing order, as when indexing files one after the other, is the
    /// fast path; any order is correct.
    ///
    /// # Panics
    ///
    /// If the trie would need more than `u32::MAX - 1` nodes or words.
    pub fn insert(&mut self, word: &str, file: FileId) -> bool {
        if word.is_empty() {
            return false;
        }
        let slot = match pack(word) {
            Some(key) => self.short.get_mut(&key),
            None => self.long.get_mut(word),
        };
        let Some(slot) = slot else {
            self.add_word(word, &[file]);
            return true;
        };
        if slot.last == file {
            return false;
        }
        let files = &mut self.files[slot.word as usize];
        if slot.last < file {
            slot.last = file;
            files.push(file);
        } else {
            match files.binary_search(&file) {
                Ok(_) => return false,
                Err(at) => files.insert(at, file),
            }
        }
        self.entries += 1;
        true
    }

    /// Records that each of `files` (sorted and distinct or not) contains
    /// `word`; returns the number of new entries.
    ///
    /// This is how indexes built apart are merged cheaply: one lookup per
    /// word, and when the new files all come after the known ones (as when
    /// each part indexed its own range of files), one append.
    ///
    /// ```
    /// use pprocess_examples::indexer::trie::Trie;
    /// let mut trie = Trie::new();
    /// trie.insert_files("word", &[4, 1]);
    /// assert_eq!(trie.insert_files("word", &[1, 7, 9]), 2);
    /// assert_eq!(trie.files("word"), [1, 4, 7, 9]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`insert`](Self::insert).
    pub fn insert_files(&mut self, word: &str, files: &[FileId]) -> usize {
        if word.is_empty() || files.is_empty() {
            return 0;
        }
        let slot = match pack(word) {
            Some(key) => self.short.get_mut(&key),
            None => self.long.get_mut(word),
        };
        let Some(slot) = slot else {
            return self.add_word(word, files);
        };
        let known = &mut self.files[slot.word as usize];
        let before = known.len();
        if files[0] > slot.last && files.windows(2).all(|pair| pair[0] < pair[1]) {
            known.extend_from_slice(files);
        } else {
            known.extend_from_slice(files);
            known.sort_unstable();
            known.dedup();
        }
        slot.last = *known.last().expect("a word has files");
        let added = known.len() - before;
        self.entries += added;
        added
    }

    /// Adds the new word `word` to the tree, with the files `files` (not
    /// empty); returns the number of entries added.
    fn add_word(&mut self, word: &str, files: &[FileId]) -> usize {
        let number = WordIndex::try_from(self.files.len())
            .ok()
            .filter(|&n| n != NO_WORD)
            .expect("trie word count overflows u32");
        let mut node = ROOT;
        for c in word.chars() {
            let next = self.nodes.len();
            let children = &mut self.nodes[node as usize].children;
            node = match children.binary_search_by_key(&c, |&(key, _)| key) {
                Ok(at) => children[at].1,
                Err(at) => {
                    let next = NodeIndex::try_from(next).expect("trie node count overflows u32");
                    children.insert(at, (c, next));
                    self.nodes.push(Node::EMPTY);
                    next
                }
            };
        }
        self.nodes[node as usize].word = number;
        let mut files = files.to_vec();
        files.sort_unstable();
        files.dedup();
        let slot = Slot {
            word: number,
            last: *files.last().expect("a word has files"),
        };
        match pack(word) {
            Some(key) => self.short.insert(key, slot),
            None => self.long.insert(word.into(), slot),
        };
        let added = files.len();
        self.files.push(files);
        self.entries += added;
        added
    }

    /// The node reached by following `prefix` from the root, if any.
    fn find(&self, prefix: &str) -> Option<NodeIndex> {
        let mut node = ROOT;
        for c in prefix.chars() {
            let children = &self.nodes[node as usize].children;
            let at = children.binary_search_by_key(&c, |&(key, _)| key).ok()?;
            node = children[at].1;
        }
        Some(node)
    }

    /// The files of the word ending at `node`; empty if none ends there.
    fn node_files(&self, node: &Node) -> &[FileId] {
        match node.word {
            NO_WORD => &[],
            word => &self.files[word as usize],
        }
    }

    /// The files containing `word`, sorted; empty when it is not a word of
    /// the trie.
    #[must_use]
    pub fn files(&self, word: &str) -> &[FileId] {
        match self.slot(word) {
            Some(slot) => &self.files[slot.word as usize],
            None => &[],
        }
    }

    /// Whether `word` is a word of the trie.
    #[must_use]
    pub fn contains(&self, word: &str) -> bool {
        !self.files(word).is_empty()
    }

    /// Calls `f` with every word beginning with `pattern` (the pattern
    /// included when it is a word) and its sorted files, words in sorted
    /// order; the empty pattern visits every word.
    ///
    /// This allocates one string buffer and a stack, whatever the number of
    /// words; [`search`](Self::search) is the same collected into a `Vec`.
    pub fn for_each_prefixed<'a>(&'a self, pattern: &str, mut f: impl FnMut(&str, &'a [FileId])) {
        let Some(start) = self.find(pattern) else {
            return;
        };
        let mut word = String::from(pattern);
        let start_node = &self.nodes[start as usize];
        let files = self.node_files(start_node);
        if !files.is_empty() {
            f(&word, files);
        }
        // Depth first, children pushed in reverse so the smallest comes out
        // first: each entry is a node, its character and the length of its
        // parent's word. Iterative, so long words cannot overflow the stack.
        let base = word.len();
        let mut stack: Vec<(NodeIndex, char, usize)> = start_node
            .children
            .iter()
            .rev()
            .map(|&(c, child)| (child, c, base))
            .collect();
        while let Some((node, c, parent_len)) = stack.pop() {
            word.truncate(parent_len);
            word.push(c);
            let node = &self.nodes[node as usize];
            let files = self.node_files(node);
            if !files.is_empty() {
                f(&word, files);
            }
            let len = word.len();
            stack.extend(
                node.children
                    .iter()
                    .rev()
                    .map(|&(c, child)| (child, c, len)),
            );
        }
    }

    /// Every word beginning with `pattern` (the pattern included when it is a
    /// word) with its files, words sorted and each word's files sorted by
    /// identifier; the empty pattern gives every word.
    #[must_use]
    pub fn search(&self, pattern: &str) -> Vec<(String, &[FileId])> {
        let mut found = Vec::new();
        self.for_each_prefixed(pattern, |word, files| found.push((word.to_owned(), files)));
        found
    }

    /// The number of distinct words.
    #[must_use]
    pub fn words(&self) -> usize {
        self.files.len()
    }

    /// The number of distinct (word, file) entries.
    #[must_use]
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Whether the trie holds no word.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The number of nodes, the root included (a measure of memory use).
    #[must_use]
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }
}

#[cfg(test)]
mod tests;
