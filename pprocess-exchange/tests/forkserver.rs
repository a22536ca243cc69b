//! Map, Queue, managed functions and pmap over a fork server, in a
//! program whose threads hold their own locks most of the time.
//!
//! `ForkServer::start` needs a process with one thread; each test runs its
//! body in a child forked from the harness (one thread, like a program at
//! the top of `main`), bounded by a timeout that kills it and fails.

mod util;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pprocess_exchange::{
    Builder, Error, ExitStatus, ForkServer, Map, MessagePack, Pid, Queue, pmap_fn, start,
    thread_count,
};

/// Runs `body` in a forked, single-threaded child; fails the test if it
/// fails, panics, or takes more than `timeout` (the child is then killed).
fn in_clean_process(timeout: Duration, body: fn() -> Result<(), String>) {
    let mut ch = start(move |ch| ch.send(&body())).expect("fork the clean process");
    match ch.receive_timeout::<Result<(), String>>(timeout) {
        Ok(Ok(())) => {}
        Ok(Err(message)) => panic!("{message}"),
        Err(e) => {
            let _ = ch.kill();
            let _ = ch.wait();
            panic!("the clean process failed or hung: {e}");
        }
    }
    assert_eq!(ch.close().expect("reap"), Some(ExitStatus::Exited(0)));
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what()) }
}

fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

static LOCKS: [Mutex<u64>; 8] = [const { Mutex::new(0) }; 8];
static STOP: AtomicBool = AtomicBool::new(false);

/// Eight threads, each holding its own lock most of the time (working, and
/// waiting, with it held). Stopped and joined when dropped.
struct BusyThreads(Vec<std::thread::JoinHandle<()>>);

fn busy_threads() -> BusyThreads {
    STOP.store(false, Ordering::Relaxed);
    BusyThreads(
        (0..LOCKS.len())
            .map(|t| {
                std::thread::spawn(move || {
                    while !STOP.load(Ordering::Relaxed) {
                        let mut g = LOCKS[t]
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        *g = g.wrapping_add(1);
                        std::thread::sleep(Duration::from_millis(2));
                        drop(g);
                    }
                })
            })
            .collect(),
    )
}

impl Drop for BusyThreads {
    fn drop(&mut self) {
        STOP.store(true, Ordering::Relaxed);
        for t in self.0.drain(..) {
            let _ = t.join();
        }
    }
}

