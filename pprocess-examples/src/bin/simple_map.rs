//! The sequential starting point: a plain `map` over the grid's cells, one
//! after the other, in this one process.
//!
//! Ports pprocess's `examples/simple_map.py` (and `simple.py`, its inline
//! form). `simple_pmap` is the same program made parallel; compare their
//! times. `--limit` is accepted for symmetry with the other examples and
//! ignored.
//!
//! `cargo run --release -p pprocess-examples --bin simple_map -- --delay 0.5`

use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{N, Options, print_grid, print_time};

/// A supposedly time-consuming calculation on `t`.
fn calculate((i, j): (usize, usize), delay: Duration) -> usize {
    thread::sleep(delay);
    i * N + j
}

fn main() {
    let Options { delay, .. } = Options::parse();
    let t = Instant::now();

    // Initialise an array.
    let mut sequence = Vec::new();
    for i in 0..N {
        for j in 0..N {
            sequence.push((i, j));
        }
    }

    // Perform the work.
    let results: Vec<usize> = sequence.iter().map(|&t| calculate(t, delay)).collect();

    // Show the results.
    print_grid(&results);
    print_time(t);
}
