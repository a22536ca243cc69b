//! `Map`: results in submission order, failures at their own index.

mod util;

use nix::sys::signal::{Signal, raise};
use pprocess_exchange::{Error, ExitStatus, Map, Pid};

type TestResult = Result<(), Error>;

/// One child panics, one dies of SIGKILL: each yields its error at its own
/// index, every other item its own result, and once the exchange has
/// finished every child has been reaped.
#[test]
fn map_failures_stay_at_their_index_and_others_are_correct() -> TestResult {
    const PANICS: u64 = 4;
    const KILLED: u64 = 7;
    let mut map = Map::<(u64, Pid)>::new()?.limit(3);
    for i in 0..10u64 {
        let index = map.call(move || {
            if i == PANICS {
                panic!("boom at {i}");
            }
            if i == KILLED {
                let _ = raise(Signal::SIGKILL);
            }
            (i * i, util::me())
        })?;
        assert_eq!(u64::try_from(index.index()), Ok(i));
    }
    let results: Vec<_> = map.by_ref().collect();
    map.finish()?;
    assert_eq!(results.len(), 10);
    for (i, r) in results.into_iter().enumerate() {
        let i = i as u64;
        let pid = match r {
            Ok((v, pid)) => {
                assert!(i != PANICS && i != KILLED, "item {i} should have failed");
                assert_eq!(v, i * i);
                pid
            }
            Err(Error::Remote { pid, message, .. }) => {
                assert_eq!(i, PANICS, "remote error at {i}: {message}");
                assert_eq!(message, format!("boom at {PANICS}"));
                pid
            }
            Err(Error::ChildDied { pid, status }) => {
                assert_eq!(i, KILLED, "child died at {i}");
                assert_eq!(status, ExitStatus::Signaled(Signal::SIGKILL as i32));
                pid
            }
            Err(e) => panic!("item {i}: {e}"),
        };
        assert_ne!(pid, util::me());
        util::assert_reaped(pid);
    }
    assert_eq!(map.active(), 0);
    Ok(())
}

/// Children finish in reverse order of submission (a relay of pipes makes
/// the last one send first); the Map still yields in submission order.
#[test]
fn map_yields_submission_order_when_children_finish_in_reverse() -> TestResult {
    const N: usize = 4;
    let relay = util::Relay::new(N);
    let mut map = Map::<(usize, usize)>::new()?;
    for i in 0..N {
        let relay = relay.clone();
        map.start(move |ch| {
            // The last child goes first; each waits for the one after it.
            let came = i == N - 1 || relay.wait(i);
            let rank = N - 1 - i;
            ch.send(&(i, if came { rank } else { usize::MAX }))?;
            if i > 0 {
                relay.pass(i - 1);
            }
            Ok::<(), Error>(())
        })?;
    }
    drop(relay);
    let got = map.into_vec()?;
    let want: Vec<(usize, usize)> = (0..N).map(|i| (i, N - 1 - i)).collect();
    assert_eq!(got, want);
    Ok(())
}

/// `get` waits for one index and leaves it for iteration; indices never
/// submitted, or taken by iteration, are errors.
#[test]
fn map_get_waits_for_one_index_and_iteration_still_yields_all() -> TestResult {
    let mut map = Map::<String>::new()?.limit(2);
    for i in 0..5 {
        map.call(move || format!("item {i}"))?;
    }
    assert_eq!(map.get(3)?, "item 3");
    assert!(map.get(5).is_err());
    assert_eq!(map.next().expect("first")?, "item 0");
    assert!(map.get(0).is_err(), "taken by iteration");
    assert_eq!(map.get_range(1..3)?, ["item 1", "item 2"]);
    let rest: Vec<String> = map.by_ref().collect::<Result<_, _>>()?;
    assert_eq!(rest.len(), 4);
    let all: Vec<String> = std::iter::once("item 0".to_string()).chain(rest).collect();
    let want: Vec<String> = (0..5).map(|i| format!("item {i}")).collect();
    assert_eq!(all, want);
    Ok(())
}

/// A Map over nothing yields nothing and does not block.
#[test]
fn empty_map_yields_nothing() -> TestResult {
    let map = Map::<u64>::new()?;
    assert_eq!(map.into_vec()?, Vec::<u64>::new());
    Ok(())
}
