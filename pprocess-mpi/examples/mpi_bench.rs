//! The MPI backend's costs against raw rsmpi, in one run:
//!
//! ```sh
//! cargo build --release -p pprocess-mpi --features mpi --example mpi_bench
//! target/release/examples/mpi_bench --rounds 5
//! ```
//!
//! Started directly, it is the driver: each round it launches
//! `mpirun -np 2 mpi_bench --raw` (raw rsmpi between two ranks: the
//! physical limit, each rank on a core of its own), then
//! `mpirun -np 4 --oversubscribe mpi_bench --bridge` (the same work through
//! `pprocess-mpi`'s bridge, and the pmap and per-item figures), and runs
//! the same work on forked workers itself (a fork server's, no MPI). It
//! prints each figure's median and min..max over the rounds, and the
//! ratios. Set `MPIRUN_ARGS` to add launcher options (for instance
//! `--mca btl self,tcp`).
//!
//! Figures (every one is time per operation):
//! - `rtt64`: a 64-byte message to a worker and back (`hop_rtt64`: over a
//!   socketpair to a thread that echoes the frame, the bridge's first hop
//!   alone);
//! - `mib`: 1 MiB to a worker, which answers with its length;
//! - `shm_rtt64`, `shm_mib`, `shm_call_item` (MPI only): the same with the
//!   builder's transport `TransportKind::SharedMemory` (the caller's
//!   channel to the bridge in shared memory instead of a socketpair);
//! - `seq5ms`, `pmap5ms`: 200 items of about 5 ms of CPU, in rank 0 (in
//!   the driver for fork) and with `pmap` over the workers;
//! - `pmap_item`: `pmap` of 20000 tiny items, per item;
//! - `call_item`: a `Map` of 300 `call_fn`s (a worker per call), per call;
//! - `reuse_item`: a `Queue` with reuse of 3000 `manage_fn` calls (one
//!   message each way per call), per call, and `cpu_task`: the CPU time
//!   rank 0 (the driver, for fork) spends per call, all its threads.

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "figures are floats of small counts and durations"
)]

use std::process::Command;
use std::time::{Duration, Instant};

use pprocess_exchange::{Builder, Map, MessagePack, Queue, RemoteFn, TransportKind};
use serde_bytes::ByteBuf;

const RTT_ROUNDS: usize = 4000;
const MIB_ROUNDS: usize = 100;
const ITEMS_5MS: usize = 200;
const TINY_ITEMS: u64 = 20_000;
const CALLS: u64 = 300;
const REUSED_CALLS: u64 = 3000;

fn echo(b: ByteBuf) -> ByteBuf {
    b
}

fn length(b: ByteBuf) -> u64 {
    b.len() as u64
}

fn square(x: u64) -> u64 {
    x.wrapping_mul(x)
}

/// About `iters` steps of CPU work.
fn work(iters: u64) -> u64 {
    let mut acc = iters;
    for i in 0..iters {
        acc = acc.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
        acc ^= acc >> 29;
    }
    std::hint::black_box(acc)
}

/// Steps of [`work`] that take about 5 ms here.
fn calibrate() -> u64 {
    let mut iters = 10_000u64;
    loop {
        let t = Instant::now();
        work(iters);
        let e = t.elapsed();
        if e > Duration::from_millis(20) {
            return (iters as f64 * 0.005 / e.as_secs_f64()) as u64;
        }
        iters *= 2;
    }
}

/// Prints a figure (or keeps it, inside [`capture`]).
fn say(name: &str, seconds: f64) {
    let line = format!("{name} {seconds:.9}\n");
    let kept = CAPTURE.with(|c| match c.borrow_mut().as_mut() {
        Some(text) => {
            text.push_str(&line);
            true
        }
        None => false,
    });
    if !kept {
        print!("{line}");
    }
}

/// Runs `f` `n` times; seconds per run.
fn per(n: usize, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() / n as f64
}

