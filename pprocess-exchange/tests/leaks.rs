//! After an exchange finishes and is dropped, no child of this process is
//! left (running or zombie) and no descriptor it made is still open.
//!
//! One `#[test]` in its own binary: the counts are of the whole process,
//! which other tests' children and channels would disturb.

mod util;

use std::collections::BTreeSet;
use std::time::Duration;

use nix::sys::signal::{Signal, raise};
use pprocess_exchange::{
    Channel, Error, Exchange, Map, Pid, Queue, pmap, pmap_iter, start, waitall,
};

type TestResult = Result<(), Error>;

/// Runs `scenario`, then checks that it left no child and no descriptor.
fn leaves_nothing(name: &str, scenario: impl FnOnce() -> TestResult) -> TestResult {
    let fds_before = util::fds();
    assert!(util::my_children().is_empty(), "{name}: children before");
    scenario()?;
    let children = util::my_children();
    assert!(children.is_empty(), "{name}: children left: {children:?}");
    assert_eq!(util::fds(), fds_before, "{name}: descriptors differ");
    Ok(())
}

#[test]
fn finished_exchanges_leave_no_zombie_and_no_descriptor() -> TestResult {
    let fd_count = util::fd_count();

    leaves_nothing("exchange with failures", || {
        let mut ex = Exchange::<u64>::new()?.limit(4);
        for i in 0..20u64 {
            ex.start(move |ch: &mut Channel| {
                match i {
                    5 => panic!("item {i}"),
                    9 => {
                        let _ = raise(Signal::SIGKILL);
                    }
                    13 => return Err(Error::Protocol("no".into())),
                    _ => {}
                }
                ch.send(&i)
            })?;
        }
        ex.finish()?;
        assert_eq!(ex.handler().len(), 20);
        Ok(())
    })?;

    leaves_nothing("continuous queue", || {
        let mut queue = Queue::<u32>::new()?.continuous(true).limit(3);
        for _ in 0..6 {
            queue.start(|ch: &mut Channel| (0..50u32).try_for_each(|k| ch.send(&k)))?;
        }
        assert_eq!(queue.by_ref().collect::<Result<Vec<_>, _>>()?.len(), 300);
        Ok(())
    })?;

    leaves_nothing("map with reuse, finished", || {
        let mut map = Map::<u64>::new()?.limit(3).reuse(true);
        let f = map.manage_reusable(|x: u64| x + 1);
        for x in 0..100 {
            f.call(&mut map, x)?;
        }
        let got: Vec<u64> = map.by_ref().collect::<Result<_, _>>()?;
        map.finish()?;
        assert_eq!(got, (1..=100).collect::<Vec<_>>());
        Ok(())
    })?;

    leaves_nothing("map with a panic, finished", || {
        let mut map = Map::<u64>::new()?.limit(2);
        for x in 0..8u64 {
            map.call(move || if x == 3 { panic!("three") } else { x })?;
        }
        let errors = map.by_ref().filter(Result::is_err).count();
        map.finish()?;
        assert_eq!(errors, 1);
        Ok(())
    })?;

    leaves_nothing("pmap", || {
        let items: Vec<u64> = (0..20_000).collect();
        assert_eq!(pmap(|x: &u64| x * 2, &items, 3)?.len(), items.len());
        let failed = pmap(
            |x: &u64| if *x == 777 { panic!("777") } else { *x },
            &items,
            3,
        );
        assert!(matches!(failed, Err(Error::Remote { .. })), "{failed:?}");
        let mut it = pmap_iter(|x: &u64| x + 1, &items, 2)?;
        assert_eq!(it.next().expect("one")?, 1);
        drop(it);
        Ok(())
    })?;

    leaves_nothing("ready, add and remove", || {
        let mut ex = Exchange::<u64>::new()?;
        let id = ex.add(start(|ch| {
            ch.send(&5u64)?;
            ch.receive::<()>()
        })?)?;
        let mut ready = Vec::new();
        while ready.is_empty() {
            ready = ex.ready(Some(util::PATIENCE))?;
        }
        assert_eq!(ready, [id]);
        let mut ch = ex.remove(id).expect("registered");
        assert_eq!(ch.receive::<u64>()?, 5);
        ch.send(&())?;
        ch.close()?;
        Ok(())
    })?;

    leaves_nothing("exchange dropped unfinished, then waitall", || {
        let mut ex = Exchange::<u64>::new()?;
        for _ in 0..3 {
            // Each child waits for a message that never comes; dropping the
            // exchange closes its channel and it ends.
            ex.start(|ch: &mut Channel| ch.receive::<()>())?;
        }
        assert!(ex.ready(Some(Duration::ZERO))?.is_empty());
        let ids: Vec<_> = ex.channels().collect();
        let started: BTreeSet<Pid> = ids
            .into_iter()
            .filter_map(|id| ex.channel_mut(id)?.pid())
            .collect();
        assert_eq!(started.len(), 3);
        drop(ex);
        // Children that ended while their handles were dropped are reaped
        // then; waitall reaps the rest (checked by `leaves_nothing`).
        for (pid, _) in waitall()? {
            assert!(started.contains(&pid), "waitall reaped a stranger {pid}");
        }
        Ok(())
    })?;

    assert_eq!(util::fd_count(), fd_count);
    Ok(())
}
