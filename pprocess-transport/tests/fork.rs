//! Forked children: errors and panics reported to the parent, a child
//! killed mid-frame, fork hygiene (stdio flushed, siblings' channels
//! closed), and `create` / `create_pipes` end to end.
//!
//! Every child is reaped by the test that made it, and no test waits
//! without a deadline.

mod util;

use std::os::fd::AsFd;
use std::process::Command;

use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::unistd::pipe2;
use pprocess_core::frame::encode_header;
use pprocess_core::{FrameKind, HEADER_LEN, RemoteKind};
use pprocess_transport::{
    Builder, Error, ExitStatus, Fork, MessagePack, Process, create, create_pipes, exit, start,
};

use util::PATIENCE;

#[test]
fn receive_after_child_panic_is_remote_error_and_exit_101() {
    let mut ch = start::<_, ()>(|_| panic!("boom 42")).unwrap();
    let pid = ch.pid().expect("parent side knows the pid");
    let err = ch.receive_timeout::<u32>(PATIENCE).unwrap_err();
    match &err {
        Error::Remote {
            pid: from,
            message,
            kind,
            ..
        } => {
            assert_eq!(*from, pid);
            assert!(message.contains("boom 42"), "{message:?}");
            assert_eq!(*kind, RemoteKind::Panic);
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
    assert!(err.is_remote());
    assert!(ch.receive_timeout::<u32>(PATIENCE).unwrap_err().is_closed());
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(101)));
}

#[test]
fn receive_after_child_returns_error_is_remote_error_and_exit_1() {
    let mut ch = start(|_| Err::<(), _>("bad thing")).unwrap();
    let pid = ch.pid().unwrap();
    match ch.receive_timeout::<u32>(PATIENCE).unwrap_err() {
        Error::Remote {
            pid: from,
            message,
            kind,
            ..
        } => {
            assert_eq!(from, pid);
            assert_eq!(message, "bad thing");
            assert_eq!(kind, RemoteKind::Error);
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(1)));
}

#[test]
fn values_sent_before_child_error_arrive_before_remote_error() {
    let mut ch = start(|ch| -> Result<(), String> {
        for i in 0..3u8 {
            ch.send(&i).map_err(|e| e.to_string())?;
        }
        Err("after three".into())
    })
    .unwrap();
    for i in 0..3u8 {
        assert_eq!(ch.receive_timeout::<u8>(PATIENCE).unwrap(), i);
    }
    let err = ch.receive_timeout::<u8>(PATIENCE).unwrap_err();
    assert!(
        matches!(&err, Error::Remote { message, .. } if message == "after three"),
        "{err:?}"
    );
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(1)));
}

/// The child sends "ready", then a header announcing 1 MiB and only part of
/// the payload (raw writes on its socket), tells the parent on a side pipe
/// that the bytes are out, and blocks. Killed there, it leaves a truncated
/// frame behind.
#[test]
fn child_killed_mid_frame_gives_truncated_and_sigkill_status() {
    const ANNOUNCED: usize = 1 << 20;
    const SENT: usize = 1000;
    let mut partial = encode_header(FrameKind::Data, ANNOUNCED).unwrap().to_vec();
    partial.extend(util::pseudo_random_bytes(SENT, 3));
    let (side_r, side_w) = pipe2(OFlag::O_CLOEXEC).unwrap();

    match create().unwrap() {
        Fork::Child(mut ch) => {
            // Nothing here may panic or return into the test harness.
            let _ = ch.send("ready");
            let _ = nix::unistd::write(ch.transport().write_fd(), &partial);
            let _ = nix::unistd::write(&side_w, b"!");
            loop {
                std::thread::park();
            }
        }
        Fork::Parent(mut ch) => {
            drop(side_w);
            let pid = ch.pid().unwrap();
            assert_eq!(ch.receive_timeout::<String>(PATIENCE).unwrap(), "ready");
            let out = util::wait_readable(side_r.as_fd(), PATIENCE);
            if !out {
                ch.kill().unwrap();
                ch.wait().unwrap();
                panic!("child {pid} never wrote its partial frame");
            }
            ch.kill().unwrap();
            let err = ch.receive_timeout::<Vec<u8>>(PATIENCE).unwrap_err();
            let expected = (HEADER_LEN + ANNOUNCED) as u64;
            let got = (HEADER_LEN + SENT) as u64;
            assert!(
                matches!(err, Error::Truncated { expected: e, got: g } if e == expected && g == got),
                "expected Truncated {{ expected: {expected}, got: {got} }}, got {err:?}"
            );
            assert_eq!(
                ch.wait().unwrap(),
                Some(ExitStatus::Signaled(Signal::SIGKILL as i32))
            );
        }
    }
}

