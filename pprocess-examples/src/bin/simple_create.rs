//! Inline work in forked children, collected by a custom exchange: `create`
//! forks where the work is, the child computes inline, sends where its
//! result goes and ends with `exit`, and the exchange's handler stores each
//! value in its place as it arrives.
//!
//! Ports pprocess's `examples/simple_create.py` (a `MyExchange` subclass
//! whose `store_data` writes into `self.D`, `ch = exchange.create()`, then
//! `if ch:` ... `pprocess.exit(ch)`, and `exchange.finish()`). As in
//! `simple_managed`, the handler is a closure that borrows the grid.
//!
//! `cargo run --release -p pprocess-examples --bin simple_create -- --delay 0.5`

use std::thread;
use std::time::Instant;

use clap::Parser;
use pprocess_examples::grid::{N, Options, new_grid, print_grid, print_time, say};
use pprocess_exchange::{Created, Exchange, Message, exit};

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
            // `None` in the parent, which goes on with the loop; the child's
            // end of a new channel in the child.
            if let Created::Child(mut ch) = exchange.create()? {
                // Calculation work.
                thread::sleep(delay);
                if let Err(e) = ch.send(&(i, j, i * N + j)) {
                    eprintln!("child {}: {e}", std::process::id());
                }
                // Important finalisation: the child ends here. Nothing in
                // between may return (no `?`): the child would run on into
                // the parent's code.
                exit(ch);
            }
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
