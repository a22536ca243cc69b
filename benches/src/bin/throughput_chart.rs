//! Throughput against message size, 64 B to 16 MiB, for each transport of
//! the library (socketpair, pipe, shared memory with its default 1 MiB
//! rings) and for the raw socketpair and ipc-channel, measured side by
//! side in one run: prints a Markdown table of the medians (min..max) and
//! writes the chart as SVG.
//!
//! ```text
//! cargo build --release -p pprocess-benches --bin throughput-chart
//! target/release/throughput-chart --rounds 5 --svg docs/throughput-chart.svg
//! ```
//!
//! Each measurement streams about 64 MiB (at least 8 and at most 100,000
//! messages) from the parent to a forked child, which receives every
//! message and then answers once; the clock runs from the first send to
//! that answer, after the child has said it is ready. The library sends
//! each payload with `send(&Bytes)` (one frame per call) and the child
//! takes it with `receive_borrowed::<&Bytes>` (in place, as the raw
//! baseline reads it into its buffer); the raw baseline writes prebuilt
//! length-prefixed frames, one `write` each, read through a 64 KiB
//! `BufReader`; ipc-channel sends with `IpcBytesSender`. Rounds run every
//! case at every size in turn, so that the machine's load changes touch
//! them alike.

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use ipc_channel::ipc;
use pprocess_benches::indexer::chart::{Series, svg};
use pprocess_benches::indexer::run::stats;
use pprocess_benches::{payload, raw};
use pprocess_core::Result;
use pprocess_transport::{Builder, Channel, MessagePack, TransportKind};
use serde_bytes::Bytes;

/// The byte a child sends once it is ready.
const READY: u8 = 1;

/// Bytes streamed per measurement.
const STREAM: usize = 64 << 20;

/// One way of moving the bytes.
#[derive(Debug, Clone, Copy)]
enum Case {
    Library(TransportKind),
    Raw,
    Ipc,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Library(TransportKind::Pipe) => "pprocess pipe",
            Case::Library(TransportKind::SharedMemory) => "pprocess shared memory",
            Case::Library(_) => "pprocess socketpair",
            Case::Raw => "raw socketpair",
            Case::Ipc => "ipc-channel IpcBytesSender",
        }
    }
}

/// Messages of `size` bytes per measurement.
fn messages(size: usize) -> u64 {
    (STREAM / size).clamp(8, 100_000) as u64
}

fn library(kind: TransportKind, data: &[u8], msgs: u64) -> Duration {
    let mut ch = Builder::<MessagePack>::new()
        .transport(kind)
        .start(move |ch: &mut Channel| -> Result<()> {
            ch.send(&READY)?;
            for _ in 0..msgs {
                let m: &Bytes = ch.receive_borrowed()?;
                black_box(m);
            }
            ch.send(&msgs)
        })
        .expect("start");
    let _: u8 = ch.receive().expect("ready");
    let bytes = Bytes::new(data);
    let t = Instant::now();
    for _ in 0..msgs {
        ch.send(bytes).expect("send");
    }
    let got: u64 = ch.receive().expect("answer");
    let elapsed = t.elapsed();
    assert_eq!(got, msgs);
    assert!(ch.close().expect("close").is_some_and(|s| s.success()));
    elapsed
}

fn raw_socketpair(data: &[u8], msgs: u64) -> Duration {
    let (a, b) = raw::socketpair_files(None).expect("socketpair");
    let pid = raw::fork_child(move || {
        let mut r = raw::FrameReader::new(b);
        let run = (|| {
            r.get_mut().write_all(&raw::frame(&[READY]))?;
            for _ in 0..msgs {
                black_box(r.next_frame()?);
            }
            r.get_mut().write_all(&raw::frame(&msgs.to_le_bytes()))
        })();
        i32::from(run.is_err())
    })
    .expect("fork");
    let mut r = raw::FrameReader::new(a);
    r.next_frame().expect("ready");
    let frame = raw::frame(data);
    let t = Instant::now();
    for _ in 0..msgs {
        r.get_mut().write_all(&frame).expect("write");
    }
    let answer = r.next_frame().expect("answer").to_vec();
    let elapsed = t.elapsed();
    assert_eq!(answer, msgs.to_le_bytes());
    assert_eq!(raw::wait(pid).expect("wait"), 0);
    elapsed
}

