//! Runs the demo programs (`create_loop`, `start_loop`, `two_way`) as real
//! processes and checks their whole standard output and exit status.
//!
//! The expected output is built from what each demo is specified to do,
//! so a line printed twice (stdio not flushed before a fork), lost (a child
//! ending before its output is out) or out of order fails the test.

use std::fmt::Write;
use std::process::{Command, Output};

/// Runs a demo binary with `args`; panics unless it succeeds and is silent
/// on stderr. Returns its stdout.
fn run(exe: &str, args: &[&str]) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(exe).args(args).output().expect("demo runs");
    let stdout = String::from_utf8(stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&stderr);
    assert!(
        status.success(),
        "{exe} {args:?} failed with {status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.is_empty(), "{exe} wrote to stderr:\n{stderr}");
    stdout
}

/// The numbers below `limit`, one per line.
fn numbers_below(limit: u32) -> String {
    (0..limit).fold(String::new(), |mut out, i| {
        writeln!(out, "{i}").unwrap();
        out
    })
}

#[test]
fn create_loop_prints_0_to_99_then_done() {
    let stdout = run(env!("CARGO_BIN_EXE_create_loop"), &[]);
    assert_eq!(stdout, numbers_below(100) + "Done\n");
}

#[test]
fn start_loop_prints_header_0_to_99_then_done() {
    let stdout = run(env!("CARGO_BIN_EXE_start_loop"), &[]);
    assert_eq!(stdout, format!("loop to 100\n{}Done\n", numbers_below(100)));
}

/// The alternating lines of `two_way` counting down from `start`.
fn countdown(start: u64) -> String {
    let mut out = String::new();
    for n in (1..=start).rev() {
        writeln!(out, "parent got {n}").unwrap();
        writeln!(out, "child got {}", n - 1).unwrap();
    }
    out
}

#[test]
fn two_way_counts_down_from_10_alternating() {
    let stdout = run(env!("CARGO_BIN_EXE_two_way"), &[]);
    assert_eq!(stdout, countdown(10));
}

#[test]
fn two_way_counts_down_from_given_start() {
    for start in [0u64, 1, 3] {
        let stdout = run(
            env!("CARGO_BIN_EXE_two_way"),
            &["--start", &start.to_string()],
        );
        assert_eq!(stdout, countdown(start), "--start {start}");
    }
}

/// `two_way_exchange`: every child counts down with the parent, each line
/// once, through one exchange whose handler answers.
#[test]
fn two_way_exchange_counts_down_every_child() {
    let stdout = run(
        env!("CARGO_BIN_EXE_two_way_exchange"),
        &["--start", "3", "--children", "3"],
    );
    let mut got: Vec<&str> = stdout.lines().collect();
    got.sort_unstable();
    let mut want = Vec::new();
    for k in 0..3 {
        for n in 1..=3 {
            want.push(format!("parent got {n} from child {k}"));
            want.push(format!("child {k} got {}", n - 1));
        }
    }
    want.sort_unstable();
    assert_eq!(got, want);
}
