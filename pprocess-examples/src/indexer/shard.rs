//! One worker's part of the index: the words of the files it read.
//!
//! While files are read, a [`ShardBuilder`] maps each word to the files
//! containing it (`FxHashMap<Box<str>, Vec<FileId>>`, one lookup per word
//! read). [`ShardBuilder::finish`] turns it into a [`Shard`]: the same
//! entries sorted by word, so that the words beginning with a pattern are
//! one range found by binary search.
//!
//! ```
//! use pprocess_examples::indexer::shard::ShardBuilder;
//! let mut builder = ShardBuilder::new();
//! for (file, text) in [(0, "cat dog cat"), (1, "catalog")] {
//!     for word in text.split(' ') {
//!         builder.add(word, file);
//!     }
//! }
//! let shard = builder.finish();
//! let found: Vec<(&str, &[u32])> = shard.prefixed("cat").collect();
//! assert_eq!(found, [("cat", &[0][..]), ("catalog", &[1][..])]);
//! assert_eq!((shard.words(), shard.entries()), (3, 3));
//! ```

use rustc_hash::FxHashMap;

use super::FileId;

/// A shard being built.
#[derive(Debug, Default)]
pub struct ShardBuilder {
    map: FxHashMap<Box<str>, Vec<FileId>>,
    entries: u64,
}

impl ShardBuilder {
    /// An empty shard.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `file` contains `word`.
    ///
    /// A file's words must be added together, before another file's (the
    /// repeated word of a file is caught by looking at the word's last
    /// file); files may come in any order.
    pub fn add(&mut self, word: &str, file: FileId) {
        match self.map.get_mut(word) {
            Some(files) => {
                if files.last() != Some(&file) {
                    files.push(file);
                    self.entries += 1;
                }
            }
            None => {
                self.map.insert(word.into(), vec![file]);
                self.entries += 1;
            }
        }
    }

    /// The distinct words so far.
    #[must_use]
    pub fn words(&self) -> usize {
        self.map.len()
    }

    /// The distinct (word, file) entries so far.
    #[must_use]
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// [`finish`](Self::finish), less the entries of the files of `failed`
    /// (files that could not be read to their end: their words so far are
    /// taken back).
    #[must_use]
    pub fn finish_without(self, failed: &[FileId]) -> Shard {
        self.finish_mapped(failed, None)
    }

    /// The finished shard: entries sorted by word (in byte order, which is
    /// the order of characters), each word's files sorted.
    ///
    /// # Panics
    ///
    /// If the shard holds more than `u32::MAX` distinct words.
    #[must_use]
    pub fn finish(self) -> Shard {
        self.finish_mapped(&[], None)
    }

    /// [`finish_without`](Self::finish_without), with every file
    /// identifier `id` replaced by `map[id]` (each word's files sorted in
    /// that new numbering): the pool numbers files by their names' sorted
    /// order once the walk is over, so that a search's files need no
    /// sorting by name.
    ///
    /// # Panics
    ///
    /// If the shard holds more than `u32::MAX` distinct words, or an
    /// identifier is not an index of `map`.
    #[must_use]
    pub fn finish_mapped(mut self, failed: &[FileId], map: Option<&[FileId]>) -> Shard {
        if !failed.is_empty() {
            let failed: rustc_hash::FxHashSet<FileId> = failed.iter().copied().collect();
            let mut removed = 0;
            self.map.retain(|_, files| {
                let before = files.len();
                files.retain(|file| !failed.contains(file));
                removed += (before - files.len()) as u64;
                !files.is_empty()
            });
            self.entries -= removed;
        }
        let mut entries: Vec<(Box<str>, Vec<FileId>)> = self.map.into_iter().collect();
        // Sort a small key per word (its first 8 bytes, big-endian, zero
        // padded: words hold no NUL) with the word's position, comparing
        // the words' text only on ties.
        let mut keys: Vec<(u64, u32)> = entries
            .iter()
            .enumerate()
            .map(|(i, (word, _))| {
                let i = u32::try_from(i).expect("a shard holds at most u32::MAX words");
                (prefix_key(word), i)
            })
            .collect();
        keys.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                let (x, y) = (&entries[a.1 as usize].0, &entries[b.1 as usize].0);
                x.as_bytes()[8.min(x.len())..].cmp(&y.as_bytes()[8.min(y.len())..])
            })
        });
        // Put the entries in that order, in place.
        let mut order: Vec<u32> = keys.into_iter().map(|(_, i)| i).collect();
        permute(&mut entries, &mut order);
        drop(order);
        for (_, files) in &mut entries {
            if let Some(map) = map {
                for file in files.iter_mut() {
                    *file = map[*file as usize];
                }
            }
            if !files.is_sorted() {
                files.sort_unstable();
            }
        }
        Shard {
            entries,
            total: self.entries,
        }
    }
}

