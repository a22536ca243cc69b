//! Runs `bottles` and `bottles_heartbeat` (ports of pprocess's
//! `examples/concurrency-sig`) as real processes on files in a temporary
//! directory: lines appended after the program has started must come out
//! once per pattern they contain, in each file's order; older lines and
//! lines without a pattern must not; the program must end by itself once
//! the files are idle, leaving no process behind.

mod proc_util;

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use proc_util::processes_naming;
use tempfile::TempDir;

const BOTTLES: &str = env!("CARGO_BIN_EXE_bottles");
const HEARTBEAT: &str = env!("CARGO_BIN_EXE_bottles_heartbeat");

/// How long any one step may take before the test gives up.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running example whose stdout lines arrive on a channel.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    /// Starts `exe` with `args`, and waits for its first line, the
    /// announcement that it follows the files.
    fn start(exe: &str, args: &[&str]) -> Running {
        let mut child = Command::new(exe)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{exe} does not run: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut running = Running {
            child,
            lines,
            seen: Vec::new(),
        };
        let first = running.next_line();
        assert!(first.starts_with("Following "), "first line {first:?}");
        running
    }

    /// The next line of output; fails the test after [`PATIENCE`].
    fn next_line(&mut self) -> String {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => {
                self.seen.push(line.clone());
                line
            }
            Err(e) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("no line within {PATIENCE:?} ({e}); so far: {:?}", self.seen)
            }
        }
    }

    /// Reads lines until `wanted` comes; returns the lines before it.
    fn until(&mut self, wanted: &str) -> Vec<String> {
        let mut before = Vec::new();
        loop {
            let line = self.next_line();
            if line == wanted {
                return before;
            }
            before.push(line);
        }
    }

    /// Waits for the program to end by itself; returns its status, the rest
    /// of its stdout, and its stderr.
    fn finish(mut self) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("still running after {PATIENCE:?}; printed {:?}", self.seen);
            }
            thread::sleep(Duration::from_millis(20));
        };
        // The reader thread ends at end of file, closing the channel.
        let rest: Vec<String> = self.lines.iter().collect();
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            std::io::Read::read_to_string(&mut e, &mut stderr).unwrap();
        }
        (status, rest, stderr)
    }
}

/// Appends `text` to `path`.
fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Three files in a fresh directory, each holding an old line that
/// matches every pattern (and must never be printed).
fn three_files() -> (TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = ["test", "test2", "test3"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    for f in &files {
        fs::write(f, "old pants, trousers and shorts\n").unwrap();
    }
    (dir, files)
}

/// The arguments naming `files`, then `rest`.
fn args<'a>(files: &'a [PathBuf], rest: &[&'a str]) -> Vec<&'a str> {
    files
        .iter()
        .map(|f| f.to_str().unwrap())
        .chain(rest.iter().copied())
        .collect()
}

/// Processes whose command line mentions `dir`: the example's children
/// all do, as forks of it.
fn processes_using(dir: &Path) -> Vec<String> {
    processes_naming(dir.to_str().unwrap())
}

/// How often each line was printed.
fn counts(lines: &[String]) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for l in lines {
        *m.entry(l.as_str()).or_default() += 1;
    }
    m
}

#[test]
fn bottles_prints_new_matching_lines_once_per_pattern_then_ends() {
    let (dir, files) = three_files();
    let started = Instant::now();
    let run = Running::start(
        BOTTLES,
        &args(&files, &["--idle", "1.5", "--delay", "0.02"]),
    );
    append(&files[0], "1 pair of pants\na hat\n2 pairs of pants\n");
    append(&files[1], "trousers and shorts\n");
    append(&files[2], "a coat\n3 shorts\nlast pants, no newline");
    let (status, rest, stderr) = run.finish();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.is_empty(), "stderr: {stderr}");

    let expected = BTreeMap::from([
        ("1 pair of pants", 1),
        ("2 pairs of pants", 1),
        ("trousers and shorts", 2),
        ("3 shorts", 1),
        ("last pants, no newline", 1),
    ]);
    assert_eq!(counts(&rest), expected, "printed {rest:?}");
    // One file's lines keep their order through follower and grep.
    let pants: Vec<&String> = rest
        .iter()
        .filter(|l| l.contains("pairs of pants") || l.contains("pair of pants"))
        .collect();
    assert_eq!(pants, ["1 pair of pants", "2 pairs of pants"]);
    // It stopped by itself, soon after the files went idle.
    assert!(started.elapsed() < PATIENCE);
    assert_eq!(processes_using(dir.path()), Vec::<String>::new());
}

#[test]
fn bottles_heartbeat_says_when_no_input_came() {
    let (dir, files) = three_files();
    let mut run = Running::start(
        HEARTBEAT,
        &args(
            &files,
            &["--idle", "3", "--delay", "0.02", "--heartbeat", "100"],
        ),
    );
    let heartbeat = "No input received for 100 ms.";
    append(&files[0], "first pants\n");
    for line in run.until("first pants") {
        assert_eq!(line, heartbeat);
    }
    // Nothing new: the printer says so, again and again.
    assert_eq!(run.next_line(), heartbeat);
    assert_eq!(run.next_line(), heartbeat);
    append(&files[1], "then shorts\n");
    for line in run.until("then shorts") {
        assert_eq!(line, heartbeat);
    }
    let (status, rest, stderr) = run.finish();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.is_empty(), "stderr: {stderr}");
    for line in &rest {
        assert_eq!(line, heartbeat, "after the last line: {rest:?}");
    }
    assert_eq!(processes_using(dir.path()), Vec::<String>::new());
}

#[test]
fn a_file_that_cannot_be_followed_is_named_and_nothing_starts() {
    let (dir, mut files) = three_files();
    files[1] = dir.path().join("missing");
    for exe in [BOTTLES, HEARTBEAT] {
        let output = Command::new(exe).args(args(&files, &[])).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{exe}");
        assert!(output.stdout.is_empty(), "{exe}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let name = Path::new(exe).file_name().unwrap().to_str().unwrap();
        let expected = format!(
            "{name}: cannot follow {}: No such file or directory (os error 2)\n",
            files[1].display()
        );
        assert_eq!(stderr, expected);
    }
}

#[test]
fn bad_options_are_rejected() {
    for bad in [
        &["--idle", "-1"][..],
        &["--delay", "x"],
        &["--heartbeat", "0"],
    ] {
        let output = Command::new(HEARTBEAT).args(bad).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
        assert!(output.stdout.is_empty(), "{bad:?}");
    }
}

#[test]
fn killing_the_program_stops_its_greps_and_followers() {
    let (dir, files) = three_files();
    // Long idle: only the watch on the parent can end them soon.
    let mut run = Running::start(BOTTLES, &args(&files, &["--idle", "60"]));
    assert!(
        processes_using(dir.path()).len() > 1,
        "no children to begin with"
    );
    run.child.kill().unwrap();
    run.child.wait().unwrap();
    let killed = Instant::now();
    let left = loop {
        let left = processes_using(dir.path());
        if left.is_empty() || killed.elapsed() > Duration::from_secs(10) {
            break left;
        }
        thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(left, Vec::<String>::new(), "still running after 10 s");
}
