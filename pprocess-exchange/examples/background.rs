//! The background-processes step of the tutorial (docs/tutorial.md): a
//! process that outlives its starter, keeps its results at a Unix-socket
//! address and hands them to whoever connects there. A peer that leaves
//! early loses nothing: the next one gets what it had not received.
//!
//! ```sh
//! cargo run -p pprocess-exchange --example background
//! ```

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use pprocess_exchange::{Error, Result, connect, start_persistent};

/// Two peers, one after the other: the first takes four results and goes
/// away, the second (here, or in another program) gets the rest, in order.
fn collect(address: &Path) -> Result<(Vec<u32>, Vec<u32>)> {
    let mut first = connect(address)?;
    let head = (0..4).map(|_| first.receive()).collect::<Result<_>>()?;
    drop(first);

    let mut second = connect(address)?;
    let tail = (4..10).map(|_| second.receive()).collect::<Result<_>>()?;
    Ok((head, tail))
}

fn main() -> Result<()> {
    // Sockets go in a directory only this user can write to.
    let dir = std::env::temp_dir().join(format!("pprocess-background-{}", std::process::id()));
    fs::DirBuilder::new().mode(0o700).create(&dir)?;
    let address = dir.join("task.socket");

    // The background process computes ten squares and keeps each one until
    // a peer has acknowledged it.
    let mut background = start_persistent(&address, |ch| {
        for i in 0..10u32 {
            ch.send(&(i * i))?;
        }
        Ok::<(), Error>(())
    })?;
    let pid = background.pid();
    println!("background process {pid} at {}", address.display());

    let collected = collect(&address);
    if collected.is_err() {
        // Nobody will collect the rest: do not leave it waiting.
        background.kill()?;
    }
    // Once everything is collected, it removes its socket and ends.
    let status = background.wait()?;
    fs::remove_dir_all(&dir)?;
    let (head, tail) = collected?;

    assert_eq!(head, [0, 1, 4, 9]);
    assert_eq!(tail, [16, 25, 36, 49, 64, 81]);
    println!("first peer: {head:?}");
    println!("second peer: {tail:?}");
    println!("background process ended: {status:?}");
    Ok(())
}