/// The figures of a builder's workers: round trips, 1 MiB, pmap, items.
fn measure(prefix: &str, cluster: &pprocess_mpi::Cluster, iters: u64) {
    transfers(prefix, &cluster.builder());
    if cluster.is_mpi() {
        // The same over shared memory between the caller and the bridge
        // (forked workers always have a socketpair).
        let shm = cluster.builder().transport(TransportKind::SharedMemory);
        transfers(&format!("{prefix}_shm"), &shm);
        say(
            &format!("{prefix}_shm_call_item"),
            calls(&shm, cluster.workers()),
        );
    }

    let t = Instant::now();
    for _ in 0..ITEMS_5MS {
        work(iters);
    }
    say(
        &format!("{prefix}_seq5ms"),
        t.elapsed().as_secs_f64() / ITEMS_5MS as f64,
    );
    let t = Instant::now();
    let got = cluster.pmap(work, vec![iters; ITEMS_5MS]).unwrap();
    assert_eq!(got.len(), ITEMS_5MS);
    say(
        &format!("{prefix}_pmap5ms"),
        t.elapsed().as_secs_f64() / ITEMS_5MS as f64,
    );

    let t = Instant::now();
    let got = cluster.pmap(square, 0..TINY_ITEMS).unwrap();
    assert_eq!(got[7], 49);
    say(
        &format!("{prefix}_pmap_item"),
        t.elapsed().as_secs_f64() / TINY_ITEMS as f64,
    );

    say(
        &format!("{prefix}_call_item"),
        calls(&cluster.builder(), cluster.workers()),
    );
    reused(prefix, cluster);
}

/// A worker's 64-byte round trip and 1 MiB to it, on `builder`.
fn transfers(prefix: &str, builder: &Builder<MessagePack>) {
    let mut ch = builder.start_fn(RemoteFn::new(echo)).expect("echo worker");
    say(&format!("{prefix}_rtt64"), rtt64(&mut ch));
    drop(ch);

    let mut ch = builder
        .start_fn(RemoteFn::new(length))
        .expect("length worker");
    let big = ByteBuf::from(vec![1u8; 1 << 20]);
    let mut mib = || {
        ch.send(&big).unwrap();
        assert_eq!(ch.receive::<u64>().unwrap(), 1 << 20);
    };
    per(10, &mut mib);
    say(&format!("{prefix}_mib"), per(MIB_ROUNDS, &mut mib));
}

/// Seconds per round trip of a 64-byte `ByteBuf` on `ch`, whose other
/// end echoes it (after 200 round trips of warm-up).
fn rtt64(ch: &mut pprocess_exchange::Channel) -> f64 {
    let small = ByteBuf::from(vec![7u8; 64]);
    let mut rtt = || {
        ch.send(&small).unwrap();
        let back: ByteBuf = ch.receive().unwrap();
        assert_eq!(back.len(), 64);
    };
    per(200, &mut rtt);
    per(RTT_ROUNDS, &mut rtt)
}

/// A `Map` of [`CALLS`] `call_fn`s on `builder`, a worker per call:
/// seconds per call.
fn calls(builder: &Builder<MessagePack>, workers: usize) -> f64 {
    let t = Instant::now();
    let mut map = Map::<u64>::with_builder(builder.clone())
        .unwrap()
        .limit(workers);
    for x in 0..CALLS {
        map.call_fn(square, x).unwrap();
    }
    assert_eq!(map.into_vec().unwrap()[3], 9);
    t.elapsed().as_secs_f64() / CALLS as f64
}

/// One message each way per call on workers that stay: what rank 0
/// (this process) spends per task bounds how many ranks it can feed.
fn reused(prefix: &str, cluster: &pprocess_mpi::Cluster) {
    let cpu = cpu_seconds();
    let t = Instant::now();
    let mut queue = Queue::<u64>::with_builder(cluster.builder())
        .unwrap()
        .limit(cluster.workers())
        .reuse(true);
    let calc = queue.manage_fn(square);
    for x in 0..REUSED_CALLS {
        calc.call(&mut queue, x).unwrap();
    }
    let total: u64 = queue.map(Result::unwrap).sum();
    assert_eq!(total, (0..REUSED_CALLS).map(square).sum::<u64>());
    say(
        &format!("{prefix}_reuse_item"),
        t.elapsed().as_secs_f64() / REUSED_CALLS as f64,
    );
    say(
        &format!("{prefix}_cpu_task"),
        (cpu_seconds() - cpu) / REUSED_CALLS as f64,
    );
}

