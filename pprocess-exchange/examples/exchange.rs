//! Step 4 of the tutorial (docs/tutorial.md): an `Exchange` with a handler.
//! The handler (pprocess's `store_data`) is called with every message as it
//! arrives; here it writes each result straight into the grid.
//!
//! ```sh
//! cargo run -p pprocess-exchange --example exchange
//! ```

use pprocess_exchange::{Exchange, Message, Result};

const N: usize = 4;

/// A supposedly time-consuming calculation on the cell `(i, j)`; says where
/// its result goes.
fn calculate((i, j): (usize, usize)) -> (usize, usize, usize) {
    (i, j, i * N + j)
}

fn main() -> Result<()> {
    let mut grid = vec![vec![0; N]; N];
    let mut failures = Vec::new();

    // Called with every message the exchange receives.
    let store_data = |message: Message<(usize, usize, usize)>| match message.result {
        Ok((i, j, value)) => grid[i][j] = value,
        Err(e) => failures.push(e),
    };

    let mut exchange = Exchange::with_handler(store_data)?.limit(4);
    let calc = exchange.manage(calculate);
    for i in 0..N {
        for j in 0..N {
            calc.call(&mut exchange, (i, j))?;
        }
    }

    // Stores messages until every child has answered and been reaped.
    exchange.finish()?;
    drop(exchange); // gives the handler's borrows back

    if let Some(e) = failures.pop() {
        return Err(e);
    }
    for (i, row) in grid.iter().enumerate() {
        assert_eq!(*row, (i * N..(i + 1) * N).collect::<Vec<_>>());
        println!("{row:?}");
    }
    Ok(())
}
