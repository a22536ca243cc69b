//! The Exchange: fan-in from N children, and `ready()` with 1,000 idle
//! channels registered against `ready()` with only the busy one.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pprocess_exchange::{Builder, Channel, Exchange, Message};
use pprocess_transport::MessagePack;

/// Messages each child sends in the fan-in.
const PER_CHILD: u64 = 1000;

/// Idle channels registered beside the busy one.
const IDLE: usize = 1000;

fn fan_in(c: &mut Criterion) {
    let mut group = c.benchmark_group("exchange_fan_in");
    for n in [2u64, 16, 128] {
        group.throughput(Throughput::Elements(n * PER_CHILD));
        group.bench_with_input(BenchmarkId::new("pprocess-exchange", n), &n, |b, &n| {
            b.iter(|| {
                let mut count = 0u64;
                let mut ex = Exchange::with_handler(|m: Message<u64>| {
                    count += u64::from(m.result.is_ok());
                })
                .expect("exchange")
                .continuous(true);
                for _ in 0..n {
                    ex.start(|ch: &mut Channel| -> pprocess_exchange::Result<()> {
                        for i in 0..PER_CHILD {
                            ch.send(&i)?;
                        }
                        Ok(())
                    })
                    .expect("start");
                }
                ex.finish().expect("finish");
                drop(ex);
                assert_eq!(count, n * PER_CHILD);
            })
        });
    }
    group.finish();
}

/// An exchange with `idle` silent channels and one busy one; returns it,
/// the busy channel's other end, and the far ends that keep the idle ones
/// open.
#[allow(clippy::type_complexity)]
fn ready_setup(
    idle: usize,
) -> (
    Exchange<'static, u64>,
    Channel<MessagePack>,
    Vec<Channel<MessagePack>>,
) {
    let builder = Builder::<MessagePack>::new();
    let mut ex = Exchange::<u64>::new().expect("exchange");
    let mut keep = Vec::with_capacity(idle);
    for _ in 0..idle {
        let (a, b) = builder.channel_pair().expect("channel pair");
        ex.add(a).expect("add");
        keep.push(b);
    }
    let (a, busy) = builder.channel_pair().expect("channel pair");
    ex.add(a).expect("add");
    // The first ready() looks at every new channel once; afterwards only
    // readiness events are looked at.
    let r = ex.ready(Some(Duration::ZERO)).expect("ready");
    assert!(r.is_empty());
    (ex, busy, keep)
}

fn ready(c: &mut Criterion) {
    raise_fd_limit();
    let mut group = c.benchmark_group("exchange_ready");
    group.throughput(Throughput::Elements(1));
    for idle in [0, IDLE] {
        let (mut ex, mut busy, keep) = ready_setup(idle);
        let id = if idle == 0 {
            "pprocess-busy-only".to_string()
        } else {
            format!("pprocess-busy-plus-{idle}-idle")
        };
        group.bench_function(id, |b| {
            b.iter(|| {
                busy.send(&7u64).expect("send");
                let r = ex.ready(None).expect("ready");
                assert_eq!(r.len(), 1);
                let ch = ex.channel_mut(r[0]).expect("channel");
                let v: Option<u64> = ch.try_receive().expect("receive");
                black_box(v)
            })
        });
        drop(keep);
    }
    group.finish();
}

/// 1,000 channel pairs need about 2,000 descriptors.
fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let want = (4 * IDLE as u64 + 256).min(hard);
        if soft < want {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, want, hard);
        }
    }
}

criterion_group!(benches, fan_in, ready);
criterion_main!(benches);
