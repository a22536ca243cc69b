//! The text indexer of `start_indexer`: the parallel indexer (forked
//! children, a window of 1, 2 and 4, slices of 5 files; a child per slice
//! as pprocess does, and `window` reused workers) against
//! `index_sequential` in one process, on the same generated corpus.
//!
//! The corpus is `make_corpus`'s (files of 100 kB of Zipf-distributed
//! pseudo-words, seed 1), written to a temporary directory before the
//! measurements and removed after:
//!
//! ```text
//! cargo bench -p pprocess-benches --bench indexer                  # 20 MB, 200 files
//! INDEXER_BENCH_BYTES=200000000 cargo bench -p pprocess-benches --bench indexer   # 200 MB, 2000 files
//! ```
//!
//! `INDEXER_BENCH_FILES` overrides the number of files (default: one per
//! 100 kB, as `make_corpus`'s 2000 files for 200 MB). Throughput is in bytes
//! of corpus.

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use pprocess_examples::indexer::corpus::{CorpusOptions, write_corpus};
use pprocess_examples::indexer::parallel::{Options, documents, index_parallel};
use pprocess_examples::indexer::{index_sequential, list_files};

/// Default corpus size: large enough to be dominated by parsing, small
/// enough for a run of a few minutes.
const DEFAULT_BYTES: u64 = 20_000_000;

/// Bytes per file when `INDEXER_BENCH_FILES` is not set.
const BYTES_PER_FILE: u64 = 100_000;

/// Files given to each child: pprocess's default slice.
const SLICE: usize = 5;

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={value:?} is not a number"),
    }
}

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path =
            std::env::temp_dir().join(format!("pprocess-indexer-bench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("cannot create the corpus directory");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn indexer(c: &mut Criterion) {
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`)
    // criterion runs each case once, and a small corpus will do.
    let test_mode = !std::env::args().any(|a| a == "--bench");
    let bytes =
        env_u64("INDEXER_BENCH_BYTES").unwrap_or(if test_mode { 1_000_000 } else { DEFAULT_BYTES });
    let files = env_u64("INDEXER_BENCH_FILES").unwrap_or((bytes / BYTES_PER_FILE).max(1));
    let files = u32::try_from(files).expect("INDEXER_BENCH_FILES fits u32");

    let dir = TempDir::new();
    let options = CorpusOptions {
        files,
        bytes,
        seed: 1,
    };
    let written = write_corpus(dir.path(), &options).expect("cannot write the corpus");
    let paths = list_files(dir.path(), false).expect("cannot list the corpus");
    eprintln!(
        "indexer: corpus of {} files, {} bytes in {}",
        written.files,
        written.bytes,
        dir.path().display()
    );

    // The parallel index must be the sequential one.
    let sequential = index_sequential(&paths);
    let parallel = index_parallel(documents(paths.clone()), &Options::default(), |_, _| {})
        .expect("parallel indexing");
    assert!(parallel.failed.is_empty());
    assert_eq!(parallel.index.entries(), sequential.entries());
    assert_eq!(parallel.index.words(), sequential.words());
    eprintln!(
        "indexer: {} distinct words, {} entries",
        sequential.words(),
        sequential.entries()
    );
    drop((sequential, parallel));

    let mut g = c.benchmark_group(format!(
        "indexer_{}MB",
        (written.bytes + 500_000) / 1_000_000
    ));
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Bytes(written.bytes));

    g.bench_function("sequential", |b| {
        b.iter(|| black_box(index_sequential(&paths)).entries())
    });
    for reuse in [false, true] {
        for window in [1, 2, 4] {
            let options = Options {
                window,
                slice: SLICE,
                delay: None,
                reuse,
            };
            let mode = if reuse { "reused" } else { "per-slice" };
            g.bench_function(format!("parallel-{mode}-window-{window}"), |b| {
                b.iter(|| {
                    let indexed = index_parallel(documents(paths.clone()), &options, |_, _| {})
                        .expect("indexing");
                    black_box(indexed.index).entries()
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, indexer);
criterion_main!(benches);
