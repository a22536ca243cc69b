use std::time::Duration;

use pprocess_core::Error;
use pprocess_transport::{Channel, MessagePack, RemoteFn, SharedMemory, SocketPair};

use super::*;

fn halve(x: u32) -> u32 {
    assert!(x % 2 == 0, "{x} is odd");
    x / 2
}

/// The transports a session runs on: a cluster's builder gives shared
/// memory; a builder told otherwise, a socketpair (or pipes).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Socket,
    Shm,
}

const KINDS: [Kind; 2] = [Kind::Socket, Kind::Shm];

/// A connected pair: the caller's end, the session's end. The rings are
/// small, so that large frames take several turns.
fn ends(kind: Kind) -> (Box<dyn Transport>, Box<dyn Transport>) {
    match kind {
        Kind::Socket => {
            let (a, b) = SocketPair::pair().unwrap();
            (Box::new(a), Box::new(b))
        }
        Kind::Shm => {
            let (a, b) = SharedMemory::with_capacity(64 << 10).unwrap();
            (Box::new(a), Box::new(b))
        }
    }
}

fn pair(kind: Kind, max_frame: usize) -> (Channel<MessagePack>, Session) {
    let (ours, theirs) = ends(kind);
    let func = RemoteFn::<MessagePack>::new(halve).to_bytes();
    let mut caller = Channel::new(ours);
    caller.set_max_frame_size(max_frame);
    (caller, Session::new(theirs, func, max_frame).unwrap())
}

/// What a rank does with a task.
fn serve_one(s: &mut Session) -> bool {
    match s.next_task() {
        Some(task) => {
            s.reply(wire::answer(&task, 1234));
            s.flush();
            true
        }
        None => false,
    }
}

fn receive(caller: &mut Channel<MessagePack>) -> pprocess_core::Result<u32> {
    caller.receive_timeout(Duration::from_secs(5))
}

#[test]
fn data_frames_become_tasks_one_at_a_time_and_end_of_stream_ends_the_session() {
    for kind in KINDS {
        let (mut caller, mut s) = pair(kind, 1 << 20);
        caller.send(&8u32).unwrap();
        caller.send(&20u32).unwrap();
        caller.send_end().unwrap();
        s.read();
        let first = s.next_task().unwrap();
        // The rank holds a task: no second one until it answers.
        assert!(s.next_task().is_none());
        assert!(s.is_inflight() && !s.is_done_with_rank());
        s.reply(wire::answer(&first, 1));
        s.flush();
        assert!(serve_one(&mut s));
        assert!(!serve_one(&mut s));
        assert!(s.is_done_with_rank() && s.is_finished());
        assert_eq!(receive(&mut caller).unwrap(), 4);
        assert_eq!(receive(&mut caller).unwrap(), 10);
        drop(s);
        assert!(matches!(receive(&mut caller), Err(Error::Closed)));
    }
}

