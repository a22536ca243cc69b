//! Exchange modes: `reuse` (workers take the next arguments) and
//! `continuous` (children send many messages).

mod util;

use std::collections::{BTreeMap, BTreeSet};

use pprocess_exchange::{Channel, Error, Exchange, ExitStatus, Map, Pid, Queue};

type TestResult = Result<(), Error>;

/// 1,000 managed calls with `reuse` and `limit = 4` run on exactly 4
/// processes, and every input is computed exactly once.
#[test]
fn reuse_runs_1000_calls_on_limit_processes_each_input_once() -> TestResult {
    const LIMIT: usize = 4;
    const CALLS: u64 = 1000;
    let mut ex = Exchange::<(u64, u64, Pid)>::new()?.limit(LIMIT).reuse(true);
    let calc = ex.manage_reusable(|x: u64| (x, x * 3 + 1, util::me()));
    for x in 0..CALLS {
        let index = calc.call(&mut ex, x)?;
        assert_eq!(u64::try_from(index.index()), Ok(x));
    }
    assert!(ex.active() <= LIMIT);
    ex.finish()?;
    let mut inputs = BTreeSet::new();
    let mut workers = BTreeSet::new();
    while let Some(m) = ex.handler_mut().pop() {
        let (x, y, pid) = m.result?;
        assert_eq!(
            u64::try_from(m.index),
            Ok(x),
            "result filed under its call's index"
        );
        assert_eq!(y, x * 3 + 1);
        assert_eq!(m.pid, Some(pid));
        assert!(inputs.insert(x), "input {x} computed twice");
        workers.insert(pid);
    }
    assert_eq!(inputs, (0..CALLS).collect());
    assert_eq!(workers.len(), LIMIT, "workers: {workers:?}");
    assert!(!workers.contains(&util::me()));
    for pid in workers {
        util::assert_reaped(pid);
    }
    Ok(())
}

/// With reuse, a Map still returns results in call order.
#[test]
fn reuse_map_matches_sequential_map() -> TestResult {
    let mut map = Map::<u64>::new()?.limit(3).reuse(true);
    let f = map.manage_reusable(|x: u64| x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7);
    for x in 0..300u64 {
        f.call(&mut map, x)?;
    }
    let want: Vec<u64> = (0..300u64)
        .map(|x| x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7)
        .collect();
    assert_eq!(map.into_vec()?, want);
    Ok(())
}

/// A reused worker whose call panics is gone: the panic is that call's
/// error, and the calls after it still run (on another worker), instead of
/// being fed to the dead one.
#[test]
fn reuse_panicking_call_fails_alone() -> TestResult {
    let mut map = Map::<u64>::new()?.limit(1).reuse(true);
    let f = map.manage_reusable(|x: u64| {
        if x == 2 {
            panic!("call {x} panicked");
        }
        x * 10
    });
    for x in 0..6u64 {
        f.call(&mut map, x)?;
    }
    let results: Vec<_> = map.by_ref().collect();
    map.finish()?;
    for (x, r) in results.into_iter().enumerate() {
        match r {
            Ok(v) => {
                assert_ne!(x, 2);
                assert_eq!(v, x as u64 * 10);
            }
            Err(Error::Remote { message, .. }) => {
                assert_eq!(x, 2, "call {x}: {message}");
                assert_eq!(message, "call 2 panicked");
            }
            Err(e) => panic!("call {x}: {e}"),
        }
    }
    Ok(())
}

/// Continuous mode: every message of every child arrives, each child's in
/// the order it sent them.
#[test]
fn continuous_delivers_every_message_of_every_child() -> TestResult {
    const CHILDREN: usize = 20;
    const MESSAGES: u32 = 100;
    let mut queue = Queue::<(usize, u32)>::new()?.continuous(true).limit(8);
    for c in 0..CHILDREN {
        queue.start(move |ch: &mut Channel| {
            for k in 0..MESSAGES {
                ch.send(&(c, k))?;
            }
            Ok::<(), Error>(())
        })?;
    }
    let mut got: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    while let Some(m) = queue.next_message()? {
        let (c, k) = m.result?;
        assert_eq!(m.index, c);
        got.entry(c).or_default().push(k);
    }
    assert_eq!(got.len(), CHILDREN);
    for (c, ks) in got {
        assert_eq!(ks, (0..MESSAGES).collect::<Vec<_>>(), "child {c}");
    }
    Ok(())
}

