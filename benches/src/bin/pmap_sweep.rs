//! Where `pmap` starts to pay: the speedup over a sequential `map` of
//! `pmap` on 2 workers, rayon on 2 threads, procspawn's pool of 2 and
//! Python's multiprocessing `Pool(2).map`, for items from 100 ns to 1 ms of
//! CPU work, in one run. Prints a Markdown table (medians, min..max) and
//! the break-even item cost of each (where its speedup crosses 1, read
//! between the measured costs on a log scale), and writes the chart as SVG.
//!
//! ```text
//! cargo build --release -p pprocess-benches --bin pmap-sweep
//! target/release/pmap-sweep --rounds 3 --svg docs/pmap-sweep.svg
//! ```
//!
//! An item is the peers' `cpu_task` calibrated to the cost; each cost maps
//! about 0.1 s of work (100 to 1,000,000 items; procspawn, which spawns a
//! job per item, gets at most 2,000 of them and is compared per item).
//! All `pmap` measurements run first, while this process has one thread;
//! then rayon's, then procspawn's (both keep threads). multiprocessing runs
//! `benches/mp_sweep.py` with `python3` (skipped if that fails).

use std::hint::black_box;
use std::time::{Duration, Instant};

use pprocess_benches::indexer::chart::{Series, svg};
use pprocess_benches::indexer::run::stats;
use pprocess_benches::{calibrate_cpu_iters, cpu_task};
use rayon::prelude::*;

/// Item costs, in nanoseconds.
const COSTS_NS: [u64; 9] = [
    100, 300, 1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000,
];

/// Workers (threads, processes) of every parallel case.
const WORKERS: usize = 2;

/// procspawn's items at most (about 0.1 ms of overhead each).
const PROCSPAWN_MAX: usize = 2_000;

/// Jobs procspawn has in flight at once.
const PROCSPAWN_IN_FLIGHT: usize = 256;

fn items(cost_ns: u64) -> usize {
    usize::try_from(100_000_000 / cost_ns)
        .unwrap_or(usize::MAX)
        .clamp(100, 1_000_000)
}

fn seconds(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

fn sequential(seeds: &[u64], iters: u64) -> Vec<u64> {
    seeds.iter().map(|&s| cpu_task(s, iters)).collect()
}

fn procspawn_task((seed, iters): (u64, u64)) -> u64 {
    cpu_task(seed, iters)
}

fn procspawn_map(pool: &procspawn::Pool, seeds: &[u64], iters: u64) -> Vec<u64> {
    let mut out = Vec::with_capacity(seeds.len());
    let mut pending = std::collections::VecDeque::new();
    for &seed in seeds {
        if pending.len() == PROCSPAWN_IN_FLIGHT {
            let h: procspawn::JoinHandle<u64> = pending.pop_front().expect("in flight");
            out.push(h.join().expect("procspawn join"));
        }
        pending.push_back(pool.spawn((seed, iters), procspawn_task));
    }
    for h in pending {
        out.push(h.join().expect("procspawn join"));
    }
    out
}

/// Median, min and max.
type Stats = (f64, f64, f64);

/// The cost where the speedup crosses 1 going up, between measured costs
/// (log-linear), or a note that it does not.
fn break_even(points: &[(u64, f64)]) -> String {
    if points.first().is_some_and(|p| p.1 >= 1.0) {
        return format!("below {} ns", points[0].0);
    }
    for pair in points.windows(2) {
        let ((c0, s0), (c1, s1)) = (pair[0], pair[1]);
        if s0 < 1.0 && s1 >= 1.0 {
            let (l0, l1) = ((c0 as f64).log10(), (c1 as f64).log10());
            let at = l0 + (1.0 - s0) / (s1 - s0) * (l1 - l0);
            return format!("{:.0} ns", 10f64.powf(at));
        }
    }
    "not within the sweep".into()
}

/// multiprocessing's speedups from `benches/mp_sweep.py`, per cost.
fn multiprocessing(rounds: usize) -> Option<Vec<(u64, Stats)>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/mp_sweep.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(rounds.to_string())
        .args(COSTS_NS.iter().map(u64::to_string))
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "multiprocessing skipped: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<_> = text
        .lines()
        .filter_map(|l| l.strip_prefix("RESULT "))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((
                f.first()?.parse().ok()?,
                (
                    f.get(2)?.parse().ok()?,
                    f.get(3)?.parse().ok()?,
                    f.get(4)?.parse().ok()?,
                ),
            ))
        })
        .collect();
    Some(rows)
}

