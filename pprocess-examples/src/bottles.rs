//! What `bottles` and `bottles_heartbeat` share: pprocess's
//! `examples/concurrency-sig` pipeline of nested queues.
//!
//! The pipeline answers the "99 Bottles" concurrency challenge of the
//! Python wiki (`Concurrency/99Bottles`): follow several files as they
//! grow, as `tail -f` does, and print the new lines that match any of
//! several patterns. Processes all the way down:
//!
//! - the main program's continuous [`Queue`] holds one *grep* child per
//!   pattern;
//! - each grep child makes a continuous `Queue` of its own, with one
//!   *follower* child per file, and passes on the lines that contain its
//!   pattern;
//! - each follower reads its file from where it ended when the program
//!   started and sends every new line.
//!
//! So a line that matches two patterns is printed twice, once per grep.
//! Unlike pprocess's, which follow for ever, a follower stops when its file
//! has had nothing new for `--idle` seconds; the greps end when their
//! followers have, and the program when its greps have. A grep whose
//! program is gone (killed), and a follower whose grep is gone, stop too,
//! within a fraction of a second.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use pprocess_exchange::{Channel, Error, Queue};

/// The shortest pause of a follower between looks at its file, so that
/// `--delay 0` does not spin.
const MIN_DELAY: Duration = Duration::from_millis(1);

/// How often a grep looks whether the main program is still there while
/// no line comes.
const WATCH: Duration = Duration::from_millis(100);

/// The command line of `bottles` (and the start of `bottles_heartbeat`'s).
#[derive(Debug, Clone, Parser)]
#[command(
    version,
    about = "Follows files as they grow and prints their new lines that \
             contain any of the patterns, through nested queues of processes."
)]
pub struct Options {
    /// The files to follow (pprocess followed these three).
    #[arg(value_name = "FILE", default_values = ["/tmp/test", "/tmp/test2", "/tmp/test3"])]
    pub files: Vec<PathBuf>,
    /// Print the new lines that contain PATTERN; give it once per pattern
    /// (pprocess's `.*pants.*`, `.*trousers.*`, `.*shorts.*`).
    #[arg(
        long = "pattern",
        value_name = "PATTERN",
        default_values = ["pants", "trousers", "shorts"]
    )]
    pub patterns: Vec<String>,
    /// Seconds a follower sleeps when its file has nothing new (pprocess
    /// used 0.1; at least 0.001 is slept).
    #[arg(long, value_name = "SECS", default_value = "0.1", value_parser = parse_seconds)]
    pub delay: Duration,
    /// A follower stops when its file has had nothing new for this many
    /// seconds (pprocess's follow for ever).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub idle: Duration,
}

/// Parses a number of seconds: finite and not negative.
///
/// # Errors
///
/// A message naming the text when it is not such a number.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|e| format!("{text:?} is not a number of seconds: {e}"))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{text:?} is not a non-negative, finite number of seconds"))
}

/// A file to follow, and where following starts.
#[derive(Debug, Clone)]
pub struct Followed {
    /// The file.
    pub path: PathBuf,
    /// Its length when the program started (pprocess's `f.seek(0, 2)`).
    pub from: u64,
}

/// Opens every file and notes where it ends now: following starts there,
/// so every line appended after this returns is seen.
///
/// # Errors
///
/// A message naming the first file that cannot be opened.
pub fn ends_of(files: &[PathBuf]) -> Result<Vec<Followed>, String> {
    files
        .iter()
        .map(|path| {
            let fail = |e: io::Error| format!("cannot follow {}: {e}", path.display());
            let mut f = File::open(path).map_err(fail)?;
            let from = f.seek(SeekFrom::End(0)).map_err(fail)?;
            Ok(Followed {
                path: path.clone(),
                from,
            })
        })
        .collect()
}

/// The line printed when the pipeline is running: which files are
/// followed for which patterns, and when following stops.
#[must_use]
pub fn announcement(options: &Options) -> String {
    let mut text = String::from("Following");
    for (k, f) in options.files.iter().enumerate() {
        let sep = if k == 0 { " " } else { ", " };
        let _ = write!(text, "{sep}{}", f.display());
    }
    text.push_str(" for");
    for (k, p) in options.patterns.iter().enumerate() {
        let sep = if k == 0 { " " } else { ", " };
        let _ = write!(text, "{sep}{p:?}");
    }
    let _ = write!(
        text,
        " until each has been idle for {} s...",
        options.idle.as_secs_f64()
    );
    text
}

