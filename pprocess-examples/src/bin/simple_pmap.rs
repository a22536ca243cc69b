//! A parallel map: `pmap` applies the work function to every cell in
//! forked worker processes and returns the results in input order.
//!
//! Ports pprocess's `examples/simple_pmap.py`: the same program as
//! `simple_map`, with `map` replaced by `pmap(calculate, sequence, limit)`.
//!
//! `cargo run --release -p pprocess-examples --bin simple_pmap -- --delay 0.5`

use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{N, Options, print_grid, print_time};
use pprocess_exchange::pmap;

/// A supposedly time-consuming calculation on `t`.
fn calculate((i, j): (usize, usize), delay: Duration) -> usize {
    thread::sleep(delay);
    i * N + j
}

fn main() -> pprocess_exchange::Result<()> {
    let Options { delay, limit } = Options::parse();
    let t = Instant::now();

    // Initialise an array.
    let mut sequence = Vec::new();
    for i in 0..N {
        for j in 0..N {
            sequence.push((i, j));
        }
    }

    // Perform the work: `limit` workers, which already hold `sequence`.
    let results = pmap(|&t| calculate(t, delay), &sequence, limit)?;

    // Show the results.
    print_grid(&results);
    print_time(t);
    Ok(())
}
