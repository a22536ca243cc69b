//! `start` + `receive` + reap against the raw `fork` + `_exit` + `waitpid`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pprocess_benches::raw;
use pprocess_transport::start;

fn start_receive_reap(c: &mut Criterion) {
    let mut group = c.benchmark_group("start");
    group.bench_function("pprocess-start-receive-reap", |b| {
        b.iter(|| {
            let mut ch = start(|ch| ch.send(&1u8)).expect("start");
            let v: u8 = ch.receive().expect("receive");
            let status = ch.close().expect("close");
            assert!(status.is_some_and(|s| s.success()));
            black_box(v)
        })
    });
    group.bench_function("raw-fork-exit-waitpid", |b| {
        b.iter(|| {
            let pid = raw::fork_child(|| 0).expect("fork");
            assert_eq!(raw::wait(pid).expect("wait"), 0);
        })
    });
    group.finish();
}

criterion_group!(benches, start_receive_reap);
criterion_main!(benches);
