//! Step 2 of the tutorial (docs/tutorial.md): calls in a loop with a `Map`
//! and a managed function. Each call runs in a child; the `Map` gives the
//! results back in the order of the calls, whatever order the children
//! finish in.
//!
//! ```sh
//! cargo run -p pprocess-exchange --example map
//! ```

use pprocess_exchange::{Map, Result};

const N: usize = 4;

/// A supposedly time-consuming calculation on the cell `(i, j)`.
fn calculate((i, j): (usize, usize)) -> usize {
    i * N + j
}

fn main() -> Result<()> {
    // At most 4 children at once; later calls wait inside the map.
    let mut results = Map::<usize>::new()?.limit(4);

    // pprocess's `manage(MakeParallel(calculate))`.
    let calc = results.manage(calculate);
    for i in 0..N {
        for j in 0..N {
            calc.call(&mut results, (i, j))?;
        }
    }

    // In the order of the calls.
    let results = results.into_vec()?;
    assert_eq!(results, (0..N * N).collect::<Vec<_>>());
    for row in results.chunks(N) {
        println!("{row:?}");
    }
    Ok(())
}
