//! Background processes: `start_persistent`, `connect`, `BackgroundCallable`
//! and the socket files they listen at.
//!
//! Every message a background process sends must reach some peer exactly
//! once, however peers come and go; its socket file must be owner-only and
//! gone when it ends; a stale socket is replaced, anything else at the
//! address is refused and left alone.
//!
//! The tests of this binary run one at a time (they count this process's
//! children), every address is in a fresh temporary directory, and nothing
//! is waited for without a deadline.

mod util;

use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::PathBuf;
use std::time::Duration;

use pprocess_transport::{
    Background, BackgroundCallable, Builder, Error, ExitStatus, Fork, MAX_ADDRESS_LEN, MessagePack,
    PersistentFork, Pid, connect, create, create_persistent, exit, start, start_persistent,
};

use util::persistent::{
    TempDir, assert_address_error, eventually, finish, receive_all, send_range, serial,
    state_and_parent, wait_for_file,
};
use util::{PATIENCE, children, zombie_children};

#[test]
fn a_daemon_outlives_its_starter_and_delivers_everything_in_order() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");

    // An intermediate child starts the background process and ends; the
    // background process is reparented and keeps its results for us.
    let daemon_address = address.clone();
    let mut starter = start(move |ch| {
        let bg = start_persistent(&daemon_address, |ch| send_range(ch, 1..=100))?;
        ch.send(&bg.pid())
    })
    .unwrap();
    let daemon: Pid = starter.receive_timeout(PATIENCE).unwrap();
    assert_eq!(starter.close().unwrap(), Some(ExitStatus::Exited(0)));

    let me = nix::unistd::getpid().as_raw();
    let (_, parent) = state_and_parent(daemon).expect("the daemon runs");
    assert_ne!(parent, me, "the daemon is not this process's child");

    let mut ch = connect(&address).unwrap();
    assert_eq!(receive_all(&mut ch), (1..=100).collect::<Vec<_>>());
    drop(ch);

    // It removes its socket file and ends once everything is acknowledged.
    assert!(
        eventually(PATIENCE, || !address.exists()),
        "socket file left"
    );
    assert!(
        eventually(PATIENCE, || {
            state_and_parent(daemon).is_none_or(|(state, ppid)| state == 'Z' || ppid != parent)
        }),
        "the daemon did not end"
    );
    assert_eq!(dir.entries(), Vec::<String>::new());
}

#[test]
fn a_peer_that_disconnects_mid_stream_loses_nothing_and_duplicates_nothing() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let mut bg = start_persistent(&address, |ch| send_range(ch, 1..=200)).unwrap();

    let mut first = connect(&address).unwrap();
    let mut got: Vec<u32> = (0..50)
        .map(|_| first.receive_timeout(PATIENCE).unwrap())
        .collect();
    drop(first);

    let mut second = connect(&address).unwrap();
    got.extend(receive_all(&mut second));
    assert_eq!(got, (1..=200).collect::<Vec<_>>());
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
    assert!(!address.exists());
}

/// The first peer has acknowledged messages the background process has not
/// read yet (it only reads acknowledgements when its window is full) when
/// it hangs up; the background process then finds the peer gone while
/// sending. The acknowledgements still count: nothing is sent twice.
#[test]
fn acknowledgements_of_a_vanished_peer_still_count() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let (connected, go) = (dir.join("connected"), dir.join("go"));
    let (daemon_connected, daemon_go) = (connected.clone(), go.clone());
    let mut bg = start_persistent(&address, move |ch| {
        // The first peer is waiting before anything is sent, so the first
        // send takes it and writes to it: messages kept while no peer is
        // connected would wait for the next send, and the next send here
        // waits for `go`.
        wait_for_file(&daemon_connected)?;
        send_range(ch, 1..=60)?;
        wait_for_file(&daemon_go)?;
        send_range(ch, 61..=200)
    })
    .unwrap();

    let mut first = connect(&address).unwrap();
    fs::write(&connected, b"").unwrap();
    let mut got: Vec<u32> = (0..50)
        .map(|_| first.receive_timeout(PATIENCE).unwrap())
        .collect();
    drop(first);
    fs::write(&go, b"").unwrap();

    let mut second = connect(&address).unwrap();
    got.extend(receive_all(&mut second));
    assert_eq!(got, (1..=200).collect::<Vec<_>>());
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
    fs::remove_file(&go).unwrap();
    fs::remove_file(&connected).unwrap();
    assert_eq!(dir.entries(), Vec::<String>::new());
}

