//! Whole-program runs of `start_indexer` and its baselines, for
//! `indexer-compare` and `indexer-chart`: each case is a command line, run
//! with its output thrown away; a run gives its wall time and its peak
//! memory (the sum of the proportional set sizes of the process and its
//! children, sampled every 10 ms).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// One case: a name and its command line.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case's name (see [`case`]).
    pub name: String,
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

/// The names [`case`] knows, with what they run.
pub const CASES: &[(&str, &str)] = &[
    ("single", "indexer-baseline single DIR"),
    ("rayon", "indexer-baseline rayon DIR"),
    ("default", "start_indexer DIR"),
    ("j1", "start_indexer DIR -j 1"),
    ("j2", "start_indexer DIR -j 2"),
    ("j4", "start_indexer DIR -j 4"),
    ("pprocess", "start_indexer DIR 4 5 0 (pprocess's shape)"),
    ("reuse", "start_indexer DIR --reuse"),
];

/// The case `name` (one of [`CASES`]) on `dir`, with the programs found in
/// `bin_dir`; every `start_indexer` run is `--noprompt -q`.
///
/// # Errors
///
/// A message if the name is unknown or a program is missing.
pub fn case(name: &str, dir: &str, bin_dir: &Path) -> Result<Case, String> {
    let exe = |program: &str| -> Result<PathBuf, String> {
        let path = bin_dir.join(program);
        if path.exists() {
            Ok(path)
        } else {
            Err(format!(
                "{} missing: build it with --release",
                path.display()
            ))
        }
    };
    let indexer = |extra: &[&str]| -> Vec<String> {
        let mut a = vec![dir.to_owned()];
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a.extend(["--noprompt".to_owned(), "-q".to_owned()]);
        a
    };
    let (program, args) = match name {
        "single" | "rayon" => (
            exe("indexer-baseline")?,
            vec![name.to_owned(), dir.to_owned()],
        ),
        "default" => (exe("start_indexer")?, indexer(&[])),
        "j1" | "j2" | "j4" => (exe("start_indexer")?, indexer(&["-j", &name[1..]])),
        "pprocess" => (exe("start_indexer")?, indexer(&["4", "5", "0"])),
        "reuse" => (exe("start_indexer")?, indexer(&["--reuse"])),
        other => {
            let known: Vec<&str> = CASES.iter().map(|c| c.0).collect();
            return Err(format!(
                "unknown case {other} (known: {})",
                known.join(", ")
            ));
        }
    };
    Ok(Case {
        name: name.to_owned(),
        program,
        args,
    })
}

/// The children of `pid` (all threads' children).
fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return found;
    };
    for task in tasks.flatten() {
        if let Ok(list) = fs::read_to_string(task.path().join("children")) {
            found.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    found
}

/// The proportional set size of `pid` in bytes (0 if it is gone).
fn pss(pid: u32) -> u64 {
    let Ok(rollup) = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
        return 0;
    };
    rollup
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The PSS of `pid` and all its descendants.
fn tree_pss(pid: u32) -> u64 {
    let mut total = 0;
    let mut pending = vec![pid];
    while let Some(p) = pending.pop() {
        total += pss(p);
        pending.extend(children(p));
    }
    total
}

/// What [`run`] measures: a run is either timed or sampled, never both.
///
/// Sampling reads `/proc/PID/smaps_rollup` of every process of the tree
/// every 10 ms. That walks each process's page tables under its memory map
/// lock, which takes CPU time (on one core, the measured program's) and
/// stalls the program's page faults, more so the more processes it has. So
/// wall times come from runs that only wait, and peaks from runs of their
/// own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Wall seconds; the parent blocks in `wait` and takes no CPU.
    Wall,
    /// Peak PSS of the process tree, sampled every 10 ms.
    Memory,
}

/// Runs a case once: wall seconds with [`Measure::Wall`], peak bytes with
/// [`Measure::Memory`].
///
/// # Errors
///
/// A message if the program cannot be started, or ends with a status
/// other than 0 or 1 (1: some files could not be read).
pub fn run(case: &Case, measure: Measure) -> Result<f64, String> {
    let started = Instant::now();
    let mut child = Command::new(&case.program)
        .args(&case.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", case.program.display()))?;
    let pid = child.id();
    let cannot_wait = |e| format!("cannot wait for {}: {e}", case.program.display());
    let mut peak = 0;
    let status = match measure {
        Measure::Wall => child.wait().map_err(cannot_wait)?,
        Measure::Memory => loop {
            if let Some(status) = child.try_wait().map_err(cannot_wait)? {
                break status;
            }
            peak = peak.max(tree_pss(pid));
            thread::sleep(Duration::from_millis(10));
        },
    };
    let wall = started.elapsed().as_secs_f64();
    if status.code().is_some_and(|c| c <= 1) {
        Ok(match measure {
            Measure::Wall => wall,
            #[allow(clippy::cast_precision_loss)]
            Measure::Memory => peak as f64,
        })
    } else {
        Err(format!(
            "{} {:?} failed: {status}",
            case.program.display(),
            case.args
        ))
    }
}

/// The load average and the number of `rustc` running, as a line.
#[must_use]
pub fn load() -> String {
    let avg = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let rustc = Command::new("pgrep")
        .args(["-c", "rustc"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!(
        "load {} ; rustc running: {rustc}",
        avg.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    )
}

/// Median, min and max of `values` (not empty).
///
/// # Panics
///
/// If `values` is empty.
#[must_use]
pub fn stats(values: &[f64]) -> (f64, f64, f64) {
    assert!(!values.is_empty(), "no values");
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (median, v[0], v[n - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_odd_and_even_counts() {
        assert_eq!(stats(&[3.0, 1.0, 2.0]), (2.0, 1.0, 3.0));
        assert_eq!(stats(&[4.0, 1.0, 2.0, 3.0]), (2.5, 1.0, 4.0));
    }

    #[test]
    fn unknown_case_and_missing_program_are_named() {
        let dir = Path::new("/nonexistent-bin-dir");
        let e = case("fastest", "/tmp", dir).unwrap_err();
        assert!(e.starts_with("unknown case fastest (known: single,"), "{e}");
        let e = case("single", "/tmp", dir).unwrap_err();
        assert!(e.contains("indexer-baseline missing"), "{e}");
    }
}
