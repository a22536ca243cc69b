//! The Exchange: edge-triggered readiness without lost frames, the limit on
//! live children, dead children as results, `create`, and `ready`.
//!
//! Every test here holds `util::serial()`: several count this process's
//! children in `/proc`, which other tests' children would confuse under
//! `cargo test`'s threads.

mod util;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, raise};
use pprocess_exchange::{
    Channel, ChannelId, Created, Error, Exchange, ExitStatus, Message, MessagePack, Pid, Queue,
    exit, start,
};
use util::PATIENCE;

type TestResult = Result<(), Error>;

/// The pids of the channels an exchange holds.
fn pids<R, H, C: pprocess_exchange::Codec>(ex: &mut Exchange<R, H, C>) -> Vec<(ChannelId, Pid)> {
    let ids: Vec<ChannelId> = ex.channels().collect();
    ids.into_iter()
        .map(|id| (id, ex.channel_mut(id).and_then(|c| c.pid()).expect("pid")))
        .collect()
}

/// A continuous child sends `n` frames and exits at once.
///
/// If `after_exit`, the child queues all frames and writes them with one
/// `write(2)` (a socket nobody reads takes one large write, not 1000
/// small ones), and the exchange first waits (without reaping) until the
/// child has ended: the frames and the hang-up are all in the socket
/// before the first read. Otherwise each frame is its own write, racing
/// the exchange's reads.
fn n_frames_then_exit(n: u64, after_exit: bool) -> TestResult {
    let _serial = util::serial();
    let mut queue = Queue::<u64>::new()?.continuous(true);
    queue.start(move |ch: &mut Channel| {
        for i in 0..n {
            if after_exit {
                ch.feed(&i)?;
            } else {
                ch.send(&i)?;
            }
        }
        ch.flush()
    })?;
    let [(_, pid)] = pids(&mut *queue)[..] else {
        panic!("one channel expected");
    };
    if after_exit {
        util::wait_ended_unreaped(pid);
    }
    util::finish_within(&mut queue, PATIENCE)?;
    let mut got = Vec::new();
    while let Some(m) = queue.next_message()? {
        assert_eq!(m.pid, Some(pid));
        assert_eq!(m.index, 0);
        got.push(m.result?);
    }
    assert_eq!(got, (0..n).collect::<Vec<_>>());
    assert_eq!(queue.active(), 0);
    util::assert_reaped(pid);
    Ok(())
}

#[test]
fn one_frame_then_exit_arrives() -> TestResult {
    n_frames_then_exit(1, false)
}

#[test]
fn two_frames_then_exit_arrive() -> TestResult {
    n_frames_then_exit(2, false)
}

#[test]
fn thousand_frames_then_exit_all_arrive() -> TestResult {
    n_frames_then_exit(1000, false)
}

#[test]
fn one_frame_already_sent_with_hang_up_arrives() -> TestResult {
    n_frames_then_exit(1, true)
}

#[test]
fn two_frames_already_sent_with_hang_up_arrive() -> TestResult {
    n_frames_then_exit(2, true)
}

#[test]
fn thousand_frames_already_sent_with_hang_up_all_arrive() -> TestResult {
    n_frames_then_exit(1000, true)
}

/// Not continuous: the single result comes in the same read as the
/// hang-up (the child has ended before the exchange first looks).
#[test]
fn last_result_arriving_with_hang_up_is_delivered_not_child_died() -> TestResult {
    let _serial = util::serial();
    let mut ex = Exchange::<u64>::new()?;
    ex.call(|| 42)?;
    let [(_, pid)] = pids(&mut ex)[..] else {
        panic!("one channel expected");
    };
    util::wait_ended_unreaped(pid);
    util::finish_within(&mut ex, PATIENCE)?;
    let m = ex.handler_mut().pop().expect("a message");
    assert_eq!(m.pid, Some(pid));
    assert_eq!(m.result?, 42);
    assert!(ex.handler_mut().pop().is_none(), "one message only");
    util::assert_reaped(pid);
    Ok(())
}

