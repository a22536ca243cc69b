//! A parallel map: `pmap` applies the work function to every cell in
//! forked worker processes and returns the results in input order.
//!
//! Ports pprocess's `examples/simple_pmap.py`: the same program as
//! `simple_map`, with `map` replaced by `pmap(calculate, sequence, limit)`.
//!
//! `cargo run --release -p pprocess-examples --bin simple_pmap -- --delay 0.5`
//!
//! Built with the feature `mpi` and started by `mpirun` (or `srun`), the
//! cells go to the ranks other than 0, one worker per rank (`--limit` then
//! applies to nothing): the work function is a `fn` item and the delay
//! travels with each cell, since a closure's captures cannot cross to
//! another host. The output is the same.
//!
//! ```sh
//! cargo build --release -p pprocess-examples --features mpi --bin simple_pmap
//! mpirun -np 4 target/release/simple_pmap --delay 0.5
//! ```

use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::grid::{N, Options, print_grid, print_time};
use pprocess_exchange::pmap;

/// A supposedly time-consuming calculation on `t`.
fn calculate((i, j): (usize, usize), delay: Duration) -> usize {
    thread::sleep(delay);
    i * N + j
}

/// [`calculate`] as a remote function: the cell and the delay as one
/// argument.
#[cfg(feature = "mpi")]
fn calculate_remote((t, delay): ((usize, usize), Duration)) -> usize {
    calculate(t, delay)
}

fn main() -> pprocess_exchange::Result<()> {
    // Under mpirun, only rank 0 goes on from here; the others serve.
    #[cfg(feature = "mpi")]
    let cluster = if pprocess_mpi::launched_by_mpi() {
        Some(pprocess_mpi::init()?)
    } else {
        None
    };
    let Options { delay, limit } = Options::parse();
    let t = Instant::now();

    // Initialise an array.
    let mut sequence = Vec::new();
    for i in 0..N {
        for j in 0..N {
            sequence.push((i, j));
        }
    }

    // Perform the work: `limit` workers, which already hold `sequence`.
    #[cfg(feature = "mpi")]
    let results = match &cluster {
        Some(cluster) => cluster.pmap(calculate_remote, sequence.iter().map(|&t| (t, delay)))?,
        None => pmap(|&t| calculate(t, delay), &sequence, limit)?,
    };
    #[cfg(not(feature = "mpi"))]
    let results = pmap(|&t| calculate(t, delay), &sequence, limit)?;

    // Show the results.
    print_grid(&results);
    print_time(t);
    Ok(())
}
