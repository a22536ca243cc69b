//! What the library survives: one test per fault, through the public API
//! and real processes (SIGKILL, descriptor limits, a threaded parent, a
//! killed parent watched from a subreaper, large frames both ways).
//!
//! Each test names the fault and what the caller gets. The list of
//! guarantees in docs/architecture.md ("Guarantees") points here. CI runs
//! this file 20 times in a row (`.ci/stress`): flaky is failing.

mod util;

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::signal::{Signal, kill, raise};
use pprocess_exchange::{
    Builder, Channel, Error, Exchange, ExitStatus, Fork, Map, Pid, create, exit, pmap, start,
    waitall_timeout,
};
use util::PATIENCE;

type TestResult = Result<(), Error>;

const KILLED: ExitStatus = ExitStatus::Signaled(Signal::SIGKILL as i32);

/// Runs `body` in a forked child and returns what it sends back: for
/// tests that change process-wide state (limits, subreaper) and must not
/// touch the test process.
fn in_child<T, F>(body: F) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned,
    F: FnOnce() -> T,
{
    match create().expect("fork") {
        Fork::Child(mut ch) => {
            let out = body();
            let _ = ch.send(&out);
            exit(ch);
        }
        Fork::Parent(mut ch) => {
            let out = ch.receive_timeout(PATIENCE * 3).expect("child's report");
            assert!(ch.close().expect("reap").expect("status").success());
            out
        }
    }
}

/// pmap with as many workers as items: every worker gets an item (none is
/// left idle), and repeated runs never fail (a worker given no range used
/// to be told to stop twice, a write to a process that had gone).
#[test]
fn pmap_small_input_uses_every_worker_and_never_fails() -> TestResult {
    for round in 0..100 {
        let got = pmap(|x: &u32| (*x, util::me()), 0..10u32, 10)?;
        assert!(got.iter().map(|r| r.0).eq(0..10), "round {round}");
        let pids: BTreeSet<Pid> = got.iter().map(|r| r.1).collect();
        assert_eq!(pids.len(), 10, "round {round}: {pids:?}");
    }
    Ok(())
}

/// A worker killed right after it answered, or while it computes, is the
/// worker's death for the item it held, never `BrokenPipe`.
#[test]
fn pmap_worker_killed_is_child_died() {
    for round in 0..20 {
        let f = |x: &u32| {
            if *x == 7 {
                let _ = raise(Signal::SIGKILL);
            }
            *x
        };
        match pmap(f, 0..40u32, 4) {
            Err(Error::ChildDied { status, .. }) => assert_eq!(status, KILLED, "round {round}"),
            other => panic!("round {round}: {other:?}"),
        }
    }
}

/// pmap whose workers cannot all be made (the descriptor limit allows a
/// few channels) goes on with those it could make.
#[test]
fn pmap_goes_on_with_the_workers_it_could_start() {
    let (workers, ok) = in_child(|| {
        let open = util::fd_count() as u64;
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
        // The exchange's epoll, then one descriptor per worker (a
        // socketpair needs two while it is made).
        setrlimit(Resource::RLIMIT_NOFILE, open + 5, hard).expect("setrlimit");
        match pmap(|x: &u32| (*x, util::me()), 0..64u32, 8) {
            Ok(got) => {
                let pids: BTreeSet<Pid> = got.iter().map(|r| r.1).collect();
                let right = got.iter().map(|r| r.0).eq(0..64);
                (pids.len(), right)
            }
            Err(e) => panic!("{e}"),
        }
    });
    assert!(ok, "results out of order");
    assert!((1..8).contains(&workers), "{workers} workers");
}

/// The literal port of pprocess's indexer loop: `while active: for ch in
/// ready(): receive` ends once every child has hung up; it does not spin
/// on channels at end of file.
#[test]
fn ready_loop_ends_when_every_child_has_hung_up() -> TestResult {
    let mut ex = Exchange::<u32>::new()?;
    for i in 0..4u32 {
        ex.add(start(move |ch| {
            ch.send(&i)?;
            ch.send(&(i + 100))
        })?)?;
    }
    let mut got = Vec::new();
    let mut rounds = 0;
    while ex.active() > 0 {
        rounds += 1;
        assert!(rounds < 1_000, "ready() spins: {ex:?}");
        for id in ex.ready(Some(PATIENCE))? {
            let ch = ex.channel_mut(id).expect("registered");
            match ch.receive::<u32>() {
                Ok(v) => got.push(v),
                Err(e) => panic!("{e}"),
            }
        }
    }
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2, 3, 100, 101, 102, 103]);
    assert!(ex.handler_mut().is_empty(), "no child failed");
    Ok(())
}

