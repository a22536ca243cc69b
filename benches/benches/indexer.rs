//! The text indexer of `start_indexer`, at 1, 2 and 4 workers: its default
//! engine (a pool of workers forked once, each holding a shard, its words
//! sorted at the end), pprocess's shape (a child per slice of 5 files,
//! merged in the parent), and the baselines of `pprocess_benches::indexer`
//! doing the same reading and tokenizing: one thread, and rayon's
//! `par_iter().fold().reduce()` on a pool of N threads.
//!
//! Two corpora: `make_corpus`'s (files of 100 kB of Zipf-distributed
//! pseudo-words, seed 1), written to a temporary directory before the
//! measurements and removed after; and a real one found on the machine
//! (`INDEXER_BENCH_DIR`, default `/usr/share/doc` if it exists; `none` to
//! skip it):
//!
//! ```text
//! cargo bench -p pprocess-benches --bench indexer                  # 20 MB, 200 files
//! INDEXER_BENCH_BYTES=200000000 cargo bench -p pprocess-benches --bench indexer   # 200 MB, 2000 files
//! ```
//!
//! `INDEXER_BENCH_FILES` overrides the number of generated files (default:
//! one per 100 kB); `INDEXER_BENCH_SECS` the measurement time of each case
//! (default 8 s; criterion takes 10 samples of at least one run each
//! whatever it is, so a slow case takes longer). Throughput is in bytes of corpus. Whole-program runs
//! (walk included, wall time and peak memory of the process tree) are
//! `indexer-compare`'s job (see `benches/src/bin/indexer_compare.rs`).

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use pprocess_benches::indexer::{entries, index_rayon, index_single};
use pprocess_examples::indexer::corpus::{CorpusOptions, write_corpus};
use pprocess_examples::indexer::parallel::{Options, documents, index_parallel};
use pprocess_examples::indexer::pool::{Files, Pool, PoolOptions};
use pprocess_examples::indexer::{WalkOptions, index_sequential, list_files};

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

/// Measures every case on the files of `paths` (`bytes` in all).
fn cases(c: &mut Criterion, group: &str, paths: &[PathBuf], bytes: u64) {
    let mut g = c.benchmark_group(group);
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    let secs = env_u64("INDEXER_BENCH_SECS").unwrap_or(8);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(secs.max(1)));
    g.throughput(Throughput::Bytes(bytes));

    g.bench_function("single", |b| {
        b.iter(|| entries(&black_box(index_single(paths))))
    });
    for workers in [1, 2, 4] {
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .build()
            .expect("a rayon pool");
        g.bench_function(format!("rayon-{workers}"), |b| {
            b.iter(|| threads.install(|| entries(&black_box(index_rayon(paths)))))
        });
        let options = PoolOptions {
            workers,
            ..PoolOptions::default()
        };
        g.bench_function(format!("default-{workers}"), |b| {
            b.iter(|| {
                let (pool, summary) =
                    Pool::index(Files::List(paths.to_vec()), &options, |_| {}).expect("indexing");
                drop(black_box(pool));
                summary.entries
            })
        });
        let options = Options {
            window: workers,
            slice: SLICE,
            delay: None,
            reuse: false,
        };
        g.bench_function(format!("pprocess-{workers}"), |b| {
            b.iter(|| {
                let indexed = index_parallel(documents(paths.to_vec()), &options, |_, _| {})
                    .expect("indexing");
                black_box(indexed.index).entries()
            })
        });
    }
    g.finish();
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
    let (paths, _) = list_files(dir.path(), &WalkOptions::default());
    eprintln!(
        "indexer: corpus of {} files, {} bytes in {}",
        written.files,
        written.bytes,
        dir.path().display()
    );

    // Every indexer must find the sequential index's entries.
    let sequential = index_sequential(&paths);
    let (pool, summary) =
        Pool::index(Files::List(paths.clone()), &PoolOptions::default(), |_| {}).expect("pool");
    assert!(summary.failed.is_empty());
    assert_eq!(summary.entries, sequential.entries() as u64);
    drop(pool);
    assert_eq!(entries(&index_rayon(&paths)), sequential.entries());
    assert_eq!(entries(&index_single(&paths)), sequential.entries());
    eprintln!(
        "indexer: {} distinct words, {} entries",
        sequential.words(),
        sequential.entries()
    );
    drop(sequential);
    let group = format!("indexer_{}MB", (written.bytes + 500_000) / 1_000_000);
    cases(c, &group, &paths, written.bytes);

    let real = std::env::var("INDEXER_BENCH_DIR").unwrap_or_else(|_| "/usr/share/doc".into());
    if test_mode || real == "none" || !Path::new(&real).is_dir() {
        return;
    }
    let (paths, _) = list_files(Path::new(&real), &WalkOptions::default());
    let bytes: u64 = paths
        .iter()
        .filter_map(|p| fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    eprintln!("indexer: {} files, {bytes} bytes in {real}", paths.len());
    let name = real.trim_matches('/').replace('/', "_");
    cases(c, &format!("indexer_{name}"), &paths, bytes);
}

criterion_group!(benches, indexer);
criterion_main!(benches);
