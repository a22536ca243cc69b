//! The `start_indexer` program: arguments, progress, the prompt and the
//! answers.
//!
//! The program indexes a directory (or, without one, this project's
//! embedded documentation) with [`index_parallel`], then answers one
//! pattern per line of standard input with every indexed word beginning
//! with it and the files containing each word. [`main`] is the whole
//! program; the rest is its pure parts.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::parallel::{Document, Event, Indexed, Options, Progress, documents, index_parallel};
use super::{Index, Match, embedded, list_files};

/// The program's name in messages.
const NAME: &str = "start_indexer";

/// Exit status of bad input (a missing directory, bad arguments), as clap
/// uses for usage errors.
pub const EXIT_USAGE: u8 = 2;

/// Indexes text files in parallel child processes, then answers searches:
/// each pattern read from standard input (one per line) gives every indexed
/// word beginning with it, with the files that contain the word.
///
/// pprocess's form `start_indexer DIR WINDOW SLICE DELAY` works too.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(name = "start_indexer", version, after_help = AFTER_HELP)]
pub struct Args {
    /// Directory of text files to index [default: this project's
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

    /// Run at most N children at once [default: 4].
    #[arg(short, long, value_name = "N", value_parser = parse_positive)]
    pub window: Option<usize>,

    /// Give each child N files [default: 5].
    #[arg(short, long, value_name = "N", value_parser = parse_positive)]
    pub slice: Option<usize>,

    /// Sleep SECS seconds after each file in the children, to simulate heavy
    /// work.
    #[arg(short, long, value_name = "SECS", value_parser = parse_delay)]
    pub delay: Option<Duration>,

    /// Index, print the summary and exit, without reading patterns.
    #[arg(long)]
    pub noprompt: bool,

    /// Answer each pattern with one line of JSON:
    /// {"pattern": P, "matches": {WORD: [FILE, ...]}}.
    #[arg(long)]
    pub json: bool,

    /// Index the files of subdirectories too.
    #[arg(short, long)]
    pub recursive: bool,

    /// Fork the window's children once and give each slice after slice,
    /// rather than a child per slice (faster on large directories).
    #[arg(long)]
    pub reuse: bool,
}

const AFTER_HELP: &str = "\
Without --noprompt, the program prints `Pattern: ` and answers each line of
standard input until its end. An empty line lists every word. Progress and
the summary go to standard error; with --json standard output holds nothing
but the answers.

Exit status: 0 on success (files that cannot be read are reported and
skipped), 2 if DIR is not a directory or an argument is wrong.";

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

impl Args {
    /// The work sharing the arguments ask for, positional or not, with
    /// pprocess's defaults for what they leave out.
    pub fn options(&self) -> Options {
        let default = Options::default();
        Options {
            window: self.window.or(self.window_arg).unwrap_or(default.window),
            slice: self.slice.or(self.slice_arg).unwrap_or(default.slice),
            delay: self
                .delay
                .or(self.delay_arg)
                .filter(|d| !d.is_zero())
                .or(default.delay),
            reuse: self.reuse,
        }
    }
}

/// Why the documents could not be listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadDir(pub String);

/// The documents to index: the files of `dir` (see [`list_files`]), or the
/// embedded documentation when there is no `dir`.
///
/// # Errors
///
/// A message saying that `dir` does not exist, is not a directory, or
/// cannot be listed.
pub fn collect_documents(dir: Option<&Path>, recursive: bool) -> Result<Vec<Document>, BadDir> {
    let Some(dir) = dir else {
        return Ok(embedded::documents());
    };
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(BadDir(format!("{}: no such directory", dir.display())));
        }
        Err(e) => return Err(BadDir(format!("{}: {e}", dir.display()))),
        Ok(m) if !m.is_dir() => {
            return Err(BadDir(format!("{}: not a directory", dir.display())));
        }
        Ok(_) => {}
    }
    let paths = list_files(dir, recursive).map_err(|e| BadDir(e.to_string()))?;
    Ok(documents(paths))
}

/// The answer to `pattern` for people: a count, then one line per word with
/// its files, words aligned.
///
/// ```
/// use pprocess_examples::indexer::{Match, cli::format_answer};
/// let found = [
///     Match { word: "cat".into(), files: vec!["a.txt".into(), "b.txt".into()] },
///     Match { word: "catalog".into(), files: vec!["b.txt".into()] },
/// ];
/// assert_eq!(
///     format_answer("cat", &found),
///     "2 words begin with \"cat\":\n  cat      a.txt, b.txt\n  catalog  b.txt\n"
/// );
/// assert_eq!(format_answer("dog", &[]), "no word begins with \"dog\"\n");
/// ```
pub fn format_answer(pattern: &str, found: &[Match]) -> String {
    let mut out = String::new();
    match found.len() {
        0 => {
            let _ = writeln!(out, "no word begins with \"{pattern}\"");
            return out;
        }
        1 => {
            let _ = writeln!(out, "1 word begins with \"{pattern}\":");
        }
        n => {
            let _ = writeln!(out, "{n} words begin with \"{pattern}\":");
        }
    }
    let width = found
        .iter()
        .map(|m| m.word.chars().count())
        .max()
        .unwrap_or(0);
    for m in found {
        let pad = width - m.word.chars().count();
        let _ = writeln!(
            out,
            "  {}{:pad$}  {}",
            m.word,
            "",
            m.files.join(", "),
            pad = pad
        );
    }
    out
}