fn ipc_bytes(data: &[u8], msgs: u64) -> Duration {
    let (tx, rx) = ipc::bytes_channel().expect("ipc channel");
    let (ack_tx, ack_rx) = ipc::channel::<u64>().expect("ipc channel");
    let pid = raw::fork_child(move || {
        let run = (|| -> std::result::Result<(), Box<dyn std::error::Error>> {
            ack_tx.send(0)?;
            for _ in 0..msgs {
                black_box(rx.recv()?);
            }
            ack_tx.send(msgs)?;
            Ok(())
        })();
        i32::from(run.is_err())
    })
    .expect("fork");
    assert_eq!(ack_rx.recv().expect("ready"), 0);
    let t = Instant::now();
    for _ in 0..msgs {
        tx.send(data).expect("send");
    }
    let got = ack_rx.recv().expect("answer");
    let elapsed = t.elapsed();
    assert_eq!(got, msgs);
    assert_eq!(raw::wait(pid).expect("wait"), 0);
    elapsed
}

fn measure(case: Case, data: &[u8]) -> f64 {
    let msgs = messages(data.len());
    let elapsed = match case {
        Case::Library(kind) => library(kind, data, msgs),
        Case::Raw => raw_socketpair(data, msgs),
        Case::Ipc => ipc_bytes(data, msgs),
    };
    (msgs as f64 * data.len() as f64) / elapsed.as_secs_f64() / 1e9
}

fn size_name(size: usize) -> String {
    match size {
        s if s >= 1 << 20 => format!("{} MiB", s >> 20),
        s if s >= 1 << 10 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

fn main() {
    let mut rounds = 5;
    let mut svg_path = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|n| n.parse().ok()).unwrap_or(5),
            "--svg" => svg_path = args.next(),
            _ => {
                eprintln!("usage: throughput-chart [--rounds N] [--svg FILE]");
                std::process::exit(2);
            }
        }
    }
    let cases = [
        Case::Library(TransportKind::SocketPair),
        Case::Library(TransportKind::Pipe),
        Case::Library(TransportKind::SharedMemory),
        Case::Raw,
        Case::Ipc,
    ];
    let sizes: Vec<usize> = (6..=24).step_by(2).map(|b| 1usize << b).collect();
    let data: Vec<Vec<u8>> = sizes.iter().map(|&s| payload(s)).collect();
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!("load before: {}", load().trim());
    let mut samples = vec![vec![Vec::new(); sizes.len()]; cases.len()];
    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        for (s, bytes) in data.iter().enumerate() {
            for (c, &case) in cases.iter().enumerate() {
                samples[c][s].push(measure(case, bytes));
            }
        }
    }
    eprintln!("load after: {}", load().trim());

    print!("| size |");
    for case in &cases {
        print!(" {} (GB/s) |", case.name());
    }
    println!(" pprocess socketpair / raw |");
    println!("|---|{}---|", "---|".repeat(cases.len()));
    let mut series: Vec<Series> = cases
        .iter()
        .map(|c| Series {
            name: c.name().into(),
            points: Vec::new(),
        })
        .collect();
    for (s, &size) in sizes.iter().enumerate() {
        print!("| {} |", size_name(size));
        let mut medians = Vec::new();
        for (c, line) in series.iter_mut().enumerate() {
            let (median, min, max) = stats(&samples[c][s]);
            print!(" {median:.2} ({min:.2}..{max:.2}) |");
            line.points.push((size.trailing_zeros().into(), median));
            medians.push(median);
        }
        println!(" {:.2} |", medians[0] / medians[3]);
    }
    if let Some(path) = svg_path {
        let picture = svg(
            "Throughput against message size (medians)",
            "message size, log2 of bytes (6 = 64 B, 10 = 1 KiB, 20 = 1 MiB, 24 = 16 MiB)",
            "GB/s",
            &series,
        );
        std::fs::write(&path, picture).expect("write the chart");
        eprintln!("wrote {path}");
    }
}