/// Two frames written with one `write(2)` make one readiness edge; both
/// are delivered while the child is still alive (so no hang-up edge can
/// rescue a second frame left in the channel's buffer).
#[test]
fn two_frames_in_one_write_both_arrive_while_child_lives() -> TestResult {
    let _serial = util::serial();
    let mut ex = Exchange::<u64>::new()?.continuous(true);
    ex.start(|ch: &mut Channel| {
        ch.feed(&10u64)?;
        ch.feed(&20u64)?;
        ch.flush()?; // one write for both frames
        ch.receive::<()>() // stay alive until the parent has both
    })?;
    let [(id, pid)] = pids(&mut ex)[..] else {
        panic!("one channel expected");
    };
    let deadline = Instant::now() + PATIENCE;
    while ex.handler().len() < 2 && Instant::now() < deadline {
        ex.store(Some(Duration::from_millis(100)))?;
    }
    let got: Vec<u64> = std::iter::from_fn(|| ex.handler_mut().pop())
        .map(|m| m.result)
        .collect::<Result<_, _>>()?;
    assert_eq!(got, [10, 20]);
    ex.channel_mut(id).expect("still registered").send(&())?;
    util::finish_within(&mut ex, PATIENCE)?;
    assert!(ex.handler().is_empty(), "a clean exit adds no message");
    util::assert_reaped(pid);
    Ok(())
}

/// A frame split across two edges arrives whole: the child writes part of
/// it, the exchange reads that part (and delivers nothing), then the child
/// writes the rest.
fn frame_split_at(split: impl Fn(usize) -> usize) -> TestResult {
    let _serial = util::serial();
    let payload: String = (0..300)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let frame = util::frame_bytes::<MessagePack, _>(&payload);
    let at = split(frame.len());
    assert!(0 < at && at < frame.len());
    let mut ex = Exchange::<String>::new()?.continuous(true);
    ex.start(move |ch: &mut Channel| {
        util::raw_write(ch, &frame[..at]).map_err(std::io::Error::from)?;
        ch.receive::<()>()?; // the parent has read the first part
        util::raw_write(ch, &frame[at..]).map_err(std::io::Error::from)?;
        Ok::<(), Error>(())
    })?;
    let [(id, pid)] = pids(&mut ex)[..] else {
        panic!("one channel expected");
    };
    let fd_ready = util::wait_readable(ex.channel_mut(id).expect("channel").read_fd(), PATIENCE);
    assert!(fd_ready, "the first part never came");
    // First edge: the exchange reads the partial frame and has nothing to
    // deliver.
    assert_eq!(ex.store(Some(Duration::ZERO))?, 0);
    assert!(ex.handler().is_empty());
    ex.channel_mut(id).expect("channel").send(&())?;
    util::finish_within(&mut ex, PATIENCE)?;
    let m = ex.handler_mut().pop().expect("the message");
    assert_eq!(m.result?, payload);
    assert!(ex.handler().is_empty(), "one message only");
    util::assert_reaped(pid);
    Ok(())
}

#[test]
fn frame_split_inside_header_arrives_whole() -> TestResult {
    frame_split_at(|_| 2)
}

#[test]
fn frame_split_inside_payload_arrives_whole() -> TestResult {
    frame_split_at(|len| len / 2)
}

/// 200 children under `limit = 8`: each result exactly once, and never
/// more than 8 children at a time, as the exchange counts them, as `/proc`
/// shows them to the parent, and as each child sees its siblings.
#[test]
fn limit_8_keeps_at_most_8_of_200_children_and_delivers_each_once() -> TestResult {
    const LIMIT: usize = 8;
    const CHILDREN: usize = 200;
    let _serial = util::serial();
    assert!(util::my_children().is_empty(), "leftover children");
    let seen = RefCell::new(Vec::new());
    let mut ex = Exchange::with_handler(|m: Message<(usize, Pid, usize)>| {
        seen.borrow_mut().push(m);
    })?
    .limit(LIMIT);
    let mut most_alive = 0;
    let mut check = |ex: &Exchange<_, _>| {
        assert!(ex.active() <= LIMIT, "{} channels registered", ex.active());
        let alive = util::my_children().len();
        assert!(alive <= LIMIT, "{alive} children alive");
        most_alive = most_alive.max(alive);
    };
    for i in 0..CHILDREN {
        let index = ex.start(move |ch: &mut Channel| {
            ch.send(&(i, util::me(), util::siblings_including_me()))
        })?;
        assert_eq!(index.index(), i);
        check(&ex);
    }
    assert!(ex.waiting() > 0, "work beyond the limit waits");
    while ex.unfinished() {
        ex.store(None)?;
        check(&ex);
    }
    drop(ex);
    let seen = seen.into_inner();
    assert_eq!(seen.len(), CHILDREN);
    let mut indices = BTreeSet::new();
    let mut child_pids = BTreeSet::new();
    for m in &seen {
        let (i, pid, siblings) = *m.result.as_ref().expect("result");
        assert_eq!(m.index, i);
        assert_eq!(m.pid, Some(pid));
        assert!(siblings <= LIMIT, "child {i} saw {siblings} children");
        assert!(indices.insert(i), "index {i} twice");
        child_pids.insert(pid);
    }
    assert_eq!(indices, (0..CHILDREN).collect());
    assert_eq!(child_pids.len(), CHILDREN);
    assert!(most_alive >= 1);
    for pid in child_pids {
        util::assert_reaped(pid);
    }
    Ok(())
}

