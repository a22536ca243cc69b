//! Step 1 of the tutorial (docs/tutorial.md): a sequential map becomes
//! `pmap`, which runs the function in a pool of forked workers and gives the
//! results back in input order.
//!
//! ```sh
//! cargo run -p pprocess-exchange --example pmap
//! ```

use pprocess_exchange::{Result, pmap};

/// A supposedly time-consuming calculation: the sum of `1..=n`.
fn calculate(n: &u64) -> u64 {
    (1..=*n).sum()
}

fn main() -> Result<()> {
    let inputs: Vec<u64> = (0..20).collect();

    // The sequential program.
    let sequential: Vec<u64> = inputs.iter().map(calculate).collect();

    // The parallel one changes one line. `None`: one worker per core. The
    // workers are forked, so they already hold `inputs`; only results cross
    // the channels.
    let parallel = pmap(calculate, &inputs, None)?;

    assert_eq!(parallel, sequential);
    println!("{parallel:?}");
    Ok(())
}
