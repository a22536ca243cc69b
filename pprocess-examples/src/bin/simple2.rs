//! Sequential computation through a work function that says where its
//! result goes: it returns `(i, j, value)`, and the loop puts the value in
//! its place. That is what lets results arrive in any order once the calls
//! run in parallel.
//!
//! Ports pprocess's `examples/simple2.py`. The parallel forms of this loop
//! are `simple_managed_queue`, `simple_managed` and `simple_start`.
//! `--limit` is accepted for symmetry with the other examples and ignored.
//!
//! `cargo run --release -p pprocess-examples --bin simple2 -- --delay 0.5`

use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{N, Options, new_grid, print_grid, print_time, say};

/// A supposedly time-consuming calculation on `i` and `j`; says where its
/// result goes.
fn calculate(i: usize, j: usize, delay: Duration) -> (usize, usize, usize) {
    thread::sleep(delay);
    (i, j, i * N + j)
}

fn main() {
    let Options { delay, .. } = Options::parse();
    let t = Instant::now();

    // Initialise an array.
    let mut results = new_grid();

    // Perform the work.
    say("Calculating...");
    for i in 0..N {
        for j in 0..N {
            let (i2, j2, result) = calculate(i, j, delay);
            results[i2 * N + j2] = result;
        }
    }

    // Show the results.
    print_grid(&results);
    print_time(t);
}