/// Takes every busy thread's lock: it would hang in a child forked from
/// the busy program itself.
fn through_all_locks(x: u64) -> u64 {
    for lock in &LOCKS {
        drop(
            lock.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }
    x * 3
}

fn with_pid(x: u64) -> (u64, u32) {
    (through_all_locks(x), std::process::id())
}

fn odd_panics(x: u64) -> u64 {
    assert!(x % 2 == 0, "{x} is odd");
    x
}

fn killed_on_seven(x: u64) -> u64 {
    if x == 7 {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    x
}

/// `Ok` if the server is this process's only child (every worker reaped).
fn only_the_server_is_left(server: &ForkServer) -> Result<(), String> {
    let left: Vec<_> = util::my_children()
        .into_iter()
        .filter(|p| p.pid != server.pid())
        .collect();
    check(left.is_empty(), || format!("{left:?}"))
}

#[test]
fn map_of_thousand_calls_through_the_server_beside_busy_threads() {
    in_clean_process(Duration::from_secs(110), || {
        let server = ForkServer::start().map_err(text)?;
        let busy = busy_threads();
        check(thread_count() == Some(9), || {
            format!("{:?}", thread_count())
        })?;
        let mut map = Map::<u64>::with_builder(server.builder())
            .map_err(text)?
            .limit(4);
        for i in 0..1000u64 {
            map.call_fn(through_all_locks, i).map_err(text)?;
        }
        let got: Vec<u64> = map.collect::<Result<_, _>>().map_err(text)?;
        drop(busy);
        check(got == (0..1000).map(|i| i * 3).collect::<Vec<_>>(), || {
            "results out of order or wrong".into()
        })?;
        check(util::my_zombies().is_empty(), || {
            format!("{:?}", util::my_zombies())
        })
    });
}

#[test]
fn managed_function_with_reuse_runs_on_limit_workers_of_the_server() {
    in_clean_process(Duration::from_secs(60), || {
        let server = ForkServer::start().map_err(text)?;
        let busy = busy_threads();
        let mut queue = Queue::<(u64, u32)>::with_builder(server.builder())
            .map_err(text)?
            .limit(3)
            .reuse(true);
        let calc = queue.manage_fn(with_pid);
        for i in 0..60u64 {
            calc.call(&mut queue, i).map_err(text)?;
        }
        let mut values = Vec::new();
        let mut pids = BTreeSet::new();
        while let Some(m) = queue.next_message().map_err(text)? {
            let (v, pid) = m.result.map_err(text)?;
            check(m.pid == Pid::try_from(pid).ok(), || {
                format!("{:?} vs {pid}", m.pid)
            })?;
            values.push(v);
            pids.insert(pid);
        }
        drop(busy);
        values.sort_unstable();
        check(values == (0..60).map(|i| i * 3).collect::<Vec<_>>(), || {
            format!("{values:?}")
        })?;
        check(pids.len() <= 3 && !pids.is_empty(), || {
            format!("{} distinct workers for limit 3", pids.len())
        })?;
        // Every worker was the program's own child, and is reaped.
        only_the_server_is_left(&server)
    });
}

#[test]
fn pmap_fn_through_the_server_keeps_input_order_beside_busy_threads() {
    in_clean_process(Duration::from_secs(60), || {
        let server = ForkServer::start().map_err(text)?;
        let busy = busy_threads();
        let got = pmap_fn(&server.builder(), through_all_locks, 0..2000u64, 3).map_err(text)?;
        drop(busy);
        check(got == (0..2000).map(|i| i * 3).collect::<Vec<_>>(), || {
            "pmap_fn results out of order or wrong".into()
        })?;
        only_the_server_is_left(&server)
    });
}

#[test]
fn pmap_fn_reports_the_first_failing_item() {
    let builder = Builder::<MessagePack>::new();
    let err = pmap_fn(&builder, odd_panics, [0u64, 2, 4, 5, 6, 7], 2).unwrap_err();
    match err {
        Error::Remote { message, .. } => assert_eq!(message, "item 3 panicked: 5 is odd"),
        other => panic!("{other:?}"),
    }
    let empty: Vec<u64> = pmap_fn(&builder, odd_panics, Vec::new(), None).unwrap();
    assert!(empty.is_empty());
}

#[test]
fn a_killed_worker_of_the_server_is_child_died_with_its_signal() {
    in_clean_process(Duration::from_secs(60), || {
        let server = ForkServer::start().map_err(text)?;
        let mut map = Map::<u64>::with_builder(server.builder())
            .map_err(text)?
            .limit(2);
        for i in 5..10u64 {
            map.call_fn(killed_on_seven, i).map_err(text)?;
        }
        let got: Vec<Result<u64, Error>> = map.collect();
        for (i, r) in (5..10u64).zip(&got) {
            match (i, r) {
                (
                    7,
                    Err(Error::ChildDied {
                        status: ExitStatus::Signaled(9),
                        ..
                    }),
                ) => {}
                (7, other) => return Err(format!("item 7: {other:?}")),
                (i, Ok(v)) if *v == i => {}
                (i, other) => return Err(format!("item {i}: {other:?}")),
            }
        }
        Ok(())
    });
}

#[test]
fn without_a_server_the_same_calls_fork_this_process() {
    let mut map = Map::<u64>::new().unwrap().limit(2);
    for i in 0..10u64 {
        map.call_fn(odd_panics, i * 2).unwrap();
    }
    assert_eq!(
        map.into_vec().unwrap(),
        (0..10).map(|i| i * 2).collect::<Vec<_>>()
    );
    let mut queue = Queue::<u64>::new().unwrap().limit(2).reuse(true);
    let m = queue.manage_fn(odd_panics);
    for i in [2u64, 4, 6] {
        m.call(&mut queue, i).unwrap();
    }
    let mut got: Vec<u64> = queue.collect::<Result<_, _>>().unwrap();
    got.sort_unstable();
    assert_eq!(got, [2, 4, 6]);
}
