//! A `Map` whose workers are reused: with `reuse(true)`, a managed function
//! runs in at most `limit` long-lived children, each sent the next
//! arguments when it has answered, instead of a new child per call.
//!
//! Ports pprocess's `examples/simple_managed_map_reusable.py`
//! (`Map(limit=limit, reuse=1)` and `MakeReusable(calculate)`). Compared
//! with `simple_managed_map`, only the `reuse(true)` line differs.
//!
//! `cargo run --release -p pprocess-examples --bin simple_managed_map_reusable -- --delay 0.5`

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
    // channels/processes, whose processes are reused.
    let mut results = Map::<usize>::new()?.limit(limit).reuse(true);

    // Wrap the calculate function and manage it. With reuse, the arguments
    // of later calls travel to the workers over their channels.
    let calc = results.manage_reusable(move |t| calculate(t, delay));

    // Perform the work.
    say("Calculating...");
    for i in 0..N {
        for j in 0..N {
            calc.call(&mut results, (i, j))?;
        }
    }

    // Show the results.
    let results = results.into_vec()?;
    print_grid(&results);
    print_time(t);
    Ok(())
}
