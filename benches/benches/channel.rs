//! Channels: streaming 64 B, 4 KiB and 1 MiB payloads per codec and
//! transport (socketpair, pipe, shared memory), one frame per write (`send`) and batched (`feed` + `flush`),
//! and a 64 B round trip; each group also measures the raw socketpair (the
//! physical limit) and ipc-channel in the same run.
//!
//! Streaming: a child forked per sample (by the library's `start`, or by a
//! raw `fork` for the baselines) receives `iters × K` messages and then
//! acknowledges once; the parent's clock runs from its first send to that
//! acknowledgement. Fork and start-up are outside the clock (the child says
//! it is ready first).

use std::hint::black_box;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
    measurement::WallTime,
};
use ipc_channel::ipc;
use pprocess_benches::pin::{self, Placement};
use pprocess_benches::{BULK_SOCKET_BUFFER, payload, raw};
use pprocess_core::Result;
use pprocess_transport::{Builder, Channel, Codec, Json, MessagePack, SharedMemory, TransportKind};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_bytes::{ByteBuf, Bytes};

/// The byte a child sends once it is ready.
const READY: u8 = 1;

/// Round trips run before the clock starts.
const WARM_ROUNDS: u64 = 200;

/// The batch size of the raw batched baseline (the library's is the same).
const RAW_BATCH: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One frame per write.
    Send,
    /// Queued, written per 64 KiB and at the end.
    Feed,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Send => "send",
            Mode::Feed => "feed",
        }
    }
}

struct Size {
    bytes: usize,
    name: &'static str,
    /// Messages per criterion iteration.
    per_iter: u64,
}

const SIZES: [Size; 3] = [
    Size {
        bytes: 64,
        name: "64B",
        per_iter: 1000,
    },
    Size {
        bytes: 4096,
        name: "4KiB",
        per_iter: 100,
    },
    Size {
        bytes: 1 << 20,
        name: "1MiB",
        per_iter: 4,
    },
];

fn transport_name(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Pipe => "pipe",
        TransportKind::SharedMemory => "shm",
        _ => "socketpair",
    }
}

// ---------------------------------------------------------------- ours

/// Streams `msgs` payloads to a child made by `start`; returns the time
/// from the first send to the child's acknowledgement.
///
/// The child receives each message as an `R` (`ByteBuf` in every case with
/// a target; `IgnoredAny` in one context case, to show the cost of the
/// receiver's own value).
fn ours_stream<C: Codec, R: DeserializeOwned>(
    builder: &Builder<C>,
    data: &[u8],
    msgs: u64,
    mode: Mode,
) -> Duration {
    ours_stream_with(builder, data, msgs, mode, |ch: &mut Channel<C>| {
        let m: R = ch.receive()?;
        black_box(m);
        Ok(())
    })
}

/// [`ours_stream`] with a child that takes each message with
/// `receive_borrowed` as `&Bytes`: no value built, the payload read in
/// place.
fn ours_stream_borrowed<C: Codec>(
    builder: &Builder<C>,
    data: &[u8],
    msgs: u64,
    mode: Mode,
) -> Duration {
    ours_stream_with(builder, data, msgs, mode, |ch: &mut Channel<C>| {
        let m: &Bytes = ch.receive_borrowed()?;
        black_box(m);
        Ok(())
    })
}

/// The stream of [`ours_stream`]; `take` receives one message in the child.
fn ours_stream_with<C: Codec>(
    builder: &Builder<C>,
    data: &[u8],
    msgs: u64,
    mode: Mode,
    take: fn(&mut Channel<C>) -> Result<()>,
) -> Duration {
    let mut ch = builder
        .start(move |ch: &mut Channel<C>| -> Result<()> {
            ch.send(&READY)?;
            for _ in 0..msgs {
                take(ch)?;
            }
            ch.send(&msgs)
        })
        .expect("start");
    let _: u8 = ch.receive().expect("ready");
    let bytes = Bytes::new(data);
    let t = Instant::now();
    match mode {
        Mode::Send => {
            for _ in 0..msgs {
                ch.send(bytes).expect("send");
            }
        }
        Mode::Feed => {
            for _ in 0..msgs {
                ch.feed(bytes).expect("feed");
            }
            ch.flush().expect("flush");
        }
    }
    let got: u64 = ch.receive().expect("ack");
    let elapsed = t.elapsed();
    assert_eq!(got, msgs);
    assert!(ch.close().expect("close").is_some_and(|s| s.success()));
    elapsed
}

