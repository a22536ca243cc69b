//! The Exchange, Map and Queue over shared-memory channels: many channels
//! streaming at once, frames far larger than the ring written by the
//! exchange without blocking (it waits for room on the doorbell), children
//! killed mid-stream, and waiting that sleeps rather than spins.
//!
//! Every test holds `util::serial()`, as the other exchange tests do.

mod util;

use std::collections::BTreeMap;
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use pprocess_exchange::{
    Builder, Channel, Error, Exchange, ExitStatus, Inbox, Map, Message, MessagePack, Queue,
    TransportKind,
};
use serde_bytes::ByteBuf;

type TestResult = Result<(), Error>;

fn shm(ring: usize) -> Builder<MessagePack> {
    Builder::new()
        .transport(TransportKind::SharedMemory)
        .socket_buffer_size(ring)
}

/// The byte message `i` is made of.
fn byte(i: usize) -> u8 {
    u8::try_from(i % 251).expect("below 251")
}

/// CPU time (user + system) this thread has used, in clock ticks, from
/// `/proc/thread-self/stat`.
fn thread_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("read stat");
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the state (field 3), utime and stime are fields 14 and 15.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// Forty children each stream 200 messages of growing size (up to past a
/// 4 KiB ring) through their own ring: every message arrives, in order
/// per child.
#[test]
fn exchange_waits_on_forty_shared_memory_channels() -> TestResult {
    const CHILDREN: usize = 40;
    const EACH: usize = 200;
    let _serial = util::serial();
    let mut got: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
    let mut ex = Exchange::with_builder(shm(4096), |m: Message<(usize, ByteBuf)>| {
        let (i, bytes) = m.result.expect("message");
        assert!(bytes.iter().all(|&b| b == byte(i)), "torn message");
        got.entry(m.index).or_default().push((i, bytes.len()));
    })?
    .continuous(true);
    for _ in 0..CHILDREN {
        ex.start(|ch: &mut Channel| -> pprocess_exchange::Result<()> {
            for i in 0..EACH {
                ch.send(&(i, ByteBuf::from(vec![byte(i); i * 37])))?;
            }
            Ok(())
        })?;
    }
    ex.finish()?;
    drop(ex);
    assert_eq!(got.len(), CHILDREN);
    for (index, messages) in got {
        let expected: Vec<(usize, usize)> = (0..EACH).map(|i| (i, i * 37)).collect();
        assert!(
            messages == expected,
            "child {index}: messages lost or out of order"
        );
    }
    Ok(())
}

/// The exchange queues a 1 MiB frame for each of eight children through
/// 4 KiB rings (`feed` on its non-blocking channels) and writes it as the
/// children make room, while they answer: each answer is the sum of what
/// arrived.
#[test]
fn exchange_writes_frames_larger_than_the_ring_as_room_comes() -> TestResult {
    const CHILDREN: usize = 8;
    const LEN: usize = 1 << 20;
    let _serial = util::serial();
    let mut sums = BTreeMap::new();
    let mut ex = Exchange::with_builder(shm(4096), |m: Message<u64>| {
        sums.insert(m.index, m.result.expect("sum"));
    })?;
    for _ in 0..CHILDREN {
        let id = ex.start(|ch: &mut Channel| -> pprocess_exchange::Result<()> {
            let data: ByteBuf = ch.receive()?;
            ch.send(&data.iter().map(|&b| u64::from(b)).sum::<u64>())
        })?;
        let byte = u8::try_from(id.index() + 1).unwrap();
        ex.channel_mut(id)
            .expect("started at once")
            .feed(&ByteBuf::from(vec![byte; LEN]))?;
    }
    ex.finish()?;
    drop(ex);
    let expected: BTreeMap<usize, u64> = (0..CHILDREN)
        .map(|i| (i, (i as u64 + 1) * LEN as u64))
        .collect();
    assert_eq!(sums, expected);
    Ok(())
}