/// A child that dies of SIGKILL before sending anything: its work gets
/// `ChildDied` with the signal; the others are unaffected.
#[test]
fn child_killed_by_sigkill_is_child_died_and_others_unaffected() -> TestResult {
    let _serial = util::serial();
    let mut ex = Exchange::<u64>::new()?.limit(3);
    for i in 0..6u64 {
        ex.start(move |ch: &mut Channel| {
            if i == 3 {
                let _ = raise(Signal::SIGKILL);
            }
            ch.send(&(i * 100))
        })?;
    }
    ex.finish()?;
    let mut by_index = BTreeMap::new();
    while let Some(m) = ex.handler_mut().pop() {
        assert!(by_index.insert(m.index, m).is_none(), "index twice");
    }
    assert_eq!(by_index.len(), 6);
    for (i, m) in by_index {
        let pid = m.pid.expect("pid");
        util::assert_reaped(pid);
        match m.result {
            Err(Error::ChildDied {
                pid: dead,
                status: ExitStatus::Signaled(sig),
            }) if i == 3 => {
                assert_eq!(dead, pid);
                assert_eq!(sig, Signal::SIGKILL as i32);
            }
            Ok(v) if i != 3 => assert_eq!(v, i as u64 * 100),
            other => panic!("index {i}: {other:?}"),
        }
    }
    Ok(())
}

/// A child that dies in the middle of a frame: its death (`ChildDied`
/// with the signal) for its work, the others unaffected.
#[test]
fn child_killed_mid_frame_is_child_died_and_others_unaffected() -> TestResult {
    let _serial = util::serial();
    let frame = util::frame_bytes::<MessagePack, _>(&123_456_789u64);
    let mut ex = Exchange::<u64>::new()?;
    for i in 0..4u64 {
        let frame = frame.clone();
        ex.start(move |ch: &mut Channel| {
            if i == 1 {
                let _ = util::raw_write(ch, &frame[..frame.len() - 1]);
                let _ = raise(Signal::SIGKILL);
            }
            ch.send(&i)
        })?;
    }
    ex.finish()?;
    let mut results = BTreeMap::new();
    while let Some(m) = ex.handler_mut().pop() {
        util::assert_reaped(m.pid.expect("pid"));
        assert!(results.insert(m.index, m.result).is_none(), "index twice");
    }
    assert_eq!(results.len(), 4);
    for (i, r) in results {
        match r {
            Err(Error::ChildDied { status, .. }) if i == 1 => {
                assert_eq!(status, ExitStatus::Signaled(Signal::SIGKILL as i32));
            }
            Ok(v) if i != 1 => assert_eq!(v, i as u64),
            other => panic!("index {i}: {other:?}"),
        }
    }
    Ok(())
}