/// `rounds` round trips of a 64 B payload with a child made by `start`
/// over a transport of the given kind.
fn ours_roundtrip(kind: TransportKind, placement: Placement, data: &[u8], rounds: u64) -> Duration {
    pin::with_placement(placement, |child_cpu| {
        let mut ch = Builder::<MessagePack>::new()
            .transport(kind)
            .start(move |ch: &mut Channel| -> Result<()> {
                if let Some(cpu) = child_cpu {
                    pin::to_cpu(cpu)?;
                }
                ch.send(&READY)?;
                for _ in 0..rounds + WARM_ROUNDS {
                    let m: ByteBuf = ch.receive()?;
                    ch.send(&m)?;
                }
                Ok(())
            })
            .expect("start");
        let _: u8 = ch.receive().expect("ready");
        let bytes = Bytes::new(data);
        let round = |ch: &mut Channel| {
            ch.send(bytes).expect("send");
            let m: ByteBuf = ch.receive().expect("receive");
            black_box(m);
        };
        for _ in 0..WARM_ROUNDS {
            round(&mut ch);
        }
        let t = Instant::now();
        for _ in 0..rounds {
            round(&mut ch);
        }
        let elapsed = t.elapsed();
        assert!(ch.close().expect("close").is_some_and(|s| s.success()));
        elapsed
    })
    .expect("affinity")
}

// ---------------------------------------------------------------- raw

