//! The MPI backend's checks, run under a launcher:
//!
//! ```sh
//! cargo build -p pprocess-mpi --features mpi --example mpi_selftest
//! mpirun --oversubscribe -np 4 target/debug/examples/mpi_selftest
//! ```
//!
//! Rank 0 runs every check and prints one line per check, then
//! `N passed, M failed`; it exits with 1 if any failed. The other ranks
//! serve. With `PPROCESS_MPI_DIE_AT=K` in the environment (`mpirun -x`),
//! the rank that gets item K of the last check is killed (`SIGKILL`), so that a
//! job whose rank dies can be shown to end (mpirun reports it and exits
//! non-zero) rather than hang.

use std::collections::BTreeSet;

use std::time::Duration;

use pprocess_exchange::{Map, Queue, RemoteFn, pmap_fn};
use pprocess_mpi::Error;

fn square(x: u64) -> u64 {
    x * x
}

fn with_pid(x: u64) -> (u64, u32) {
    // Enough work that every rank gets some.
    let mut acc = x;
    for i in 0..20_000u64 {
        acc = acc.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
    }
    std::hint::black_box(acc);
    (x, std::process::id())
}

fn odd_panics(x: u64) -> u64 {
    assert!(x % 2 == 0, "{x} is odd");
    x
}

fn reverse(bytes: Vec<u8>) -> Vec<u8> {
    bytes.into_iter().rev().collect()
}

fn slow_unless_zero(x: u64) -> u64 {
    assert!(x != 0, "item zero fails at once");
    std::thread::sleep(Duration::from_millis(30));
    x
}

fn pair_product((i, j): (u32, u32)) -> (u32, u32, u32) {
    (i, i * j, std::process::id())
}

/// Descriptors this process has open.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// Shared-memory rings this process maps.
fn shm_mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps").map_or(0, |m| {
        m.lines()
            .filter(|l| l.contains("memfd:pprocess-shm"))
            .count()
    })
}