/// `store(timeout)` with nothing to deliver waits the whole timeout, the
/// first call included.
#[test]
fn store_with_timeout_waits_for_the_timeout() -> TestResult {
    let mut ex = Exchange::<u32>::new()?;
    ex.start(|ch| ch.receive::<u32>().map(|_| ()))?;
    let t = Instant::now();
    assert_eq!(ex.store(Some(Duration::from_millis(200)))?, 0);
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    let id = ex.channels().next().expect("a channel");
    ex.channel_mut(id).expect("registered").send(&1u32)?;
    ex.finish()?;
    Ok(())
}

/// A child killed while data of the parent's sits unread in its socket
/// (Linux then reports `ECONNRESET`): its death through an exchange, and
/// `Closed` on a plain channel.
#[test]
fn child_killed_with_unread_input_is_child_died_or_closed() -> TestResult {
    let mut ch = start(|ch| {
        ch.send(&1u8)?;
        raise(Signal::SIGSTOP).ok();
        Ok::<(), Error>(())
    })?;
    assert_eq!(ch.receive::<u8>()?, 1);
    ch.send(&vec![0u8; 4096])?; // never read
    ch.kill()?;
    assert!(matches!(ch.receive::<u8>(), Err(Error::Closed)));
    assert_eq!(ch.close()?, Some(KILLED));

    let mut ex = Exchange::<u8>::new()?;
    ex.start(|ch| {
        raise(Signal::SIGSTOP).ok();
        ch.send(&1u8)
    })?;
    let id = ex.channels().next().expect("a channel");
    let pid = ex.channel_mut(id).and_then(|c| c.pid()).expect("pid");
    ex.channel_mut(id)
        .expect("registered")
        .send(&vec![0u8; 4096])?;
    kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL).ok();
    ex.finish()?;
    let m = ex.handler_mut().pop().expect("a message");
    assert!(
        matches!(m.result, Err(Error::ChildDied { status: KILLED, .. })),
        "{:?}",
        m.result
    );
    util::assert_reaped(pid);
    Ok(())
}

/// Children that sleep after sending are reaped by the time `into_vec`
/// returns (it waits for them to end, as pprocess's exchange does).
#[test]
fn map_into_vec_leaves_no_zombie() -> TestResult {
    let mut ex = Map::<Pid>::new()?;
    for _ in 0..3 {
        ex.start(|ch: &mut Channel| {
            ch.send(&util::me())?;
            std::thread::sleep(Duration::from_millis(300));
            Ok::<(), Error>(())
        })?;
    }
    let pids = ex.into_vec()?;
    for pid in pids {
        util::assert_reaped(pid);
    }
    Ok(())
}

/// An exchange dropped with children still at work kills and reaps them.
#[test]
fn dropped_exchange_reaps_its_children() -> TestResult {
    let mut ex = Exchange::<u8>::new()?;
    for _ in 0..3 {
        ex.start(|ch| ch.receive::<u8>().map(|_| ()))?;
    }
    let pids: Vec<Pid> = ex
        .channels()
        .collect::<Vec<_>>()
        .into_iter()
        .filter_map(|id| ex.channel_mut(id).and_then(|c| c.pid()))
        .collect();
    assert_eq!(pids.len(), 3);
    drop(ex);
    for pid in pids {
        util::assert_reaped(pid);
    }
    Ok(())
}