#[test]
fn many_peers_in_turn_get_every_message_exactly_once() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let mut bg = start_persistent(&address, |ch| send_range(ch, 1..=500)).unwrap();

    let mut got = Vec::new();
    for _ in 0..9 {
        let mut ch = connect(&address).unwrap();
        for _ in 0..37 {
            got.push(ch.receive_timeout::<u32>(PATIENCE).unwrap());
        }
    }
    let mut last = connect(&address).unwrap();
    got.extend(receive_all(&mut last));
    assert_eq!(got, (1..=500).collect::<Vec<_>>());
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
}

#[test]
fn a_peer_may_connect_while_the_daemon_is_still_computing() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let go = dir.join("go");
    let daemon_go = go.clone();
    let mut bg = start_persistent(&address, move |ch| {
        wait_for_file(&daemon_go)?;
        send_range(ch, 1..=10)
    })
    .unwrap();

    let mut ch = connect(&address).unwrap();
    assert!(matches!(
        ch.receive_timeout::<u32>(Duration::from_millis(50)),
        Err(Error::Timeout(_))
    ));
    fs::write(&go, b"").unwrap();
    assert_eq!(receive_all(&mut ch), (1..=10).collect::<Vec<_>>());
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
}

/// `send` runs up to 64 messages ahead of any peer, as documented: the
/// computation is not held up until someone connects.
#[test]
fn send_runs_ahead_before_any_peer_connects() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let sent = dir.join("sent");
    let daemon_sent = sent.clone();
    let mut bg = start_persistent(&address, move |ch| {
        send_range(ch, 1..=64)?;
        fs::write(&daemon_sent, b"")?;
        send_range(ch, 65..=100)
    })
    .unwrap();

    assert!(
        eventually(PATIENCE, || sent.exists()),
        "the first 64 sends waited for a peer"
    );
    let mut ch = connect(&address).unwrap();
    assert_eq!(receive_all(&mut ch), (1..=100).collect::<Vec<_>>());
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
}

#[test]
fn a_daemon_that_sends_nothing_ends_without_a_peer() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let mut bg = start_persistent(&address, |_| ()).unwrap();
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
    assert!(!address.exists());
    assert_address_error(connect(&address), "no socket");
}

#[test]
fn a_daemon_receives_from_its_peers() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let mut bg = start_persistent(&address, |ch| -> pprocess_transport::Result<()> {
        for _ in 0..2 {
            let n: u32 = ch.receive()?;
            ch.send(&(n * 2))?;
        }
        Ok(())
    })
    .unwrap();

    // A peer that asks and leaves, then one that asks and stays.
    let mut first = connect(&address).unwrap();
    first.send(&21u32).unwrap();
    assert_eq!(first.receive_timeout::<u32>(PATIENCE).unwrap(), 42);
    drop(first);
    let mut second = connect(&address).unwrap();
    second.send(&50u32).unwrap();
    assert_eq!(receive_all(&mut second), [100]);
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
}

#[test]
fn the_socket_is_owner_only_and_removed_when_the_daemon_ends() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let mut bg = start_persistent(&address, |ch| ch.send(&7u32)).unwrap();
    assert_eq!(bg.address(), address);

    let meta = fs::symlink_metadata(&address).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    // Nothing else is left beside it (the directory it was bound in is gone).
    assert_eq!(dir.entries(), ["task.socket"]);

    let mut ch = connect(&address).unwrap();
    assert_eq!(receive_all(&mut ch), [7]);
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
    assert!(!address.exists(), "socket file left after the daemon ended");
}

/// A child of the background process (forked with a copy of its
/// persistent channel) that drops that copy must not remove the socket
/// file: only the background process itself does, when it ends.
#[test]
fn only_the_background_process_removes_its_socket_file() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    match create_persistent(&address).unwrap() {
        // The background process: nothing here may panic into the test
        // harness.
        PersistentFork::Child(mut ch) => {
            let still_there = match create() {
                Ok(Fork::Child(grandchild)) => {
                    drop(ch);
                    exit(grandchild)
                }
                Ok(Fork::Parent(grandchild)) => {
                    grandchild.close().ok() == Some(Some(ExitStatus::Exited(0))) && address.exists()
                }
                Err(_) => false,
            };
            let _ = ch.send(&still_there);
            ch.exit(0)
        }
        PersistentFork::Parent(mut bg) => {
            // The starter's copy of the listener is gone, the file is not.
            assert!(address.exists());
            let mut ch = connect(&address).unwrap();
            assert!(
                ch.receive_timeout::<bool>(PATIENCE).unwrap(),
                "a child of the background process removed the socket file"
            );
            assert!(
                ch.receive_timeout::<bool>(PATIENCE)
                    .unwrap_err()
                    .is_closed()
            );
            assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
            assert!(!address.exists());
        }
    }
}

