//! A background callable: the whole computation (a `Queue` of managed
//! calls, as in `simple_managed_queue`) runs in a detached background
//! process that keeps its result at a socket address until someone
//! connects; that may be this run or a later one.
//!
//! Ports pprocess's `examples/simple_background_queue.py`
//! (`BackgroundCallable("task.socket", MakeParallel(task))`, then
//! `BackgroundQueue("task.socket")`):
//!
//! - with `--start`, it starts the background work, prints
//!   `Discarded the callable.` and exits at once;
//! - with `--reconnect`, it connects to the work started earlier and prints
//!   the grid and the time taken;
//! - with neither, it does both in one run.
//!
//! The socket file is `task.socket` in `--dir` (the current directory by
//! default), readable and writable by its owner only.
//!
//! ```sh
//! cargo run --release -p pprocess-examples --bin simple_background_queue -- --start --delay 0.5
//! cargo run --release -p pprocess-examples --bin simple_background_queue -- --reconnect
//! ```

use std::path::Path;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{
    BackgroundOptions, N, Options, new_grid, print_grid, print_time, say,
};
use pprocess_exchange::{BackgroundCallable, Queue, Result, background_queue};

/// Computes pprocess's grid in a background process; collects it now or
/// in a later run.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Computes pprocess's example grid in a background process \
             (--start), and collects it in this or a later run (--reconnect)."
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

/// The background computation: pprocess's `task`. It runs in a fresh
/// background process, which makes its own queue and children.
fn task(delay: Duration, limit: usize) -> Result<Vec<usize>> {
    // Initialise the communications queue with a limit on the number of
    // channels/processes.
    let mut queue = Queue::<(usize, usize, usize)>::new()?.limit(limit);

    // Initialise an array.
    let mut results = new_grid();

    // Wrap the calculate function and manage it.
    let calc = queue.manage(move |t| calculate(t, delay));

    // Perform the work. (A background process's output goes to /dev/null
    // unless `Builder::log_file` says otherwise.)
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
    Ok(results)
}

fn run(cli: Cli) -> Result<()> {
    let Options { delay, limit } = cli.grid;
    let BackgroundOptions {
        start,
        reconnect,
        dir,
    } = cli.background;
    let t = Instant::now();
    let address = dir.join("task.socket");

    let mut background = None;
    if !reconnect {
        // Wrap the computation and start it in the background. A failure
        // there (a panic) reaches whoever connects as `Error::Remote`.
        let ptask = BackgroundCallable::new(&address, move |()| {
            task(delay, limit).unwrap_or_else(|e| panic!("the background task failed: {e}"))
        });

        // Perform the work: `call` consumes the callable.
        background = Some(ptask.call(())?);
        say("Discarded the callable.");
    }

    if !start {
        collect(&address, t)?;
        // Started in this run: wait for the background process, which ends
        // (removing its socket file) once its result has been collected.
        if let Some(mut bg) = background {
            bg.wait()?;
        }
    }
    Ok(())
}

/// Reconnects to the task at `address` and shows its results.
fn collect(address: &Path, t: Instant) -> Result<()> {
    // Open a queue and reconnect to the task.
    say("Opening a queue.");
    let queue = background_queue::<Vec<usize>>(address)?;

    // Wait for the results (there should be only one).
    say("Waiting for persistent results");
    let mut results = new_grid();
    for result in queue {
        results = result?;
    }

    // Show the results.
    print_grid(&results);
    print_time(t);
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("simple_background_queue: {e}");
            ExitCode::FAILURE
        }
    }
}
