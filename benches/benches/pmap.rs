//! pmap against sequential `map`, rayon with 2 threads and procspawn's
//! pool of 2: 100,000 trivial items (`x + 1`) and 200 CPU-bound items of
//! about 5 ms (the peers' `cpu_task`, calibrated at start).
//!
//! procspawn re-executes this binary for its workers, so `main` is written
//! out and calls `procspawn::init()` first.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, measurement::WallTime};
use pprocess_benches::{calibrate_cpu_iters, cpu_task, env_usize, quick};
use rayon::prelude::*;

/// Workers for every parallel case.
const WORKERS: usize = 2;

fn trivial_items() -> usize {
    env_usize("PPROCESS_BENCH_TRIVIAL_N", 100_000)
}

/// procspawn spawns a job per item (about 0.1 ms each), so quick runs give
/// it fewer items; the table compares per-item times.
fn procspawn_trivial_items() -> usize {
    env_usize(
        "PPROCESS_BENCH_PROCSPAWN_TRIVIAL_N",
        if quick() { 2_000 } else { 20_000 },
    )
}

fn cpu_items() -> usize {
    env_usize("PPROCESS_BENCH_CPU_N", if quick() { 50 } else { 200 })
}

fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .expect("rayon pool")
}

fn group<'c>(c: &'c mut Criterion, name: &str, items: usize) -> BenchmarkGroup<'c, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(items as u64));
    g
}

fn inc(x: &u64) -> u64 {
    x + 1
}

fn trivial(c: &mut Criterion) {
    let n = trivial_items();
    let items: Vec<u64> = (0..n as u64).collect();
    let expect: u64 = items.iter().map(inc).sum();
    let mut g = group(c, "pmap_trivial", n);
    g.bench_function("pprocess-pmap-2", |b| {
        b.iter(|| {
            let out = pprocess_exchange::pmap(inc, &items, WORKERS).expect("pmap");
            debug_assert_eq!(out.iter().sum::<u64>(), expect);
            black_box(out)
        })
    });
    g.bench_function("sequential-map", |b| {
        b.iter(|| black_box(items.iter().map(inc).collect::<Vec<_>>()))
    });
    let pool = rayon_pool();
    g.bench_function("rayon-par_iter-2", |b| {
        b.iter(|| pool.install(|| black_box(items.par_iter().map(inc).collect::<Vec<_>>())))
    });
    g.finish();
}

fn cpu(c: &mut Criterion, iters: u64) {
    let n = cpu_items();
    let seeds: Vec<u64> = (0..n as u64).collect();
    let task = move |s: &u64| cpu_task(*s, iters);
    let mut g = group(c, "pmap_cpu", n);
    g.bench_function("pprocess-pmap-2", |b| {
        b.iter(|| black_box(pprocess_exchange::pmap(task, &seeds, WORKERS).expect("pmap")))
    });
    g.bench_function("sequential-map", |b| {
        b.iter(|| black_box(seeds.iter().map(task).collect::<Vec<_>>()))
    });
    let pool = rayon_pool();
    g.bench_function("rayon-par_iter-2", |b| {
        b.iter(|| pool.install(|| black_box(seeds.par_iter().map(task).collect::<Vec<_>>())))
    });
    g.finish();
}

fn procspawn_inc(x: u64) -> u64 {
    x + 1
}

fn procspawn_cpu((seed, iters): (u64, u64)) -> u64 {
    cpu_task(seed, iters)
}

/// Jobs in flight at once: each holds a few descriptors until joined.
const PROCSPAWN_IN_FLIGHT: usize = 256;

/// procspawn's map: one job per item on the pool, results in order, at
/// most [`PROCSPAWN_IN_FLIGHT`] jobs outstanding.
fn procspawn_map<A, R>(pool: &procspawn::Pool, args: Vec<A>, f: fn(A) -> R) -> Vec<R>
where
    A: serde::Serialize + serde::de::DeserializeOwned,
    R: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    let mut out = Vec::with_capacity(args.len());
    let mut pending = std::collections::VecDeque::new();
    for a in args {
        if pending.len() == PROCSPAWN_IN_FLIGHT {
            let h: procspawn::JoinHandle<R> = pending.pop_front().expect("in flight");
            out.push(h.join().expect("procspawn join"));
        }
        pending.push_back(pool.spawn(a, f));
    }
    for h in pending {
        out.push(h.join().expect("procspawn join"));
    }
    out
}

/// procspawn runs last: its pool keeps threads in this process, and the
/// other cases fork.
fn procspawn_cases(c: &mut Criterion, iters: u64) {
    let pool = procspawn::Pool::new(WORKERS).expect("procspawn pool");
    let n = procspawn_trivial_items();
    let mut g = group(c, "pmap_trivial", n);
    g.bench_function("procspawn-pool-2", |b| {
        b.iter(|| black_box(procspawn_map(&pool, (0..n as u64).collect(), procspawn_inc)))
    });
    g.finish();
    let n = cpu_items();
    let mut g = group(c, "pmap_cpu", n);
    g.bench_function("procspawn-pool-2", |b| {
        b.iter(|| {
            let args = (0..n as u64).map(|s| (s, iters)).collect();
            black_box(procspawn_map(&pool, args, procspawn_cpu))
        })
    });
    g.finish();
    pool.shutdown();
}

fn main() {
    procspawn::init();
    let iters = calibrate_cpu_iters(Duration::from_millis(5));
    println!(
        "cpu_task: {iters} rounds for about 5 ms; {} CPU items, {} trivial items \
         ({} for procspawn)",
        cpu_items(),
        trivial_items(),
        procspawn_trivial_items()
    );
    let mut c = Criterion::default().configure_from_args();
    trivial(&mut c);
    cpu(&mut c, iters);
    procspawn_cases(&mut c, iters);
    c.final_summary();
}