#[test]
fn a_stale_socket_of_a_killed_daemon_is_replaced() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let mut bg = start_persistent(&address, |ch| ch.send(&1u32)).unwrap();
    bg.kill().unwrap();
    assert_eq!(finish(&mut bg), ExitStatus::Signaled(9));

    // Killed: its socket file stays, and nobody listens there.
    assert!(
        fs::symlink_metadata(&address)
            .unwrap()
            .file_type()
            .is_socket()
    );
    assert_address_error(connect(&address), "nobody listens");

    let mut bg = start_persistent(&address, |ch| ch.send(&2u32)).unwrap();
    let mut ch = connect(&address).unwrap();
    assert_eq!(receive_all(&mut ch), [2]);
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
    assert_eq!(dir.entries(), Vec::<String>::new());
}

#[test]
fn a_live_daemon_is_not_replaced_and_loses_nothing_to_the_probe() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let mut bg = start_persistent(&address, |ch| send_range(ch, 1..=100)).unwrap();

    // Checking whether the address is live connects to it and hangs up.
    assert_address_error(start_persistent(&address, |_| ()), "live process");
    assert_eq!(children().len(), 1, "a second daemon was forked");

    let mut ch = connect(&address).unwrap();
    assert_eq!(receive_all(&mut ch), (1..=100).collect::<Vec<_>>());
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
}

#[test]
fn a_file_that_is_not_a_socket_is_refused_and_left_alone() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("precious.txt");
    fs::write(&address, b"keep me").unwrap();
    assert_address_error(start_persistent(&address, |_| ()), "not a socket");
    assert_eq!(fs::read(&address).unwrap(), b"keep me");

    let subdir = dir.join("subdir");
    fs::create_dir(&subdir).unwrap();
    assert_address_error(start_persistent(&subdir, |_| ()), "not a socket");
    assert!(subdir.is_dir());

    assert_address_error(connect(&address), "precious.txt");
    assert_eq!(children(), [], "a daemon was forked");
    assert_eq!(dir.entries(), ["precious.txt", "subdir"]);
}

#[test]
fn an_address_too_long_for_a_socket_is_refused() {
    let _serial = serial();
    let dir = TempDir::new();
    let long = dir.join("a".repeat(MAX_ADDRESS_LEN + 1 - dir.path().as_os_str().len()));
    assert_eq!(long.as_os_str().len(), MAX_ADDRESS_LEN + 2);
    assert_address_error(start_persistent(&long, |_| ()), "107");
    assert_address_error(connect(&long), "107");
    assert_address_error(BackgroundCallable::new(&long, |()| 1).call(()), "107");

    // Exactly the limit is fine.
    let longest = dir.join("b".repeat(MAX_ADDRESS_LEN - 1 - dir.path().as_os_str().len()));
    assert_eq!(longest.as_os_str().len(), MAX_ADDRESS_LEN);
    let mut bg = start_persistent(&longest, |ch| ch.send(&3u32)).unwrap();
    assert_eq!(receive_all(&mut connect(&longest).unwrap()), [3]);
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
    assert_eq!(children(), []);
}

#[test]
fn connecting_to_a_missing_address_is_an_address_error() {
    let dir = TempDir::new();
    assert_address_error(connect(dir.join("nobody.socket")), "no socket");
    assert_address_error(connect(dir.join("no/such/dir.socket")), "no socket");
}

#[test]
fn a_panic_in_the_background_reaches_the_peer_as_a_remote_error() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let mut bg = start_persistent(&address, |ch| -> pprocess_transport::Result<()> {
        ch.send(&1u32)?;
        panic!("boom in the background");
    })
    .unwrap();

    let mut ch = connect(&address).unwrap();
    assert_eq!(ch.receive_timeout::<u32>(PATIENCE).unwrap(), 1);
    match ch.receive_timeout::<u32>(PATIENCE) {
        Err(Error::Remote { pid, message, .. }) => {
            assert_eq!(pid, bg.pid());
            assert!(message.contains("boom in the background"), "{message:?}");
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
    assert!(ch.receive_timeout::<u32>(PATIENCE).unwrap_err().is_closed());
    assert_eq!(finish(&mut bg), ExitStatus::Exited(101));
    assert!(!address.exists());
}

#[test]
fn an_error_returned_in_the_background_reaches_the_peer() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let mut bg = start_persistent(&address, |_| Err::<(), _>("no luck")).unwrap();

    let mut ch = connect(&address).unwrap();
    match ch.receive_timeout::<u32>(PATIENCE) {
        Err(Error::Remote { message, .. }) => assert_eq!(message, "no luck"),
        other => panic!("expected a remote error, got {other:?}"),
    }
    drop(ch);
    assert_eq!(finish(&mut bg), ExitStatus::Exited(1));
}

