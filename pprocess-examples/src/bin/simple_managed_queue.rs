//! A `Queue` and a managed function: results come out in the order they
//! arrive, so the work function returns its position along with its value
//! and the main program puts each value in its place.
//!
//! Ports pprocess's `examples/simple_managed_queue.py`
//! (`queue.manage(MakeParallel(calculate))`, then `for i, j, result in
//! queue`).
//!
//! `cargo run --release -p pprocess-examples --bin simple_managed_queue -- --delay 0.5`

use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{N, Options, new_grid, print_grid, print_time, say};
use pprocess_exchange::Queue;

/// A supposedly time-consuming calculation on `t`; says where its result
/// goes.
fn calculate((i, j): (usize, usize), delay: Duration) -> (usize, usize, usize) {
    thread::sleep(delay);
    (i, j, i * N + j)
}

fn main() -> pprocess_exchange::Result<()> {
    let Options { delay, limit } = Options::parse();
    let t = Instant::now();

    // Initialise the communications queue with a limit on the number of
    // channels/processes.
    let mut queue = Queue::<(usize, usize, usize)>::new()?.limit(limit);

    // Initialise an array.
    let mut results = new_grid();

    // Wrap the calculate function and manage it.
    let calc = queue.manage(move |t| calculate(t, delay));

    // Perform the work.
    say("Calculating...");
    for i in 0..N {
        for j in 0..N {
            calc.call(&mut queue, (i, j))?;
        }
    }

    // Store the results as they arrive.
    say("Finishing...");
    for result in queue {
        let (i, j, result) = result?;
        results[i * N + j] = result;
    }

    // Show the results.
    print_grid(&results);
    print_time(t);
    Ok(())
}
