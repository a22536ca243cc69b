//! The `start_indexer` program: arguments, progress, the summary and the
//! exit status.
//!
//! The program indexes a directory (or, without one, this project's
//! embedded documentation), by default with a [`Pool`] of forked workers
//! holding the index in shards, or in pprocess's shape (a child per slice
//! of files, merged in the parent: [`index_parallel`]) when a window, a
//! slice or `--reuse` is given. Then it answers one pattern per line of
//! standard input (see [`prompt`]). [`main`] is the whole
//! program.

use std::fs;
use std::io;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_exchange::{Builder, MessagePack};

use super::answer::Matches;
use super::parallel::{self, Options, index_parallel};
use super::pool::{self, Files, Pool, PoolOptions};
use super::progress::Bar;
use super::{Index, embedded, list_files, prompt};

pub use super::answer::{format_answer, format_json};
pub use args::{Args, Engine};

mod args;

/// The program's name in messages.
pub const NAME: &str = "start_indexer";

/// Exit status when some files could not be read.
pub const EXIT_UNREADABLE: u8 = 1;

/// Exit status of a usage error (bad arguments, a directory that is not
/// one), as clap uses.
pub const EXIT_USAGE: u8 = 2;

/// Why the directory cannot be indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadDir(pub String);

/// Checks that `dir` is a directory.
///
/// # Errors
///
/// A message saying that `dir` does not exist, is not a directory, or
/// cannot be looked at.
pub fn check_dir(dir: &Path) -> Result<(), BadDir> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(BadDir(format!("{}: no such directory", dir.display())))
        }
        Err(e) => Err(BadDir(format!("{}: {e}", dir.display()))),
        Ok(m) if !m.is_dir() => Err(BadDir(format!("{}: not a directory", dir.display()))),
        Ok(_) => Ok(()),
    }
}

/// What indexing found, whichever the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Text files indexed.
    pub files: usize,
    /// Binary files skipped.
    pub binary: usize,
    /// Files with invalid UTF-8.
    pub lossy: usize,
    /// What could not be indexed.
    pub unreadable: usize,
    /// Bytes read (when known).
    pub bytes: Option<u64>,
    /// Distinct words (pprocess's shape only: the pool does not merge).
    pub words: Option<usize>,
    /// Distinct (word, file) entries.
    pub entries: u64,
    /// Processes forked.
    pub processes: usize,
    /// The time indexing took.
    pub elapsed: Duration,
}

/// The summary printed on standard error after indexing.
///
/// ```
/// use std::time::Duration;
/// use pprocess_examples::indexer::cli::{Engine, Report, summary};
/// use pprocess_examples::indexer::parallel::Options;
/// let report = Report {
///     files: 3, binary: 1, lossy: 0, unreadable: 2, bytes: Some(2_500_000),
///     words: None, entries: 40, processes: 2, elapsed: Duration::from_millis(1500),
/// };
/// let pool = Engine::Pool(Default::default());
/// assert_eq!(
///     summary(&report, &pool),
///     "indexed 3 files (1 binary skipped, 2 unreadable) in 1.50 s: 2.5 MB, 40 entries; 2 workers"
/// );
/// ```
#[must_use]
pub fn summary(report: &Report, engine: &Engine) -> String {
    let mut notes = Vec::new();
    if report.binary > 0 {
        notes.push(format!("{} binary skipped", report.binary));
    }
    if report.unreadable > 0 {
        notes.push(format!("{} unreadable", report.unreadable));
    }
    if report.lossy > 0 {
        notes.push(format!("{} with invalid UTF-8", report.lossy));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join(", "))
    };
    let mut what = Vec::new();
    if let Some(bytes) = report.bytes {
        what.push(format!("{:.1} MB", bytes as f64 / 1e6));
    }
    if let Some(words) = report.words {
        what.push(format!("{words} distinct words"));
    }
    what.push(format!("{} entries", report.entries));
    let how = match engine {
        Engine::Pool(_) => format!(
            "{} {}",
            report.processes,
            plural(report.processes, "worker", "workers")
        ),
        Engine::Slices(options) => format!(
            "{} {} (window {}, slice {}{})",
            report.processes,
            plural(report.processes, "child", "children"),
            options.window,
            options.slice,
            if options.reuse { ", reused" } else { "" },
        ),
    };
    format!(
        "indexed {} {}{notes} in {:.2} s: {}; {how}",
        report.files,
        plural(report.files, "file", "files"),
        report.elapsed.as_secs_f64(),
        what.join(", "),
    )
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The index, whichever the engine.
enum Indexed {
    Pool(Pool),
    Index(Index),
}

impl Indexed {
    fn matches(&mut self) -> &mut dyn Matches {
        match self {
            Indexed::Pool(pool) => pool,
            Indexed::Index(index) => index,
        }
    }
}

/// Indexes with the pool.
fn run_pool(
    args: &Args,
    options: &PoolOptions,
    builder: Option<&Builder<MessagePack>>,
    bar: &Bar,
) -> pprocess_exchange::Result<(Indexed, Report)> {
    let files = match &args.dir {
        Some(dir) => Files::Walk {
            dir: dir.clone(),
            options: args.walk_options(),
        },
        None => Files::Embedded,
    };
    let quiet = args.quiet;
    let observe = |event: pool::Event<'_>| match event {
        pool::Event::Failed { name, error } => {
            if !quiet {
                bar.println(&format!("{NAME}: {name}: {error}"));
            }
        }
        pool::Event::Progress(p) => bar.show(p.done, p.found, p.walk_done, p.bytes, p.words),
    };
    let (pool, summary) = match builder {
        Some(builder) => Pool::index_remote(files, options, builder, observe)?,
        None => Pool::index(files, options, observe)?,
    };
    let report = Report {
        files: summary.files,
        binary: summary.binary,
        lossy: summary.lossy,
        unreadable: summary.failed.len(),
        bytes: Some(summary.bytes),
        words: None,
        entries: summary.entries,
        processes: summary.workers,
        elapsed: summary.elapsed,
    };
    Ok((Indexed::Pool(pool), report))
}