/// An exchange that waits for a child to make room (a full ring, a child
/// held on a side pipe) and for input sleeps in the kernel: 300 ms of
/// `ready` cost next to no CPU time. A doorbell watched for writability
/// (always true) would spin for all of it.
#[test]
fn waiting_for_room_and_input_sleeps_not_spins() -> TestResult {
    let _serial = util::serial();
    let (hold_r, hold_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
    let mut ex = Exchange::<u64, _>::with_builder(shm(4096), Inbox::default())?;
    let id = ex.start(move |ch: &mut Channel| -> pprocess_exchange::Result<()> {
        let mut byte = [0u8];
        let _ = nix::unistd::read(&hold_r, &mut byte);
        let data: ByteBuf = ch.receive()?;
        ch.send(&(data.len() as u64))
    })?;
    ex.channel_mut(id)
        .expect("started at once")
        .feed(&ByteBuf::from(vec![1u8; 1 << 20]))?;
    let before = thread_cpu_ticks();
    let ready = ex.ready(Some(Duration::from_millis(300)))?;
    let used = thread_cpu_ticks() - before;
    assert!(ready.is_empty(), "{ready:?}");
    // Clock ticks are 10 ms: a spin would use about 30.
    assert!(used <= 5, "ready used {used} ticks of CPU in 300 ms");
    nix::unistd::write(&hold_w, b"!").unwrap();
    ex.finish()?;
    let got = ex.handler_mut().pop().map(|m| m.result.expect("length"));
    assert_eq!(got, Some(1 << 20));
    Ok(())
}

/// Children killed while streaming through their rings: each one's work
/// ends in `ChildDied` with SIGKILL after whole frames only; the children
/// left alone deliver everything.
#[test]
fn children_killed_mid_stream_are_reported_and_others_complete() -> TestResult {
    const FRAMES: usize = 50;
    let _serial = util::serial();
    let mut ex =
        Exchange::<ByteBuf, _>::with_builder(shm(16 << 10), Inbox::default())?.continuous(true);
    for i in 0..6 {
        ex.start(move |ch: &mut Channel| -> pprocess_exchange::Result<()> {
            let frames = if i % 2 == 0 { FRAMES } else { usize::MAX };
            for _ in 0..frames {
                ch.send(&ByteBuf::from(vec![5u8; 100_000]))?;
            }
            Ok(())
        })?;
    }
    let mut frames: BTreeMap<usize, usize> = BTreeMap::new();
    let mut failures: BTreeMap<usize, Error> = BTreeMap::new();
    // Kill each endless child once it has been seen to send something.
    let mut killed = Vec::new();
    while killed.len() < 3 {
        ex.store(None)?;
        take(&mut ex, &mut frames, &mut failures);
        let ids: Vec<_> = ex.channels().collect();
        for id in ids {
            let index = id.index();
            if index % 2 == 1 && !killed.contains(&index) && frames.contains_key(&index) {
                ex.channel_mut(id).expect("registered").kill()?;
                killed.push(index);
            }
        }
    }
    ex.finish()?;
    take(&mut ex, &mut frames, &mut failures);
    drop(ex);
    for i in (0..6).step_by(2) {
        assert_eq!(frames.get(&i), Some(&FRAMES), "child {i}");
        assert!(
            !failures.contains_key(&i),
            "child {i}: {:?}",
            failures.get(&i)
        );
    }
    for i in (1..6).step_by(2) {
        let failure = failures.get(&i);
        assert!(
            matches!(
                failure,
                Some(Error::ChildDied {
                    status: ExitStatus::Signaled(9),
                    ..
                })
            ),
            "child {i}: {failure:?}"
        );
    }
    Ok(())
}

/// Moves the messages an exchange holds into per-index frame counts and
/// failures, checking each frame is whole.
fn take(
    ex: &mut Exchange<ByteBuf, Inbox<ByteBuf>>,
    frames: &mut BTreeMap<usize, usize>,
    failures: &mut BTreeMap<usize, Error>,
) {
    while let Some(m) = ex.handler_mut().pop() {
        match m.result {
            Ok(bytes) => {
                assert!(bytes.iter().all(|&b| b == 5), "torn frame");
                *frames.entry(m.index).or_default() += 1;
            }
            Err(e) => {
                failures.insert(m.index, e);
            }
        }
    }
}

#[test]
fn map_and_queue_with_a_shared_memory_builder() -> TestResult {
    let _serial = util::serial();
    let mut map = Map::<u64>::with_builder(shm(4096))?.limit(3);
    for i in 0..12u64 {
        map.call(move || i * i)?;
    }
    let all: Vec<u64> = map.collect::<Result<_, _>>()?;
    assert_eq!(all, (0..12u64).map(|i| i * i).collect::<Vec<_>>());

    let mut queue = Queue::<(u64, ByteBuf)>::with_builder(shm(4096))?.limit(2);
    for i in 0..6u64 {
        queue.call(move || (i, ByteBuf::from(vec![u8::try_from(i).unwrap(); 100_000])))?;
    }
    let mut seen: Vec<u64> = queue
        .map(|r| {
            let (i, bytes) = r.expect("result");
            assert!(bytes.len() == 100_000 && bytes.iter().all(|&b| u64::from(b) == i));
            i
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..6).collect::<Vec<_>>());
    Ok(())
}
