//! A custom exchange: instead of collecting results in a queue, a handler
//! stores each one in its place in the grid the moment it arrives, and
//! `finish` waits until every child has answered.
//!
//! Ports pprocess's `examples/simple_managed.py`, whose `MyExchange`
//! subclass overrides `store_data` to write into `self.D`. In Rust the
//! handler is a closure (any `FnMut(Message<R>)`) given to
//! `Exchange::with_handler`; it borrows the grid, so no subclass and no
//! shared attribute are needed.
//!
//! `cargo run --release -p pprocess-examples --bin simple_managed -- --delay 0.5`

use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{N, Options, new_grid, print_grid, print_time, say};
use pprocess_exchange::{Exchange, Message};

/// A supposedly time-consuming calculation on `t`; says where its result
/// goes.
fn calculate((i, j): (usize, usize), delay: Duration) -> (usize, usize, usize) {
    thread::sleep(delay);
    (i, j, i * N + j)
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

    // Wrap the calculate function and manage it.
    let calc = exchange.manage(move |t| calculate(t, delay));

    // Perform the work.
    say("Calculating...");
    for i in 0..N {
        for j in 0..N {
            calc.call(&mut exchange, (i, j))?;
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
