//! Prints one Markdown table from a run of `benches/compare.sh`: the
//! criterion results (median time per iteration with min..max over the
//! samples), the Python peers' `RESULT` lines, and the ratios the targets
//! in docs/BENCHMARKS.md are judged by.
//!
//! ```text
//! bench-table CRITERION_DIR [PEER_LOG...]
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// One criterion benchmark: time per iteration over its samples, in
/// seconds, and the elements or bytes one iteration handles.
#[derive(Debug, Clone)]
struct Stat {
    median: f64,
    min: f64,
    max: f64,
    samples: usize,
    elements: Option<f64>,
    bytes: Option<f64>,
}

/// One Python peer result.
#[derive(Debug, Clone)]
struct Peer {
    label: String,
    median: f64,
    unit: String,
    runs: String,
    min: f64,
    max: f64,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn find_benchmarks(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") && p.join("benchmark.json").exists() {
                out.push(p);
            } else {
                find_benchmarks(&p, out);
            }
        }
    }
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn load_criterion(dir: &Path) -> BTreeMap<String, Stat> {
    let mut dirs = Vec::new();
    find_benchmarks(dir, &mut dirs);
    let mut out = BTreeMap::new();
    for d in dirs {
        let (Some(bench), Some(sample)) = (
            read_json(&d.join("benchmark.json")),
            read_json(&d.join("sample.json")),
        ) else {
            continue;
        };
        let Some(id) = bench["full_id"].as_str() else {
            continue;
        };
        let nums = |v: &Value| -> Vec<f64> {
            v.as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default()
        };
        let iters = nums(&sample["iters"]);
        let times = nums(&sample["times"]);
        let mut per: Vec<f64> = iters
            .iter()
            .zip(&times)
            .map(|(i, t)| t / i * 1e-9)
            .collect();
        if per.is_empty() {
            continue;
        }
        let min = per.iter().copied().fold(f64::INFINITY, f64::min);
        let max = per.iter().copied().fold(0.0, f64::max);
        let th = &bench["throughput"];
        out.insert(
            id.to_string(),
            Stat {
                median: median(&mut per),
                min,
                max,
                samples: per.len(),
                elements: th["Elements"].as_f64(),
                bytes: th["Bytes"].as_f64().or_else(|| th["BytesDecimal"].as_f64()),
            },
        );
    }
    out
}

fn load_peers(files: &[String]) -> (BTreeMap<String, Peer>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut infos = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else {
            eprintln!("bench-table: cannot read {f}");
            continue;
        };
        for line in text.lines() {
            let parts: Vec<&str> = line.split('\t').collect();
            match parts.as_slice() {
                ["RESULT", id, label, median, unit, runs, min, max] => {
                    let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
                    out.insert(
                        id.to_string(),
                        Peer {
                            label: label.to_string(),
                            median: num(median),
                            unit: unit.to_string(),
                            runs: runs.to_string(),
                            min: num(min),
                            max: num(max),
                        },
                    );
                }
                ["INFO", rest @ ..] => infos.push(rest.join(" ")),
                _ => {}
            }
        }
    }
    (out, infos)
}

fn fmt_time(s: f64) -> String {
    if !s.is_finite() {
        "-".into()
    } else if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else if s >= 1e-6 {
        format!("{:.2} µs", s * 1e6)
    } else {
        format!("{:.1} ns", s * 1e9)
    }
}

fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if !x.is_finite() {
        "-".into()
    } else if a >= 1e9 {
        format!("{:.2} G", x / 1e9)
    } else if a >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if a >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.1} ")
    }
}

fn rate(s: &Stat) -> String {
    if let Some(b) = s.bytes {
        format!("{:.2} GB/s", b / s.median / 1e9)
    } else if let Some(e) = s.elements {
        format!("{}items/s", fmt_num(e / s.median))
    } else {
        "-".into()
    }
}

