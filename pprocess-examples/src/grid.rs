//! What the `simple_*` examples share: pprocess's 10×10 grid, the command
//! line, and the way results and time are printed.
//!
//! Every example computes `i * N + j` for each cell `(i, j)` of an `N`×`N`
//! grid, sleeping `--delay` seconds per cell to stand for real work, then
//! prints the grid row by row and the time taken, as pprocess's
//! `examples/simple*.py` do.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_exchange::num_cores;

/// The grid's side: the examples compute `N * N` cells.
pub const N: usize = 10;

/// The command line of every `simple_*` example.
#[derive(Debug, Clone, Parser)]
#[command(
    version,
    about = "Computes pprocess's example grid (cell (i, j) holds i * N + j) \
             and prints it with the time taken."
)]
pub struct Options {
    /// Seconds each calculation sleeps to simulate work (pprocess used 1).
    #[arg(long, default_value = "0.1", value_parser = parse_delay)]
    pub delay: Duration,
    /// The most processes working at once.
    #[arg(
        long,
        default_value_t = num_cores(),
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub limit: usize,
}

/// The extra command line of the background examples
/// (`simple_background_queue`, `simple_persistent_queue`,
/// `simple_persistent_managed`): pprocess's
/// `--start` and `--reconnect`, and where the socket files go. Flatten it
/// beside [`Options`].
#[derive(Debug, Clone, clap::Args)]
pub struct BackgroundOptions {
    /// Only start the background work and exit; a later run with
    /// --reconnect collects the results.
    #[arg(long, conflicts_with = "reconnect")]
    pub start: bool,
    /// Only collect the results of background work started earlier with
    /// --start.
    #[arg(long)]
    pub reconnect: bool,
    /// The directory of the socket files (pprocess used the current
    /// directory).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: std::path::PathBuf,
}

/// Parses a delay in seconds: a finite, non-negative number.
fn parse_delay(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|e| format!("{text:?} is not a number of seconds: {e}"))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{text:?} is not a non-negative, finite number of seconds"))
}

/// An empty grid, to be filled in place by results that say where they go
/// (pprocess's `results = [0] * N * N`).
#[must_use]
pub fn new_grid() -> Vec<usize> {
    vec![0; N * N]
}

/// One row of results as pprocess prints it: numbers separated by spaces.
pub fn format_row(row: &[usize]) -> String {
    row.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints `results` (`N * N` values, row after row) as `N` lines.
pub fn print_grid(results: &[usize]) {
    let mut out = io::stdout().lock();
    for row in results.chunks(N) {
        // A closed stdout (`| head`) is not worth a panic in an example.
        let _ = writeln!(out, "{}", format_row(row));
    }
}

/// Prints the seconds since `start`: pprocess's
/// `print "Time taken:", time.time() - t`.
pub fn print_time(start: Instant) {
    let _ = writeln!(
        io::stdout(),
        "Time taken: {}",
        start.elapsed().as_secs_f64()
    );
}

/// Prints a progress line such as `Calculating...` and flushes it, so that
/// it comes out before the work starts.
pub fn say(text: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_space_separated() {
        assert_eq!(format_row(&[0, 1, 2]), "0 1 2");
        assert_eq!(format_row(&[]), "");
    }

    #[test]
    fn delays_must_be_non_negative_and_finite() {
        assert_eq!(parse_delay("0"), Ok(Duration::ZERO));
        assert_eq!(parse_delay("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_delay("-1").is_err());
        assert!(parse_delay("inf").is_err());
        assert!(parse_delay("NaN").is_err());
        assert!(parse_delay("soon").is_err());
    }

    #[test]
    fn background_options_parse() {
        #[derive(Debug, Parser)]
        struct Cli {
            #[command(flatten)]
            grid: Options,
            #[command(flatten)]
            background: BackgroundOptions,
        }
        let c = Cli::try_parse_from(["x", "--start", "--dir", "/tmp/d", "--delay", "0"]).unwrap();
        assert!(c.background.start && !c.background.reconnect);
        assert_eq!(c.background.dir, std::path::Path::new("/tmp/d"));
        assert_eq!(c.grid.delay, Duration::ZERO);
        let c = Cli::try_parse_from(["x"]).unwrap();
        assert!(!c.background.start && !c.background.reconnect);
        assert_eq!(c.background.dir, std::path::Path::new("."));
        assert!(Cli::try_parse_from(["x", "--start", "--reconnect"]).is_err());
    }

    #[test]
    fn options_parse() {
        let o = Options::try_parse_from(["x", "--delay", "0", "--limit", "3"]).unwrap();
        assert_eq!((o.delay, o.limit), (Duration::ZERO, 3));
        let o = Options::try_parse_from(["x"]).unwrap();
        assert_eq!(o.delay, Duration::from_millis(100));
        assert_eq!(o.limit, num_cores());
        assert!(Options::try_parse_from(["x", "--limit", "0"]).is_err());
    }
}
