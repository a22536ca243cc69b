//! The shared-memory transport end to end: frames larger than the ring,
//! many small frames, both sides sending large frames at once, a sibling
//! child's view of the rings, and the faults: a writer killed in the
//! middle of a frame (whether it was blocked or streaming), the creating
//! process dying under its child, corrupt bytes in the ring.
//!
//! Rings are made small (4 KiB) where the test is about frames that do
//! not fit. Every child is reaped by the test that made it, and no test
//! waits without a deadline.

mod util;

use std::io::{Read, Write};
use std::os::fd::AsFd;

use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::unistd::pipe2;
use pprocess_core::frame::encode_header;
use pprocess_core::{FrameKind, HEADER_LEN};
use pprocess_transport::{
    Builder, Channel, Error, ExitStatus, Fork, MessagePack, SharedMemory, TransportKind, exit,
};
use serde_bytes::ByteBuf;

use util::PATIENCE;

/// A builder for shared-memory channels whose rings hold `ring` bytes.
fn shm(ring: usize) -> Builder<MessagePack> {
    Builder::new()
        .transport(TransportKind::SharedMemory)
        .socket_buffer_size(ring)
}

/// Frame `i` of a stream: its length and bytes are both derived from `i`.
fn stream_frame(i: u64) -> Vec<u8> {
    let len = 60_000 + usize::try_from(i % 7).unwrap() * 1_001;
    util::pseudo_random_bytes(len, i + 1)
}

#[test]
fn frames_larger_than_the_ring_round_trip_through_a_forked_child() {
    let mut ch = shm(4096)
        .start(|ch| -> Result<(), String> {
            loop {
                match ch.receive::<ByteBuf>() {
                    Ok(b) => ch.send(&b).map_err(|e| e.to_string())?,
                    Err(e) if e.is_closed() => return Ok(()),
                    Err(e) => return Err(e.to_string()),
                }
            }
        })
        .unwrap();
    for (seed, len) in [0, 1, 4091, 4095, 4096, 4097, 1 << 20, 3 << 20]
        .into_iter()
        .enumerate()
    {
        let data = ByteBuf::from(util::pseudo_random_bytes(len, seed as u64));
        ch.send(&data).unwrap();
        let back: ByteBuf = ch.receive_timeout(PATIENCE).unwrap();
        assert!(back == data, "frame of {len} bytes came back different");
    }
    ch.close_write().unwrap();
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
}

#[test]
fn hundred_thousand_small_frames_arrive_in_order() {
    const N: u32 = 100_000;
    let mut ch = shm(4096)
        .start(|ch| -> pprocess_transport::Result<()> {
            for i in 0..N {
                ch.feed(&i)?;
            }
            ch.flush()
        })
        .unwrap();
    for i in 0..N {
        assert_eq!(ch.receive_timeout::<u32>(PATIENCE).unwrap(), i);
    }
    assert!(ch.receive_timeout::<u32>(PATIENCE).unwrap_err().is_closed());
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
}

/// Each side sends 4 MiB through a 4 KiB ring before it receives: a
/// sender waiting for room must take in what its peer sends, or both
/// wait for ever.
#[test]
fn both_sides_sending_large_frames_at_once_do_not_deadlock() {
    const LEN: usize = 4 << 20;
    let mut ch = shm(4096)
        .start(|ch| -> Result<(), String> {
            let mine = ByteBuf::from(util::pseudo_random_bytes(LEN, 1));
            ch.send(&mine).map_err(|e| e.to_string())?;
            let theirs: ByteBuf = ch.receive().map_err(|e| e.to_string())?;
            if theirs.as_slice() == util::pseudo_random_bytes(LEN, 2) {
                Ok(())
            } else {
                Err("the parent's frame came across different".into())
            }
        })
        .unwrap();
    let pid = ch.pid().unwrap();
    let result = util::within(PATIENCE, move || {
        let mine = ByteBuf::from(util::pseudo_random_bytes(LEN, 2));
        ch.send(&mine).unwrap();
        let theirs: ByteBuf = ch.receive().unwrap();
        (theirs.as_slice() == util::pseudo_random_bytes(LEN, 1), ch)
    });
    let (same, ch) = result;
    assert!(same, "child {pid}'s frame came across different");
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
}

