//! Follows several files as they grow and prints the new lines that match
//! any of several patterns, with nested queues of processes: one grep
//! child per pattern, each with one follower child per file.
//!
//! Ports pprocess's `examples/concurrency-sig/bottles.py`. The printer
//! takes lines from the main queue as they arrive. pprocess's followers
//! never stop; these stop when their file has been idle for `--idle`
//! seconds, and the program ends when all have.
//!
//! ```sh
//! touch /tmp/test /tmp/test2 /tmp/test3
//! cargo run --release -p pprocess-examples --bin bottles -- --idle 30 &
//! echo "a pair of pants" >> /tmp/test
//! ```

use std::process::ExitCode;

use clap::Parser;
use pprocess_examples::bottles::{Options, announcement, print_line, say, start};

fn main() -> ExitCode {
    let options = Options::parse();
    let queue = match start(&options) {
        Ok(queue) => queue,
        Err(e) => {
            eprintln!("bottles: {e}");
            return ExitCode::FAILURE;
        }
    };
    say(&announcement(&options));

    // Print incoming lines.
    let mut failed = false;
    for line in queue {
        match line {
            Ok(line) => print_line(&line),
            Err(e) => {
                eprintln!("bottles: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
