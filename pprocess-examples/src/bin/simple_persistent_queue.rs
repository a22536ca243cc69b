//! Persistent queues: each row of the grid is computed by its own
//! background process (each with a `Queue` of managed calls inside), and
//! one `PersistentQueue` connected to all ten collects the rows, in this
//! run or a later one.
//!
//! Ports pprocess's `examples/simple_persistent_queue.py`
//! (`BackgroundCallable("task-%d.socket" % i, MakeParallel(task))` for each
//! row, then `PersistentQueue()` and `queue.connect(...)` for each):
//!
//! - with `--start`, it starts the background work, prints
//!   `Discarded the callable.` and exits at once;
//! - with `--reconnect`, it connects to the work started earlier and prints
//!   the grid and the time taken;
//! - with neither, it does both in one run.
//!
//! The socket files are `task-0.socket` to `task-9.socket` in `--dir` (the
//! current directory by default). `--limit` applies to each background
//! process: ten of them run at once (pprocess used a limit of 2).
//!
//! ```sh
//! cargo run --release -p pprocess-examples --bin simple_persistent_queue -- --start --delay 0.5 --limit 2
//! cargo run --release -p pprocess-examples --bin simple_persistent_queue -- --reconnect
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{BackgroundOptions, N, Options, print_grid, print_time, say};
use pprocess_exchange::{BackgroundCallable, PersistentQueue, Queue, Result};

/// Computes pprocess's grid in ten background processes, a row each;
/// collects it now or in a later run.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Computes pprocess's example grid in ten background processes \
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

/// The background computation of row `i`: pprocess's `task(i)`. It runs in
/// a fresh background process, which makes its own queue and children.
fn task(i: usize, delay: Duration, limit: usize) -> Result<(usize, Vec<usize>)> {
    // Initialise the communications queue with a limit on the number of
    // channels/processes.
    let mut queue = Queue::<(usize, usize, usize)>::new()?.limit(limit);

    // Initialise an array.
    let mut results = vec![0; N];

    // Wrap the calculate function and manage it.
    let calc = queue.manage(move |t| calculate(t, delay));

    // Perform the work. (A background process's output goes to /dev/null
    // unless `Builder::log_file` says otherwise.)
    say("Calculating...");
    for j in 0..N {
        calc.call(&mut queue, (i, j))?;
    }

    // Store the results as they arrive.
    say("Finishing...");
    for result in queue {
        let (_, j, result) = result?;
        results[j] = result;
    }
    Ok((i, results))
}

/// Where the background process of row `i` listens.
fn address(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("task-{i}.socket"))
}

fn run(cli: Cli) -> Result<()> {
    let Options { delay, limit } = cli.grid;
    let BackgroundOptions {
        start,
        reconnect,
        dir,
    } = cli.background;
    let t = Instant::now();

    let mut background = Vec::new();
    if !reconnect {
        for i in 0..N {
            // Make a distinct callable for each part of the computation. A
            // failure there (a panic) reaches the queue as `Error::Remote`.
            let ptask_i = BackgroundCallable::new(address(&dir, i), move |i| {
                task(i, delay, limit).unwrap_or_else(|e| panic!("task {i} failed: {e}"))
            });

            // Perform the work: `call` consumes the callable.
            background.push(ptask_i.call(i)?);
        }
        say("Discarded the callable.");
    }

    if !start {
        collect(&dir, t)?;
        // Started in this run: wait for the background processes, which
        // end (removing their socket files) once their results have been
        // collected.
        for mut bg in background {
            bg.wait()?;
        }
    }
    Ok(())
}

/// Reconnects to the ten tasks in `dir` and shows their results.
fn collect(dir: &Path, t: Instant) -> Result<()> {
    // Open a queue and reconnect to the tasks.
    say("Opening a queue.");
    let mut queue = PersistentQueue::<(usize, Vec<usize>)>::new()?;
    for i in 0..N {
        queue.connect(address(dir, i))?;
    }

    // Initialise an array.
    let mut results = vec![vec![0; N]; N];

    // Wait for the results.
    say("Waiting for persistent results");
    for result in queue {
        let (i, row) = result?;
        results[i] = row;
    }

    // Show the results.
    print_grid(&results.concat());
    print_time(t);
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("simple_persistent_queue: {e}");
            ExitCode::FAILURE
        }
    }
}
