//! Fork with `create` and loop over a channel: a port of pprocess's
//! `tests/create_loop.py`.
//!
//! `create()` forks and tells each side which one it is. The parent sends
//! the numbers 0 to 100; the child prints each number below 100 on a line
//! of its own and, when 100 arrives, answers `"Done"`, which the parent
//! prints. The child ends with `exit(ch)`, which never returns into
//! `main`; the parent reaps it with `close`.
//!
//! ```text
//! $ cargo run -p pprocess-examples --bin create_loop
//! 0
//! 1
//! ...
//! 99
//! Done
//! ```
#![forbid(unsafe_code)]

use std::error::Error;

use pprocess_transport::{Channel, Fork, create, exit};

/// The number that tells the child to stop.
const LIMIT: u32 = 100;

/// The child's side: print what arrives until `LIMIT`, then answer.
fn child(ch: &mut Channel) -> pprocess_transport::Result<()> {
    loop {
        let n: u32 = ch.receive()?;
        if n == LIMIT {
            break;
        }
        println!("{n}");
    }
    ch.send("Done")
}

fn main() -> Result<(), Box<dyn Error>> {
    match create()? {
        Fork::Child(mut ch) => {
            // A child must not return from `main` (that would run the
            // parent's exit path twice): report a failure to the parent
            // instead, then end here.
            if let Err(e) = child(&mut ch) {
                let _ = ch.send_error(&e.to_string());
            }
            exit(ch)
        }
        Fork::Parent(mut ch) => {
            for i in 0..=LIMIT {
                ch.send(&i)?;
            }
            let done: String = ch.receive()?;
            println!("{done}");
            match ch.close()? {
                Some(status) if !status.success() => {
                    Err(format!("child ended with {status}").into())
                }
                _ => Ok(()),
            }
        }
    }
}