fn die_at(x: u64) -> u64 {
    let target = std::env::var("PPROCESS_MPI_DIE_AT").ok();
    if target.and_then(|t| t.parse::<u64>().ok()) == Some(x) {
        // Killed as from outside (the OOM killer, an operator): nothing
        // of this process runs after this.
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    x
}

fn main() {
    let cluster = match pprocess_mpi::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mpi_selftest: init: {e}");
            std::process::exit(2);
        }
    };
    // Only rank 0 gets here.
    // mpirun says OMPI_COMM_WORLD_SIZE, PMI launchers PMI_SIZE, srun
    // SLURM_NTASKS.
    let expected_ranks: usize = std::env::var("OMPI_COMM_WORLD_SIZE")
        .or_else(|_| std::env::var("PMI_SIZE"))
        .or_else(|_| std::env::var("SLURM_NTASKS"))
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut passed = 0;
    let mut failed = 0;
    let mut check = |name: &str, outcome: Result<(), String>| match outcome {
        Ok(()) => {
            println!("ok   {name}");
            passed += 1;
        }
        Err(why) => {
            println!("FAIL {name}: {why}");
            failed += 1;
        }
    };

    check(
        "launched by mpi, one worker per rank but rank 0",
        if cluster.is_mpi() && cluster.workers() == expected_ranks.saturating_sub(1).max(1) {
            Ok(())
        } else {
            Err(format!(
                "is_mpi {}, workers {}, ranks {expected_ranks}",
                cluster.is_mpi(),
                cluster.workers()
            ))
        },
    );

    check(
        "pmap of 10000 items keeps input order",
        match cluster.pmap(square, 0..10_000u64) {
            Ok(v) if v == (0..10_000).map(|x| x * x).collect::<Vec<_>>() => Ok(()),
            Ok(v) => Err(format!(
                "{} results, first {:?}",
                v.len(),
                &v[..v.len().min(4)]
            )),
            Err(e) => Err(e.to_string()),
        },
    );

    check(
        "work is spread over the other ranks",
        match cluster.pmap(with_pid, 0..400u64) {
            Ok(v) => {
                let me = std::process::id();
                let pids: BTreeSet<u32> = v.iter().map(|&(_, p)| p).collect();
                let in_order = v.iter().enumerate().all(|(i, &(x, _))| x == i as u64);
                let wanted = cluster.workers().min(2);
                if !in_order {
                    Err("out of order".into())
                } else if expected_ranks > 1 && pids.contains(&me) {
                    Err("rank 0 ran work".into())
                } else if pids.len() < wanted {
                    Err(format!("{} distinct ranks, wanted {wanted}", pids.len()))
                } else {
                    Ok(())
                }
            }
            Err(e) => Err(e.to_string()),
        },
    );

    check(
        "a panic in pmap is the first failing item",
        match cluster.pmap(odd_panics, [0u64, 2, 4, 7, 8, 9]) {
            Err(Error::Remote { message, .. }) if message == "item 3 panicked: 7 is odd" => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );

    check(
        "map gives each call its own result",
        match cluster.map(odd_panics, [2u64, 3, 4]) {
            Ok(v) => match (&v[0], &v[1], &v[2]) {
                (Ok(2), Err(Error::Remote { message, .. }), Ok(4)) if message == "3 is odd" => {
                    Ok(())
                }
                other => Err(format!("{other:?}")),
            },
            Err(e) => Err(e.to_string()),
        },
    );

    check("megabyte arguments and results cross intact", {
        let items: Vec<Vec<u8>> = (0..4u8)
            .map(|k| (0..1 << 20).map(|i: u32| i.to_le_bytes()[0] ^ k).collect())
            .collect();
        match cluster.pmap(reverse, items.clone()) {
            Ok(v) => {
                let good = v.len() == 4
                    && v.iter()
                        .zip(&items)
                        .all(|(got, sent)| got.iter().eq(sent.iter().rev()));
                if good {
                    Ok(())
                } else {
                    Err("payload changed".into())
                }
            }
            Err(e) => Err(e.to_string()),
        }
    });

    check(
        "Map of call_fn over the cluster's builder keeps input order",
        (|| {
            let mut map = Map::<u64>::with_builder(cluster.builder())
                .map_err(|e| e.to_string())?
                .limit(cluster.workers());
            for x in 0..50u64 {
                map.call_fn(square, x).map_err(|e| e.to_string())?;
            }
            let got = map.into_vec().map_err(|e| e.to_string())?;
            if got == (0..50).map(|x| x * x).collect::<Vec<_>>() {
                Ok(())
            } else {
                Err(format!("{got:?}"))
            }
        })(),
    );

    check(
        "a Map whose limit exceeds the ranks waits for free ranks",
        (|| {
            let mut map = Map::<u64>::with_builder(cluster.builder())
                .map_err(|e| e.to_string())?
                .limit(cluster.workers() * 4);
            for x in 0..40u64 {
                map.call_fn(square, x).map_err(|e| e.to_string())?;
            }
            let got = map.into_vec().map_err(|e| e.to_string())?;
            if got == (0..40).map(|x| x * x).collect::<Vec<_>>() {
                Ok(())
            } else {
                Err(format!("{got:?}"))
            }
        })(),
    );

    check(
        "Queue with manage_fn and reuse spreads calls over the ranks",
        (|| {
            let mut queue = Queue::<(u32, u32, u32)>::with_builder(cluster.builder())
                .map_err(|e| e.to_string())?
                .limit(cluster.workers())
                .reuse(true);
            let calc = queue.manage_fn(pair_product);
            for i in 0..30 {
                calc.call(&mut queue, (i, 10)).map_err(|e| e.to_string())?;
            }
            let got: Vec<(u32, u32, u32)> = queue
                .collect::<Result<_, _>>()
                .map_err(|e: Error| e.to_string())?;
            let mut products: Vec<(u32, u32)> = got.iter().map(|&(i, p, _)| (i, p)).collect();
            products.sort_unstable();
            let pids: BTreeSet<u32> = got.iter().map(|&(_, _, pid)| pid).collect();
            let wanted = cluster.workers().min(2);
            if products != (0..30).map(|i| (i, i * 10)).collect::<Vec<_>>() {
                Err(format!("{products:?}"))
            } else if pids.len() < wanted {
                Err(format!("{} distinct ranks, wanted {wanted}", pids.len()))
            } else {
                Ok(())
            }
        })(),
    );

    check(
        "pmap_fn over the builder, five times in a row",
        (|| {
            for round in 0..5u64 {
                let got = pmap_fn(
                    &cluster.builder(),
                    square,
                    round..round + 300,
                    cluster.workers(),
                )
                .map_err(|e| e.to_string())?;
                if got != (round..round + 300).map(|x| x * x).collect::<Vec<_>>() {
                    return Err(format!("round {round}: wrong results"));
                }
            }
            Ok(())
        })(),
    );

    check(
        "a pmap right after one that failed early waits for the busy ranks",
        (|| {
            let failed = cluster.pmap(slow_unless_zero, 0..(cluster.workers() as u64 * 2));
            match failed {
                Err(Error::Remote { message, kind, .. })
                    if message == "item 0 panicked: item zero fails at once"
                        && kind == pprocess_core::RemoteKind::Panic => {}
                other => return Err(format!("first pmap: {other:?}")),
            }
            let got = cluster
                .pmap(square, 0..100u64)
                .map_err(|e| format!("second pmap: {e}"))?;
            if got == (0..100).map(|x| x * x).collect::<Vec<_>>() {
                Ok(())
            } else {
                Err("second pmap: wrong results".into())
            }
        })(),
    );

    check(
        "a channel from start_fn answers each call, then ends",
        (|| {
            let mut ch = cluster
                .builder()
                .start_fn(RemoteFn::new(square))
                .map_err(|e| e.to_string())?;
            for x in [3u64, 4, 5] {
                ch.send(&x).map_err(|e| e.to_string())?;
            }
            let mut got = Vec::new();
            for _ in 0..3 {
                got.push(
                    ch.receive_timeout::<u64>(Duration::from_secs(30))
                        .map_err(|e| e.to_string())?,
                );
            }
            ch.send_end().map_err(|e| e.to_string())?;
            match ch.receive_timeout::<u64>(Duration::from_secs(30)) {
                Err(Error::Closed) if got == [9, 16, 25] => Ok(()),
                other => Err(format!("{got:?}, then {other:?}")),
            }
        })(),
    );

    check(
        "over shared memory, messages larger than the ring cross both ways, in order; \
         no descriptor or mapping is left",
        (|| {
            let before = (open_fds(), shm_mappings());
            let builder = cluster
                .builder()
                .transport(pprocess_exchange::TransportKind::SharedMemory)
                .socket_buffer_size(64 << 10);
            let mut ch = builder
                .start_fn(RemoteFn::new(reverse))
                .map_err(|e| e.to_string())?;
            let big: Vec<u8> = (0..300_000u32).map(|i| (i % 100) as u8).collect();
            let sent = [vec![1u8, 2, 3], big, Vec::new()];
            for v in &sent {
                ch.send(v).map_err(|e| e.to_string())?;
            }
            for v in &sent {
                let back: Vec<u8> = ch
                    .receive_timeout(Duration::from_secs(30))
                    .map_err(|e| e.to_string())?;
                if !back.iter().rev().eq(v.iter()) {
                    return Err(format!("a reply of {} bytes is wrong", back.len()));
                }
            }
            let mut map = Map::<u64>::with_builder(builder)
                .map_err(|e| e.to_string())?
                .limit(cluster.workers());
            for x in 0..30u64 {
                map.call_fn(square, x).map_err(|e| e.to_string())?;
            }
            let got = map.into_vec().map_err(|e| e.to_string())?;
            if got != (0..30).map(|x| x * x).collect::<Vec<_>>() {
                return Err(format!("{got:?}"));
            }
            drop(ch);
            // The bridge lets its ends go once it has seen the callers'
            // go: wait for that, within a deadline.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                let now = (open_fds(), shm_mappings());
                if now == before {
                    return Ok(());
                }
                if std::time::Instant::now() > deadline {
                    return Err(format!(
                        "(descriptors, shared mappings) {before:?} before, {now:?} after"
                    ));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })(),
    );

    check(
        "with every rank held, start_fn is EAGAIN; a rank let go is given again",
        (|| {
            if expected_ranks < 2 {
                // Rank 0 works alone, for any number of workers.
                return Ok(());
            }
            let builder = cluster.builder();
            let mut held = Vec::new();
            for _ in 0..cluster.workers() {
                held.push(
                    builder
                        .start_fn(RemoteFn::new(square))
                        .map_err(|e| e.to_string())?,
                );
            }
            match builder.start_fn(RemoteFn::new(square)) {
                Err(e) if pprocess_exchange::is_temporary(&e) => {}
                Err(e) => return Err(format!("not EAGAIN: {e}")),
                Ok(_) => return Err("a rank was given twice".into()),
            }
            drop(held);
            let mut ch = builder
                .start_fn(RemoteFn::new(square))
                .map_err(|e| e.to_string())?;
            ch.send(&12u64).map_err(|e| e.to_string())?;
            match ch.receive_timeout::<u64>(Duration::from_secs(30)) {
                Ok(144) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })(),
    );

    if std::env::var_os("PPROCESS_MPI_DIE_AT").is_some() {
        // A rank dies mid-run: the launcher ends the job (this line is not
        // reached, or its error is reported).
        match cluster.pmap(die_at, 0..1000u64) {
            Ok(_) => check("a dying rank is reported", Err("pmap succeeded".into())),
            Err(e) => check("a dying rank is reported", Err(format!("error: {e}"))),
        }
    }

    drop(cluster);
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