fn code(r: io::Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// The raw baseline of [`ours_stream`]: length-prefixed frames over a
/// socketpair, one `write` per frame or batched through 64 KiB.
fn raw_stream(buffer: Option<usize>, data: &[u8], msgs: u64, mode: Mode) -> Duration {
    let (a, b) = raw::socketpair_files(buffer).expect("socketpair");
    raw_stream_over(a, b, data, msgs, mode)
}

/// The same frames through the shared-memory ring itself, no channel: what
/// the transport can do, next to what the kernel's socket can.
fn raw_shm_stream(data: &[u8], msgs: u64, mode: Mode) -> Duration {
    let (a, b) = SharedMemory::pair().expect("shared memory");
    raw_stream_over(a, b, data, msgs, mode)
}

fn raw_stream_over<S: Read + Write>(a: S, b: S, data: &[u8], msgs: u64, mode: Mode) -> Duration {
    let pid = raw::fork_child(move || {
        code((|| {
            let mut r = raw::FrameReader::new(b);
            r.get_mut().write_all(&raw::frame(&[READY]))?;
            for _ in 0..msgs {
                black_box(r.next_frame()?);
            }
            r.get_mut().write_all(&raw::frame(&msgs.to_le_bytes()))
        })())
    })
    .expect("fork");
    let mut r = raw::FrameReader::new(a);
    r.next_frame().expect("ready");
    let frame = raw::frame(data);
    let t = Instant::now();
    match mode {
        Mode::Send => {
            for _ in 0..msgs {
                r.get_mut().write_all(&frame).expect("write");
            }
        }
        Mode::Feed => {
            let mut batch = Vec::with_capacity(RAW_BATCH + frame.len());
            for _ in 0..msgs {
                let len = u32::try_from(data.len()).expect("payloads are below 4 GiB");
                batch.extend_from_slice(&len.to_le_bytes());
                batch.extend_from_slice(data);
                if batch.len() >= RAW_BATCH {
                    r.get_mut().write_all(&batch).expect("write");
                    batch.clear();
                }
            }
            r.get_mut().write_all(&batch).expect("write");
        }
    }
    let ack = r.next_frame().expect("ack").to_vec();
    let elapsed = t.elapsed();
    assert_eq!(ack, msgs.to_le_bytes());
    assert_eq!(raw::wait(pid).expect("wait"), 0);
    elapsed
}

/// The raw baseline of [`ours_roundtrip`].
fn raw_roundtrip(placement: Placement, data: &[u8], rounds: u64) -> Duration {
    pin::with_placement(placement, |child_cpu| {
        let (a, b) = raw::socketpair_files(None).expect("socketpair");
        let pid = raw::fork_child(move || {
            code((|| {
                if let Some(cpu) = child_cpu {
                    pin::to_cpu(cpu)?;
                }
                let mut r = raw::FrameReader::new(b);
                r.get_mut().write_all(&raw::frame(&[READY]))?;
                let mut reply = Vec::new();
                for _ in 0..rounds + WARM_ROUNDS {
                    let m = r.next_frame()?;
                    reply.clear();
                    let len = u32::try_from(m.len()).expect("payloads are below 4 GiB");
                    reply.extend_from_slice(&len.to_le_bytes());
                    reply.extend_from_slice(m);
                    r.get_mut().write_all(&reply)?;
                }
                Ok(())
            })())
        })
        .expect("fork");
        let mut r = raw::FrameReader::new(a);
        r.next_frame().expect("ready");
        let frame = raw::frame(data);
        let round = |r: &mut raw::FrameReader| {
            r.get_mut().write_all(&frame).expect("write");
            black_box(r.next_frame().expect("read"));
        };
        for _ in 0..WARM_ROUNDS {
            round(&mut r);
        }
        let t = Instant::now();
        for _ in 0..rounds {
            round(&mut r);
        }
        let elapsed = t.elapsed();
        assert_eq!(raw::wait(pid).expect("wait"), 0);
        elapsed
    })
    .expect("affinity")
}

// ---------------------------------------------------------------- ipc-channel

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IpcKind {
    /// `IpcSender<Vec<u8>>` (serde through bincode).
    Vec,
    /// `IpcBytesSender` (bytes as they are).
    Bytes,
}

impl IpcKind {
    fn name(self) -> &'static str {
        match self {
            IpcKind::Vec => "ipc-channel-IpcSender-Vec",
            IpcKind::Bytes => "ipc-channel-IpcBytesSender",
        }
    }
}

/// A one-way ipc-channel of either kind.
enum IpcTx {
    Vec(ipc::IpcSender<Vec<u8>>),
    Bytes(ipc::IpcBytesSender),
}

enum IpcRx {
    Vec(ipc::IpcReceiver<Vec<u8>>),
    Bytes(ipc::IpcBytesReceiver),
}

fn ipc_pair(kind: IpcKind) -> (IpcTx, IpcRx) {
    match kind {
        IpcKind::Vec => {
            let (t, r) = ipc::channel().expect("ipc channel");
            (IpcTx::Vec(t), IpcRx::Vec(r))
        }
        IpcKind::Bytes => {
            let (t, r) = ipc::bytes_channel().expect("ipc channel");
            (IpcTx::Bytes(t), IpcRx::Bytes(r))
        }
    }
}

impl IpcTx {
    fn send(&self, data: &[u8]) {
        match self {
            // The API takes the vector by value: a copy per message.
            IpcTx::Vec(t) => t.send(data.to_vec()).expect("ipc send"),
            IpcTx::Bytes(t) => t.send(data).expect("ipc send"),
        }
    }
}

impl IpcRx {
    fn recv(&self) -> Vec<u8> {
        match self {
            IpcRx::Vec(r) => r.recv().expect("ipc recv"),
            IpcRx::Bytes(r) => r.recv().expect("ipc recv"),
        }
    }
}