#[test]
fn a_background_callable_keeps_its_result_for_whoever_connects() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let data = [1u64, 2, 3, 4];
    let mut bg = BackgroundCallable::new(&address, move |k: u64| {
        data.iter().map(|x| x * k).collect::<Vec<u64>>()
    })
    .call(10)
    .unwrap();
    assert_eq!(bg.address(), address);

    let mut ch = connect(&address).unwrap();
    assert_eq!(
        ch.receive_timeout::<Vec<u64>>(PATIENCE).unwrap(),
        [10, 20, 30, 40]
    );
    assert!(ch.receive_timeout::<u32>(PATIENCE).unwrap_err().is_closed());
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
}

/// Where [`log_file_child`] works, when it runs as this test's helper.
const LOG_DIR_VAR: &str = "PPROCESS_TEST_PERSISTENT_LOG_DIR";

/// Under `cargo test`, `println!` in a test thread (and in a child forked
/// from it) goes to the harness's capture buffer, never to descriptor 1.
/// So the background process is started by [`log_file_child`], run in a
/// fresh copy of this test binary with `--nocapture`, where `println!`
/// writes to descriptor 1 as in any program.
#[test]
fn the_log_file_gets_the_background_processs_println_output() {
    let _serial = serial();
    let dir = TempDir::new();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "log_file_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(LOG_DIR_VAR, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the helper did not run:\n{stdout}"
    );
    // Only what the starter printed reaches the starter's stdout.
    assert!(
        stdout.contains("started the background process"),
        "{stdout}"
    );
    assert!(!stdout.contains("from the background"), "{stdout}");
    assert!(!stderr.contains("from the background"), "{stderr}");

    let text = fs::read_to_string(dir.join("task.log")).unwrap();
    assert_eq!(
        text,
        "before\nhello from the background\nand from its stderr\n"
    );
    assert_eq!(dir.entries(), ["task.log"]);
}

/// The helper of the test above: does nothing unless that test runs it.
#[test]
fn log_file_child() {
    let Some(dir) = std::env::var_os(LOG_DIR_VAR) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let address = dir.join("task.socket");
    let log = dir.join("task.log");
    fs::write(&log, "before\n").unwrap();
    let mut bg = Builder::<MessagePack>::new()
        .log_file(&log)
        .start_persistent(&address, |ch| {
            println!("hello from the background");
            eprintln!("and from its stderr");
            ch.send(&5u32)
        })
        .unwrap();
    println!("started the background process");

    let mut ch = connect(&address).unwrap();
    assert_eq!(receive_all(&mut ch), [5]);
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
}

#[test]
fn no_zombie_and_no_socket_file_is_left() {
    let _serial = serial();
    let dir = TempDir::new();
    let mut daemons: Vec<Background> = (0..5u32)
        .map(|i| {
            start_persistent(dir.join(format!("task-{i}.socket")), move |ch| {
                send_range(ch, i * 10..=i * 10 + 9)
            })
            .unwrap()
        })
        .collect();
    assert_eq!(children().len(), 5);
    for (i, bg) in (0..5u32).zip(&mut daemons) {
        let mut ch = connect(bg.address()).unwrap();
        assert_eq!(
            receive_all(&mut ch),
            (i * 10..=i * 10 + 9).collect::<Vec<_>>()
        );
    }
    for bg in &mut daemons {
        assert_eq!(finish(bg), ExitStatus::Exited(0));
    }
    assert_eq!(zombie_children(), Vec::<Pid>::new());
    assert_eq!(children(), []);
    assert_eq!(dir.entries(), Vec::<String>::new());
}

/// A peer that takes messages with `receive_borrowed` acknowledges them as
/// `receive` does: a daemon sending far more than its window of 64 gets
/// every acknowledgement and ends, and nothing is lost or repeated.
#[test]
fn borrowed_receives_are_acknowledged() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let mut bg = start_persistent(&address, |ch| {
        for i in 0..1000u32 {
            ch.send(&format!("message {i}"))?;
        }
        Ok::<(), Error>(())
    })
    .unwrap();
    let mut ch = connect(&address).unwrap();
    for i in 0..1000u32 {
        let text: &str = ch.receive_borrowed().unwrap();
        assert_eq!(text, format!("message {i}"));
    }
    assert!(ch.receive_borrowed::<&str>().unwrap_err().is_closed());
    drop(ch);
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
    assert_eq!(dir.entries(), Vec::<String>::new());
}
