//! `spawn` and `JoinHandle`: values, errors with their source chains,
//! panics, deaths, `is_finished`, `kill`, and what a drop does to a child
//! that has ended or still runs.
//!
//! Every child is reaped by the test that made it: each test checks that
//! `/proc/PID` is gone (no zombie) once the handle is joined or dropped,
//! and no test waits without a deadline.

mod util;

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::sys::signal::{Signal, raise};
use nix::unistd::pipe2;
use pprocess_transport::{
    Builder, Error, ExitStatus, JoinHandle, Json, Pid, RemoteKind, ResultOutcome, ValueOutcome,
    spawn,
};

use util::{PATIENCE, within};

fn reaped(pid: Pid) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// A pipe whose read end a child blocks on until the test writes a byte
/// (or drops the write end). Not one of the library's descriptors, so the
/// child keeps it.
fn gate() -> (OwnedFd, OwnedFd) {
    pipe2(OFlag::O_CLOEXEC).expect("pipe")
}

fn block_on(read: &OwnedFd) {
    let mut byte = [0u8];
    let _ = nix::unistd::read(read, &mut byte);
}

/// Polls `is_finished` until it says yes, or fails after `PATIENCE`.
fn wait_finished<R>(handle: &mut JoinHandle<R>) {
    let deadline = Instant::now() + PATIENCE;
    while !handle.is_finished() {
        assert!(Instant::now() < deadline, "child did not finish in time");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn join_returns_the_value_and_reaps_the_child() {
    let handle = spawn(|| 6u64 * 7).unwrap();
    let pid = handle.pid();
    assert_eq!(handle.join().unwrap(), 42);
    assert!(reaped(pid), "child {pid} left behind");
}

#[test]
fn closure_may_borrow_data_that_is_neither_static_nor_send() {
    let words = Rc::new(vec!["fork".to_string(), "join".to_string()]);
    let local = 10usize;
    let handle = spawn(|| words.iter().map(String::len).sum::<usize>() + local).unwrap();
    assert_eq!(handle.join().unwrap(), 18);
    // The parent's copy is untouched and still shared once.
    assert_eq!(Rc::strong_count(&words), 1);
}

#[test]
fn structured_values_cross_whole() {
    let handle = spawn(|| (0..5u32).map(|i| (i, i.to_string())).collect::<Vec<_>>()).unwrap();
    let got = handle.join().unwrap();
    assert_eq!(got.len(), 5);
    assert_eq!(got[3], (3, "3".to_string()));
}

#[test]
fn ok_of_a_result_is_the_value() {
    let handle = spawn(|| "1234".parse::<u32>()).unwrap();
    assert_eq!(handle.join().unwrap(), 1234);
}

/// An error with a source, which has a source: the whole chain crosses.
#[derive(Debug)]
struct ConfigError(Error);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot load the configuration")
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn returned_error_is_remote_error_with_its_source_chain() {
    let handle = spawn(|| -> Result<u32, ConfigError> {
        Err(ConfigError(Error::Io(io::Error::new(
            io::ErrorKind::NotFound,
            "config.toml is missing",
        ))))
    })
    .unwrap();
    let pid = handle.pid();
    let err = handle.join().unwrap_err();
    match &err {
        Error::Remote {
            pid: from,
            kind,
            message,
            ..
        } => {
            assert_eq!(*from, pid);
            assert_eq!(*kind, RemoteKind::Error);
            assert_eq!(message, "cannot load the configuration");
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
    assert_eq!(
        err.remote_chain(),
        ["i/o error: entity not found", "config.toml is missing"]
    );
    // The chain is the error's `source()`, link by link.
    let first = std::error::Error::source(&err).expect("a source");
    assert_eq!(first.to_string(), "i/o error: entity not found");
    assert_eq!(
        first.source().expect("a second link").to_string(),
        "config.toml is missing"
    );
    assert!(reaped(pid));
}

#[test]
fn panic_is_remote_error_of_kind_panic() {
    let handle = spawn(|| -> u32 { panic!("out of cheese at {}", 7) }).unwrap();
    let pid = handle.pid();
    match handle.join().unwrap_err() {
        Error::Remote {
            kind: RemoteKind::Panic,
            message,
            ..
        } => assert_eq!(message, "out of cheese at 7"),
        other => panic!("expected a panic, got {other:?}"),
    }
    assert!(reaped(pid));
}

#[test]
fn child_that_dies_without_a_value_is_child_died_with_its_status() {
    let handle = spawn(|| -> u32 {
        let _ = raise(Signal::SIGKILL);
        unreachable!("SIGKILL cannot be caught")
    })
    .unwrap();
    let pid = handle.pid();
    match handle.join().unwrap_err() {
        Error::ChildDied { pid: died, status } => {
            assert_eq!(died, pid);
            assert_eq!(status, ExitStatus::Signaled(Signal::SIGKILL as i32));
        }
        other => panic!("expected ChildDied, got {other:?}"),
    }
    assert!(reaped(pid));
}

#[test]
fn is_finished_is_false_while_the_child_works_and_true_once_the_value_is_in() {
    let (read, write) = gate();
    let mut handle = spawn(|| {
        block_on(&read);
        "done".to_string()
    })
    .unwrap();
    drop(read);
    assert!(!handle.is_finished(), "finished before it was released");
    nix::unistd::write(&write, b"x").unwrap();
    wait_finished(&mut handle);
    assert_eq!(handle.join().unwrap(), "done");
}

#[test]
fn kill_then_join_is_child_died_by_sigkill() {
    let (read, _write) = gate();
    let mut handle = spawn(|| {
        block_on(&read);
        1u8
    })
    .unwrap();
    let pid = handle.pid();
    handle.kill().unwrap();
    let err = within(PATIENCE, move || handle.join().unwrap_err());
    assert!(
        matches!(
            err,
            Error::ChildDied {
                status: ExitStatus::Signaled(9),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(reaped(pid));
}

#[test]
fn dropping_the_handle_of_a_running_child_kills_and_reaps_it_without_hanging() {
    let (read, write) = gate();
    let handle = spawn(|| {
        block_on(&read);
        0u8
    })
    .unwrap();
    let pid = handle.pid();
    assert!(!reaped(pid));
    // The child would block for ever: the drop must not wait for it.
    within(PATIENCE, move || drop(handle));
    assert!(reaped(pid), "child {pid} still there after the drop");
    drop(write);
}

#[test]
fn dropping_the_handle_of_a_finished_child_reaps_it() {
    let mut handle = spawn(|| 5u8).unwrap();
    let pid = handle.pid();
    wait_finished(&mut handle);
    drop(handle);
    assert!(reaped(pid), "zombie {pid} after the drop");
}

#[test]
fn a_value_the_codec_cannot_encode_is_a_remote_error_naming_it() {
    // JSON maps need string keys.
    let handle = Builder::<Json>::new()
        .spawn(|| std::collections::BTreeMap::from([((1u8, 2u8), 3u8)]))
        .unwrap();
    match handle.join().unwrap_err() {
        Error::Remote {
            kind: RemoteKind::Error,
            message,
            ..
        } => assert!(message.starts_with("cannot encode"), "{message}"),
        other => panic!("expected an encode failure, got {other:?}"),
    }
}

#[test]
fn the_marker_chooses_between_error_and_value_for_serializable_errors() {
    let as_error = spawn::<_, ResultOutcome>(|| Err::<u32, String>("refused".into())).unwrap();
    match as_error.join().unwrap_err() {
        Error::Remote { message, .. } => assert_eq!(message, "refused"),
        other => panic!("{other:?}"),
    }
    let as_value = spawn::<_, ValueOutcome>(|| Err::<u32, String>("refused".into())).unwrap();
    assert_eq!(as_value.join().unwrap(), Err("refused".to_string()));
}

#[test]
fn a_handle_can_be_joined_on_another_thread() {
    let handle = spawn(std::process::id).unwrap();
    let pid = handle.pid();
    let child_pid = std::thread::spawn(move || handle.join().unwrap())
        .join()
        .unwrap();
    assert_eq!(Pid::try_from(child_pid).ok(), Some(pid));
    assert!(reaped(pid));
}

#[test]
fn start_child_error_carries_its_source_chain_too() {
    let mut ch = pprocess_transport::start(|_| -> Result<(), ConfigError> {
        Err(ConfigError(Error::Io(io::Error::other("disk on fire"))))
    })
    .unwrap();
    let err = ch.receive_timeout::<u8>(PATIENCE).unwrap_err();
    assert!(
        matches!(&err, Error::Remote { kind: RemoteKind::Error, message, .. } if message == "cannot load the configuration"),
        "{err:?}"
    );
    assert_eq!(
        err.remote_chain(),
        ["i/o error: other error", "disk on fire"]
    );
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(1)));
}

#[test]
fn boxed_errors_are_child_outcomes_directly_or_converted() {
    use std::error::Error as StdError;
    let mut ch = pprocess_transport::start(|_| -> Result<(), Box<dyn StdError>> {
        Err(Box::new(ConfigError(Error::Closed)))
    })
    .unwrap();
    let err = ch.receive_timeout::<u8>(PATIENCE).unwrap_err();
    assert_eq!(err.remote_chain(), ["channel closed by peer"], "{err:?}");
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(1)));

    // `Box<dyn Error + Send + Sync>` goes through `ChildFailure` (or an
    // `as Box<dyn Error>`), as ChildOutcome's docs say.
    let mut ch = pprocess_transport::start(|_| {
        let e: Box<dyn StdError + Send + Sync> = Box::new(ConfigError(Error::Closed));
        Err::<(), _>(pprocess_transport::ChildFailure::from_error(&*e))
    })
    .unwrap();
    let err = ch.receive_timeout::<u8>(PATIENCE).unwrap_err();
    assert_eq!(err.remote_chain(), ["channel closed by peer"], "{err:?}");
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(1)));
    let mut ch = pprocess_transport::start(|_| {
        let e: Box<dyn StdError + Send + Sync> = "plain".into();
        Err::<(), _>(e as Box<dyn StdError>)
    })
    .unwrap();
    let err = ch.receive_timeout::<u8>(PATIENCE).unwrap_err();
    assert!(
        matches!(&err, Error::Remote { message, .. } if message == "plain"),
        "{err:?}"
    );
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(1)));
}
