//! `pmap` and `pmap_iter`: the sequential map's results, in input order,
//! from at most `limit` workers.

mod util;

use std::collections::BTreeSet;
use std::os::fd::AsFd;

use pprocess_exchange::{Error, Pid, pmap, pmap_iter};

type TestResult = Result<(), Error>;

fn mix(x: &u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ x
}

#[test]
fn pmap_equals_sequential_map_on_100_000_items() -> TestResult {
    let items: Vec<u64> = (0..100_000).collect();
    let want: Vec<u64> = items.iter().map(mix).collect();
    assert_eq!(pmap(mix, &items, None)?, want);
    assert_eq!(pmap(mix, &items, 3)?, want);
    Ok(())
}

#[test]
fn pmap_on_zero_and_one_item() -> TestResult {
    let none: [u64; 0] = [];
    assert_eq!(pmap(mix, none, None)?, Vec::<u64>::new());
    assert_eq!(pmap(mix, none, 4)?, Vec::<u64>::new());
    assert_eq!(pmap(mix, [41], None)?, [mix(&41)]);
    assert_eq!(pmap(mix, [41], 4)?, [mix(&41)]);
    Ok(())
}

/// Items of different sizes and costs (the late ones cheap, the early ones
/// dear) still come back in input order.
#[test]
fn pmap_keeps_input_order_with_uneven_work() -> TestResult {
    let items: Vec<String> = (0..2_000).map(|i| "x".repeat(i % 97)).collect();
    let f = |s: &String| {
        let rounds = 2_000 - s.len() * 10;
        let mut h = s.len() as u64;
        for _ in 0..rounds {
            h = mix(&h);
        }
        (s.len(), h)
    };
    let want: Vec<(usize, u64)> = items.iter().map(f).collect();
    assert_eq!(pmap(f, &items, 4)?, want);
    Ok(())
}

/// `pmap_iter` yields each result in input order, and says how many are
/// left.
#[test]
fn pmap_iter_yields_in_input_order() -> TestResult {
    let items: Vec<u64> = (0..5_000).collect();
    let mut it = pmap_iter(mix, &items, 3)?;
    assert_eq!(it.size_hint(), (items.len(), Some(items.len())));
    for (i, item) in items.iter().enumerate() {
        assert_eq!(it.next().expect("more results")?, mix(item), "item {i}");
        assert_eq!(it.size_hint().0, items.len() - i - 1);
    }
    assert!(it.next().is_none());
    Ok(())
}

/// A panic in `f` is an `Err(Remote)` naming the item's index.
#[test]
fn pmap_panicking_item_is_remote_error_naming_the_index() -> TestResult {
    const BAD: u64 = 537;
    let items: Vec<u64> = (0..1_000).collect();
    let f = |x: &u64| {
        if *x == BAD {
            panic!("cannot take {x}");
        }
        x + 1
    };
    match pmap(f, &items, 3) {
        Err(Error::Remote { message, pid, .. }) => {
            assert!(message.contains(&format!("item {BAD}")), "{message}");
            assert!(message.contains(&format!("cannot take {BAD}")), "{message}");
            assert_ne!(pid, util::me());
            util::assert_reaped(pid);
        }
        other => panic!("{other:?}"),
    }
    // The iterator yields every result before the failing item first.
    let mut it = pmap_iter(f, &items, 3)?;
    for x in 0..BAD {
        assert_eq!(it.next().expect("result")?, x + 1);
    }
    match it.next() {
        Some(Err(Error::Remote { message, .. })) => {
            assert!(message.contains(&format!("item {BAD}")), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(it.next().is_none(), "iteration ends after the failure");
    Ok(())
}

/// Two items fail on different workers, the later one first (the earlier
/// one waits until the later one's worker has died, so its error is in
/// the parent's socket first): pmap reports the first failure in input
/// order, not the first to arrive.
#[test]
fn pmap_reports_first_failure_in_input_order_not_first_to_arrive() -> TestResult {
    let items: Vec<u64> = (0..1_000).collect();
    let low = 5;
    let high = *items.last().expect("items");
    let (pid_in, pid_out) = nix::unistd::pipe().expect("pipe");
    let f = |x: &u64| {
        if *x == high {
            let _ = nix::unistd::write(&pid_out, &util::me().to_le_bytes());
            panic!("late failure");
        }
        if *x == low {
            // With two workers, `low`'s worker is stuck here while the
            // other one takes every later range, `high`'s included.
            let mut pid = [0u8; 4];
            if util::wait_readable(pid_in.as_fd(), util::PATIENCE)
                && nix::unistd::read(&pid_in, &mut pid) == Ok(4)
            {
                util::wait_until_dead(Pid::from_le_bytes(pid), util::PATIENCE);
            }
            panic!("early failure");
        }
        *x
    };
    match pmap(f, &items, 2) {
        Err(Error::Remote { message, .. }) => {
            assert!(message.contains(&format!("item {low} ")), "{message}");
            assert!(message.contains("early failure"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    Ok(())
}

/// pmap forks `limit` workers, never one per item, and reaps them all.
#[test]
fn pmap_runs_on_at_most_limit_workers_and_reaps_them() -> TestResult {
    let items: Vec<u32> = (0..10_000).collect();
    let got: Vec<(u32, Pid)> = pmap(|x: &u32| (*x, util::me()), &items, 3)?;
    let workers: BTreeSet<Pid> = got.iter().map(|&(_, pid)| pid).collect();
    assert!((1..=3).contains(&workers.len()), "{workers:?}");
    assert!(!workers.contains(&util::me()));
    assert!(got.iter().map(|&(x, _)| x).eq(items.iter().copied()));
    for pid in workers {
        util::assert_reaped(pid);
    }
    Ok(())
}

/// Dropping a `pmap_iter` early stops and reaps its workers.
#[test]
fn pmap_iter_dropped_early_reaps_its_workers() -> TestResult {
    let items: Vec<u32> = (0..100_000).collect();
    let mut it = pmap_iter(|x: &u32| (*x, util::me()), &items, 2)?;
    let first = it.next().expect("a result")?;
    assert_eq!(first.0, 0);
    drop(it);
    util::assert_reaped(first.1);
    Ok(())
}
