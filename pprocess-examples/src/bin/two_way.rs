//! Two-way communication over one channel: the child and the parent take
//! turns.
//!
//! The child sends a number (10 unless `--start N` says otherwise); the
//! parent answers each number with that number minus one; the child sends
//! back what it got, and so on until the parent's answer is 0. Each side
//! prints what it receives, so the lines alternate:
//!
//! ```text
//! $ cargo run -p pprocess-examples --bin two_way -- --start 3
//! parent got 3
//! child got 2
//! parent got 2
//! child got 1
//! parent got 1
//! child got 0
//! ```
//!
//! Both then end cleanly: the child returns after 0 (its channel closes),
//! the parent sees the channel closed and reaps the child.
#![forbid(unsafe_code)]

use std::error::Error;

use clap::Parser;
use pprocess_transport::start;

/// Counts down between a parent and a child, one message each way per step.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The number the child sends first.
    #[arg(long, default_value_t = 10)]
    start: u64,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let first = args.start;
    let mut ch = start(move |ch| -> pprocess_transport::Result<()> {
        let mut n = first;
        while n > 0 {
            ch.send(&n)?;
            n = ch.receive()?;
            println!("child got {n}");
        }
        Ok(())
    })?;
    // With nothing to count down, the child sends nothing and just ends.
    loop {
        let n: u64 = match ch.receive() {
            Ok(n) => n,
            Err(e) if e.is_closed() => break,
            Err(e) => return Err(e.into()),
        };
        println!("parent got {n}");
        let answer = n.checked_sub(1).ok_or("the child sent 0")?;
        ch.send(&answer)?;
    }
    match ch.close()? {
        Some(status) if !status.success() => Err(format!("child ended with {status}").into()),
        _ => Ok(()),
    }
}
