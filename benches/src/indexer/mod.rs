//! The indexer's baselines: the same work as `start_indexer`'s default
//! engine (the same walk, the same chunked reader and tokenizer, binary
//! files skipped, an `FxHashMap<String, Vec<u32>>` from words to file
//! identifiers) done in one thread, and with rayon's
//! `par_iter().fold().reduce()`.
//!
//! They build the index and stop: no sorting for prefix searches (which
//! the pool's workers do), so they do a little less work than the program
//! they are compared with.

pub mod chart;
pub mod run;

use std::fs::File;
use std::path::PathBuf;

use pprocess_examples::indexer::scan::Scanner;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// The index the baselines build.
pub type Map = FxHashMap<String, Vec<u32>>;

/// Adds the words of file `id` at `path` to `map`; unreadable files are
/// skipped.
fn index_file(map: &mut Map, scanner: &mut Scanner, id: u32, path: &PathBuf) {
    let Ok(file) = File::open(path) else { return };
    let _ = scanner.scan(file, |word| match map.get_mut(word) {
        Some(files) => {
            if files.last() != Some(&id) {
                files.push(id);
            }
        }
        None => {
            map.insert(word.to_owned(), vec![id]);
        }
    });
}

/// Indexes `paths` one after the other (file identifier: position).
///
/// # Panics
///
/// If there are more than `u32::MAX` paths.
#[must_use]
pub fn index_single(paths: &[PathBuf]) -> Map {
    let mut map = Map::default();
    let mut scanner = Scanner::new();
    for (id, path) in paths.iter().enumerate() {
        let id = u32::try_from(id).expect("file identifiers are u32");
        index_file(&mut map, &mut scanner, id, path);
    }
    map
}

/// Indexes `paths` with rayon: a map per fold, merged pairwise, the
/// smaller into the larger.
///
/// # Panics
///
/// If there are more than `u32::MAX` paths.
pub fn index_rayon(paths: &[PathBuf]) -> Map {
    paths
        .par_iter()
        .enumerate()
        .fold(
            || (Map::default(), Scanner::new()),
            |(mut map, mut scanner), (id, path)| {
                let id = u32::try_from(id).expect("file identifiers are u32");
                index_file(&mut map, &mut scanner, id, path);
                (map, scanner)
            },
        )
        .map(|(map, _)| map)
        .reduce(Map::default, |a, b| {
            let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            for (word, files) in small {
                big.entry(word).or_default().extend(files);
            }
            big
        })
}

/// The number of (word, file) entries of `map`.
pub fn entries(map: &Map) -> usize {
    map.values().map(Vec::len).sum()
}