/// The answer to `pattern` as one line of JSON (newline included):
/// `{"pattern": P, "matches": {WORD: [FILE, ...]}}`, words in the order of
/// `found` (sorted, as [`Index::search`] gives them).
///
/// ```
/// use pprocess_examples::indexer::{Match, cli::format_json};
/// let found = [Match { word: "cat".into(), files: vec!["a.txt".into()] }];
/// assert_eq!(
///     format_json("ca", &found),
///     "{\"pattern\":\"ca\",\"matches\":{\"cat\":[\"a.txt\"]}}\n"
/// );
/// ```
pub fn format_json(pattern: &str, found: &[Match]) -> String {
    #[derive(Serialize)]
    struct Answer<'a> {
        pattern: &'a str,
        matches: Matches<'a>,
    }
    struct Matches<'a>(&'a [Match]);
    impl Serialize for Matches<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(self.0.len()))?;
            for m in self.0 {
                map.serialize_entry(&m.word, &m.files)?;
            }
            map.end()
        }
    }
    let mut line = serde_json::to_string(&Answer {
        pattern,
        matches: Matches(found),
    })
    .expect("strings always serialize");
    line.push('\n');
    line
}

/// The summary printed on standard error after indexing.
///
/// ```
/// use std::time::Duration;
/// use pprocess_examples::indexer::cli::summary;
/// use pprocess_examples::indexer::parallel::{Indexed, Options};
/// use pprocess_examples::indexer::Index;
/// let indexed = Indexed {
///     index: Index::new(),
///     failed: Vec::new(),
///     lossy: Vec::new(),
///     children: 0,
///     elapsed: Duration::from_millis(1500),
/// };
/// assert_eq!(
///     summary(&indexed, &Options::default()),
///     "indexed 0 files in 1.50 s: 0 distinct words, 0 entries; 0 children (window 4, slice 5)"
/// );
/// ```
pub fn summary(indexed: &Indexed, options: &Options) -> String {
    let files = indexed.index.files().len();
    let mut notes = Vec::new();
    if !indexed.failed.is_empty() {
        notes.push(format!("{} skipped", indexed.failed.len()));
    }
    if !indexed.lossy.is_empty() {
        notes.push(format!("{} with invalid UTF-8", indexed.lossy.len()));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join(", "))
    };
    format!(
        "indexed {files} {}{notes} in {:.2} s: {} distinct words, {} entries; {} {} (window {}, slice {}{})",
        plural(files, "file", "files"),
        indexed.elapsed.as_secs_f64(),
        indexed.index.words(),
        indexed.index.entries(),
        indexed.children,
        plural(indexed.children, "child", "children"),
        options.window,
        options.slice,
        if options.reuse { ", reused" } else { "" },
    )
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The progress bar: on standard error when it is a terminal, hidden
/// otherwise.
fn progress_bar(total: usize) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    let style =
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} files, {msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message("0 words");
    bar
}

/// Runs the program with `args`; returns its exit status.
pub fn run(args: &Args) -> ExitCode {
    let options = args.options();
    let docs = match collect_documents(args.dir.as_deref(), args.recursive) {
        Ok(docs) => docs,
        Err(BadDir(message)) => {
            eprintln!("{NAME}: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let bar = progress_bar(docs.len());
    let observe = |event: &Event<'_>, progress: &Progress| {
        match *event {
            Event::Indexed {
                name, lossy: true, ..
            } => bar.suspend(|| {
                eprintln!("{NAME}: warning: {name}: invalid UTF-8 replaced");
            }),
            Event::Failed { name, error } => bar.suspend(|| {
                eprintln!("{NAME}: skipped {name}: {error}");
            }),
            Event::Indexed { .. } => {}
        }
        let rate = progress.done as f64 / bar.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!("{} words, {rate:.0} files/s", progress.words));
        bar.set_position(progress.done as u64);
    };
    let indexed = match index_parallel(docs, &options, observe) {
        Ok(indexed) => indexed,
        Err(e) => {
            bar.finish_and_clear();
            eprintln!("{NAME}: cannot index: {e}");
            return ExitCode::FAILURE;
        }
    };
    bar.finish_and_clear();
    eprintln!("{NAME}: {}", summary(&indexed, &options));
    if args.noprompt {
        return ExitCode::SUCCESS;
    }
    match prompt(&indexed.index, args.json) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`start_indexer | head`) ends the run.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Answers each line of standard input until its end.
fn prompt(index: &Index, json: bool) -> io::Result<()> {
    let stdin = io::stdin();
    let interactive = stdin.is_terminal();
    let mut input = stdin.lock();
    let mut stdout = io::stdout().lock();
    let mut line = Vec::new();
    loop {
        if !json {
            stdout.write_all(b"Pattern: ")?;
            stdout.flush()?;
        } else if interactive {
            eprint!("Pattern: ");
        }
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            if interactive {
                // End the prompt's line before the shell's.
                if json {
                    eprintln!();
                } else {
                    stdout.write_all(b"\n")?;
                }
            }
            return stdout.flush();
        }
        let text = String::from_utf8_lossy(&line);
        let pattern = text.trim();
        let found = index.search(pattern);
        let answer = if json {
            format_json(pattern, &found)
        } else {
            format_answer(pattern, &found)
        };
        stdout.write_all(answer.as_bytes())?;
        stdout.flush()?;
    }
}