/// Continuous mode: the parent kills one child after its first message
/// (by the pid in that message); the kill is reported for that child,
/// every message of the others arrives.
#[test]
fn continuous_child_killed_by_parent_is_reported_and_others_complete() -> TestResult {
    const VICTIM: usize = 2;
    let _serial = util::serial();
    let mut ex = Exchange::<(usize, u64, Pid)>::new()?.continuous(true);
    for c in 0..4usize {
        ex.start(move |ch: &mut Channel| {
            ch.send(&(c, 0u64, util::me()))?;
            if c == VICTIM {
                // Wait for a message that never comes: the parent kills us.
                return ch.receive::<()>();
            }
            for k in 1..50u64 {
                ch.send(&(c, k, util::me()))?;
            }
            Ok(())
        })?;
    }
    let mut got: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    let mut died = Vec::new();
    while ex.unfinished() {
        ex.store(None)?;
        while let Some(m) = ex.handler_mut().pop() {
            match m.result {
                Ok((c, k, pid)) => {
                    assert_eq!(m.pid, Some(pid));
                    assert_eq!(m.index, c);
                    got.entry(c).or_default().push(k);
                    if c == VICTIM {
                        kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL)
                            .expect("kill the victim");
                    }
                }
                Err(e) => died.push((m.index, m.pid, e)),
            }
        }
    }
    assert_eq!(died.len(), 1, "{died:?}");
    let (index, pid, error) = died.pop().expect("one error");
    assert_eq!(index, VICTIM);
    match error {
        Error::ChildDied {
            pid: dead,
            status: ExitStatus::Signaled(sig),
        } => {
            assert_eq!(Some(dead), pid);
            assert_eq!(sig, Signal::SIGKILL as i32);
        }
        other => panic!("victim: {other:?}"),
    }
    for c in 0..4 {
        let want: Vec<u64> = if c == VICTIM {
            vec![0]
        } else {
            (0..50).collect()
        };
        assert_eq!(got[&c], want, "child {c}");
    }
    util::assert_reaped(pid.expect("pid"));
    Ok(())
}

/// Not continuous: a child that exits cleanly without sending its result
/// is reported as `ChildDied` with its exit status.
#[test]
fn child_exiting_without_result_is_child_died_with_exit_code() -> TestResult {
    let _serial = util::serial();
    let mut ex = Exchange::<u64>::new()?;
    ex.start(|_: &mut Channel| ())?;
    ex.start(|_: &mut Channel| Err::<(), _>("refused"))?;
    ex.finish()?;
    let mut results = BTreeMap::new();
    while let Some(m) = ex.handler_mut().pop() {
        util::assert_reaped(m.pid.expect("pid"));
        assert!(results.insert(m.index, (m.pid, m.result)).is_none());
    }
    assert_eq!(results.len(), 2);
    match &results[&0] {
        (Some(pid), Err(Error::ChildDied { pid: dead, status })) => {
            assert_eq!(pid, dead);
            assert_eq!(*status, ExitStatus::Exited(0));
        }
        other => panic!("{other:?}"),
    }
    match &results[&1] {
        (
            Some(pid),
            Err(Error::Remote {
                pid: failed,
                message,
                ..
            }),
        ) => {
            assert_eq!(pid, failed);
            assert_eq!(message, "refused");
        }
        other => panic!("{other:?}"),
    }
    Ok(())
}

/// `Exchange::create` in a limited exchange: the child gets its channel,
/// sends and exits; the parent collects every value, never holding more
/// than the limit.
#[test]
fn create_in_limited_exchange_child_sends_and_exits() -> TestResult {
    const LIMIT: usize = 3;
    let _serial = util::serial();
    let mut ex = Exchange::<(u64, Pid)>::new()?.limit(LIMIT);
    for i in 0..12u64 {
        if let Created::Child(mut ch) = ex.create()? {
            // The child: never return into the test.
            let _ = ch.send(&(i * 7, util::me()));
            exit(ch);
        }
        assert!(ex.active() <= LIMIT);
        assert!(util::my_children().len() <= LIMIT);
    }
    ex.finish()?;
    let mut values = BTreeMap::new();
    while let Some(m) = ex.handler_mut().pop() {
        let (v, pid) = m.result?;
        assert_eq!(m.pid, Some(pid));
        util::assert_reaped(pid);
        assert!(values.insert(m.index, v).is_none(), "index twice");
    }
    let want: BTreeMap<usize, u64> = (0..12).map(|i| (i, i as u64 * 7)).collect();
    assert_eq!(values, want);
    Ok(())
}