/// The child queues a 1 MiB frame and writes what the 4 KiB ring takes
/// (a header and part of the payload), tells the parent on a side pipe,
/// and blocks. Killed there, it leaves exactly that much of the frame.
#[test]
fn writer_killed_mid_frame_gives_truncated_with_what_was_committed() {
    const LEN: usize = 1 << 20;
    let (side_r, side_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
    match shm(4096).create().unwrap() {
        Fork::Child(mut ch) => {
            // Nothing here may panic or return into the test harness.
            let _ = ch.set_nonblocking(true);
            let payload = ByteBuf::from(vec![7u8; LEN]);
            let _ = ch.feed(&payload);
            let _ = ch.try_flush();
            let _ = nix::unistd::write(&side_w, b"!");
            loop {
                std::thread::park();
            }
        }
        Fork::Parent(mut ch) => {
            drop(side_w);
            let pid = ch.pid().unwrap();
            if !util::wait_readable(side_r.as_fd(), PATIENCE) {
                ch.kill().unwrap();
                ch.wait().unwrap();
                panic!("child {pid} never wrote its partial frame");
            }
            ch.kill().unwrap();
            let err = ch.receive_timeout::<ByteBuf>(PATIENCE).unwrap_err();
            // MessagePack's bin 32 marker and length before the bytes.
            let expected = (HEADER_LEN + 5 + LEN) as u64;
            assert!(
                matches!(err, Error::Truncated { expected: e, got: 4096 } if e == expected),
                "expected Truncated {{ expected: {expected}, got: 4096 }}, got {err:?}"
            );
            assert_eq!(
                ch.wait().unwrap(),
                Some(ExitStatus::Signaled(Signal::SIGKILL as i32))
            );
        }
    }
}

/// The child streams frames through a small ring as fast as it can and is
/// killed at some point in the stream: every frame the parent receives is
/// whole and right, and the stream ends in `Truncated` or `Closed`.
#[test]
fn writer_killed_while_streaming_never_hands_out_a_torn_frame() {
    let mut ch = shm(16 << 10)
        .start(|ch| -> pprocess_transport::Result<()> {
            for i in 0.. {
                ch.send(&ByteBuf::from(stream_frame(i)))?;
            }
            Ok(())
        })
        .unwrap();
    let mut next = 0;
    for _ in 0..20 {
        let frame: ByteBuf = ch.receive_timeout(PATIENCE).unwrap();
        assert!(frame.as_slice() == stream_frame(next), "frame {next} torn");
        next += 1;
    }
    ch.kill().unwrap();
    loop {
        match ch.receive_timeout::<ByteBuf>(PATIENCE) {
            Ok(frame) => {
                assert!(frame.as_slice() == stream_frame(next), "frame {next} torn");
                next += 1;
            }
            Err(Error::Truncated { .. } | Error::Closed) => break,
            Err(e) => panic!("after frame {next}: expected Truncated or Closed, got {e:?}"),
        }
    }
    assert_eq!(
        ch.wait().unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGKILL as i32))
    );
}

