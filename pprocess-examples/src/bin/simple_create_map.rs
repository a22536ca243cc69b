//! Inline work in forked children: `create` forks where the work is, the
//! child runs the rest of the loop body, sends its result and ends with
//! `exit`; a `Map` collects the results in the order of the forks.
//!
//! Ports pprocess's `examples/simple_create_map.py`
//! (`ch = results.create()`, then `if ch:` ... `pprocess.exit(ch)`). The
//! work is written inline, as in the sequential `simple.py`.
//!
//! `cargo run --release -p pprocess-examples --bin simple_create_map -- --delay 0.5`

use std::thread;
use std::time::Instant;

use clap::Parser;
use pprocess_examples::grid::{N, Options, print_grid, print_time, say};
use pprocess_exchange::{Created, Map, exit};

fn main() -> pprocess_exchange::Result<()> {
    let Options { delay, limit } = Options::parse();
    let t = Instant::now();

    // Initialise the results using a map with a limit on the number of
    // channels/processes.
    let mut results = Map::<usize>::new()?.limit(limit);

    // Perform the work.
    say("Calculating...");
    for i in 0..N {
        for j in 0..N {
            // `Parent` (with the new child's id) in the parent, which goes
            // on with the loop; the child's end of a new channel in the child.
            if let Created::Child(mut ch) = results.create()? {
                // Calculation work.
                thread::sleep(delay);
                if let Err(e) = ch.send(&(i * N + j)) {
                    eprintln!("child {}: {e}", std::process::id());
                }
                // Important finalisation: the child ends here. Nothing in
                // between may return (no `?`): the child would run on into
                // the parent's code.
                exit(ch);
            }
        }
    }

    // Show the results.
    let results = results.into_vec()?;
    print_grid(&results);
    print_time(t);
    Ok(())
}
