//! Step 3 of the tutorial (docs/tutorial.md): results in any order with a
//! `Queue`. The work function says where its result belongs, and the main
//! program stores each result as soon as it arrives.
//!
//! ```sh
//! cargo run -p pprocess-exchange --example queue
//! ```

use pprocess_exchange::{Queue, Result};

const N: usize = 4;

/// A supposedly time-consuming calculation on the cell `(i, j)`; says where
/// its result goes.
fn calculate((i, j): (usize, usize)) -> (usize, usize, usize) {
    (i, j, i * N + j)
}

fn main() -> Result<()> {
    let mut queue = Queue::<(usize, usize, usize)>::new()?.limit(4);

    let calc = queue.manage(calculate);
    for i in 0..N {
        for j in 0..N {
            calc.call(&mut queue, (i, j))?;
        }
    }

    // In the order the children answer.
    let mut grid = vec![vec![0; N]; N];
    for result in queue {
        let (i, j, value) = result?;
        grid[i][j] = value;
    }

    for (i, row) in grid.iter().enumerate() {
        assert_eq!(*row, (i * N..(i + 1) * N).collect::<Vec<_>>());
        println!("{row:?}");
    }
    Ok(())
}