/// A follower: sends every line appended to `file` after `file.from`,
/// sleeping `delay` when there is nothing new, until nothing new has come
/// for `idle` or its grep is gone. A last line without a newline is sent
/// when it stops.
fn follow(
    ch: &mut Channel,
    file: &Followed,
    delay: Duration,
    idle: Duration,
) -> Result<(), String> {
    let fail = |e: io::Error| format!("cannot follow {}: {e}", file.path.display());
    let mut f = File::open(&file.path).map_err(fail)?;
    f.seek(SeekFrom::Start(file.from)).map_err(fail)?;
    let mut reader = BufReader::new(f);
    let mut line = Vec::new();
    let mut last_news = Instant::now();
    loop {
        // At end of file `read_until` returns 0; called again, it reads
        // whatever has been appended since.
        let n = reader.read_until(b'\n', &mut line).map_err(fail)?;
        if n > 0 {
            last_news = Instant::now();
            if line.ends_with(b"\n") {
                ch.send(&String::from_utf8_lossy(&line))
                    .map_err(|e| e.to_string())?;
                line.clear();
            }
            continue;
        }
        if last_news.elapsed() >= idle {
            if !line.is_empty() {
                ch.send(&String::from_utf8_lossy(&line))
                    .map_err(|e| e.to_string())?;
            }
            return Ok(());
        }
        // Sleep, watching the channel: nothing is ever sent down it, so
        // anything but a timeout means the grep is gone, and nobody is
        // left to read what this follower finds.
        match ch.receive_timeout::<()>(delay.max(MIN_DELAY)) {
            Err(Error::Timeout(_)) => {}
            Ok(()) | Err(_) => return Ok(()),
        }
    }
}

/// A grep: follows every file in children of its own (a nested queue) and
/// sends on the lines that contain `pattern`.
fn grep(
    ch: &mut Channel,
    pattern: &str,
    files: &[Followed],
    delay: Duration,
    idle: Duration,
) -> Result<(), String> {
    // A child makes its own exchange: it never uses its parent's.
    let mut queue = Queue::<String>::new()
        .map_err(|e| e.to_string())?
        .continuous(true);
    for file in files {
        let file = file.clone();
        queue
            .start(move |ch| follow(ch, &file, delay, idle))
            .map_err(|e| e.to_string())?;
    }
    loop {
        while let Some(message) = queue.handler_mut().pop() {
            let line = message.result.map_err(|e| e.to_string())?;
            if line.contains(pattern) {
                ch.send(&line).map_err(|e| e.to_string())?;
            }
        }
        if !queue.unfinished() {
            return Ok(());
        }
        // The main program never sends anything: a hang-up means it is
        // gone. Stop, and the followers see this grep gone in turn.
        if !matches!(ch.try_receive::<()>(), Ok(None)) {
            return Ok(());
        }
        queue.store(Some(WATCH)).map_err(|e| e.to_string())?;
    }
}

/// Starts the pipeline: one grep child per pattern in a continuous queue
/// whose results are the matching lines.
///
/// # Errors
///
/// A message naming the file that cannot be followed, or saying why a
/// child could not be started.
pub fn start(options: &Options) -> Result<Queue<'static, String>, String> {
    let files = ends_of(&options.files)?;
    let mut queue = Queue::<String>::new()
        .map_err(|e| e.to_string())?
        .continuous(true);
    for pattern in &options.patterns {
        let (p, files) = (pattern.clone(), files.clone());
        let (delay, idle) = (options.delay, options.idle);
        queue
            .start(move |ch| grep(ch, &p, &files, delay, idle))
            .map_err(|e| format!("cannot start the grep for {pattern:?}: {e}"))?;
    }
    Ok(queue)
}

/// Prints a line as pprocess's printer does (`print l.strip()`).
pub fn print_line(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{}", line.trim());
    let _ = out.flush();
}

/// Prints `text` and flushes it at once.
pub fn say(text: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_with_pprocess_defaults() {
        let o = Options::try_parse_from(["bottles"]).unwrap();
        assert_eq!(
            o.files,
            ["/tmp/test", "/tmp/test2", "/tmp/test3"].map(PathBuf::from)
        );
        assert_eq!(o.patterns, ["pants", "trousers", "shorts"]);
        assert_eq!(o.delay, Duration::from_millis(100));
        assert_eq!(o.idle, Duration::from_secs(10));
        let o = Options::try_parse_from([
            "bottles",
            "a",
            "b",
            "--pattern",
            "x",
            "--idle",
            "0.5",
            "--delay",
            "0",
        ])
        .unwrap();
        assert_eq!(o.files, ["a", "b"].map(PathBuf::from));
        assert_eq!(o.patterns, ["x"]);
        assert_eq!(
            (o.idle, o.delay),
            (Duration::from_millis(500), Duration::ZERO)
        );
        assert!(Options::try_parse_from(["bottles", "--idle", "-1"]).is_err());
        assert!(Options::try_parse_from(["bottles", "--delay", "soon"]).is_err());
    }

    #[test]
    fn announcement_names_files_patterns_and_idle_time() {
        let o = Options::try_parse_from(["bottles", "a", "b", "--idle", "2"]).unwrap();
        assert_eq!(
            announcement(&o),
            "Following a, b for \"pants\", \"trousers\", \"shorts\" \
             until each has been idle for 2 s..."
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let e = ends_of(&[PathBuf::from("/nonexistent/bottles")]).unwrap_err();
        assert!(e.starts_with("cannot follow /nonexistent/bottles: "), "{e}");
    }
}