/// The first 8 bytes of `word`, big-endian, zero padded.
fn prefix_key(word: &str) -> u64 {
    let mut key = [0u8; 8];
    let bytes = word.as_bytes();
    let n = bytes.len().min(8);
    key[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(key)
}

/// Reorders `items` in place so that `items[j]` becomes what was at
/// `order[j]`; `order` (a permutation) is used up.
fn permute<T>(items: &mut [T], order: &mut [u32]) {
    for i in 0..items.len() {
        if order[i] as usize == i {
            continue;
        }
        let mut j = i;
        loop {
            let k = order[j] as usize;
            #[allow(
                clippy::cast_possible_truncation,
                reason = "j indexes order, whose entries are u32 positions of as many items"
            )]
            let place = j as u32;
            order[j] = place;
            if k == i {
                break;
            }
            items.swap(j, k);
            j = k;
        }
    }
}

/// A finished shard: words sorted, each with its sorted files.
#[derive(Debug, Default)]
pub struct Shard {
    entries: Vec<(Box<str>, Vec<FileId>)>,
    total: u64,
}

impl Shard {
    /// The range of entries whose word begins with `pattern`.
    #[must_use]
    pub fn range(&self, pattern: &str) -> std::ops::Range<usize> {
        let start = self
            .entries
            .partition_point(|(word, _)| word.as_bytes() < pattern.as_bytes());
        let len = self.entries[start..].partition_point(|(word, _)| word.starts_with(pattern));
        start..start + len
    }

    /// The entries whose word begins with `pattern`, in word order.
    pub fn prefixed<'a>(
        &'a self,
        pattern: &str,
    ) -> impl Iterator<Item = (&'a str, &'a [FileId])> + 'a {
        self.slice(self.range(pattern))
    }

    /// The entries of `range` (see [`Shard::range`]).
    pub fn slice(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (&str, &[FileId])> + '_ {
        self.entries[range]
            .iter()
            .map(|(word, files)| (&**word, files.as_slice()))
    }

    /// The number of files of entry `i` (in word order).
    #[must_use]
    pub fn count(&self, i: usize) -> usize {
        self.entries[i].1.len()
    }

    /// The distinct words.
    #[must_use]
    pub fn words(&self) -> usize {
        self.entries.len()
    }

    /// The distinct (word, file) entries.
    #[must_use]
    pub fn entries(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_puts_items_in_order() {
        let mut items = vec!['a', 'b', 'c', 'd', 'e'];
        let mut order = vec![2, 0, 1, 4, 3];
        permute(&mut items, &mut order);
        assert_eq!(items, ['c', 'a', 'b', 'e', 'd']);
    }

    #[test]
    fn sorted_by_bytes_with_long_shared_prefixes() {
        let mut builder = ShardBuilder::new();
        let words = [
            "implementation",
            "implementations",
            "implement",
            "imp",
            "Zeta",
            "étage",
            "a",
            "implementationally",
            "b",
            "日本",
            "ab",
        ];
        for (file, word) in (0u32..).zip(&words) {
            builder.add(word, file);
            builder.add(word, file);
        }
        assert_eq!(builder.entries(), words.len() as u64);
        let shard = builder.finish();
        let got: Vec<&str> = shard.prefixed("").map(|(w, _)| w).collect();
        let mut want = words.to_vec();
        want.sort_unstable();
        assert_eq!(got, want);
        let imp: Vec<&str> = shard.prefixed("implementation").map(|(w, _)| w).collect();
        assert_eq!(
            imp,
            ["implementation", "implementationally", "implementations"]
        );
        assert_eq!(shard.prefixed("x").count(), 0);
        assert_eq!(shard.prefixed("zzz").count(), 0);
        assert_eq!(shard.prefixed("日").count(), 1);
    }

    #[test]
    fn failed_files_are_taken_back() {
        let mut builder = ShardBuilder::new();
        builder.add("both", 1);
        builder.add("only", 1);
        builder.add("both", 2);
        builder.add("kept", 3);
        let shard = builder.finish_without(&[1]);
        let got: Vec<(&str, &[u32])> = shard.prefixed("").collect();
        assert_eq!(got, [("both", &[2][..]), ("kept", &[3][..])]);
        assert_eq!((shard.words(), shard.entries()), (2, 2));
    }

    #[test]
    fn mapped_identifiers_are_sorted_and_contiguous() {
        let mut builder = ShardBuilder::new();
        for (file, text) in [(0, "b a"), (1, "a c"), (2, "b a"), (3, "a")] {
            for word in text.split(' ') {
                builder.add(word, file);
            }
        }
        // File 3 failed; the others are renumbered 0 -> 2, 1 -> 0, 2 -> 1.
        let shard = builder.finish_mapped(&[3], Some(&[2, 0, 1, 9]));
        let got: Vec<(&str, &[u32])> = shard.prefixed("").collect();
        assert_eq!(
            got,
            [("a", &[0, 1, 2][..]), ("b", &[1, 2][..]), ("c", &[0][..])]
        );
        assert_eq!((shard.count(0), shard.count(1), shard.count(2)), (3, 2, 1));
        assert_eq!(shard.range("b"), 1..2);
        assert!(shard.range("z").is_empty());
        assert_eq!(shard.entries(), 6);
    }

    #[test]
    fn files_out_of_order_are_sorted() {
        let mut builder = ShardBuilder::new();
        for file in [5, 9, 3, 7] {
            builder.add("word", file);
        }
        let shard = builder.finish();
        assert_eq!(shard.prefixed("word").next().unwrap().1, [3, 5, 7, 9]);
        assert_eq!(shard.entries(), 4);
    }
}
