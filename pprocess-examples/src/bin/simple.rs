//! The sequential program at its plainest: the work is written inline in a
//! nested loop, one cell after the other, in this one process.
//!
//! Ports pprocess's `examples/simple.py`. `simple_create` and
//! `simple_create_queue` are the same loop made parallel with `create`;
//! compare their times. `--limit` is accepted for symmetry with the other
//! examples and ignored.
//!
//! `cargo run --release -p pprocess-examples --bin simple -- --delay 0.5`

use std::thread;
use std::time::Instant;

use clap::Parser;
use pprocess_examples::grid::{N, Options, new_grid, print_grid, print_time, say};

fn main() {
    let Options { delay, .. } = Options::parse();
    let t = Instant::now();

    // Initialise an array.
    let mut results = new_grid();

    // Perform the work.
    say("Calculating...");
    for i in 0..N {
        for j in 0..N {
            thread::sleep(delay);
            results[i * N + j] = i * N + j;
        }
    }

    // Show the results.
    print_grid(&results);
    print_time(t);
}