/// Child A waits for end of file on its channel; child B, forked after A,
/// blocks on its own. When the parent closes its end of A's channel, A
/// must see end of file at once: B must not have kept a copy of that end.
#[test]
fn second_child_does_not_keep_first_childs_channel_open() {
    let mut a = start(|ch| match ch.receive::<u8>() {
        Err(e) if e.is_closed() => Ok(()),
        other => Err(format!("expected end of file, got {other:?}")),
    })
    .unwrap();
    let mut b = start(|ch| {
        let _ = ch.receive::<u8>();
    })
    .unwrap();
    assert_eq!(b.try_wait().unwrap(), None, "B ended early");

    // Close the parent's descriptor itself (a socket `shutdown` would reach
    // A even if B held a copy); keep the process handle to reap A.
    let mut a_child = a.take_child().unwrap();
    drop(a);
    let status = util::wait_deadline(|| a_child.try_wait(), PATIENCE);
    if status.is_none() {
        let _ = a_child.kill();
        let _ = a_child.wait();
    }
    assert_eq!(
        status,
        Some(ExitStatus::Exited(0)),
        "child A never saw end of file: a sibling keeps its channel open"
    );
    assert_eq!(b.try_wait().unwrap(), None, "B should still be blocked");
    assert_eq!(b.close().unwrap(), Some(ExitStatus::Exited(0)));
}

/// The same over pipes, where the parent's `close_write` closes the
/// descriptor itself.
#[test]
fn second_child_does_not_keep_first_childs_pipe_open() {
    let builder = Builder::<MessagePack>::new().transport(pprocess_transport::TransportKind::Pipe);
    let mut a = builder
        .start(|ch| match ch.receive::<u8>() {
            Err(e) if e.is_closed() => Ok(()),
            other => Err(format!("expected end of file, got {other:?}")),
        })
        .unwrap();
    let mut b = builder
        .start(|ch| {
            let _ = ch.receive::<u8>();
        })
        .unwrap();
    a.close_write().unwrap();
    let status = util::wait_deadline(|| a.try_wait(), PATIENCE);
    if status.is_none() {
        a.kill().unwrap();
        a.wait().unwrap();
    }
    assert_eq!(
        status,
        Some(ExitStatus::Exited(0)),
        "child A never saw end of file: a sibling keeps its pipe open"
    );
    assert_eq!(b.try_wait().unwrap(), None, "B should still be blocked");
    assert_eq!(b.close().unwrap(), Some(ExitStatus::Exited(0)));
    assert_eq!(a.close().unwrap(), Some(ExitStatus::Exited(0)));
}

const ONCE_ENV: &str = "PPROCESS_TEST_PRINT_BEFORE_START";
const MARKER: &str = "marker-xyz";

/// Re-runs this test binary for just this test (as rayon's
/// `stack_overflow_crash` does), so that the child's stdout is a pipe we
/// read: text printed without a newline before `start` must appear once.
/// If `start` did not flush stdout, the child would print it too.
#[test]
fn text_printed_before_start_appears_once() {
    if std::env::var_os(ONCE_ENV).is_some() {
        print!("{MARKER}");
        let ch = start(|_| ()).unwrap();
        assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "text_printed_before_start_appears_once",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ONCE_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "inner run failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the inner test did not run:\n{stdout}"
    );
    assert_eq!(stdout.matches(MARKER).count(), 1, "stdout:\n{stdout}");
}

#[test]
fn create_runs_parent_and_child_branches() {
    match create().unwrap() {
        Fork::Child(mut ch) => {
            if let Ok(n) = ch.receive::<u64>() {
                let _ = ch.send(&(n * 2, std::process::id()));
            }
            exit(ch);
        }
        Fork::Parent(mut ch) => {
            assert_eq!(ch.transport().raw_fds().len(), 1, "a socketpair has one fd");
            let n = 21u64;
            ch.send(&n).unwrap();
            let (doubled, child_pid) = ch.receive_timeout::<(u64, u32)>(PATIENCE).unwrap();
            assert_eq!(doubled, n * 2);
            assert_eq!(i32::try_from(child_pid).ok(), ch.pid());
            assert!(ch.receive_timeout::<u64>(PATIENCE).unwrap_err().is_closed());
            assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
        }
    }
}

#[test]
fn create_pipes_works_end_to_end() {
    match create_pipes().unwrap() {
        Fork::Child(mut ch) => {
            while let Ok(s) = ch.receive::<String>() {
                if ch.send(&s.to_uppercase()).is_err() {
                    break;
                }
            }
            exit(ch);
        }
        Fork::Parent(mut ch) => {
            assert_eq!(
                ch.transport().raw_fds().len(),
                2,
                "a pair of pipes has two fds"
            );
            for word in ["pipes", "grüße", "end"] {
                ch.send(word).unwrap();
                assert_eq!(
                    ch.receive_timeout::<String>(PATIENCE).unwrap(),
                    word.to_uppercase()
                );
            }
            ch.close_write().unwrap();
            assert!(
                ch.receive_timeout::<String>(PATIENCE)
                    .unwrap_err()
                    .is_closed()
            );
            assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
        }
    }
}

#[test]
fn kill_then_wait_reports_signal_and_wait_again_repeats_it() {
    let mut ch = start(|ch| {
        let _ = ch.receive::<u8>();
    })
    .unwrap();
    ch.kill().unwrap();
    let status = Some(ExitStatus::Signaled(Signal::SIGKILL as i32));
    assert_eq!(ch.wait().unwrap(), status);
    assert_eq!(
        ch.wait().unwrap(),
        status,
        "a second wait returns the same status"
    );
    assert_eq!(ch.try_wait().unwrap(), status);
    assert_eq!(ch.close().unwrap(), status);
}