/// A 64-byte message's round trip over a socketpair to a thread that
/// echoes its bytes: the hop between the caller and rank 0's bridge
/// thread, without MPI and without the bridge's work.
fn hop() {
    use std::io::{Read, Write};
    let (ours, mut theirs) = pprocess_exchange::SocketPair::pair().unwrap();
    let echo = std::thread::spawn(move || {
        let mut frame = [0u8; 128];
        while theirs.read_exact(&mut frame[..5]).is_ok() {
            let len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
            if theirs.read_exact(&mut frame[5..5 + len]).is_err()
                || theirs.write_all(&frame[..5 + len]).is_err()
            {
                return;
            }
        }
    });
    let mut ch: pprocess_exchange::Channel = pprocess_exchange::Channel::new(Box::new(ours));
    say("hop_rtt64", rtt64(&mut ch));
    drop(ch);
    echo.join().unwrap();
}

/// CPU time (user + system) of this process so far, all its threads.
fn cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 * 1e-6;
    tv(u.user_time()) + tv(u.system_time())
}

/// Raw rsmpi: rank 0 sends, rank 1 answers (the echo, or the length).
fn raw() {
    use mpi::traits::{Communicator, Destination, Source};
    let universe = mpi::initialize().expect("MPI initialises");
    let world = universe.world();
    if world.rank() != 0 {
        loop {
            let (msg, _) = world.process_at_rank(0).receive_vec::<u8>();
            match msg.len() {
                0 => return,
                64 => world.process_at_rank(0).send(&msg[..]),
                n => world.process_at_rank(0).send(&(n as u64).to_le_bytes()[..]),
            }
        }
    }
    let one = world.process_at_rank(1);
    let small = [7u8; 64];
    let mut rtt = || {
        one.send(&small[..]);
        let (back, _) = one.receive_vec::<u8>();
        assert_eq!(back.len(), 64);
    };
    per(200, &mut rtt);
    say("raw_rtt64", per(RTT_ROUNDS * 5, &mut rtt));
    let big = vec![1u8; 1 << 20];
    let mut mib = || {
        one.send(&big[..]);
        let (back, _) = one.receive_vec::<u8>();
        assert_eq!(back, (1u64 << 20).to_le_bytes());
    };
    per(10, &mut mib);
    say("raw_mib", per(MIB_ROUNDS, &mut mib));
    for r in 1..world.size() {
        world.process_at_rank(r).send(&[0u8; 0][..]);
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn launch(np: &str, mode: &str, iters: u64, out: &mut Vec<(String, f64)>) {
    let me = std::env::current_exe().unwrap();
    let extra = std::env::var("MPIRUN_ARGS").unwrap_or_default();
    let output = Command::new("mpirun")
        .args(["--oversubscribe", "-np", np, "-x", "HWLOC_COMPONENTS"])
        .args(extra.split_whitespace())
        .arg(me)
        .args([mode, "--iters", &iters.to_string()])
        .output()
        .expect("mpirun runs");
    assert!(
        output.status.success(),
        "mpirun {mode} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    collect(&String::from_utf8_lossy(&output.stdout), out);
}

fn collect(text: &str, out: &mut Vec<(String, f64)>) {
    for line in text.lines() {
        if let Some((name, v)) = line.split_once(' ') {
            if let Ok(v) = v.parse() {
                out.push((name.to_string(), v));
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let iters = args
        .iter()
        .position(|a| a == "--iters")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok());
    if args.iter().any(|a| a == "--raw") {
        raw();
        return;
    }
    if args.iter().any(|a| a == "--bridge") {
        let cluster = pprocess_mpi::init().expect("cluster");
        measure("mpi", &cluster, iters.expect("--iters"));
        return;
    }
    // The driver: a cluster of forked workers (a fork server: no thread
    // runs yet), and the MPI jobs.
    let cluster = pprocess_mpi::init().expect("local cluster");
    assert!(!cluster.is_mpi() && cluster.has_fork_server());
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let iters = iters.unwrap_or_else(calibrate);
    eprintln!("work: {iters} steps per item (about 5 ms); {rounds} rounds");
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load_before = load();
    let mut samples: Vec<(String, f64)> = Vec::new();
    for round in 0..rounds {
        eprintln!("round {}", round + 1);
        launch("2", "--raw", iters, &mut samples);
        launch("4", "--bridge", iters, &mut samples);
        // The fork figures, kept and parsed like the jobs'.
        let text = capture(|| {
            measure("fork", &cluster, iters);
            hop();
        });
        collect(&text, &mut samples);
    }
    println!("load average before: {}", load_before.trim());
    println!("load average after:  {}", load().trim());
    let mut names: Vec<String> = samples.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    names.dedup();
    let stat = |name: &str| {
        let mut v: Vec<f64> = samples
            .iter()
            .filter(|(n, _)| n == name)
            .map(|&(_, v)| v)
            .collect();
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        (median(&mut v), lo, hi)
    };
    println!("{:<16} {:>12} {:>24}", "figure", "median", "min..max");
    for n in &names {
        let (m, lo, hi) = stat(n);
        println!(
            "{n:<16} {:>10.2}us {:>10.2}..{:<10.2}us",
            m * 1e6,
            lo * 1e6,
            hi * 1e6
        );
    }
    // Ratios per round (the same round's figures), then their medians.
    let per_round = |name: &str| -> Vec<f64> {
        samples
            .iter()
            .filter(|(n, _)| n == name)
            .map(|&(_, v)| v)
            .collect()
    };
    let ratio = |label: &str, num: &str, den: &str| {
        let (a, b) = (per_round(num), per_round(den));
        let mut r: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x / y).collect();
        if r.is_empty() {
            return;
        }
        let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = r.iter().copied().fold(0.0, f64::max);
        println!("{label:<44} {:>6.2}x  ({lo:.2}..{hi:.2})", median(&mut r));
    };
    println!();
    ratio("rtt64: bridge / raw mpi", "mpi_rtt64", "raw_rtt64");
    ratio("rtt64: bridge / forked worker", "mpi_rtt64", "fork_rtt64");
    ratio(
        "rtt64: socketpair hop to a thread / bridge",
        "hop_rtt64",
        "mpi_rtt64",
    );
    ratio(
        "rtt64: bridge over shared memory / raw mpi",
        "mpi_shm_rtt64",
        "raw_rtt64",
    );
    ratio("1 MiB throughput: bridge / raw mpi", "raw_mib", "mpi_mib");
    ratio(
        "1 MiB throughput: over shared memory / raw",
        "raw_mib",
        "mpi_shm_mib",
    );
    ratio("1 MiB throughput: bridge / forked", "fork_mib", "mpi_mib");
    ratio(
        "pmap 200 x 5 ms, 3 ranks: speedup",
        "mpi_seq5ms",
        "mpi_pmap5ms",
    );
    ratio(
        "pmap 200 x 5 ms, 2 forked: speedup",
        "fork_seq5ms",
        "fork_pmap5ms",
    );
    ratio(
        "pmap per item: ranks / forked",
        "mpi_pmap_item",
        "fork_pmap_item",
    );
    ratio(
        "call_fn per call: ranks / forked",
        "mpi_call_item",
        "fork_call_item",
    );
    ratio(
        "call_fn per call: shared memory / socketpair",
        "mpi_shm_call_item",
        "mpi_call_item",
    );
}

/// Runs `f`, whose figures go to stdout through [`say`], and returns them
/// as text (the driver's own figures, parsed like the jobs').
fn capture(f: impl FnOnce()) -> String {
    CAPTURE.with(|c| c.borrow_mut().replace(String::new()));
    f();
    CAPTURE.with(|c| c.borrow_mut().take().unwrap_or_default())
}

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}
