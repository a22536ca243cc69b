//! Runs `start_indexer` and its baselines side by side on a directory and
//! prints a Markdown table: wall time and peak memory (the sum of the
//! proportional set sizes of the process and its children, sampled every
//! 10 ms), medians with min..max over alternating runs, and ratios.
//!
//! ```text
//! cargo build --release -p pprocess-examples --bin start_indexer \
//!     -p pprocess-benches --bin indexer-baseline --bin indexer-compare
//! target/release/indexer-compare [--runs N] [--cases a,b,...] DIR
//! taskset -c 0 target/release/indexer-compare DIR     # on one core
//! ```
//!
//! Cases: `single`, `rayon` (the baselines), `default` (`start_indexer DIR`),
//! `j1`, `j2`, `j4` (`-j N`), `pprocess` (pprocess's shape: `DIR 4 5 0`),
//! `reuse` (`--reuse`). Every `start_indexer` run is
//! `--noprompt -q`. The load average and the number of running `rustc`
//! are printed before and after.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// One case: a name and its command line.
struct Case {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
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

/// Runs a case once: (wall seconds, peak bytes).
fn run(case: &Case) -> (f64, u64) {
    let started = Instant::now();
    let mut child = Command::new(&case.program)
        .args(&case.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", case.program.display()));
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitpid") {
            break status;
        }
        peak = peak.max(tree_pss(pid));
        thread::sleep(Duration::from_millis(10));
    };
    let wall = started.elapsed().as_secs_f64();
    assert!(
        status.code().is_some_and(|c| c <= 1),
        "{} {:?} failed: {status}",
        case.program.display(),
        case.args
    );
    (wall, peak)
}

fn load() -> String {
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

/// Median, min and max.
fn stats(values: &[f64]) -> (f64, f64, f64) {
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

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 5;
    let mut names = "single,rayon,default".to_owned();
    while args.len() > 1 {
        match args[0].as_str() {
            "--runs" => {
                runs = args[1].parse().expect("--runs N");
                args.drain(..2);
            }
            "--cases" => {
                names.clone_from(&args[1]);
                args.drain(..2);
            }
            _ => break,
        }
    }
    let [dir] = args.as_slice() else {
        eprintln!("usage: indexer-compare [--runs N] [--cases a,b,...] DIR");
        std::process::exit(2);
    };
    let bin = std::env::current_exe().expect("own path");
    let bin_dir = bin.parent().expect("in a directory");
    let exe = |name: &str| -> PathBuf {
        let path = bin_dir.join(name);
        assert!(
            Path::new(&path).exists(),
            "{} missing: build it with --release",
            path.display()
        );
        path
    };
    let indexer = |extra: &[&str]| -> Vec<String> {
        let mut a = vec![dir.clone()];
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a.extend(["--noprompt".to_owned(), "-q".to_owned()]);
        a
    };
    let cases: Vec<Case> = names
        .split(',')
        .map(|name| match name {
            "single" | "rayon" => Case {
                name: if name == "single" { "single" } else { "rayon" },
                program: exe("indexer-baseline"),
                args: vec![name.to_owned(), dir.clone()],
            },
            "default" => Case {
                name: "default",
                program: exe("start_indexer"),
                args: indexer(&[]),
            },
            "j1" | "j2" | "j4" => Case {
                name: match name {
                    "j1" => "j1",
                    "j2" => "j2",
                    _ => "j4",
                },
                program: exe("start_indexer"),
                args: indexer(&["-j", &name[1..]]),
            },
            "pprocess" => Case {
                name: "pprocess",
                program: exe("start_indexer"),
                args: indexer(&["4", "5", "0"]),
            },
            "reuse" => Case {
                name: "reuse",
                program: exe("start_indexer"),
                args: indexer(&["--reuse"]),
            },
            other => panic!("unknown case {other}"),
        })
        .collect();

    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    println!("corpus: {dir}; {runs} alternating runs; {cpus} CPUs available");
    println!("before: {}", load());
    // One untimed run of each, so every run finds the files in the cache.
    for case in &cases {
        run(case);
    }
    let mut results: Vec<(Vec<f64>, Vec<f64>)> =
        cases.iter().map(|_| (Vec::new(), Vec::new())).collect();
    for _ in 0..runs {
        for (case, (walls, peaks)) in cases.iter().zip(&mut results) {
            let (wall, peak) = run(case);
            walls.push(wall);
            peaks.push(peak as f64 / 1e6);
        }
    }
    println!("after: {}", load());
    let base = |name: &str| {
        cases
            .iter()
            .position(|c| c.name == name)
            .map(|i| (stats(&results[i].0).0, stats(&results[i].1).0))
    };
    let (single, rayon) = (base("single"), base("rayon"));
    println!();
    println!(
        "| case | wall (s) median | min..max | peak memory (MB) median | min..max | wall vs single | wall vs rayon | memory vs rayon |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (case, (walls, peaks)) in cases.iter().zip(&results) {
        let (w, wmin, wmax) = stats(walls);
        let (m, mmin, mmax) = stats(peaks);
        let ratio = |b: Option<(f64, f64)>, f: fn((f64, f64)) -> f64, x: f64| {
            b.map_or("-".to_owned(), |b| format!("{:.2}", x / f(b)))
        };
        println!(
            "| {} | {w:.3} | {wmin:.3}..{wmax:.3} | {m:.0} | {mmin:.0}..{mmax:.0} | {} | {} | {} |",
            case.name,
            ratio(single, |b| b.0, w),
            ratio(rayon, |b| b.0, w),
            ratio(rayon, |b| b.1, m),
        );
    }
}