/// Indexes in pprocess's shape.
fn run_slices(
    args: &Args,
    options: &Options,
    bar: &Bar,
) -> pprocess_exchange::Result<(Indexed, Report)> {
    let started = Instant::now();
    let mut problems = Vec::new();
    let docs = match &args.dir {
        Some(dir) => {
            let (paths, found) = list_files(dir, &args.walk_options());
            problems = found;
            parallel::documents(paths)
        }
        None => embedded::documents(),
    };
    let quiet = args.quiet;
    let report_line = |line: String| {
        if !quiet {
            bar.println(&line);
        }
    };
    for problem in &problems {
        report_line(format!("{NAME}: {}: {}", problem.path, problem.error));
    }
    let total = docs.len();
    let indexed = index_parallel(docs, options, |event, progress| {
        if let parallel::Event::Failed { name, error } = *event {
            report_line(format!("{NAME}: {name}: {error}"));
        }
        bar.show(progress.done, total, true, 0, progress.words as u64);
    })?;
    let report = Report {
        files: indexed.index.files().len() - indexed.failed.len() - indexed.binary,
        binary: indexed.binary,
        lossy: indexed.lossy.len(),
        unreadable: indexed.failed.len() + problems.len(),
        bytes: None,
        words: Some(indexed.index.words()),
        entries: indexed.index.entries() as u64,
        processes: indexed.children,
        elapsed: started.elapsed(),
    };
    Ok((Indexed::Index(indexed.index), report))
}

/// Runs the program with `args`; returns its exit status.
#[must_use]
pub fn run(args: &Args) -> ExitCode {
    run_with(args, None)
}

/// [`run`] with the default engine's workers started by `builder`:
/// `workers` of them unless `--workers` asks for fewer (more is refused).
/// With a `pprocess_mpi::Cluster`'s builder and its number of workers,
/// they are the ranks of an MPI job (see [`Pool::index_remote`]). pprocess's engine (`--window`, `--slice`,
/// `--reuse`) forks its children, so it is refused there.
#[must_use]
pub fn run_on(args: &Args, builder: &Builder<MessagePack>, workers: usize) -> ExitCode {
    if matches!(args.engine(), Engine::Slices(_)) {
        eprintln!("{NAME}: --window, --slice and --reuse fork children: not over MPI ranks");
        return ExitCode::from(EXIT_USAGE);
    }
    let workers = workers.max(1);
    if let Some(n) = args.workers.filter(|&n| n > workers) {
        // A rank serves one worker at a time: more would wait for ever.
        eprintln!("{NAME}: --workers {n}: the job has {workers} worker ranks");
        return ExitCode::from(EXIT_USAGE);
    }
    let mut args = args.clone();
    args.workers = args.workers.or(Some(workers));
    run_with(&args, Some(builder))
}

fn run_with(args: &Args, builder: Option<&Builder<MessagePack>>) -> ExitCode {
    if let Some(dir) = &args.dir {
        if let Err(BadDir(message)) = check_dir(dir) {
            eprintln!("{NAME}: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    }
    let engine = args.engine();
    let bar = Bar::new(args.quiet);
    let indexed = match &engine {
        Engine::Pool(options) => run_pool(args, options, builder, &bar),
        Engine::Slices(options) => run_slices(args, options, &bar),
    };
    bar.finish();
    let (mut indexed, report) = match indexed {
        Ok(done) => done,
        Err(e) => {
            eprintln!("{NAME}: cannot index: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !args.quiet {
        eprintln!("{NAME}: {}", summary(&report, &engine));
        if report.files == 0 {
            let dir = args.dir.as_deref().unwrap_or(Path::new("."));
            eprintln!(
                "{NAME}: warning: no text file to index in {}{}",
                dir.display(),
                if args.max_depth.is_some() {
                    " (see --max-depth)"
                } else {
                    ""
                }
            );
        }
    }
    let status = if report.unreadable > 0 {
        ExitCode::from(EXIT_UNREADABLE)
    } else {
        ExitCode::SUCCESS
    };
    if args.noprompt {
        return status;
    }
    match prompt::answer_all(indexed.matches(), args.json) {
        Ok(()) => status,
        // A reader that went away (`start_indexer | head`) ends the run.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => status,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The program: parses the command line, runs, and returns the exit status.
///
/// Built with the feature `mpi` and started by `mpirun` (or `srun`), the
/// ranks other than 0 are the workers, each holding a shard (see
/// [`run_on`]); the directory must be on a filesystem every host shares.
#[must_use]
pub fn main() -> ExitCode {
    // Under mpirun, only rank 0 goes on from here; the others serve.
    #[cfg(feature = "mpi")]
    if pprocess_mpi::launched_by_mpi() {
        let cluster = match pprocess_mpi::init() {
            Ok(cluster) => cluster,
            Err(e) => {
                eprintln!("{NAME}: cannot start the mpi cluster: {e}");
                return ExitCode::FAILURE;
            }
        };
        return run_on(&Args::parse(), &cluster.builder(), cluster.workers());
    }
    run(&Args::parse())
}

#[cfg(test)]
mod tests;
