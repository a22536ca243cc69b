//! Channels in closures: `start` forks a child that runs a closure with its
//! end of a channel; here the closure sends back the work function's result
//! itself, which is what a managed function does for you.
//!
//! Ports pprocess's `examples/simple_start_queue.py` (`queue.start(calc, i,
//! j)`); the closure plays the part of `MakeParallel(calculate)`.
//!
//! `cargo run --release -p pprocess-examples --bin simple_start_queue -- --delay 0.5`

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

    // Perform the work: each child computes and sends over its channel.
    for i in 0..N {
        for j in 0..N {
            queue.start(move |ch| ch.send(&calculate((i, j), delay)))?;
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
