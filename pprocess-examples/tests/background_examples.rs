//! Runs the background examples (`simple_background_queue`,
//! `simple_persistent_queue`, `simple_persistent_managed`) as real
//! processes: once with `--start`,
//! which must leave the work running in the background and exit at once,
//! then with `--reconnect`, which must print the whole 10×10 grid; and in
//! the one-run form. Afterwards no socket file may be left.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use pprocess_examples::grid::N;
use tempfile::TempDir;

/// How long a background process may take to end after its results were
/// collected.
const PATIENCE: Duration = Duration::from_secs(20);

const BACKGROUND_QUEUE: &str = env!("CARGO_BIN_EXE_simple_background_queue");
const PERSISTENT_QUEUE: &str = env!("CARGO_BIN_EXE_simple_persistent_queue");
const PERSISTENT_MANAGED: &str = env!("CARGO_BIN_EXE_simple_persistent_managed");

/// What the queue examples print when they have started their work, and
/// while they collect it.
const QUEUE_STARTED: &str = "Discarded the callable.";
const QUEUE_COLLECTING: [&str; 2] = ["Opening a queue.", "Waiting for persistent results"];

/// The same for `simple_persistent_managed` (pprocess's wording).
const MANAGED_STARTED: &str = "Closed original exchange.";
const MANAGED_COLLECTING: [&str; 2] = ["Opening new exchange.", "Waiting for persistent results"];

/// Runs `exe` with `args`; returns its output whatever its status.
fn run(exe: &str, args: &[&str]) -> Output {
    Command::new(exe)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{exe} does not run: {e}"))
}

/// Runs `exe` with `args`, which must succeed silently on stderr; returns
/// its stdout.
fn run_ok(exe: &str, args: &[&str]) -> String {
    let output = run(exe, args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{exe} {args:?} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stderr.is_empty(),
        "{exe} {args:?} wrote to stderr:\n{stderr}"
    );
    stdout
}

