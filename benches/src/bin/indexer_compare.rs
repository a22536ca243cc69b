//! Runs `start_indexer` and its baselines side by side on a directory and
//! prints a Markdown table: wall time and peak memory (the sum of the
//! proportional set sizes of the process and its children, sampled every
//! 10 ms), medians with min..max over alternating runs, and ratios. Wall
//! times come from rounds that only wait for the program; peaks from
//! rounds of their own afterwards (`--memory-runs`, 3 by default), because
//! sampling costs the measured program time (see `Measure`).
//!
//! ```text
//! cargo build --release -p pprocess-examples --bin start_indexer \
//!     -p pprocess-benches --bin indexer-baseline --bin indexer-compare
//! target/release/indexer-compare [--runs N] [--memory-runs N] [--cases a,b,...] DIR
//! taskset -c 0 target/release/indexer-compare DIR     # on one core
//! ```
//!
//! Cases: `single`, `rayon` (the baselines), `default` (`start_indexer DIR`),
//! `j1`, `j2`, `j4` (`-j N`), `pprocess` (pprocess's shape: `DIR 4 5 0`),
//! `reuse` (`--reuse`). Every `start_indexer` run is
//! `--noprompt -q`. The load average and the number of running `rustc`
//! are printed before and after.

use pprocess_benches::indexer::run::{Measure, case, load, run, stats};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 5;
    let mut memory_runs = 3;
    let mut names = "single,rayon,default".to_owned();
    while args.len() > 1 {
        match args[0].as_str() {
            "--runs" => {
                runs = args[1].parse().expect("--runs N");
                args.drain(..2);
            }
            "--memory-runs" => {
                memory_runs = args[1].parse().expect("--memory-runs N");
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
        eprintln!("usage: indexer-compare [--runs N] [--memory-runs N] [--cases a,b,...] DIR");
        std::process::exit(2);
    };
    let bin = std::env::current_exe().expect("own path");
    let bin_dir = bin.parent().expect("in a directory");
    let cases: Vec<_> = names
        .split(',')
        .map(|name| case(name, dir, bin_dir))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| {
            eprintln!("indexer-compare: {e}");
            std::process::exit(2);
        });
    let run = |case, measure| {
        run(case, measure).unwrap_or_else(|e| {
            eprintln!("indexer-compare: {e}");
            std::process::exit(1);
        })
    };

    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "corpus: {dir}; {runs} alternating timed runs, then {memory_runs} sampled for memory; {cpus} CPUs available"
    );
    println!("before: {}", load());
    // One untimed run of each, so every run finds the files in the cache.
    for case in &cases {
        run(case, Measure::Wall);
    }
    let mut results: Vec<(Vec<f64>, Vec<f64>)> =
        cases.iter().map(|_| (Vec::new(), Vec::new())).collect();
    for _ in 0..runs {
        for (case, (walls, _)) in cases.iter().zip(&mut results) {
            walls.push(run(case, Measure::Wall));
        }
    }
    for _ in 0..memory_runs.max(1) {
        for (case, (_, peaks)) in cases.iter().zip(&mut results) {
            peaks.push(run(case, Measure::Memory) / 1e6);
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
