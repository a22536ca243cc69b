//! Continuous children: with `continuous(true)` a child may send any number
//! of messages and is done only when it hangs up. One child per row sends
//! each cell's value, with its position, as soon as it is computed.
//!
//! Ports pprocess's `examples/simple_continuous_queue.py`
//! (`Queue(limit=limit, continuous=1)` and a `calculate(ch, i)` that sends
//! a whole row). pprocess passes the channel through `queue.manage`; here
//! `start` hands the closure the channel.
//!
//! `cargo run --release -p pprocess-examples --bin simple_continuous_queue -- --delay 0.5`

use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{N, Options, new_grid, print_grid, print_time, say};
use pprocess_exchange::{Channel, Queue};

/// A supposedly time-consuming calculation on row `i`, sending each cell
/// through `ch` as soon as it is done.
fn calculate(ch: &mut Channel, i: usize, delay: Duration) -> pprocess_exchange::Result<()> {
    for j in 0..N {
        thread::sleep(delay);
        ch.send(&(i, j, i * N + j))?;
    }
    Ok(())
}

fn main() -> pprocess_exchange::Result<()> {
    let Options { delay, limit } = Options::parse();
    let t = Instant::now();

    // Initialise the communications queue with a limit on the number of
    // channels/processes, and keep each channel for many messages.
    let mut queue = Queue::<(usize, usize, usize)>::new()?
        .limit(limit)
        .continuous(true);

    // Initialise an array.
    let mut results = new_grid();

    // Perform the work: a child per row.
    say("Calculating...");
    for i in 0..N {
        queue.start(move |ch| calculate(ch, i, delay))?;
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