/// The channels are made before the fork; the child keeps the ends it
/// uses and the parent drops them.
fn ipc_stream(kind: IpcKind, data: &[u8], msgs: u64) -> Duration {
    let (tx, rx) = ipc_pair(kind);
    let (ack_tx, ack_rx) = ipc::channel::<u64>().expect("ipc channel");
    let pid = raw::fork_child(move || {
        let _ = ack_tx.send(0);
        for _ in 0..msgs {
            black_box(rx.recv());
        }
        match ack_tx.send(msgs) {
            Ok(()) => 0,
            Err(_) => 1,
        }
    })
    .expect("fork");
    ack_rx.recv().expect("ready");
    let t = Instant::now();
    for _ in 0..msgs {
        tx.send(data);
    }
    let got = ack_rx.recv().expect("ack");
    let elapsed = t.elapsed();
    assert_eq!(got, msgs);
    assert_eq!(raw::wait(pid).expect("wait"), 0);
    elapsed
}

fn ipc_roundtrip(kind: IpcKind, placement: Placement, data: &[u8], rounds: u64) -> Duration {
    pin::with_placement(placement, |child_cpu| {
        let (ping_tx, ping_rx) = ipc_pair(kind);
        let (pong_tx, pong_rx) = ipc_pair(kind);
        let pid = raw::fork_child(move || {
            if let Some(cpu) = child_cpu {
                if pin::to_cpu(cpu).is_err() {
                    return 1;
                }
            }
            pong_tx.send(&[READY]);
            for _ in 0..rounds + WARM_ROUNDS {
                let m = ping_rx.recv();
                pong_tx.send(&m);
            }
            0
        })
        .expect("fork");
        pong_rx.recv();
        let round = || {
            ping_tx.send(data);
            black_box(pong_rx.recv());
        };
        for _ in 0..WARM_ROUNDS {
            round();
        }
        let t = Instant::now();
        for _ in 0..rounds {
            round();
        }
        let elapsed = t.elapsed();
        assert_eq!(raw::wait(pid).expect("wait"), 0);
        elapsed
    })
    .expect("affinity")
}

// ---------------------------------------------------------------- groups

fn ours_cases<C: Codec>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    codec: &str,
    size: &Size,
    mode: Mode,
    data: &[u8],
) {
    for kind in [
        TransportKind::SocketPair,
        TransportKind::Pipe,
        TransportKind::SharedMemory,
    ] {
        let builder = Builder::<C>::new().transport(kind);
        let id = format!("pprocess-{codec}-{}", transport_name(kind));
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                ours_stream::<C, ByteBuf>(&builder, data, iters * size.per_iter, mode)
            })
        });
    }
}

