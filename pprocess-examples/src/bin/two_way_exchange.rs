//! Two-way communication through an exchange: several children count down
//! with the parent at once, and the parent's handler answers each message
//! on the channel it came from (pprocess's `tests/two_way.py`, with an
//! exchange instead of one channel).
//!
//! Child `k` sends `(k, n)`, starting from `--start`; the handler answers
//! `n - 1`; the child sends back what it got, until the answer is 0. Lines
//! of different children interleave; each child's lines count down:
//!
//! ```text
//! $ cargo run -p pprocess-examples --bin two_way_exchange -- --start 2 --children 2
//! parent got 2 from child 0
//! parent got 2 from child 1
//! child 0 got 1
//! child 1 got 1
//! parent got 1 from child 0
//! parent got 1 from child 1
//! child 0 got 0
//! child 1 got 0
//! ```
#![forbid(unsafe_code)]

use std::error::Error;

use clap::Parser;
use pprocess_exchange::{Exchange, Message, Reply, answering};

/// Counts down between a parent and several children through one exchange.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The number each child sends first.
    #[arg(long, default_value_t = 10)]
    start: u64,
    /// How many children count down at once.
    #[arg(long, default_value_t = 3)]
    children: u64,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let handler = answering(|m: Message<(u64, u64)>, mut reply: Reply| {
        let (k, n) = m.result?;
        println!("parent got {n} from child {k}");
        let answer = n
            .checked_sub(1)
            .ok_or_else(|| pprocess_exchange::Error::Protocol(format!("child {k} sent 0")))?;
        reply.send(&answer)
    });
    let mut exchange = Exchange::with_handler(handler)?.continuous(true);
    for k in 0..args.children {
        let first = args.start;
        exchange.start(move |ch| -> pprocess_exchange::Result<()> {
            let mut n = first;
            while n > 0 {
                ch.send(&(k, n))?;
                n = ch.receive()?;
                println!("child {k} got {n}");
            }
            Ok(())
        })?;
    }
    // Stops at the first failure, a handler's error included.
    exchange.finish()?;
    Ok(())
}