/// The program: parses the command line, runs, and returns the exit status.
pub fn main() -> ExitCode {
    run(&Args::parse())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("start_indexer").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_are_pprocess_defaults() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.dir, None);
        assert_eq!(args.options(), Options::default());
        assert!(!args.noprompt && !args.json && !args.recursive);
    }

    #[test]
    fn options_and_positional_form_agree() {
        let named = parse(&["d", "--window", "2", "--slice", "3", "--delay", "0.5"]).unwrap();
        let positional = parse(&["d", "2", "3", "0.5"]).unwrap();
        let expected = Options {
            window: 2,
            slice: 3,
            delay: Some(Duration::from_millis(500)),
            reuse: false,
        };
        assert_eq!(named.options(), expected);
        assert_eq!(positional.options(), expected);
        assert_eq!(positional.dir, Some(PathBuf::from("d")));
        // pprocess's --noprompt may come anywhere.
        let mixed = parse(&["d", "--noprompt", "7"]).unwrap();
        assert!(mixed.noprompt);
        assert_eq!(mixed.options().window, 7);
        assert_eq!(mixed.options().slice, 5);
    }

    #[test]
    fn zero_delay_is_no_delay() {
        assert_eq!(parse(&["d", "1", "1", "0"]).unwrap().options().delay, None);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for args in [
            &["d", "0"][..],
            &["d", "--slice", "0"],
            &["d", "--delay", "-1"],
            &["d", "--delay", "nan"],
            &["d", "--window", "x"],
            &["d", "2", "--window", "3"],
            &["d", "1", "2", "3", "4"],
            &["--bogus"],
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), i32::from(EXIT_USAGE), "{args:?}: {err}");
        }
    }

    #[test]
    fn help_is_available() {
        let err = parse(&["--help"]).unwrap_err();
        assert_eq!(err.exit_code(), 0);
        let help = err.to_string();
        for word in [
            "--window",
            "--slice",
            "--delay",
            "--noprompt",
            "--json",
            "--recursive",
            "--reuse",
        ] {
            assert!(help.contains(word), "{word} missing from help:\n{help}");
        }
    }

    fn found(pairs: &[(&str, &[&str])]) -> Vec<Match> {
        pairs
            .iter()
            .map(|(word, files)| Match {
                word: (*word).to_owned(),
                files: files.iter().map(|f| (*f).to_owned()).collect(),
            })
            .collect()
    }

    #[test]
    fn answers_align_words_by_characters() {
        let answer = format_answer("", &found(&[("é", &["x"]), ("ab", &["y", "z"])]));
        assert_eq!(answer, "2 words begin with \"\":\n  é   x\n  ab  y, z\n");
        let one = format_answer("ab", &found(&[("ab", &["y"])]));
        assert_eq!(one, "1 word begins with \"ab\":\n  ab  y\n");
    }

    #[test]
    fn json_escapes_and_keeps_order() {
        let line = format_json("\"q", &found(&[("b", &["1", "2"]), ("a", &[])]));
        assert_eq!(
            line,
            "{\"pattern\":\"\\\"q\",\"matches\":{\"b\":[\"1\",\"2\"],\"a\":[]}}\n"
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["pattern"], "\"q");
    }

    #[test]
    fn missing_and_non_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let BadDir(message) = collect_documents(Some(&missing), false).unwrap_err();
        assert!(message.ends_with("no such directory"), "{message}");
        let file = dir.path().join("file.txt");
        fs::write(&file, "x").unwrap();
        let BadDir(message) = collect_documents(Some(&file), false).unwrap_err();
        assert!(message.ends_with("not a directory"), "{message}");
        assert!(collect_documents(Some(dir.path()), false).unwrap().len() == 1);
    }

    #[test]
    fn without_dir_the_embedded_docs_are_indexed() {
        let docs = collect_documents(None, false).unwrap();
        assert!(docs.iter().any(|d| d.name == "docs/tutorial.md"));
    }
}
