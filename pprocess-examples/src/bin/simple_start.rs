//! Channels in closures, collected by a custom exchange: `start` forks a
//! child that runs the work function with its end of a channel, the work
//! function sends where its result goes, and the exchange's handler stores
//! each value in its place as it arrives.
//!
//! Ports pprocess's `examples/simple_start.py` (`calculate(ch, i, j)`
//! sending `(i, j, i * N + j)`, `exchange.start(calculate, i, j)` and a
//! `MyExchange` whose `store_data` writes into `self.D`). The handler is a
//! closure that borrows the grid, as in `simple_managed`.
//!
//! `cargo run --release -p pprocess-examples --bin simple_start -- --delay 0.5`

use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{N, Options, new_grid, print_grid, print_time, say};
use pprocess_exchange::{Channel, Exchange, Message};

/// A supposedly time-consuming calculation on `i` and `j`, using `ch` to
/// communicate with the parent process.
fn calculate(
    ch: &mut Channel,
    i: usize,
    j: usize,
    delay: Duration,
) -> pprocess_exchange::Result<()> {
    thread::sleep(delay);
    ch.send(&(i, j, i * N + j))
}

fn main() -> pprocess_exchange::Result<()> {
    let Options { delay, limit } = Options::parse();
    let t = Instant::now();

    // Initialise an array; the handler assigns values as the data arrives.
    let mut results = new_grid();
    let mut failures = Vec::new();

    // pprocess's `store_data`: called with every message the exchange
    // receives.
    let store_data = |message: Message<(usize, usize, usize)>| match message.result {
        Ok((i, j, result)) => results[i * N + j] = result,
        Err(e) => failures.push(e),
    };

    // Initialise the communications exchange with a limit on the number of
    // channels/processes.
    let mut exchange = Exchange::with_handler(store_data)?.limit(limit);

    // Perform the work.
    say("Calculating...");
    for i in 0..N {
        for j in 0..N {
            exchange.start(move |ch| calculate(ch, i, j, delay))?;
        }
    }

    // Wait for the results.
    say("Finishing...");
    exchange.finish()?;
    drop(exchange); // gives the handler's borrows back

    if let Some(e) = failures.into_iter().next() {
        return Err(e);
    }

    // Show the results.
    print_grid(&results);
    print_time(t);
    Ok(())
}
