//! `bottles` with a heartbeat: when no line has come for `--heartbeat`
//! milliseconds, the printer says so, and goes on waiting.
//!
//! Ports pprocess's `examples/concurrency-sig/bottles_heartbeat.py`, whose
//! printer calls `lines.store(delay)` (wait at most `delay` ms for
//! messages) and prints "No input received for 5000 ms." when none came.
//! Here `Queue::store(Some(timeout))` does the waiting. As in `bottles`,
//! followers stop when their file has been idle for `--idle` seconds, and
//! the program ends when all have.
//!
//! ```sh
//! touch /tmp/test /tmp/test2 /tmp/test3
//! cargo run --release -p pprocess-examples --bin bottles_heartbeat -- --heartbeat 1000 --idle 30 &
//! echo "a pair of shorts" >> /tmp/test2
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_examples::bottles::{self, announcement, print_line, say, start};

/// `bottles`'s options and the heartbeat.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Follows files as they grow and prints their new lines that \
             contain any of the patterns, through nested queues of processes; \
             says so when no line has come for a while."
)]
struct Cli {
    #[command(flatten)]
    bottles: bottles::Options,
    /// Milliseconds without input after which the printer says so
    /// (pprocess used 5000).
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 5000,
        value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..)
    )]
    heartbeat: u64,
}

fn main() -> ExitCode {
    let options = Cli::parse();
    let mut queue = match start(&options.bottles) {
        Ok(queue) => queue,
        Err(e) => {
            eprintln!("bottles_heartbeat: {e}");
            return ExitCode::FAILURE;
        }
    };
    say(&announcement(&options.bottles));

    // Print incoming lines, or a heartbeat when none came in time.
    let heartbeat = Duration::from_millis(options.heartbeat);
    let mut failed = false;
    loop {
        if queue.is_empty() {
            if !queue.unfinished() {
                break;
            }
            // pprocess's `lines.store(delay)`. One `store` may return
            // early (a child hung up, part of a message came): wait on
            // until a line is in or the whole heartbeat has passed.
            let deadline = Instant::now() + heartbeat;
            while queue.is_empty() && queue.unfinished() {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                if let Err(e) = queue.store(Some(left)) {
                    eprintln!("bottles_heartbeat: {e}");
                    return ExitCode::FAILURE;
                }
            }
            if queue.is_empty() {
                if queue.unfinished() {
                    say(&format!("No input received for {} ms.", options.heartbeat));
                }
                continue;
            }
        }
        match queue.next() {
            Some(Ok(line)) => print_line(&line),
            Some(Err(e)) => {
                eprintln!("bottles_heartbeat: {e}");
                failed = true;
            }
            None => break,
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