/// Checks that `stdout` is exactly `progress`, the 10×10 grid of
/// `i * N + j`, and a `Time taken:` line.
#[track_caller]
fn check_grid(stdout: &str, progress: &[&str]) {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        progress.len() + N + 1,
        "expected {progress:?}, {N} rows and a time:\n{stdout}"
    );
    assert_eq!(&lines[..progress.len()], progress, "{stdout}");
    for (i, line) in lines[progress.len()..progress.len() + N].iter().enumerate() {
        let expected: Vec<String> = (0..N).map(|j| (i * N + j).to_string()).collect();
        assert_eq!(*line, expected.join(" "), "row {i} is wrong:\n{stdout}");
    }
    let seconds: f64 = lines[progress.len() + N]
        .strip_prefix("Time taken: ")
        .unwrap_or_else(|| panic!("no \"Time taken\" line:\n{stdout}"))
        .parse()
        .unwrap_or_else(|e| panic!("the time is not a number ({e}):\n{stdout}"));
    assert!(seconds.is_finite() && seconds >= 0.0, "time {seconds}");
}

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read the directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Waits until `dir` is empty: every background process has removed its
/// socket file, which it does as it ends.
#[track_caller]
fn assert_emptied(dir: &Path) {
    let deadline = Instant::now() + PATIENCE;
    while !entries(dir).is_empty() {
        assert!(
            Instant::now() < deadline,
            "left in {}: {:?}",
            dir.display(),
            entries(dir)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `--start` then `--reconnect` in `dir`; `sockets` are the socket files
/// the first run must leave; `started` is what the first run prints, and
/// `collecting` the progress lines of the second.
fn start_then_reconnect(exe: &str, sockets: &[String], started: &str, collecting: &[&str]) {
    let dir = TempDir::new().unwrap();
    let dir_arg = dir.path().to_str().unwrap();

    let stdout = run_ok(
        exe,
        &["--start", "--delay", "0", "--limit", "2", "--dir", dir_arg],
    );
    assert_eq!(stdout, format!("{started}\n"));
    // The background processes outlive the run that started them: their
    // sockets are there, owner-only, until their results are collected.
    assert_eq!(entries(dir.path()), sockets);
    for name in sockets {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let meta = fs::symlink_metadata(dir.path().join(name)).unwrap();
        assert!(meta.file_type().is_socket(), "{name}");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
    }

    let stdout = run_ok(exe, &["--reconnect", "--dir", dir_arg]);
    check_grid(&stdout, collecting);
    assert_emptied(dir.path());

    // Nothing is left to reconnect to.
    let output = run(exe, &["--reconnect", "--dir", dir_arg]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no socket"), "{stderr}");
}

/// Both in one run: `progress` is everything printed before the grid.
fn one_run(exe: &str, progress: &[&str]) {
    let dir = TempDir::new().unwrap();
    let stdout = run_ok(
        exe,
        &[
            "--delay",
            "0",
            "--limit",
            "3",
            "--dir",
            dir.path().to_str().unwrap(),
        ],
    );
    check_grid(&stdout, progress);
    // The run waited for its background processes.
    assert_eq!(entries(dir.path()), Vec::<String>::new());
}

#[test]
fn simple_background_queue_start_then_reconnect() {
    start_then_reconnect(
        BACKGROUND_QUEUE,
        &["task.socket".to_string()],
        QUEUE_STARTED,
        &QUEUE_COLLECTING,
    );
}

#[test]
fn simple_persistent_queue_start_then_reconnect() {
    let sockets: Vec<String> = (0..N).map(|i| format!("task-{i}.socket")).collect();
    start_then_reconnect(PERSISTENT_QUEUE, &sockets, QUEUE_STARTED, &QUEUE_COLLECTING);
}

#[test]
fn simple_persistent_managed_start_then_reconnect() {
    start_then_reconnect(
        PERSISTENT_MANAGED,
        &["task.socket".to_string()],
        MANAGED_STARTED,
        &MANAGED_COLLECTING,
    );
}

#[test]
fn simple_background_queue_in_one_run() {
    one_run(
        BACKGROUND_QUEUE,
        &[QUEUE_STARTED, QUEUE_COLLECTING[0], QUEUE_COLLECTING[1]],
    );
}

#[test]
fn simple_persistent_queue_in_one_run() {
    one_run(
        PERSISTENT_QUEUE,
        &[QUEUE_STARTED, QUEUE_COLLECTING[0], QUEUE_COLLECTING[1]],
    );
}

#[test]
fn simple_persistent_managed_in_one_run() {
    one_run(
        PERSISTENT_MANAGED,
        &[
            MANAGED_STARTED,
            MANAGED_COLLECTING[0],
            MANAGED_COLLECTING[1],
        ],
    );
}

/// The background work may still be running when the second run
/// reconnects: it waits for the results.
#[test]
fn reconnecting_while_the_work_is_still_running() {
    let dir = TempDir::new().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let t = Instant::now();
    let stdout = run_ok(
        BACKGROUND_QUEUE,
        &[
            "--start", "--delay", "0.1", "--limit", "10", "--dir", dir_arg,
        ],
    );
    assert_eq!(stdout, "Discarded the callable.\n");
    // 100 calculations of 0.1 s, 10 at a time, take at least 1 s; the
    // starting run did not wait for them.
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());

    let stdout = run_ok(BACKGROUND_QUEUE, &["--reconnect", "--dir", dir_arg]);
    check_grid(
        &stdout,
        &["Opening a queue.", "Waiting for persistent results"],
    );
    assert!(t.elapsed() >= Duration::from_secs(1));
    assert_emptied(dir.path());
}

/// A second `--start` at the same place while the first one's work is
/// alive is refused, and the first one's results are not disturbed.
#[test]
fn starting_twice_is_refused() {
    let dir = TempDir::new().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    run_ok(
        BACKGROUND_QUEUE,
        &["--start", "--delay", "0", "--dir", dir_arg],
    );
    let output = run(
        BACKGROUND_QUEUE,
        &["--start", "--delay", "0", "--dir", dir_arg],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("live process"), "{stderr}");

    let stdout = run_ok(BACKGROUND_QUEUE, &["--reconnect", "--dir", dir_arg]);
    check_grid(
        &stdout,
        &["Opening a queue.", "Waiting for persistent results"],
    );
    assert_emptied(dir.path());
}

#[test]
fn start_and_reconnect_together_are_refused() {
    for exe in [BACKGROUND_QUEUE, PERSISTENT_QUEUE, PERSISTENT_MANAGED] {
        let output = run(exe, &["--start", "--reconnect"]);
        assert_eq!(output.status.code(), Some(2), "{exe}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("cannot be used with"));
    }
}
