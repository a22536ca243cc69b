//! Inline work in forked children, collected by a `Queue`: `create` forks
//! where the work is, the child computes inline, sends where its result
//! goes and ends with `exit`; the main program takes the results in the
//! order they arrive and puts each value in its place.
//!
//! Ports pprocess's `examples/simple_create_queue.py`
//! (`ch = queue.create()`, then `if ch:` ... `pprocess.exit(ch)`, and
//! `for i, j, result in queue`).
//!
//! `cargo run --release -p pprocess-examples --bin simple_create_queue -- --delay 0.5`

use std::thread;
use std::time::Instant;

use clap::Parser;
use pprocess_examples::grid::{N, Options, new_grid, print_grid, print_time, say};
use pprocess_exchange::{Created, Queue, exit};

fn main() -> pprocess_exchange::Result<()> {
    let Options { delay, limit } = Options::parse();
    let t = Instant::now();

    // Initialise the communications queue with a limit on the number of
    // channels/processes.
    let mut queue = Queue::<(usize, usize, usize)>::new()?.limit(limit);

    // Initialise an array.
    let mut results = new_grid();

    // Perform the work.
    say("Calculating...");
    for i in 0..N {
        for j in 0..N {
            // `None` in the parent, which goes on with the loop; the child's
            // end of a new channel in the child.
            if let Created::Child(mut ch) = queue.create()? {
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