/// The process that made the channel dies under its child: a middle
/// process makes a shared-memory channel to a grandchild that outlives
/// it, writes what the ring takes of a frame without waiting, and is
/// killed. The grandchild must
/// see `Truncated` (not hang), and says so on a pipe the library does not
/// track (so both inherit it).
#[test]
fn creator_killed_mid_frame_gives_its_child_truncated() {
    const LEN: usize = 1 << 20;
    let (report_r, report_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
    match pprocess_transport::create().unwrap() {
        Fork::Child(mut to_test) => {
            // The middle process. Nothing here may panic or return.
            let builder = shm(4096).outlive_parent(true);
            match builder.create() {
                Ok(Fork::Child(mut ch)) => {
                    let outcome = match ch.receive::<ByteBuf>() {
                        Err(Error::Truncated { expected, got }) => {
                            format!("truncated {expected} {got}")
                        }
                        other => format!("expected truncated, got {other:?}"),
                    };
                    let _ = std::fs::File::from(report_w).write_all(outcome.as_bytes());
                    exit(ch);
                }
                Ok(Fork::Parent(mut ch)) => {
                    drop(report_w);
                    let _ = ch.set_nonblocking(true);
                    let _ = ch.feed(&ByteBuf::from(vec![9u8; LEN]));
                    let _ = ch.try_flush();
                    let _ = to_test.send("sent");
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    let _ = to_test.send(&format!("cannot create: {e}"));
                    exit(to_test);
                }
            }
        }
        Fork::Parent(mut middle) => {
            drop(report_w);
            let said = middle.receive_timeout::<String>(PATIENCE);
            middle.kill().unwrap();
            assert_eq!(
                middle.wait().unwrap(),
                Some(ExitStatus::Signaled(Signal::SIGKILL as i32))
            );
            assert_eq!(said.unwrap(), "sent");
            let mut report = std::fs::File::from(report_r);
            let got = util::within(PATIENCE, move || {
                let mut s = String::new();
                report.read_to_string(&mut s).unwrap();
                s
            });
            // The grandchild reads while the middle process writes, so
            // any amount short of the whole frame may have arrived.
            let expected = HEADER_LEN + 5 + LEN;
            let arrived: Option<usize> = got
                .strip_prefix(&format!("truncated {expected} "))
                .and_then(|n| n.parse().ok());
            assert!(
                arrived.is_some_and(|n| (4096..expected).contains(&n)),
                "{got}"
            );
        }
    }
}

/// A header announcing more than the channel's limit, written into the
/// ring, is `FrameTooLarge` before anything is allocated; a kind byte
/// that means nothing is `Protocol`.
#[test]
fn corrupt_length_in_the_ring_is_frame_too_large() {
    let (mut raw, theirs) = SharedMemory::with_capacity(4096).unwrap();
    let mut ch: Channel = Channel::new(Box::new(theirs));
    ch.set_max_frame_size(1000);
    raw.write_all(&encode_header(FrameKind::Data, 1 << 30).unwrap())
        .unwrap();
    let err = ch.receive_timeout::<ByteBuf>(PATIENCE).unwrap_err();
    assert!(
        matches!(err, Error::FrameTooLarge { len, max: 1000 } if len == 1 << 30),
        "{err:?}"
    );
}

#[test]
fn corrupt_kind_in_the_ring_is_protocol_error() {
    let (mut raw, theirs) = SharedMemory::with_capacity(4096).unwrap();
    let mut ch: Channel = Channel::new(Box::new(theirs));
    raw.write_all(&[3, 0, 0, 0, 0xee, 1, 2, 3]).unwrap();
    let err = ch.receive_timeout::<ByteBuf>(PATIENCE).unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
}

/// A child forked for one shared-memory channel holds that channel's ring
/// and no other: the ring of a channel made before it is replaced by
/// private memory in the child.
#[test]
fn sibling_child_maps_only_its_own_ring() {
    let builder = shm(4096);
    let (mut a, mut b) = builder.channel_pair().unwrap();
    let mut ch = builder
        .start(|ch| {
            let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
            ch.send(&maps.lines().filter(|l| l.contains("pprocess-shm")).count())
        })
        .unwrap();
    assert_eq!(ch.receive_timeout::<usize>(PATIENCE).unwrap(), 1);
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
    // The pair made before the child is untouched in this process.
    a.send("still here").unwrap();
    assert_eq!(b.receive_timeout::<String>(PATIENCE).unwrap(), "still here");
}
