//! The indexer's baselines as a program, for side-by-side runs with
//! `start_indexer` (see `indexer-compare`):
//!
//! ```text
//! indexer-baseline single|rayon DIR
//! ```
//!
//! Walks `DIR` as `start_indexer` does (`list_files`, default options),
//! indexes it (see `pprocess_benches::indexer`) and prints the number of
//! files, words and entries on standard error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use pprocess_benches::indexer::{entries, index_rayon, index_single};
use pprocess_examples::indexer::{WalkOptions, list_files};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, dir) = match args.as_slice() {
        [mode, dir] if mode == "single" || mode == "rayon" => (mode.as_str(), PathBuf::from(dir)),
        _ => {
            eprintln!("usage: indexer-baseline single|rayon DIR");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let (paths, _) = list_files(&dir, &WalkOptions::default());
    let map = if mode == "single" {
        index_single(&paths)
    } else {
        index_rayon(&paths)
    };
    eprintln!(
        "indexer-baseline {mode}: {} files, {} words, {} entries in {:.2} s",
        paths.len(),
        map.len(),
        entries(&map),
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