/// SIGKILL the parent of a Map of long-running children: the children
/// end too (they die with their parent), watched from a subreaper that
/// inherits them.
#[test]
fn children_end_when_their_parent_is_killed() {
    let ended: Vec<String> = in_child(|| {
        nix::sys::prctl::set_child_subreaper(true).expect("subreaper");
        let parent = match create().expect("fork") {
            Fork::Child(mut ch) => {
                let mut ex = Exchange::<Pid>::new().expect("exchange").continuous(true);
                for _ in 0..3 {
                    ex.start(|ch: &mut Channel| {
                        ch.send(&util::me())?;
                        std::thread::sleep(PATIENCE * 10);
                        Ok::<(), Error>(())
                    })
                    .expect("start");
                }
                let mut pids = Vec::new();
                while pids.len() < 3 {
                    ex.store(None).expect("store");
                    while let Some(m) = ex.handler_mut().pop() {
                        pids.push(m.result.expect("pid"));
                    }
                }
                let _ = ch.send(&pids);
                std::thread::sleep(PATIENCE * 10);
                exit(ch);
            }
            Fork::Parent(ch) => ch,
        };
        let mut parent = parent;
        let pids: Vec<Pid> = parent.receive_timeout(PATIENCE).expect("pids");
        parent.kill().expect("kill");
        assert_eq!(parent.wait().expect("wait"), Some(KILLED));
        // The orphans are ours now; each must end by itself.
        pids.iter()
            .map(
                |&pid| match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None) {
                    Ok(nix::sys::wait::WaitStatus::Signaled(_, sig, _)) => {
                        ExitStatus::Signaled(sig as i32).to_string()
                    }
                    other => format!("{other:?}"),
                },
            )
            .collect()
    });
    assert_eq!(ended, vec![KILLED.to_string(); 3]);
}

/// A parent whose other threads hold stdout's lock all the time: every
/// child can still print (the fork takes the lock first).
#[test]
fn children_of_a_threaded_parent_can_print() -> TestResult {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(b"");
                    let v: Vec<u64> = (0..64).collect();
                    std::hint::black_box(v);
                }
            })
        })
        .collect();
    let mut failures = 0;
    for _ in 0..100 {
        let mut ch = start(|ch| {
            let mut out = std::io::stdout().lock();
            let _ = out.flush();
            drop(out);
            ch.send(&1u8)
        })?;
        match ch.receive_timeout::<u8>(PATIENCE) {
            Ok(1) => {}
            _ => {
                failures += 1;
                ch.kill()?;
            }
        }
        ch.close()?;
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(failures, 0);
    Ok(())
}

/// Parent and child both send 16 MiB before they receive: neither blocks
/// for ever (a sender waiting for room reads meanwhile). The same through
/// an exchange's `channel_mut`.
#[test]
fn both_sides_sending_large_messages_do_not_deadlock() -> TestResult {
    const SIZE: usize = 16 << 20;
    let mut ch = start(|ch| {
        ch.send(&serde_bytes::ByteBuf::from(vec![1u8; SIZE]))?;
        let got: serde_bytes::ByteBuf = ch.receive()?;
        ch.send(&got.len())
    })?;
    ch.send(&serde_bytes::ByteBuf::from(vec![2u8; SIZE]))?;
    let got: serde_bytes::ByteBuf = ch.receive()?;
    assert_eq!(got.len(), SIZE);
    assert_eq!(ch.receive::<usize>()?, SIZE);
    assert!(ch.close()?.expect("status").success());

    let mut ex = Exchange::<serde_bytes::ByteBuf>::new()?.continuous(true);
    ex.start(|ch| {
        ch.send(&serde_bytes::ByteBuf::from(vec![3u8; SIZE]))?;
        let got: serde_bytes::ByteBuf = ch.receive()?;
        ch.send(&serde_bytes::ByteBuf::from(
            got.len().to_le_bytes().to_vec(),
        ))
    })?;
    let id = ex.channels().next().expect("a channel");
    ex.channel_mut(id)
        .expect("registered")
        .send(&serde_bytes::ByteBuf::from(vec![4u8; SIZE]))?;
    util::finish_within(&mut ex, PATIENCE)?;
    let first = ex.handler_mut().pop().expect("first").result?;
    assert_eq!(first.len(), SIZE);
    let second = ex.handler_mut().pop().expect("second").result?;
    assert_eq!(second.as_slice(), SIZE.to_le_bytes());
    Ok(())
}

/// Output only fed through `channel_mut` is written by the exchange.
#[test]
fn output_fed_through_channel_mut_is_flushed_by_the_exchange() -> TestResult {
    let mut ex = Exchange::<u32>::new()?;
    ex.start(|ch| {
        let n: u32 = ch.receive()?;
        ch.send(&(n + 1))
    })?;
    let id = ex.channels().next().expect("a channel");
    ex.channel_mut(id).expect("registered").feed(&41u32)?;
    util::finish_within(&mut ex, PATIENCE)?;
    assert_eq!(ex.handler_mut().pop().expect("result").result?, 42);
    Ok(())
}