/// `ready` reports a channel holding a whole frame, not one holding part
/// of a frame; the rest of the frame makes it ready.
#[test]
fn ready_reports_whole_frames_only() -> TestResult {
    let _serial = util::serial();
    let payload = "the whole of it".to_string();
    let frame = util::frame_bytes::<MessagePack, _>(&payload);
    let mut ex = Exchange::<String>::new()?.continuous(true);
    let a = ex.add(start(|ch| {
        ch.send("from a")?;
        ch.receive::<()>()
    })?)?;
    let b = ex.add(start(move |ch| {
        let half = frame.len() / 2;
        util::raw_write(ch, &frame[..half]).map_err(std::io::Error::from)?;
        ch.receive::<()>()?;
        util::raw_write(ch, &frame[half..]).map_err(std::io::Error::from)?;
        ch.receive::<()>()
    })?)?;
    for id in [a, b] {
        let fd = ex.channel_mut(id).expect("channel").read_fd();
        assert!(util::wait_readable(fd, PATIENCE), "nothing from {id:?}");
    }
    assert_eq!(ex.ready(Some(Duration::ZERO))?, [a]);
    let got = ex.channel_mut(a).expect("a").try_receive::<String>()?;
    assert_eq!(got.as_deref(), Some("from a"));
    assert_eq!(
        ex.ready(Some(Duration::ZERO))?,
        [],
        "a is drained, b partial"
    );

    ex.channel_mut(b).expect("b").send(&())?;
    let deadline = Instant::now() + PATIENCE;
    let mut ready = Vec::new();
    while ready.is_empty() && Instant::now() < deadline {
        ready = ex.ready(Some(Duration::from_millis(100)))?;
    }
    assert_eq!(ready, [b]);
    let got = ex.channel_mut(b).expect("b").try_receive::<String>()?;
    assert_eq!(got, Some(payload));

    for id in [a, b] {
        let mut ch = ex.remove(id).expect("registered");
        ch.send(&())?;
        assert_eq!(ch.close()?, Some(ExitStatus::Exited(0)));
    }
    assert_eq!(ex.active(), 0);
    Ok(())
}

/// `ready(Some(ZERO))` with nothing sent returns at once, and empty.
#[test]
fn ready_with_zero_timeout_and_nothing_sent_is_empty_at_once() -> TestResult {
    let _serial = util::serial();
    let mut empty = Exchange::<u64>::new()?;
    assert_eq!(empty.ready(Some(Duration::ZERO))?, []);

    let mut ex = Exchange::<u64>::new()?;
    let id = ex.add(start(|ch| ch.receive::<()>())?)?;
    let t = Instant::now();
    for _ in 0..10 {
        assert_eq!(ex.ready(Some(Duration::ZERO))?, []);
    }
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let mut ch = ex.remove(id).expect("registered");
    ch.send(&())?;
    assert_eq!(ch.close()?, Some(ExitStatus::Exited(0)));
    Ok(())
}

/// A frame buffered by a receive made directly on the channel (through
/// `channel_mut`) still makes the channel ready, though the socket itself
/// has nothing more to say (edge-triggered readiness gives no new edge).
#[test]
fn ready_reports_frame_buffered_by_direct_receive() -> TestResult {
    let _serial = util::serial();
    let mut ex = Exchange::<u64>::new()?.continuous(true);
    let id = ex.add(start(|ch| {
        ch.receive::<()>()?;
        ch.feed(&1u64)?;
        ch.feed(&2u64)?;
        ch.flush()?; // both frames in one write
        ch.receive::<()>()
    })?)?;
    // Nothing sent yet: the exchange has looked and found the channel dry.
    assert_eq!(ex.ready(Some(Duration::ZERO))?, []);
    let ch = ex.channel_mut(id).expect("channel");
    ch.send(&())?;
    // One blocking receive reads both frames from the socket.
    assert_eq!(ch.receive::<u64>()?, 1);
    assert!(ch.has_buffered_frame());
    assert_eq!(ex.ready(Some(Duration::from_secs(2)))?, [id]);
    assert_eq!(
        ex.channel_mut(id).expect("channel").try_receive::<u64>()?,
        Some(2)
    );
    let mut ch = ex.remove(id).expect("registered");
    ch.send(&())?;
    assert_eq!(ch.close()?, Some(ExitStatus::Exited(0)));
    Ok(())
}

