//! Runs every `simple_*` example (ports of pprocess's `examples/simple*.py`)
//! with `--delay 0 --limit 3` and checks what it prints: the 10×10 grid of
//! `i * N + j`, each value in its place, then a `Time taken:` line.

use std::process::Command;

use pprocess_examples::grid::N;

/// Runs `exe` and checks its exit status and output.
fn check(name: &str, exe: &str) {
    let output = Command::new(exe)
        .args(["--delay", "0", "--limit", "3"])
        .output()
        .unwrap_or_else(|e| panic!("{name} does not run: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let lines: Vec<&str> = stdout.lines().collect();

    // Progress lines (`Calculating...`, `Finishing...`) may come first, as
    // in pprocess; then the grid, then the time, and nothing else.
    let first_row = lines
        .iter()
        .position(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("{name} printed no grid:\n{stdout}"));
    for line in &lines[..first_row] {
        assert!(
            line.ends_with("..."),
            "{name}: unexpected line {line:?} before the grid:\n{stdout}"
        );
    }
    assert_eq!(
        lines.len(),
        first_row + N + 1,
        "{name}: expected {N} rows and a time:\n{stdout}"
    );

    for (i, line) in lines[first_row..first_row + N].iter().enumerate() {
        let row: Vec<usize> = line
            .split(' ')
            .map(|v| {
                v.parse()
                    .unwrap_or_else(|e| panic!("{name}: row {i} {line:?}: {v:?}: {e}"))
            })
            .collect();
        let expected: Vec<usize> = (0..N).map(|j| i * N + j).collect();
        assert_eq!(row, expected, "{name}: row {i} is wrong:\n{stdout}");
    }

    let time = lines[first_row + N]
        .strip_prefix("Time taken: ")
        .unwrap_or_else(|| panic!("{name}: no \"Time taken\" line:\n{stdout}"));
    let seconds: f64 = time
        .parse()
        .unwrap_or_else(|e| panic!("{name}: time {time:?}: {e}"));
    assert!(
        seconds.is_finite() && seconds >= 0.0,
        "{name}: time {seconds}"
    );
}

macro_rules! examples {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name), env!(concat!("CARGO_BIN_EXE_", stringify!($name))));
            }
        )*
    };
}

examples!(
    simple_map,
    simple_pmap,
    simple_pmap_iter,
    simple_managed_map,
    simple_managed_map_reusable,
    simple_managed_queue,
    simple_managed,
    simple_create_map,
    simple_start_queue,
    simple_continuous_queue,
    simple,
    simple1,
    simple2,
    simple_create,
    simple_create_queue,
    simple_start,
);

/// The command line rejects what would make no sense.
#[test]
fn bad_options_are_rejected() {
    for args in [["--delay", "-1"], ["--delay", "x"], ["--limit", "0"]] {
        let output = Command::new(env!("CARGO_BIN_EXE_simple_pmap"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}
