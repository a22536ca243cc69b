//! A text indexer: files are parsed in parallel child processes and merged
//! into one prefix tree as their words stream in; then each pattern read
//! from standard input is answered with every indexed word beginning with
//! it and the files that contain the word.
//!
//! Ports pprocess's `tests/start_indexer.py` (with `tests/Dict.py`): a
//! window of at most `WINDOW` children, each given `SLICE` files and
//! optionally sleeping `DELAY` seconds per file to simulate heavy work.
//! pprocess fills the window itself with `start` and `Exchange.add`; here a
//! continuous `Queue` with a limit does it. Children are forks, so they
//! already hold the file list: only their results cross a channel, one
//! message per file with its distinct words.
//!
//! `start_indexer [DIR] [--window N] [--slice N] [--delay SECS] [--noprompt] [--json] [--recursive]`,
//! or pprocess's `start_indexer DIR WINDOW SLICE DELAY`. Without `DIR`, the
//! project's documentation, embedded when the program was built, is
//! indexed:
//!
//! `cargo run --release -p pprocess-examples --bin start_indexer`
//!
//! See [`pprocess_examples::indexer::cli`] for the details.

use std::process::ExitCode;

fn main() -> ExitCode {
    pprocess_examples::indexer::cli::main()
}
