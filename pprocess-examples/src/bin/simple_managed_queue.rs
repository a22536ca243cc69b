//! A `Queue` and a managed function: results come out in the order they
//! arrive, so the work function returns its position along with its value
//! and the main program puts each value in its place.
//!
//! Ports pprocess's `examples/simple_managed_queue.py`
//! (`queue.manage(MakeParallel(calculate))`, then `for i, j, result in
//! queue`).
//!
//! `cargo run --release -p pprocess-examples --bin simple_managed_queue -- --delay 0.5`
//!
//! Built with the feature `mpi` and started by `mpirun` (or `srun`), each
//! call runs on a rank other than 0, one at a time per rank (`--limit`
//! then applies to nothing): the queue's builder is the cluster's, the
//! managed function is a `fn` item (`manage_fn`), and the delay travels
//! with each call's arguments. The output is the same.
//!
//! ```sh
//! cargo build --release -p pprocess-examples --features mpi --bin simple_managed_queue
//! mpirun -np 4 target/release/simple_managed_queue --delay 0.5
//! ```

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

/// [`calculate`] as a remote function: the cell and the delay as one
/// argument.
#[cfg(feature = "mpi")]
fn calculate_remote((t, delay): ((usize, usize), Duration)) -> (usize, usize, usize) {
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

    // Initialise the communications queue with a limit on the number of
    // channels/processes.
    #[cfg(feature = "mpi")]
    let mut queue = match &cluster {
        Some(cluster) => Queue::<(usize, usize, usize)>::with_builder(cluster.builder())?
            .limit(cluster.workers()),
        None => Queue::<(usize, usize, usize)>::new()?.limit(limit),
    };
    #[cfg(not(feature = "mpi"))]
    let mut queue = Queue::<(usize, usize, usize)>::new()?.limit(limit);

    // Initialise an array.
    let mut results = new_grid();

    // Wrap the calculate function and manage it.
    #[cfg(feature = "mpi")]
    if cluster.is_some() {
        let calc = queue.manage_fn(calculate_remote);
        say("Calculating...");
        for i in 0..N {
            for j in 0..N {
                calc.call(&mut queue, ((i, j), delay))?;
            }
        }
        return finish(queue, &mut results, t);
    }
    let calc = queue.manage(move |t| calculate(t, delay));

    // Perform the work.
    say("Calculating...");
    for i in 0..N {
        for j in 0..N {
            calc.call(&mut queue, (i, j))?;
        }
    }
    finish(queue, &mut results, t)
}

/// Stores the results as they arrive and shows them.
fn finish(
    queue: Queue<'_, (usize, usize, usize)>,
    results: &mut [usize],
    t: Instant,
) -> pprocess_exchange::Result<()> {
    // Store the results as they arrive.
    say("Finishing...");
    for result in queue {
        let (i, j, result) = result?;
        results[i * N + j] = result;
    }

    // Show the results.
    print_grid(results);
    print_time(t);
    Ok(())
}