/// A channel removed while ready, and a new one added in its place: `ready`
/// lists the new one once (the old one's readiness does not linger).
#[test]
fn ready_lists_each_channel_once_after_remove_and_add() -> TestResult {
    let _serial = util::serial();
    let mut ex = Exchange::<u64>::new()?.continuous(true);
    let sender = || {
        start(|ch| {
            ch.send(&1u64)?;
            ch.receive::<()>()
        })
    };
    let a = ex.add(sender()?)?;
    let fd = ex.channel_mut(a).expect("a").read_fd();
    assert!(util::wait_readable(fd, PATIENCE));
    assert_eq!(ex.ready(Some(Duration::ZERO))?, [a]);
    let old = ex.remove(a).expect("registered");
    let b = ex.add(sender()?)?;
    let fd = ex.channel_mut(b).expect("b").read_fd();
    assert!(util::wait_readable(fd, PATIENCE));
    assert_eq!(ex.ready(Some(Duration::ZERO))?, [b]);
    let new = ex.remove(b).expect("registered");
    for mut ch in [old, new] {
        ch.send(&())?;
        assert_eq!(ch.close()?, Some(ExitStatus::Exited(0)));
    }
    Ok(())
}

/// Continuous mode: a child that sends two messages and then panics gives
/// those two messages and one error, the panic (not a second error for the
/// same end).
#[test]
fn continuous_child_panic_after_messages_is_one_remote_error() -> TestResult {
    let _serial = util::serial();
    let mut queue = Queue::<u32>::new()?.continuous(true);
    queue.start(|ch: &mut Channel| -> Result<(), Error> {
        ch.send(&1u32)?;
        ch.send(&2u32)?;
        panic!("gave up after two");
    })?;
    let [(_, pid)] = pids(&mut *queue)[..] else {
        panic!("one channel expected");
    };
    let got: Vec<_> = queue.by_ref().collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].as_ref().ok(), Some(&1));
    assert_eq!(got[1].as_ref().ok(), Some(&2));
    match &got[2] {
        Err(Error::Remote {
            pid: failed,
            message,
            ..
        }) => {
            assert_eq!(*failed, pid);
            assert_eq!(message, "gave up after two");
        }
        other => panic!("{other:?}"),
    }
    util::assert_reaped(pid);
    Ok(())
}

/// Continuous mode: "any number of messages" includes none. A child that
/// sends nothing and exits cleanly is done, not an error; one that exits
/// with a failure status is reported.
#[test]
fn continuous_child_sending_nothing_is_done_unless_it_fails() -> TestResult {
    let _serial = util::serial();
    let mut queue = Queue::<u32>::new()?.continuous(true);
    queue.start(|_: &mut Channel| ())?;
    queue.start(|_: &mut Channel| {
        let _ = raise(Signal::SIGKILL);
    })?;
    let got: Vec<_> =
        std::iter::from_fn(|| queue.next_message().transpose()).collect::<Result<_, _>>()?;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].index, 1);
    assert!(
        matches!(
            got[0].result,
            Err(Error::ChildDied {
                status: ExitStatus::Signaled(9),
                ..
            })
        ),
        "{got:?}"
    );
    Ok(())
}

/// `ready(None)` waits until a channel can be read without blocking: not
/// until the first edge, which may bring only part of a frame (the child
/// pauses between the parts; the assertion holds whatever the timing).
#[test]
fn ready_without_timeout_waits_for_a_whole_frame() -> TestResult {
    let _serial = util::serial();
    let frame = util::frame_bytes::<MessagePack, _>(&"in two parts");
    let mut ex = Exchange::<String>::new()?.continuous(true);
    let id = ex.add(start(move |ch| {
        let half = frame.len() / 2;
        util::raw_write(ch, &frame[..half]).map_err(std::io::Error::from)?;
        std::thread::sleep(Duration::from_millis(100));
        util::raw_write(ch, &frame[half..]).map_err(std::io::Error::from)?;
        ch.receive::<()>()
    })?)?;
    assert_eq!(ex.ready(None)?, [id]);
    let got = ex
        .channel_mut(id)
        .expect("channel")
        .try_receive::<String>()?;
    assert_eq!(got.as_deref(), Some("in two parts"));
    let mut ch = ex.remove(id).expect("registered");
    ch.send(&())?;
    assert_eq!(ch.close()?, Some(ExitStatus::Exited(0)));
    Ok(())
}
