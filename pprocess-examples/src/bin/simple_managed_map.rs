//! A `Map` and a managed function: each call starts a child that computes
//! one cell and sends back its value; the `Map` hands the results back in
//! the order of the calls, whatever order the children finish in.
//!
//! Ports pprocess's `examples/simple_managed_map.py`
//! (`results.manage(MakeParallel(calculate))`). The sequential loop calling
//! `calculate(i, j)` keeps its shape: only the call changes.
//!
//! `cargo run --release -p pprocess-examples --bin simple_managed_map -- --delay 0.5`

use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{N, Options, print_grid, print_time, say};
use pprocess_exchange::Map;

/// A supposedly time-consuming calculation on `t`.
fn calculate((i, j): (usize, usize), delay: Duration) -> usize {
    thread::sleep(delay);
    i * N + j
}

fn main() -> pprocess_exchange::Result<()> {
    let Options { delay, limit } = Options::parse();
    let t = Instant::now();

    // Initialise the results using a map with a limit on the number of
    // channels/processes.
    let mut results = Map::<usize>::new()?.limit(limit);

    // Wrap the calculate function and manage it.
    let calc = results.manage(move |t| calculate(t, delay));

    // Perform the work.
    say("Calculating...");
    for i in 0..N {
        for j in 0..N {
            calc.call(&mut results, (i, j))?;
        }
    }

    // Show the results, in the order of the calls.
    let results = results.into_vec()?;
    print_grid(&results);
    print_time(t);
    Ok(())
}
