//! Sequential computation through a work function, whose results are
//! appended to a list in the order of the calls.
//!
//! Ports pprocess's `examples/simple1.py`. The parallel forms of this loop
//! are `simple_managed_map` (results in call order, as here) and
//! `simple_managed_queue`. `--limit` is accepted for symmetry with the
//! other examples and ignored.
//!
//! `cargo run --release -p pprocess-examples --bin simple1 -- --delay 0.5`

use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{N, Options, print_grid, print_time, say};

/// A supposedly time-consuming calculation on `i` and `j`.
fn calculate(i: usize, j: usize, delay: Duration) -> usize {
    thread::sleep(delay);
    i * N + j
}

fn main() {
    let Options { delay, .. } = Options::parse();
    let t = Instant::now();

    // Initialise an array.
    let mut results = Vec::with_capacity(N * N);

    // Perform the work.
    say("Calculating...");
    for i in 0..N {
        for j in 0..N {
            results.push(calculate(i, j, delay));
        }
    }

    // Show the results.
    print_grid(&results);
    print_time(t);
}
