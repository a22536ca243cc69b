//! The command line of `start_indexer`, and the engine it picks.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use super::super::WalkOptions;
use super::super::parallel::Options;
use super::super::pool::PoolOptions;

/// Indexes the text files of a directory in parallel worker processes,
/// then answers searches: each pattern read from standard input (one per
/// line) gives every indexed word beginning with it, with the files that
/// contain the word.
///
/// pprocess's form `start_indexer DIR WINDOW SLICE DELAY` works too.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(name = "start_indexer", version, after_help = AFTER_HELP)]
pub struct Args {
    /// Directory to index, recursively [default: this project's
    /// documentation, embedded in the program].
    pub dir: Option<PathBuf>,

    /// Same as --window (pprocess's positional form).
    #[arg(value_name = "WINDOW", conflicts_with = "window", value_parser = parse_positive)]
    pub window_arg: Option<usize>,

    /// Same as --slice (pprocess's positional form).
    #[arg(value_name = "SLICE", conflicts_with = "slice", value_parser = parse_positive)]
    pub slice_arg: Option<usize>,

    /// Same as --delay (pprocess's positional form).
    #[arg(value_name = "DELAY", conflicts_with = "delay", value_parser = parse_delay)]
    pub delay_arg: Option<Duration>,

    /// Worker processes [default: the number of cores; under MPI, one per
    /// rank but rank 0].
    #[arg(short = 'j', long, value_name = "N", value_parser = parse_positive)]
    pub workers: Option<usize>,

    /// pprocess's shape: at most N children at once, a child per slice
    /// [default: 4 with --slice or --reuse].
    #[arg(short, long, value_name = "N", value_parser = parse_positive)]
    pub window: Option<usize>,

    /// pprocess's shape: give each child N files [default: 5 with --window
    /// or --reuse].
    #[arg(short, long, value_name = "N", value_parser = parse_positive)]
    pub slice: Option<usize>,

    /// Sleep SECS seconds after each file in the workers, to simulate heavy
    /// work.
    #[arg(short, long, value_name = "SECS", value_parser = parse_delay)]
    pub delay: Option<Duration>,

    /// pprocess's shape with the window's children forked once, each given
    /// slice after slice.
    #[arg(long)]
    pub reuse: bool,

    /// Index hidden files and directories too (`.git` stays skipped).
    #[arg(long)]
    pub hidden: bool,

    /// Do not respect `.gitignore`, `.ignore` and git's exclude files.
    #[arg(long)]
    pub no_ignore: bool,

    /// Descend at most N directories (1: the directory's own files).
    #[arg(long, value_name = "N", value_parser = parse_positive)]
    pub max_depth: Option<usize>,

    /// Accepted for compatibility: directories are always indexed
    /// recursively (see --max-depth).
    #[arg(short, long, hide = true)]
    pub recursive: bool,

    /// Index, print the summary and exit, without reading patterns.
    #[arg(long)]
    pub noprompt: bool,

    /// Answer each pattern with one line of JSON:
    /// {"pattern": P, "matches": {WORD: [FILE, ...]}}.
    #[arg(long)]
    pub json: bool,

    /// Print neither progress, nor unreadable files, nor the summary.
    #[arg(short, long)]
    pub quiet: bool,
}

const AFTER_HELP: &str = "\
Files are found as ripgrep finds them: recursively, skipping hidden files,
.git and what .gitignore and .ignore files exclude. Binary files (a NUL byte
in the first 8 KiB) are skipped and counted.

When standard input is a terminal, the program prompts `Pattern: ` with line
editing and history; otherwise it reads one pattern per line and standard
output holds nothing but the answers. An empty line lists every word.
Progress (on a terminal), unreadable files and the summary go to standard
error.

Exit status: 0 if all went well, 1 if some files could not be read, 2 for a
usage error or a DIR that is not a directory.";

/// A positive integer.
fn parse_positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A non-negative, finite number of seconds.
fn parse_delay(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.parse().map_err(|e| format!("{e}"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| "must be a number of seconds, 0 or more".into())
}

/// How the work is shared out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Engine {
    /// The default: a pool of workers holding shards.
    Pool(PoolOptions),
    /// pprocess's shape: children per slice (or reused), merged in the
    /// parent.
    Slices(Options),
}

impl Args {
    /// The engine the arguments ask for: pprocess's shape if a window, a
    /// slice or `--reuse` is given (with pprocess's defaults for what is
    /// left out), the pool otherwise.
    #[must_use]
    pub fn engine(&self) -> Engine {
        let window = self.window.or(self.window_arg);
        let slice = self.slice.or(self.slice_arg);
        let delay = self.delay.or(self.delay_arg).filter(|d| !d.is_zero());
        if window.is_some() || slice.is_some() || self.reuse {
            let default = Options::default();
            Engine::Slices(Options {
                window: window.unwrap_or(default.window),
                slice: slice.unwrap_or(default.slice),
                delay,
                reuse: self.reuse,
            })
        } else {
            let mut options = PoolOptions::default();
            if let Some(workers) = self.workers {
                options.workers = workers;
            }
            options.delay = delay;
            Engine::Pool(options)
        }
    }

    /// What the walk finds.
    #[must_use]
    pub fn walk_options(&self) -> WalkOptions {
        WalkOptions {
            hidden: self.hidden,
            no_ignore: self.no_ignore,
            max_depth: self.max_depth,
        }
    }
}