fn main() {
    procspawn::init();
    let mut rounds = 3;
    let mut svg_path = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|n| n.parse().ok()).unwrap_or(3),
            "--svg" => svg_path = args.next(),
            _ => {
                eprintln!("usage: pmap-sweep [--rounds N] [--svg FILE]");
                std::process::exit(2);
            }
        }
    }
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!("load before: {}", load().trim());
    let iters: Vec<u64> = COSTS_NS
        .iter()
        .map(|&ns| calibrate_cpu_iters(Duration::from_nanos(ns)))
        .collect();
    let seeds: Vec<Vec<u64>> = COSTS_NS
        .iter()
        .map(|&ns| (0..items(ns) as u64).collect())
        .collect();

    // Sequential and pmap, alternating, while this process has one thread.
    let mut seq = vec![Vec::new(); COSTS_NS.len()];
    let mut pmap = vec![Vec::new(); COSTS_NS.len()];
    for _ in 0..rounds {
        for (c, &k) in iters.iter().enumerate() {
            let s = &seeds[c];
            let want = sequential(s, k);
            seq[c].push(seconds(|| {
                black_box(sequential(s, k));
            }));
            let mut got = Vec::new();
            pmap[c].push(seconds(|| {
                got = pprocess_exchange::pmap(move |&x: &u64| cpu_task(x, k), s.clone(), WORKERS)
                    .expect("pmap");
            }));
            assert!(got == want, "pmap gave other results");
        }
    }
    eprintln!("pmap done");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .expect("rayon pool");
    let mut rayon_t = vec![Vec::new(); COSTS_NS.len()];
    for _ in 0..rounds {
        for (c, &k) in iters.iter().enumerate() {
            let s = &seeds[c];
            rayon_t[c].push(seconds(|| {
                black_box(
                    pool.install(|| s.par_iter().map(|&x| cpu_task(x, k)).collect::<Vec<_>>()),
                );
            }));
        }
    }
    eprintln!("rayon done");
    let spawn_pool = procspawn::Pool::new(WORKERS).expect("procspawn pool");
    let mut procspawn_t = vec![Vec::new(); COSTS_NS.len()];
    for _ in 0..rounds {
        for (c, &k) in iters.iter().enumerate() {
            let s = &seeds[c][..seeds[c].len().min(PROCSPAWN_MAX)];
            // Per item, so that it compares with the full sequential map.
            procspawn_t[c].push(
                seconds(|| {
                    black_box(procspawn_map(&spawn_pool, s, k));
                }) / s.len() as f64
                    * seeds[c].len() as f64,
            );
        }
    }
    drop(spawn_pool);
    eprintln!("procspawn done");
    let mp = multiprocessing(rounds);
    eprintln!("load after: {}", load().trim());

    // Speedups per round (the same round's sequential time).
    let speedups = |par: &[Vec<f64>]| -> Vec<Stats> {
        (0..COSTS_NS.len())
            .map(|c| {
                let per_round: Vec<f64> = seq[c].iter().zip(&par[c]).map(|(s, p)| s / p).collect();
                stats(&per_round)
            })
            .collect()
    };
    let mut lines: Vec<(&str, Vec<Stats>)> = vec![
        ("pprocess pmap", speedups(&pmap)),
        ("rayon", speedups(&rayon_t)),
        ("procspawn", speedups(&procspawn_t)),
    ];
    if let Some(rows) = mp.filter(|r| r.len() == COSTS_NS.len()) {
        lines.push(("multiprocessing", rows.into_iter().map(|r| r.1).collect()));
    }

    print!("| item cost | items |");
    for (name, _) in &lines {
        print!(" {name} |");
    }
    println!();
    println!("|---|---|{}", "---|".repeat(lines.len()));
    for (c, &ns) in COSTS_NS.iter().enumerate() {
        print!("| {ns} ns | {} |", items(ns));
        for (_, s) in &lines {
            let (m, lo, hi) = s[c];
            print!(" {m:.2} ({lo:.2}..{hi:.2}) |");
        }
        println!();
    }
    println!();
    for (name, s) in &lines {
        let points: Vec<(u64, f64)> = COSTS_NS
            .iter()
            .copied()
            .zip(s.iter().map(|x| x.0))
            .collect();
        println!("break-even item cost, {name}: {}", break_even(&points));
    }
    if let Some(path) = svg_path {
        let series: Vec<Series> = lines
            .iter()
            .map(|(name, s)| Series {
                name: (*name).into(),
                points: COSTS_NS
                    .iter()
                    .zip(s)
                    .map(|(&ns, x)| ((ns as f64).log10(), x.0))
                    .collect(),
            })
            .collect();
        let picture = svg(
            "Speedup over a sequential map on 2 cores (medians)",
            "item cost, log10 of ns (2 = 100 ns, 3 = 1 us, 6 = 1 ms)",
            "speedup",
            &series,
        );
        std::fs::write(&path, picture).expect("write the chart");
        eprintln!("wrote {path}");
    }
}
