//! A persistent exchange: the whole grid is computed by one managed call
//! running in a background process (with an exchange of its own inside),
//! and its result is collected by a new exchange, in this run or a later
//! one.
//!
//! Ports pprocess's `examples/simple_persistent_managed.py`
//! (`MyPersistentExchange(limit=1)`, `exchange.manage("task.socket",
//! MakeParallel(task))`, then a new exchange that `connect`s and
//! `finish`es):
//!
//! - with `--start`, it starts the background work, prints
//!   `Closed original exchange.` and exits at once;
//! - with `--reconnect`, it opens a new exchange, connects to the work
//!   started earlier and prints the grid and the time taken;
//! - with neither, it does both in one run.
//!
//! The socket file is `task.socket` in `--dir` (the current directory by
//! default). `--limit` applies to the exchange inside the background
//! process (pprocess used 10).
//!
//! ```sh
//! cargo run --release -p pprocess-examples --bin simple_persistent_managed -- --start --delay 0.5
//! cargo run --release -p pprocess-examples --bin simple_persistent_managed -- --reconnect
//! ```

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{
    BackgroundOptions, N, Options, new_grid, print_grid, print_time, say,
};
use pprocess_exchange::{Exchange, Message, PersistentExchange, Result};

/// Computes pprocess's grid in a background process (--start), and
/// collects it in this or a later run (--reconnect).
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Computes pprocess's example grid in a background process through a \
             persistent exchange (--start), and collects it in this or a later run \
             (--reconnect)."
)]
struct Cli {
    #[command(flatten)]
    grid: Options,
    #[command(flatten)]
    background: BackgroundOptions,
}

/// A supposedly time-consuming calculation on `t`; says where its result
/// goes.
fn calculate((i, j): (usize, usize), delay: Duration) -> (usize, usize, usize) {
    thread::sleep(delay);
    (i, j, i * N + j)
}

/// The main computation, run in the background process: pprocess's
/// `task()`, with `MyExchange`'s `store_data` as the handler.
fn task(delay: Duration, limit: usize) -> Result<Vec<usize>> {
    // Initialise an array; the handler assigns values as the data arrives.
    let mut results = new_grid();
    let mut failure = None;
    let store_data = |message: Message<(usize, usize, usize)>| match message.result {
        Ok((i, j, result)) => results[i * N + j] = result,
        Err(e) => {
            failure.get_or_insert(e);
        }
    };

    // Initialise the communications exchange with a limit on the number of
    // channels/processes.
    let mut exchange = Exchange::with_handler(store_data)?.limit(limit);

    // Wrap the calculate function and manage it.
    let calc = exchange.manage(move |t| calculate(t, delay));

    // Perform the work.
    for i in 0..N {
        for j in 0..N {
            calc.call(&mut exchange, (i, j))?;
        }
    }

    // Wait for the results.
    exchange.finish()?;
    drop(exchange); // gives the handler's borrows back
    match failure {
        Some(e) => Err(e),
        None => Ok(results),
    }
}

fn run(cli: Cli) -> Result<()> {
    let Options { delay, limit } = cli.grid;
    let BackgroundOptions {
        start,
        reconnect,
        dir,
    } = cli.background;
    let address = dir.join("task.socket");
    let t = Instant::now();

    let mut background = None;
    if !reconnect {
        // Initialise the persistent exchange with a single process for the
        // main computation.
        let exchange = PersistentExchange::<Vec<usize>>::new()?.limit(1);

        // Wrap the computation and manage it. A failure there (a panic)
        // reaches the collecting exchange as `Error::Remote`.
        let ptask = exchange.manage_persistent(&address, move |()| {
            task(delay, limit).unwrap_or_else(|e| panic!("the task failed: {e}"))
        });

        // Perform the work.
        background = Some(ptask.call(&exchange, ())?);

        // Close down the exchange.
        drop(exchange);
        say("Closed original exchange.");
    }

    if !start {
        // Open another exchange, which stores the result in place
        // (pprocess's `MyPersistentExchange.store_data`).
        say("Opening new exchange.");
        let mut results = new_grid();
        let mut failure = None;
        let store_data = |message: Message<Vec<usize>>| match message.result {
            Ok(grid) => results = grid,
            Err(e) => {
                failure.get_or_insert(e);
            }
        };
        let mut exchange = PersistentExchange::with_handler(store_data)?.limit(1);

        // Reconnect to the task.
        exchange.connect(&address)?;

        // Wait for the results.
        say("Waiting for persistent results");
        exchange.finish()?;
        drop(exchange);
        if let Some(e) = failure {
            return Err(e);
        }

        // Show the results.
        print_grid(&results);
        print_time(t);

        // Started in this run: wait for the background process, which ends
        // (removing its socket file) once its result has been collected.
        if let Some(mut bg) = background {
            bg.wait()?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("simple_persistent_managed: {e}");
            ExitCode::FAILURE
        }
    }
}