/// A function plus arguments and its pid, for the `call_fn` tests: the
/// value tells which function ran.
fn triple_with_pid(x: u64) -> (u64, u64, Pid) {
    (x, x * 3, util::me())
}

fn square_with_pid(x: u64) -> (u64, u64, Pid) {
    (x, x * x, util::me())
}

/// `call_fn` with `reuse` (pprocess's `start` of a reusable callable on a
/// reusing exchange) runs many calls on `limit` processes, through an
/// `Exchange`, a `Map` and a `Queue` alike.
#[test]
fn reused_call_fn_runs_many_calls_on_limit_processes() -> TestResult {
    const LIMIT: usize = 3;
    const CALLS: u64 = 120;
    let check = |results: Vec<(u64, u64, Pid)>, through: &str| {
        let mut inputs: Vec<u64> = results.iter().map(|r| r.0).collect();
        inputs.sort_unstable();
        assert_eq!(inputs, (0..CALLS).collect::<Vec<_>>(), "{through}");
        assert!(results.iter().all(|r| r.1 == r.0 * 3), "{through}");
        let pids: BTreeSet<Pid> = results.iter().map(|r| r.2).collect();
        assert_eq!(pids.len(), LIMIT, "{through}: {pids:?}");
        assert!(!pids.contains(&util::me()));
        for pid in pids {
            util::assert_reaped(pid);
        }
    };

    let mut ex = Exchange::<(u64, u64, Pid)>::new()?.limit(LIMIT).reuse(true);
    for x in 0..CALLS {
        ex.call_fn(triple_with_pid, x)?;
    }
    ex.finish()?;
    let mut results = Vec::new();
    while let Some(m) = ex.handler_mut().pop() {
        results.push(m.result?);
    }
    check(results, "exchange");

    let mut map = Map::<(u64, u64, Pid)>::new()?.limit(LIMIT).reuse(true);
    for x in 0..CALLS {
        map.call_fn(triple_with_pid, x)?;
    }
    let results = map.into_vec()?;
    assert!(
        results.iter().enumerate().all(|(i, r)| r.0 == i as u64),
        "map keeps call order"
    );
    check(results, "map");

    let mut queue = Queue::<(u64, u64, Pid)>::new()?.limit(LIMIT).reuse(true);
    for x in 0..CALLS {
        queue.call_fn(triple_with_pid, x)?;
    }
    check(queue.collect::<Result<_, _>>()?, "queue");
    Ok(())
}

/// Two functions on one reusing exchange: every call runs its own function
/// (a worker of one never gets the other's arguments), and each worker
/// serves one function only.
#[test]
fn reused_workers_never_run_another_functions_calls() -> TestResult {
    let mut map = Map::<(u64, u64, Pid)>::new()?.limit(2).reuse(true);
    let square = map.manage_fn(square_with_pid);
    let closure = map.manage_reusable(|x: u64| (x, x + 1000, util::me()));
    for x in 0..60u64 {
        match x % 3 {
            0 => square.call(&mut map, x)?,
            1 => map.call_fn(triple_with_pid, x)?,
            _ => closure.call(&mut map, x)?,
        };
    }
    let results = map.into_vec()?;
    let mut served: BTreeMap<Pid, BTreeSet<u64>> = BTreeMap::new();
    for (i, (x, y, pid)) in results.into_iter().enumerate() {
        assert_eq!(x, i as u64);
        let (kind, want) = match x % 3 {
            0 => (0, x * x),
            1 => (1, x * 3),
            _ => (2, x + 1000),
        };
        assert_eq!(y, want, "call {x} ran the wrong function");
        served.entry(pid).or_default().insert(kind);
    }
    for (pid, kinds) in &served {
        assert_eq!(kinds.len(), 1, "worker {pid} ran calls of {kinds:?}");
        util::assert_reaped(*pid);
    }
    Ok(())
}