/// Dropping a blocking channel whose peer reads nothing, with output
/// queued beyond what the socket holds, returns (after a bounded wait).
#[test]
fn drop_with_queued_output_and_a_silent_peer_returns() -> TestResult {
    let (mut a, b) = Builder::<pprocess_exchange::MessagePack>::new().channel_pair()?;
    a.set_nonblocking(true)?;
    for _ in 0..64 {
        a.feed(&serde_bytes::ByteBuf::from(vec![0u8; 32 << 10]))?;
    }
    a.try_flush()?;
    a.set_nonblocking(false)?;
    assert!(a.pending_output() > 0);
    let t = Instant::now();
    drop(a);
    assert!(t.elapsed() < PATIENCE, "{:?}", t.elapsed());
    drop(b);
    Ok(())
}

/// `waitall_timeout` gives up on a child that waits for its parent.
#[test]
fn waitall_timeout_gives_up_on_a_waiting_child() -> TestResult {
    let _serial = util::serial();
    let ch = start(|ch| ch.receive::<u8>().map(|_| ()))?;
    let pid = ch.pid().expect("pid");
    let t = Instant::now();
    let ended = waitall_timeout(Duration::from_millis(100))?;
    assert!(ended.iter().all(|&(p, _)| p != pid));
    assert!(t.elapsed() >= Duration::from_millis(100));
    // Closing the channel ends it (its receive fails: exit code 1); its
    // status is still its channel's.
    assert_eq!(ch.close()?, Some(ExitStatus::Exited(1)));
    util::assert_reaped(pid);
    Ok(())
}

/// With few descriptors (`RLIMIT_NOFILE`) and no limit on the map, the
/// work that cannot get a channel waits for one: every accepted call
/// gives its result, none fails for lack of a descriptor.
#[test]
fn running_out_of_descriptors_queues_work_instead_of_failing_it() {
    let results: Vec<Result<u32, String>> = in_child(|| {
        let open = util::fd_count() as u64;
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
        setrlimit(Resource::RLIMIT_NOFILE, open + 20, hard).expect("setrlimit");
        let mut map = Map::<u32>::new().expect("map");
        for i in 0..60u32 {
            map.call(move || {
                std::thread::sleep(Duration::from_millis(5));
                i
            })
            .expect("call");
        }
        map.map(|r| r.map_err(|e| e.to_string())).collect()
    });
    let want: Vec<Result<u32, String>> = (0..60).map(Ok).collect();
    assert_eq!(results, want);
}

/// A user id of this process's own, from its pid: no other process is
/// expected to run as it, not even this test run at the same time by
/// another process on the host (below 65536, which user namespaces map).
fn unprivileged_uid() -> u32 {
    30_000 + std::process::id() % 30_000
}

/// As an unprivileged user whose process limit (`RLIMIT_NPROC`) allows two
/// more processes: pmap goes on with the workers it could fork, and a Map
/// with no limit of its own queues what `fork` refuses (`EAGAIN`) until a
/// child ends. Skipped (passes trivially) when not run as root, which
/// cannot become another user.
#[test]
fn the_process_limit_of_an_unprivileged_user_queues_work() {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let (workers, results) = in_child(|| {
        // Not a shared user such as `nobody` (65534): the kernel counts a
        // user's processes across every container on the host that shares
        // its user namespace, and processes of the same user elsewhere
        // (another run of this test, or other containers' `nobody`, which
        // this `/proc` does not show) would come and go inside the limit.
        let uid = unprivileged_uid();
        let user = nix::unistd::Uid::from_raw(uid);
        nix::unistd::setgid(nix::unistd::Gid::from_raw(uid)).expect("setgid");
        nix::unistd::setuid(user).expect("setuid");
        let others = util::processes_of(user.as_raw()) as u64;
        setrlimit(Resource::RLIMIT_NPROC, others + 2, others + 2).expect("setrlimit");
        let got = pmap(|x: &u32| (*x, util::me()), 0..32u32, 8).expect("pmap");
        assert!(got.iter().map(|r| r.0).eq(0..32));
        let workers: BTreeSet<Pid> = got.iter().map(|r| r.1).collect();
        let mut map = Map::<u32>::new().expect("map");
        for i in 0..12u32 {
            map.call(move || i * 2).expect("call");
        }
        let results: Vec<Result<u32, String>> = map.map(|r| r.map_err(|e| e.to_string())).collect();
        (workers.len(), results)
    });
    assert!((1..=2).contains(&workers), "{workers} workers");
    let want: Vec<Result<u32, String>> = (0..12).map(|i| Ok(i * 2)).collect();
    assert_eq!(results, want);
}
