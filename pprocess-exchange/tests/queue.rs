//! `Queue`: results in arrival order.

mod util;

use pprocess_exchange::{Channel, Error, Queue};

type TestResult = Result<(), Error>;

/// Children are released one at a time in reverse order of submission
/// (the parent hands child `i` a token through a pipe only after it has
/// taken the previous result), so results arrive in reverse order; the
/// Queue yields each as it arrives instead of waiting for earlier
/// submissions. A Queue in submission order would wait for child 0, which
/// sends only after [`util::PATIENCE`] and fails the order assertion.
#[test]
fn queue_yields_in_arrival_order_not_submission_order() -> TestResult {
    const N: usize = 4;
    let relay = util::Relay::new(N);
    let mut queue = Queue::<usize>::new()?;
    for i in 0..N {
        let relay = relay.clone();
        let index = queue.start(move |ch: &mut Channel| {
            relay.wait(i);
            ch.send(&i)
        })?;
        assert_eq!(index.index(), i);
    }
    let mut order = Vec::new();
    for i in (0..N).rev() {
        relay.pass(i);
        let m = queue.next_message()?.expect("a result");
        let v = m.result?;
        assert_eq!(m.index, v, "a result carries its submission index");
        order.push(v);
    }
    assert!(queue.next_message()?.is_none());
    let want: Vec<usize> = (0..N).rev().collect();
    assert_eq!(order, want);
    Ok(())
}

/// Results wait in the queue until taken; `len` counts them.
#[test]
fn queue_len_counts_results_not_yet_taken() -> TestResult {
    let mut queue = Queue::<u32>::new()?.limit(2);
    for i in 0..5u32 {
        queue.call(move || i + 1)?;
    }
    queue.finish()?;
    assert_eq!(queue.len(), 5);
    let mut got: Vec<u32> = queue.by_ref().collect::<Result<_, _>>()?;
    assert!(queue.is_empty());
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3, 4, 5]);
    assert!(queue.next().is_none(), "iteration has ended");
    Ok(())
}

/// A panicking child is one `Err` in the queue; iteration goes on to the
/// others.
#[test]
fn queue_panicking_child_is_one_remote_error_among_results() -> TestResult {
    let mut queue = Queue::<u32>::new()?.limit(2);
    for i in 0..6u32 {
        queue.call(move || {
            if i == 2 {
                panic!("queue item {i} failed");
            }
            i
        })?;
    }
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for r in queue {
        match r {
            Ok(v) => ok.push(v),
            Err(Error::Remote { message, .. }) => errors.push(message),
            Err(e) => panic!("{e}"),
        }
    }
    ok.sort_unstable();
    assert_eq!(ok, [0, 1, 3, 4, 5]);
    assert_eq!(errors, ["queue item 2 failed"]);
    Ok(())
}
