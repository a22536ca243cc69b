//! A parallel map consumed as an iterator: `pmap_iter` yields each result,
//! in input order, as soon as it (and every one before it) is in, so the
//! grid is printed while the workers are still busy.
//!
//! Ports pprocess's `examples/simple_pmap_iter.py`, which iterates over
//! `pmap`'s result instead of slicing it.
//!
//! `cargo run --release -p pprocess-examples --bin simple_pmap_iter -- --delay 0.5`

use std::io::{self, Write};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{N, Options, print_time};
use pprocess_exchange::pmap_iter;

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

    // Perform the work.
    let results = pmap_iter(|&t| calculate(t, delay), &sequence, limit)?;

    // Show the results as they arrive.
    let mut out = io::stdout().lock();
    for (k, result) in results.enumerate() {
        let result = result?;
        let separator = if k % N == N - 1 { "\n" } else { " " };
        write!(out, "{result}{separator}")?;
        out.flush()?;
    }
    drop(out);

    print_time(t);
    Ok(())
}