#[test]
fn an_error_reply_ends_the_session_and_drops_the_tasks_behind_it() {
    for kind in KINDS {
        let (mut caller, mut s) = pair(kind, 1 << 20);
        for x in [7u32, 2, 4] {
            caller.send(&x).unwrap();
        }
        s.read();
        assert!(serve_one(&mut s));
        assert!(s.is_done_with_rank());
        assert!(!serve_one(&mut s));
        match receive(&mut caller) {
            Err(Error::Remote { pid, message, .. }) => {
                assert_eq!((pid, message.as_str()), (1234, "7 is odd"));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_caller_that_closes_frees_the_rank_once_its_task_is_answered() {
    for kind in KINDS {
        let (mut caller, mut s) = pair(kind, 1 << 20);
        caller.send(&2u32).unwrap();
        caller.send(&4u32).unwrap();
        s.read();
        let task = s.next_task().unwrap();
        drop(caller);
        s.read();
        assert!(s.is_gone());
        assert!(!s.is_done_with_rank(), "the rank still holds a task");
        s.reply(wire::answer(&task, 1));
        s.flush();
        assert!(s.next_task().is_none(), "queued work is dropped");
        assert!(s.is_done_with_rank() && s.is_finished());
    }
}

#[test]
fn an_oversized_frame_is_an_error_after_the_work_before_it() {
    for kind in KINDS {
        let (mut caller, mut s) = pair(kind, 64);
        caller.send(&6u32).unwrap();
        caller.set_max_frame_size(1 << 20);
        caller.send(&vec![0u8; 1000]).unwrap();
        s.read();
        assert!(serve_one(&mut s));
        assert!(!serve_one(&mut s));
        s.flush();
        assert!(s.is_finished());
        assert_eq!(receive(&mut caller).unwrap(), 3);
        let e = receive(&mut caller).unwrap_err();
        assert!(e.to_string().contains("exceeds limit 64"), "{e}");
    }
}

#[test]
fn a_result_over_the_frame_limit_is_an_error_not_a_frame() {
    for kind in KINDS {
        let (mut caller, mut s) = pair(kind, 80);
        caller.send(&2u32).unwrap();
        s.read();
        let _task = s.next_task().unwrap();
        let mut big = pprocess_core::frame::encode_header(FrameKind::Data, 100)
            .unwrap()
            .to_vec();
        big.resize(HEADER_LEN + 100, 0);
        s.reply(big);
        s.flush();
        assert!(s.is_finished());
        let e = receive(&mut caller).unwrap_err();
        assert!(
            e.to_string()
                .contains("result: frame of 100 bytes exceeds limit 80"),
            "{e}"
        );
    }
}

#[test]
fn a_partial_frame_waits_for_the_rest() {
    for kind in KINDS {
        use std::io::Write as _;
        let (ours, theirs) = ends(kind);
        let f = RemoteFn::<MessagePack>::new(halve);
        let mut s = Session::new(theirs, f.to_bytes(), 1 << 20).unwrap();
        let mut args = Vec::new();
        f.encode_args(&10u32, &mut args).unwrap();
        let mut frame = pprocess_core::frame::encode_header(FrameKind::Data, args.len())
            .unwrap()
            .to_vec();
        frame.extend_from_slice(&args);
        let mut raw = ours;
        raw.write_all(&frame[..3]).unwrap();
        s.read();
        assert!(s.next_task().is_none());
        raw.write_all(&frame[3..]).unwrap();
        s.read();
        let task = s.next_task().unwrap();
        assert_eq!(&task[wire::FUNC_LEN..], &args[..]);
    }
}

fn reverse(b: Vec<u8>) -> Vec<u8> {
    b.into_iter().rev().collect()
}

#[test]
fn frames_sent_together_and_a_large_one_become_intact_tasks_in_order_in_reused_buffers() {
    for kind in KINDS {
        let (ours, theirs) = ends(kind);
        let f = RemoteFn::<MessagePack>::new(reverse);
        let mut s = Session::new(theirs, f.to_bytes(), 8 << 20).unwrap();
        let mut caller: Channel<MessagePack> = Channel::new(ours);
        let big: Vec<u8> = (0..3_000_000u32).map(|i| i.to_le_bytes()[1]).collect();
        let sent = [vec![1u8, 2, 3], big, vec![9u8]];
        // The big frame is more than the socket holds: the caller's writes
        // and the session's reads take turns.
        let writer = std::thread::spawn({
            let sent = sent.clone();
            move || {
                for v in &sent {
                    caller.send(v).unwrap();
                }
                caller
            }
        });
        let mut tasks = Vec::new();
        while tasks.len() < 3 {
            s.read();
            while let Some(task) = s.next_task() {
                tasks.push(task.to_vec());
                // Free the rank at once: the next one can be taken, into
                // this one's buffer (the big one's, with its bytes still
                // in it, for the last frame).
                s.recycle(task);
                s.inflight = false;
            }
            std::thread::yield_now();
        }
        let _caller = writer.join().unwrap();
        for (task, v) in tasks.iter().zip(&sent) {
            assert_eq!(&task[..wire::FUNC_LEN], &f.to_bytes()[..]);
            // Exactly the arguments sent: nothing of a reused buffer's
            // earlier bytes.
            let mut args = Vec::new();
            f.encode_args(v, &mut args).unwrap();
            assert_eq!(&task[wire::FUNC_LEN..], &args[..]);
            let mut out = Vec::new();
            f.invoke(&task[wire::FUNC_LEN..], &mut out).unwrap();
            let back: Vec<u8> = f.decode_result(&out).unwrap();
            assert!(back.iter().rev().eq(v.iter()));
        }
    }
}

#[test]
fn small_frames_after_a_large_one_are_read_a_little_at_a_time() {
    for kind in KINDS {
        let (ours, theirs) = ends(kind);
        let f = RemoteFn::<MessagePack>::new(reverse);
        let mut s = Session::new(theirs, f.to_bytes(), 8 << 20).unwrap();
        let mut caller: Channel<MessagePack> = Channel::new(ours);
        let big = vec![5u8; 1 << 20];
        let writer = std::thread::spawn(move || {
            caller.send(&big).unwrap();
            caller
        });
        let task = loop {
            s.read();
            if let Some(task) = s.next_task() {
                break task;
            }
            std::thread::yield_now();
        };
        let mut caller = writer.join().unwrap();
        // The large buffer is the spare now; small frames come in a batch.
        s.recycle(task);
        s.inflight = false;
        // One small frame: cut alone, it leaves the large buffer to read
        // the next frames into.
        caller.send(&vec![1u8]).unwrap();
        s.read();
        assert_eq!(s.tasks.len(), 1, "{kind:?}");
        assert!(s.rbuf.len() >= 1 << 20, "{kind:?}: the spare is in use");
        // About 24 KB of frames, in one write.
        for i in 0..2000u32 {
            caller.feed(&i.to_le_bytes().to_vec()).unwrap();
        }
        caller.flush().unwrap();
        s.read();
        assert_eq!(s.tasks.len(), 2001, "{kind:?}");
        // Each read took at most 4 KiB (the room when no frame is half
        // in), so each task's buffer holds its frame and at most a read's
        // worth after it, but for the first, which is the large one. Read
        // as far as the large buffer goes, the bytes after each frame
        // would be copied to the next buffer again and again (each task
        // holding the rest of the batch).
        let large: Vec<usize> = s
            .tasks
            .iter()
            .map(|t| t.buf.len())
            .filter(|&n| n > 16 << 10)
            .collect();
        assert!(large.len() <= 1, "{kind:?}: buffers of {large:?} bytes");
    }
}