/// A quantity a ratio is made of.
#[derive(Clone, Copy)]
enum Q {
    /// A criterion benchmark's time per iteration.
    Time(&'static str),
    /// A criterion benchmark's time per element (message, item).
    PerElement(&'static str),
    /// A peer's median, times a scale (to seconds).
    Peer(&'static str, f64),
}

impl Q {
    /// (median, best case, worst case), in seconds.
    fn get(
        self,
        crit: &BTreeMap<String, Stat>,
        peers: &BTreeMap<String, Peer>,
    ) -> Option<(f64, f64, f64)> {
        match self {
            Q::Time(id) => crit.get(id).map(|s| (s.median, s.min, s.max)),
            Q::PerElement(id) => crit.get(id).and_then(|s| {
                let e = s.elements?;
                Some((s.median / e, s.min / e, s.max / e))
            }),
            Q::Peer(id, scale) => peers
                .get(id)
                .map(|p| (p.median * scale, p.min * scale, p.max * scale)),
        }
    }

    fn name(self) -> String {
        match self {
            Q::Time(id) | Q::PerElement(id) => id.to_string(),
            Q::Peer(id, _) => format!("peer {id}"),
        }
    }
}

/// A target: `num / den` compared with `bound` (`at_least` or at most).
struct Target {
    what: &'static str,
    num: Q,
    den: Q,
    at_least: bool,
    bound: f64,
}

const fn t(what: &'static str, num: Q, den: Q, at_least: bool, bound: f64) -> Target {
    Target {
        what,
        num,
        den,
        at_least,
        bound,
    }
}

/// Time ratios: baseline time / our time is "how many times faster we are"
/// (or our rate as a fraction of the baseline's).
fn targets() -> Vec<Target> {
    use Q::*;
    vec![
        t(
            "64 B, one frame per write: our rate / raw rate",
            Time("channel_64B_send/raw-socketpair-one-write-per-frame"),
            Time("channel_64B_send/pprocess-msgpack-socketpair"),
            true,
            0.9,
        ),
        t(
            "64 B, batched: our feed+flush rate / raw batched through 64 KiB",
            Time("channel_64B_feed/raw-socketpair-batched-64KiB"),
            Time("channel_64B_feed/pprocess-msgpack-socketpair"),
            true,
            0.5,
        ),
        t(
            "1 MiB frames, kernel-default socket buffers: our rate / raw rate",
            Time("channel_1MiB_send/raw-socketpair-one-write-per-frame"),
            Time("channel_1MiB_send/pprocess-msgpack-socketpair"),
            true,
            0.9,
        ),
        t(
            "1 MiB frames, 4 MiB socket buffers (both): our rate / raw rate",
            Time("channel_1MiB_send/raw-socketpair-one-write-per-frame-4MiB-buffers"),
            Time("channel_1MiB_send/pprocess-msgpack-socketpair-4MiB-buffers"),
            true,
            0.9,
        ),
        t(
            "64 B round trip, both on one CPU: our time / raw time",
            Time("channel_64B_roundtrip/pprocess-msgpack-socketpair-1cpu"),
            Time("channel_64B_roundtrip/raw-socketpair-1cpu"),
            false,
            1.15,
        ),
        t(
            "64 B round trip, on two CPUs: our time / raw time",
            Time("channel_64B_roundtrip/pprocess-msgpack-socketpair-2cpu"),
            Time("channel_64B_roundtrip/raw-socketpair-2cpu"),
            false,
            1.15,
        ),
        t(
            "shared memory, 1 MiB frames: our rate / raw socketpair rate",
            Time("channel_1MiB_send/raw-socketpair-one-write-per-frame"),
            Time("channel_1MiB_send/pprocess-msgpack-shm"),
            true,
            2.0,
        ),
        t(
            "shared memory, 64 B batched: our feed+flush rate / raw batched socketpair",
            Time("channel_64B_feed/raw-socketpair-batched-64KiB"),
            Time("channel_64B_feed/pprocess-msgpack-shm"),
            true,
            1.0,
        ),
        t(
            "shared memory, 64 B round trip on one CPU: our time / raw socketpair time",
            Time("channel_64B_roundtrip/pprocess-msgpack-shm-1cpu"),
            Time("channel_64B_roundtrip/raw-socketpair-1cpu"),
            false,
            1.0,
        ),
        t(
            "shared memory, 64 B round trip on two CPUs: our time / raw socketpair time",
            Time("channel_64B_roundtrip/pprocess-msgpack-shm-2cpu"),
            Time("channel_64B_roundtrip/raw-socketpair-2cpu"),
            false,
            1.0,
        ),
        t(
            "64 B rate: ours / ipc-channel IpcSender<Vec<u8>>",
            Time("channel_64B_send/ipc-channel-IpcSender-Vec"),
            Time("channel_64B_send/pprocess-msgpack-socketpair"),
            true,
            1.5,
        ),
        t(
            "64 B rate: ours / ipc-channel IpcBytesSender",
            Time("channel_64B_send/ipc-channel-IpcBytesSender"),
            Time("channel_64B_send/pprocess-msgpack-socketpair"),
            true,
            1.5,
        ),
        t(
            "1 MiB byte rate: ours (default buffers) / ipc-channel IpcSender<Vec<u8>>",
            Time("channel_1MiB_send/ipc-channel-IpcSender-Vec"),
            Time("channel_1MiB_send/pprocess-msgpack-socketpair"),
            true,
            2.0,
        ),
        t(
            "1 MiB byte rate: ours (default buffers) / ipc-channel IpcBytesSender",
            Time("channel_1MiB_send/ipc-channel-IpcBytesSender"),
            Time("channel_1MiB_send/pprocess-msgpack-socketpair"),
            true,
            2.0,
        ),
        t(
            "pmap 100,000 trivial items: multiprocessing Pool(2).map time / ours",
            Peer("D7", 1.0),
            Time("pmap_trivial/pprocess-pmap-2"),
            true,
            5.0,
        ),
        t(
            "pmap trivial items: procspawn pool(2) time per item / ours",
            PerElement("pmap_trivial/procspawn-pool-2"),
            PerElement("pmap_trivial/pprocess-pmap-2"),
            true,
            100.0,
        ),
        t(
            "pmap 100,000 trivial items: our time / rayon par_iter (2 threads)",
            Time("pmap_trivial/pprocess-pmap-2"),
            Time("pmap_trivial/rayon-par_iter-2"),
            false,
            10.0,
        ),
        t(
            "pmap CPU items (~5 ms) on 2 workers: speedup over sequential map",
            Time("pmap_cpu/sequential-map"),
            Time("pmap_cpu/pprocess-pmap-2"),
            true,
            1.9,
        ),
        t(
            "per-message cost: pprocess E1 (send + ACK) / ours (64 B send)",
            Peer("E1", 1e-6),
            PerElement("channel_64B_send/pprocess-msgpack-socketpair"),
            true,
            20.0,
        ),
        t(
            "start + receive + reap: our time / raw fork + _exit + waitpid",
            Time("start/pprocess-start-receive-reap"),
            Time("start/raw-fork-exit-waitpid"),
            false,
            1.2,
        ),
        t(
            "ready() with 1,000 idle channels / ready() with only the busy one",
            Time("exchange_ready/pprocess-busy-plus-1000-idle"),
            Time("exchange_ready/pprocess-busy-only"),
            false,
            1.2,
        ),
    ]
}

/// Comparisons without a target, for context.
fn context() -> Vec<(&'static str, Q, Q)> {
    use Q::*;
    vec![
        (
            "pprocess E1p (send + ACK, 1 CPU) / our 64 B round trip on 1 CPU",
            Peer("E1p", 1e-6),
            Time("channel_64B_roundtrip/pprocess-msgpack-socketpair-1cpu"),
        ),
        (
            "multiprocessing D4p round trip (1 CPU) / ours",
            Peer("D4p", 1e-6),
            Time("channel_64B_roundtrip/pprocess-msgpack-socketpair-1cpu"),
        ),
        (
            "multiprocessing D4x round trip (2 CPUs) / ours",
            Peer("D4x", 1e-6),
            Time("channel_64B_roundtrip/pprocess-msgpack-socketpair-2cpu"),
        ),
        (
            "our 64 B one-frame-per-write rate / multiprocessing D1 (Connection.send)",
            Q::Peer("D1", 0.0),
            PerElement("channel_64B_send/pprocess-msgpack-socketpair"),
        ),
        (
            "ipc-channel 64 B round trip (1 CPU, IpcSender) / ours",
            Time("channel_64B_roundtrip/ipc-channel-IpcSender-Vec-1cpu"),
            Time("channel_64B_roundtrip/pprocess-msgpack-socketpair-1cpu"),
        ),
        (
            "ipc-channel 64 B round trip (2 CPUs, IpcSender) / ours",
            Time("channel_64B_roundtrip/ipc-channel-IpcSender-Vec-2cpu"),
            Time("channel_64B_roundtrip/pprocess-msgpack-socketpair-2cpu"),
        ),
        (
            "python os.fork D5 / raw Rust fork + _exit + waitpid",
            Peer("D5", 1e-6),
            Time("start/raw-fork-exit-waitpid"),
        ),
        (
            "rayon CPU speedup over sequential (2 threads)",
            Time("pmap_cpu/sequential-map"),
            Time("pmap_cpu/rayon-par_iter-2"),
        ),
        (
            "procspawn pool(2) CPU speedup over sequential",
            Time("pmap_cpu/sequential-map"),
            Time("pmap_cpu/procspawn-pool-2"),
        ),
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: bench-table CRITERION_DIR [PEER_LOG...]");
        std::process::exit(2);
    };
    let crit = load_criterion(Path::new(dir));
    let (peers, infos) = load_peers(&args[1..]);
    let mut out = String::new();

    let _ = writeln!(out, "### Targets (ratios of medians from this run)\n");
    let _ = writeln!(
        out,
        "| target | ratio (median) | range (worst..best sample) | needed | met |"
    );
    let _ = writeln!(out, "|---|---:|---|---|---|");
    for tg in targets() {
        let (a, b) = (tg.num.get(&crit, &peers), tg.den.get(&crit, &peers));
        let (ratio, range, met) = match (a, b) {
            (Some(a), Some(b)) => {
                let r = a.0 / b.0;
                // Worst and best pairings of the two sides' sample extremes.
                let lo = a.1 / b.2;
                let hi = a.2 / b.1;
                let met = if tg.at_least {
                    r >= tg.bound
                } else {
                    r <= tg.bound
                };
                (
                    format!("{r:.2}"),
                    format!("{lo:.2} .. {hi:.2}"),
                    if met { "yes" } else { "**no**" }.to_string(),
                )
            }
            _ => (
                "-".into(),
                format!(
                    "missing: {}",
                    [(tg.num, a.is_none()), (tg.den, b.is_none())]
                        .iter()
                        .filter(|(_, m)| *m)
                        .map(|(q, _)| q.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "-".into(),
            ),
        };
        let op = if tg.at_least { "≥" } else { "≤" };
        let _ = writeln!(
            out,
            "| {} | {ratio} | {range} | {op} {} | {met} |",
            tg.what, tg.bound
        );
    }

    let _ = writeln!(out, "\n### Context (no target)\n");
    let _ = writeln!(out, "| comparison | ratio (median) |");
    let _ = writeln!(out, "|---|---:|");
    for (what, num, den) in context() {
        let r = match (num, den.get(&crit, &peers)) {
            // D1 is a rate (k msg/s): compare rates.
            (Q::Peer(id, _), Some(b)) if id == "D1" => {
                peers.get(id).map(|p| (1.0 / b.0) / (p.median * 1e3))
            }
            (n, Some(b)) => n.get(&crit, &peers).map(|a| a.0 / b.0),
            _ => None,
        };
        let r = r.map_or("-".into(), |r| format!("{r:.2}"));
        let _ = writeln!(out, "| {what} | {r} |");
    }

    let _ = writeln!(out, "\n### Criterion measurements (this run)\n");
    let _ = writeln!(
        out,
        "| benchmark | per iteration (median) | min .. max | samples | per iteration | rate (median) |"
    );
    let _ = writeln!(out, "|---|---:|---|---:|---|---:|");
    for (id, s) in &crit {
        let unit = match (s.elements, s.bytes) {
            (_, Some(b)) => format!("{b:.0} B"),
            (Some(e), _) => format!("{e:.0} items"),
            _ => "1 call".into(),
        };
        let _ = writeln!(
            out,
            "| {id} | {} | {} .. {} | {} | {unit} | {} |",
            fmt_time(s.median),
            fmt_time(s.min),
            fmt_time(s.max),
            s.samples,
            rate(s)
        );
    }

    if !peers.is_empty() {
        let _ = writeln!(out, "\n### Python peers (this run)\n");
        let _ = writeln!(
            out,
            "| id | measurement | median | unit | runs | min .. max |"
        );
        let _ = writeln!(out, "|---|---|---:|---|---:|---|");
        for (id, p) in &peers {
            let _ = writeln!(
                out,
                "| {id} | {} | {} | {} | {} | {} .. {} |",
                p.label, p.median, p.unit, p.runs, p.min, p.max
            );
        }
        for i in infos {
            let _ = writeln!(out, "\nNote: {i}");
        }
    }
    print!("{out}");
}
