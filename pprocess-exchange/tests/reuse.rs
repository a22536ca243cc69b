//! Exchange modes: `reuse` (workers take the next arguments) and
//! `continuous` (children send many messages).

mod util;

use std::collections::{BTreeMap, BTreeSet};

use pprocess_exchange::{Channel, Error, Exchange, Map, Pid, Queue};

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
