use std::path::PathBuf;

use super::super::Summary;
use super::*;
use crate::indexer::walk::WalkOptions;

/// Every batch the feeder gives for `files`, in order, with `workers`
/// workers and batches of up to `batch` files.
fn batches(files: Files, workers: usize, batch: usize) -> Vec<Batch> {
    let mut observe = |_: Event<'_>| {};
    let mut index = Indexing {
        names: Names::default(),
        reported: Vec::new(),
        progress: Progress::default(),
        summary: Summary::default(),
        observe: &mut observe,
    };
    let options = PoolOptions {
        workers,
        batch,
        delay: None,
        walk_threads: 2,
    };
    let mut feeder = Feeder::new(files, &options, &mut index);
    let mut all = Vec::new();
    while let Some(batch) = feeder.next(&mut index) {
        all.push(batch);
    }
    assert!(!feeder.has_work(&index));
    all
}

/// The batches cover the files `0..files` once each, in order.
fn assert_cover(batches: &[Batch], files: u32) {
    let mut next = 0;
    for batch in batches {
        assert_eq!(batch.first, next, "{batches:?}");
        next += batch.count;
    }
    assert_eq!(next, files, "{batches:?}");
}

#[test]
fn a_few_files_found_at_once_are_shared_between_the_workers() {
    // 64 files found before the first batch: batches of 128 would give
    // them all to the first worker. A batch is at most a quarter of a
    // worker's share of the files waiting (64 / (4 * 2) = 8).
    let dir = tempfile::tempdir().unwrap();
    for i in 0..64 {
        std::fs::write(dir.path().join(format!("{i}.txt")), "words").unwrap();
    }
    let files = Files::Walk {
        dir: dir.path().to_owned(),
        options: WalkOptions::default(),
    };
    let batches = batches(files, 2, 128);
    assert_cover(&batches, 64);
    assert!(batches.iter().all(|b| b.count <= 8), "{batches:?}");
}

#[test]
fn batches_grow_to_their_size_and_shrink_at_the_end() {
    let paths = (0..4000)
        .map(|i| PathBuf::from(format!("/d/{i}")))
        .collect();
    let batches = batches(Files::List(paths), 2, 128);
    assert_cover(&batches, 4000);
    assert_eq!(batches[0].count, 128);
    assert!(batches.iter().all(|b| b.count <= 128));
    assert_eq!(batches.last().unwrap().count, 1, "{batches:?}");
}