fn stream(c: &mut Criterion) {
    for size in &SIZES {
        let data = payload(size.bytes);
        for mode in [Mode::Send, Mode::Feed] {
            let mut group = c.benchmark_group(format!("channel_{}_{}", size.name, mode.name()));
            group.sampling_mode(SamplingMode::Flat);
            if size.bytes >= 1 << 20 {
                group.throughput(Throughput::Bytes(size.per_iter * size.bytes as u64));
            } else {
                group.throughput(Throughput::Elements(size.per_iter));
            }
            ours_cases::<MessagePack>(&mut group, "msgpack", size, mode, &data);
            ours_cases::<Json>(&mut group, "json", size, mode, &data);
            let raw_id = match mode {
                Mode::Send => "raw-socketpair-one-write-per-frame",
                Mode::Feed => "raw-socketpair-batched-64KiB",
            };
            group.bench_function(raw_id, |b| {
                b.iter_custom(|iters| raw_stream(None, &data, iters * size.per_iter, mode))
            });
            if size.bytes != 4096 {
                // The shared-memory ring's own limit, for the same frames.
                let shm_id = match mode {
                    Mode::Send => "raw-shm-ring-one-write-per-frame",
                    Mode::Feed => "raw-shm-ring-batched-64KiB",
                };
                group.bench_function(shm_id, |b| {
                    b.iter_custom(|iters| raw_shm_stream(&data, iters * size.per_iter, mode))
                });
                // Shared memory with the receiver taking each payload in
                // place: no value built on the receiving side.
                let builder = Builder::<MessagePack>::new().transport(TransportKind::SharedMemory);
                group.bench_function("pprocess-msgpack-shm-receive-borrowed", |b| {
                    b.iter_custom(|iters| {
                        ours_stream_borrowed(&builder, &data, iters * size.per_iter, mode)
                    })
                });
            }
            if size.bytes == 64 && mode == Mode::Feed {
                // Context: the same stream with a receiver that builds no
                // value (no allocation, no copy), to separate the
                // channel's own cost from the received `ByteBuf`'s.
                let builder = Builder::<MessagePack>::new();
                group.bench_function("pprocess-msgpack-socketpair-receiver-ignores-value", |b| {
                    b.iter_custom(|iters| {
                        ours_stream::<_, IgnoredAny>(&builder, &data, iters * size.per_iter, mode)
                    })
                });
                // The same receiver taking each payload in place
                // (`receive_borrowed` into `&Bytes`).
                group.bench_function("pprocess-msgpack-socketpair-receive-borrowed", |b| {
                    b.iter_custom(|iters| {
                        ours_stream_borrowed(&builder, &data, iters * size.per_iter, mode)
                    })
                });
            }
            let bulk = size.bytes >= 1 << 20;
            if bulk {
                // The receiver reads each payload in place, as the raw
                // baseline does (no `ByteBuf` copied out of the frame).
                let builder = Builder::<MessagePack>::new();
                group.bench_function("pprocess-msgpack-socketpair-receive-borrowed", |b| {
                    b.iter_custom(|iters| {
                        ours_stream_borrowed(&builder, &data, iters * size.per_iter, mode)
                    })
                });
            }
            if bulk {
                // Bulk channels: larger socket buffers, for both.
                let builder = Builder::<MessagePack>::new().socket_buffer_size(BULK_SOCKET_BUFFER);
                group.bench_function("pprocess-msgpack-socketpair-4MiB-buffers", |b| {
                    b.iter_custom(|iters| {
                        ours_stream::<_, ByteBuf>(&builder, &data, iters * size.per_iter, mode)
                    })
                });
                group.bench_function(format!("{raw_id}-4MiB-buffers"), |b| {
                    b.iter_custom(|iters| {
                        raw_stream(Some(BULK_SOCKET_BUFFER), &data, iters * size.per_iter, mode)
                    })
                });
            }
            if mode == Mode::Send && size.bytes != 4096 {
                for kind in [IpcKind::Vec, IpcKind::Bytes] {
                    group.bench_function(kind.name(), |b| {
                        b.iter_custom(|iters| ipc_stream(kind, &data, iters * size.per_iter))
                    });
                }
            }
            group.finish();
        }
    }
}

fn roundtrip(c: &mut Criterion) {
    let data = payload(64);
    let mut group = c.benchmark_group("channel_64B_roundtrip");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(1));
    for placement in Placement::available() {
        let p = placement.name();
        for kind in [TransportKind::SocketPair, TransportKind::SharedMemory] {
            let t = transport_name(kind);
            group.bench_function(format!("pprocess-msgpack-{t}-{p}"), |b| {
                b.iter_custom(|iters| ours_roundtrip(kind, placement, &data, iters))
            });
        }
        group.bench_function(format!("raw-socketpair-{p}"), |b| {
            b.iter_custom(|iters| raw_roundtrip(placement, &data, iters))
        });
        for kind in [IpcKind::Vec, IpcKind::Bytes] {
            group.bench_function(format!("{}-{p}", kind.name()), |b| {
                b.iter_custom(|iters| ipc_roundtrip(kind, placement, &data, iters))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, stream, roundtrip);
criterion_main!(benches);
