//! Writes a deterministic text corpus for the indexer's benchmarks.
//!
//! `make_corpus OUT_DIR [--files 2000] [--bytes 200000000] [--seed 1]`
//! writes `OUT_DIR/doc-00000.txt`... of roughly `bytes / files` bytes each
//! (never more), made of pseudo-words with a Zipf-like frequency, some
//! punctuation and lines of about 70 characters. The same arguments always
//! give byte-identical files. Other files in `OUT_DIR` are left alone. The
//! generator is [`pprocess_examples::indexer::corpus`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pprocess_examples::indexer::corpus::{CorpusOptions, write_corpus};

/// Writes a deterministic text corpus for benchmarks.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Directory to write into (created if missing).
    out_dir: PathBuf,
    /// Number of files.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    files: u32,
    /// Total size in bytes, shared out evenly between the files.
    #[arg(long, default_value_t = 200_000_000)]
    bytes: u64,
    /// Seed of the pseudo-random generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = CorpusOptions {
        files: args.files,
        bytes: args.bytes,
        seed: args.seed,
    };
    match write_corpus(&args.out_dir, &options) {
        Ok(written) => {
            println!(
                "make_corpus: wrote {} files, {} bytes to {}",
                written.files,
                written.bytes,
                args.out_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make_corpus: {e}");
            ExitCode::FAILURE
        }
    }
}