/// A reused worker is sent its next call while it computes the current
/// one, so it never idles for a round trip: with one worker blocked in
/// call 1, call 2 has already left the queue (only calls 3 and 4 wait).
#[test]
fn a_reused_worker_gets_its_next_call_before_it_answers() -> TestResult {
    let relay = util::Relay::new(1);
    let gate = relay.clone();
    let mut ex = Exchange::<(u64, Pid)>::new()?.limit(1).reuse(true);
    let f = ex.manage_reusable(move |x: u64| {
        if x == 1 {
            assert!(gate.wait(0), "the test never let call 1 go on");
        }
        (x * 2, util::me())
    });
    for x in 0..5u64 {
        f.call(&mut ex, x)?;
    }
    assert_eq!(ex.waiting(), 4);
    // The result of call 0; the worker now waits inside call 1.
    assert_eq!(ex.store(None)?, 1);
    assert_eq!(ex.waiting(), 2, "call 2 was not sent ahead");
    relay.pass(0);
    ex.finish()?;
    let mut results = BTreeMap::new();
    while let Some(m) = ex.handler_mut().pop() {
        results.insert(m.index, m.result?);
    }
    let pids: BTreeSet<Pid> = results.values().map(|&(_, pid)| pid).collect();
    assert_eq!(
        results
            .into_iter()
            .map(|(i, (y, _))| (i, y))
            .collect::<Vec<_>>(),
        (0..5).map(|i| (i, i as u64 * 2)).collect::<Vec<_>>()
    );
    assert_eq!(pids.len(), 1, "one worker: {pids:?}");
    Ok(())
}

fn ten_times_or_die(x: u64) -> u64 {
    if x == 3 {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    x * 10
}

/// A reused worker killed in call 3 had call 4 already: call 3 is its
/// death, call 4 goes back to the queue and runs on a new worker, and no
/// call is lost or run twice; for closures and for remote functions.
#[test]
fn a_killed_reused_worker_gives_back_the_call_sent_ahead() -> TestResult {
    let killed = ExitStatus::Signaled(nix::sys::signal::Signal::SIGKILL as i32);
    for remote in [false, true] {
        let mut map = Map::<u64>::new()?.limit(1).reuse(true);
        if remote {
            let f = map.manage_fn(ten_times_or_die);
            for x in 0..8u64 {
                f.call(&mut map, x)?;
            }
        } else {
            let f = map.manage_reusable(ten_times_or_die);
            for x in 0..8u64 {
                f.call(&mut map, x)?;
            }
        }
        let results: Vec<_> = map.by_ref().collect();
        map.finish()?;
        assert_eq!(results.len(), 8, "remote {remote}");
        for (x, r) in results.into_iter().enumerate() {
            match r {
                Ok(v) => assert_eq!(v, x as u64 * 10, "remote {remote}"),
                Err(Error::ChildDied { status, .. }) => {
                    assert_eq!((x, status), (3, killed), "remote {remote}");
                }
                Err(e) => panic!("remote {remote}, call {x}: {e}"),
            }
        }
    }
    Ok(())
}

/// Arguments that cannot be encoded (odd ones, here) for a live worker.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
struct EvenOnly(u64);

impl serde::Serialize for EvenOnly {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 2 == 1 {
            return Err(serde::ser::Error::custom("odd"));
        }
        s.serialize_u64(self.0)
    }
}

/// A call whose arguments cannot be sent to a live worker is that call's
/// `Encode` error; the worker goes on with the others.
#[test]
fn arguments_that_cannot_be_encoded_fail_their_call_alone() -> TestResult {
    let mut map = Map::<(u64, Pid)>::new()?.limit(1).reuse(true);
    let f = map.manage_reusable(|x: EvenOnly| (x.0 * 10, util::me()));
    for x in 0..6u64 {
        f.call(&mut map, EvenOnly(x))?;
    }
    let results: Vec<_> = map.by_ref().collect();
    map.finish()?;
    let mut pids = BTreeSet::new();
    for (x, r) in results.into_iter().enumerate() {
        match r {
            Ok((v, pid)) => {
                assert_eq!(x % 2, 0, "call {x} was sent");
                assert_eq!(v, x as u64 * 10);
                pids.insert(pid);
            }
            Err(Error::Encode { message, .. }) => {
                assert_eq!(x % 2, 1, "call {x}: {message}");
                assert!(message.contains("odd"), "{message}");
            }
            Err(e) => panic!("call {x}: {e}"),
        }
    }
    assert_eq!(pids.len(), 1, "one worker for all: {pids:?}");
    Ok(())
}
