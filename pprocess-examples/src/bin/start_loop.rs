//! Start a function in a child and loop over its channel: a port of
//! pprocess's `tests/start_loop.py`.
//!
//! `start` forks a child that runs a closure with its end of the channel,
//! then ends; the parent gets the other end. Here the closure prints
//! `loop to 100`, then each number below 100 that the parent sends, one per
//! line, and answers `"Done"` when 100 arrives; the parent prints that and
//! reaps the child with `close`. The closure uses `limit` from the
//! parent's memory: a forked child has it already, nothing is sent.
//!
//! ```text
//! $ cargo run -p pprocess-examples --bin start_loop
//! loop to 100
//! 0
//! ...
//! 99
//! Done
//! ```
#![forbid(unsafe_code)]

use std::error::Error;

use pprocess_transport::start;

fn main() -> Result<(), Box<dyn Error>> {
    let limit: u32 = 100;
    let mut ch = start(move |ch| -> pprocess_transport::Result<()> {
        println!("loop to {limit}");
        loop {
            let n: u32 = ch.receive()?;
            if n >= limit {
                break;
            }
            println!("{n}");
        }
        ch.send("Done")
    })?;
    for i in 0..=limit {
        ch.send(&i)?;
    }
    let done: String = ch.receive()?;
    println!("{done}");
    match ch.close()? {
        Some(status) if !status.success() => Err(format!("child ended with {status}").into()),
        _ => Ok(()),
    }
}
