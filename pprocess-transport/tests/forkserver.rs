//! The fork server: workers forked from a clean copy of the program, so
//! that locks held by the program's threads do not follow them.
//!
//! `ForkServer::start` needs a process with one thread, and the test
//! harness has several; each test therefore runs its body in a child forked
//! from the harness (which has one thread, like a program at the top of
//! `main`), bounded by a timeout that fails the test and kills the child.

mod util;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pprocess_transport::{
    Builder, Error, ExitStatus, ForkServer, MessagePack, Pid, RemoteFn, start, thread_count,
};

/// Runs `body` in a forked, single-threaded child and fails the test if it
/// fails, panics, or takes more than `timeout` (then the child is killed).
fn in_clean_process(timeout: Duration, body: fn() -> Result<(), String>) {
    let mut ch = start(move |ch| ch.send(&body())).expect("fork the clean process");
    match ch.receive_timeout::<Result<(), String>>(timeout) {
        Ok(Ok(())) => {}
        Ok(Err(message)) => panic!("{message}"),
        Err(e) => {
            let _ = ch.kill();
            let _ = ch.wait();
            panic!("the clean process failed or hung: {e}");
        }
    }
    assert_eq!(ch.close().expect("reap"), Some(ExitStatus::Exited(0)));
}

/// `Err` with a message unless `cond`.
fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what()) }
}

fn parent_of(pid: Pid) -> Option<Pid> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn square(x: u64) -> u64 {
    x * x
}

fn fail_on_odd(x: u64) -> u64 {
    assert!(x % 2 == 0, "{x} is odd");
    x
}

#[test]
fn start_in_a_threaded_process_is_an_error_naming_the_thread_count() {
    // The harness runs this test on a thread of its own.
    let n = thread_count().expect("/proc/self/status");
    assert!(n > 1);
    let err = ForkServer::start().unwrap_err();
    // The reason is the error's source.
    let text = std::error::Error::source(&err).map_or(String::new(), ToString::to_string);
    assert!(matches!(err, Error::Fork(_)), "{err:?}");
    assert!(text.contains("one thread"), "{text}");
    assert!(
        text.contains(&format!("has {n} threads")) || text.contains("threads"),
        "{text}"
    );
}

#[test]
fn worker_runs_remote_function_and_is_a_child_of_the_program() {
    in_clean_process(3 * util::PATIENCE, || {
        let server = ForkServer::start().map_err(|e| e.to_string())?;
        let me = nix::unistd::getpid().as_raw();
        check(parent_of(server.pid()) == Some(me), || {
            "server's parent".into()
        })?;
        let builder = server.builder();
        let mut ch = builder
            .start_fn(RemoteFn::new(square))
            .map_err(|e| e.to_string())?;
        let pid = ch.pid().ok_or("no pid")?;
        // A sibling of the server: the program's own child.
        check(parent_of(pid) == Some(me), || {
            format!("worker {pid}'s parent is {:?}, not {me}", parent_of(pid))
        })?;
        for x in [3u64, 4, 5] {
            ch.send(&x).map_err(|e| e.to_string())?;
        }
        for x in [3u64, 4, 5] {
            let got: u64 = ch
                .receive_timeout(util::PATIENCE)
                .map_err(|e| e.to_string())?;
            check(got == x * x, || format!("{x}² came back as {got}"))?;
        }
        ch.send_end().map_err(|e| e.to_string())?;
        let status = ch.close().map_err(|e| e.to_string())?;
        check(status == Some(ExitStatus::Exited(0)), || {
            format!("{status:?}")
        })?;
        check(server.is_running().map_err(|e| e.to_string())?, || {
            "server ended".into()
        })?;
        Ok(())
    });
}

#[test]
fn panic_in_a_worker_is_a_remote_error_with_its_pid() {
    in_clean_process(3 * util::PATIENCE, || {
        let server = ForkServer::start().map_err(|e| e.to_string())?;
        let mut ch = server
            .builder()
            .start_fn(RemoteFn::new(fail_on_odd))
            .map_err(|e| e.to_string())?;
        let pid = ch.pid().ok_or("no pid")?;
        ch.send(&2u64).map_err(|e| e.to_string())?;
        ch.send(&3u64).map_err(|e| e.to_string())?;
        let first: u64 = ch
            .receive_timeout(util::PATIENCE)
            .map_err(|e| e.to_string())?;
        check(first == 2, || format!("{first}"))?;
        match ch.receive_timeout::<u64>(util::PATIENCE) {
            Err(Error::Remote {
                pid: p, message, ..
            }) => {
                check(p == pid, || format!("remote pid {p}, worker {pid}"))?;
                check(message == "3 is odd", || message.clone())?;
            }
            other => return Err(format!("expected a remote error, got {other:?}")),
        }
        let status = ch.close().map_err(|e| e.to_string())?;
        check(status == Some(ExitStatus::Exited(101)), || {
            format!("{status:?}")
        })
    });
}

/// Held by a thread of the program at the moment work is forked.
static HELD: Mutex<u32> = Mutex::new(7);

fn take_held(_: ()) -> u32 {
    *HELD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `f` while another thread holds [`HELD`]; the thread lets go once
/// `f` has returned.
fn while_held<T>(f: impl FnOnce() -> T) -> T {
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let guard = HELD
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = held_tx.send(());
        let _ = done_rx.recv();
        drop(guard);
    });
    held_rx.recv().expect("the holder took the lock");
    let out = f();
    let _ = done_tx.send(());
    let _ = holder.join();
    out
}

#[test]
fn without_the_server_a_child_deadlocks_on_a_lock_another_thread_held() {
    // The risk the fork server removes, shown deterministically: a thread
    // holds the lock while the process forks; the child's copy of the lock
    // is held by a thread the child does not have.
    in_clean_process(3 * util::PATIENCE, || {
        pprocess_transport::set_thread_warning(false);
        let outcome = while_held(|| {
            let mut ch = start(|ch| ch.send(&take_held(()))).map_err(|e| e.to_string())?;
            let got = ch.receive_timeout::<u32>(Duration::from_millis(500));
            // The deadlocked child is killed, and reaped.
            let _ = ch.kill();
            let status = ch.close().map_err(|e| e.to_string())?;
            Ok::<_, String>((got, status))
        })?;
        match outcome {
            (Err(Error::Timeout(_)), Some(ExitStatus::Signaled(9))) => Ok(()),
            other => Err(format!("expected a hung child, killed: {other:?}")),
        }
    });
}

#[test]
fn through_the_server_the_same_lock_is_free_in_the_worker() {
    in_clean_process(3 * util::PATIENCE, || {
        let server = ForkServer::start().map_err(|e| e.to_string())?;
        let builder = server.builder();
        let got = while_held(|| -> Result<u32, String> {
            let mut ch = builder
                .start_fn(RemoteFn::new(take_held))
                .map_err(|e| e.to_string())?;
            ch.send(&()).map_err(|e| e.to_string())?;
            let got = ch.receive_timeout::<u32>(util::PATIENCE);
            let _ = ch.kill();
            let _ = ch.close();
            got.map_err(|e| format!("the worker did not answer: {e}"))
        })?;
        check(got == 7, || format!("{got}"))
    });
}

/// The busy threads' locks: each thread holds its own most of the time.
static LOCKS: [Mutex<u64>; 8] = [const { Mutex::new(0) }; 8];
static STOP: AtomicBool = AtomicBool::new(false);

/// Takes every one of the busy threads' locks, as a worker forked from the
/// busy program itself would have to.
fn touch_all_locks(i: u64) -> u64 {
    for lock in &LOCKS {
        drop(
            lock.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }
    i * 2
}

/// Starts one busy thread per lock of [`LOCKS`], each holding its own lock
/// most of the time; they stop when the returned guard is dropped.
fn busy_threads() -> BusyThreads {
    STOP.store(false, Ordering::Relaxed);
    let threads = (0..LOCKS.len())
        .map(|t| {
            std::thread::spawn(move || {
                while !STOP.load(Ordering::Relaxed) {
                    let mut g = LOCKS[t]
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    // Work with it held, and wait with it held (as code
                    // that does I/O under a lock does), then let go for a
                    // moment of work without it.
                    let until = Instant::now() + Duration::from_micros(100);
                    while Instant::now() < until {
                        *g = g.wrapping_add(1);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                    drop(g);
                    let until = Instant::now() + Duration::from_micros(20);
                    while Instant::now() < until {
                        std::hint::spin_loop();
                    }
                }
            })
        })
        .collect();
    BusyThreads(threads)
}

struct BusyThreads(Vec<std::thread::JoinHandle<()>>);

impl Drop for BusyThreads {
    fn drop(&mut self) {
        STOP.store(true, Ordering::Relaxed);
        for t in self.0.drain(..) {
            let _ = t.join();
        }
    }
}

#[test]
fn thousand_calls_with_eight_busy_threads_never_hang() {
    in_clean_process(Duration::from_secs(110), || {
        let server = ForkServer::start().map_err(|e| e.to_string())?;
        let busy = busy_threads();
        check(thread_count() == Some(9), || {
            format!("{:?} threads", thread_count())
        })?;
        let builder = server.builder();
        let mut failures = Vec::new();
        // Each call is bounded: a worker that does not answer within the
        // timeout is a failure (and is killed).
        for i in 0..1000u64 {
            let mut ch = builder
                .start_fn(RemoteFn::new(touch_all_locks))
                .map_err(|e| format!("call {i}: {e}"))?;
            ch.send(&i).map_err(|e| e.to_string())?;
            ch.send_end().map_err(|e| e.to_string())?;
            match ch.receive_timeout::<u64>(Duration::from_secs(10)) {
                Ok(got) if got == i * 2 => {}
                other => {
                    failures.push(format!("call {i}: {other:?}"));
                    let _ = ch.kill();
                }
            }
            let status = ch.close().map_err(|e| e.to_string())?;
            if status != Some(ExitStatus::Exited(0)) {
                failures.push(format!("call {i}: worker ended with {status:?}"));
            }
        }
        drop(busy);
        check(failures.is_empty(), || {
            format!(
                "{} of 1000 calls failed: {:?}",
                failures.len(),
                &failures[..failures.len().min(5)]
            )
        })?;
        check(util::zombie_children().is_empty(), || "zombies left".into())
    });
}

#[test]
fn without_the_server_the_busy_program_s_children_hang() {
    // The same program forking its workers itself: a child takes the busy
    // threads' locks, which their (vanished) owners held at the fork.
    in_clean_process(Duration::from_secs(60), || {
        pprocess_transport::set_thread_warning(false);
        let busy = busy_threads();
        let mut hung = 0;
        for i in 0..20u64 {
            let mut ch =
                start(move |ch| ch.send(&touch_all_locks(i))).map_err(|e| e.to_string())?;
            let got = ch.receive_timeout::<u64>(Duration::from_millis(300));
            if matches!(got, Err(Error::Timeout(_))) {
                hung += 1;
            }
            let _ = ch.kill();
            let _ = ch.close();
            if hung > 0 {
                break;
            }
        }
        drop(busy);
        check(hung > 0, || "no child hung in 20 forks".into())?;
        check(util::children().is_empty(), || {
            format!("children {:?}", util::children())
        })
    });
}

#[test]
fn dropped_server_is_reaped_and_leaves_no_descriptor() {
    in_clean_process(3 * util::PATIENCE, || {
        let fds_before = util::open_fds();
        let server = ForkServer::start().map_err(|e| e.to_string())?;
        let pid = server.pid();
        let second = server.clone();
        let mut ch = second
            .builder()
            .start_fn(RemoteFn::new(square))
            .map_err(|e| e.to_string())?;
        drop(server);
        // A clone keeps it alive.
        check(second.is_running().map_err(|e| e.to_string())?, || {
            "server ended with a handle left".into()
        })?;
        drop(second);
        check(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            || format!("server {pid} left behind"),
        )?;
        // Its worker does not depend on it.
        ch.send(&9u64).map_err(|e| e.to_string())?;
        let got: u64 = ch
            .receive_timeout(util::PATIENCE)
            .map_err(|e| e.to_string())?;
        check(got == 81, || format!("{got}"))?;
        ch.send_end().map_err(|e| e.to_string())?;
        ch.close().map_err(|e| e.to_string())?;
        let fds_after = util::open_fds();
        check(fds_after == fds_before, || {
            format!("descriptors before {fds_before:?}, after {fds_after:?}")
        })?;
        check(util::children().is_empty(), || {
            format!("children {:?}", util::children())
        })
    });
}

#[test]
fn a_forked_child_cannot_use_its_parents_server() {
    in_clean_process(3 * util::PATIENCE, || {
        let server = ForkServer::start().map_err(|e| e.to_string())?;
        let builder = server.builder();
        let mut ch = start(move |ch| {
            let message = match builder.start_fn(RemoteFn::new(square)) {
                Ok(_) => "spawned".to_string(),
                // The reason is the error's source.
                Err(e) => format!(
                    "{e}: {}",
                    std::error::Error::source(&e).map_or(String::new(), ToString::to_string)
                ),
            };
            ch.send(&message)
        })
        .map_err(|e| e.to_string())?;
        let message: String = ch
            .receive_timeout(util::PATIENCE)
            .map_err(|e| e.to_string())?;
        check(message.contains("cannot use it"), || message.clone())?;
        ch.close().map_err(|e| e.to_string())?;
        Ok(())
    });
}

#[test]
fn spawn_without_a_server_forks_this_process() {
    let mut ch = Builder::<MessagePack>::new()
        .start_fn(RemoteFn::new(square))
        .unwrap();
    ch.send(&6u64).unwrap();
    assert_eq!(ch.receive_timeout::<u64>(util::PATIENCE).unwrap(), 36);
    ch.send_end().unwrap();
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
}

#[test]
fn each_reports_the_failing_items_position() {
    let mut ch = Builder::<MessagePack>::new()
        .start_fn(RemoteFn::each(fail_on_odd))
        .unwrap();
    ch.send(&(40usize, vec![2u64, 4])).unwrap();
    ch.send(&(50usize, vec![6u64, 7, 8])).unwrap();
    assert_eq!(
        ch.receive_timeout::<Vec<u64>>(util::PATIENCE).unwrap(),
        [2, 4]
    );
    match ch.receive_timeout::<Vec<u64>>(util::PATIENCE) {
        Err(Error::Remote { message, .. }) => assert_eq!(message, "item 51 panicked: 7 is odd"),
        other => panic!("{other:?}"),
    }
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(101)));
}

#[test]
fn arguments_of_the_wrong_type_are_a_remote_error_not_a_crash() {
    let mut ch = Builder::<MessagePack>::new()
        .start_fn(RemoteFn::new(square))
        .unwrap();
    ch.send("not a number").unwrap();
    match ch.receive_timeout::<u64>(util::PATIENCE) {
        Err(Error::Remote { message, .. }) => {
            assert!(
                message.starts_with("bad arguments: cannot decode u64"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(1)));
}

#[test]
fn remote_function_bytes_from_elsewhere_are_refused() {
    let wire = RemoteFn::<pprocess_transport::MessagePack>::new(square).to_bytes();
    assert!(RemoteFn::<pprocess_transport::MessagePack>::from_bytes(&wire).is_ok());
    let mut forged = wire;
    forged[3] ^= 0x10;
    let err = RemoteFn::<pprocess_transport::MessagePack>::from_bytes(&forged).unwrap_err();
    assert!(
        err.to_string().contains("remote function rejected"),
        "{err}"
    );
    assert!(RemoteFn::<pprocess_transport::MessagePack>::from_bytes(&[0; 5]).is_err());
}

/// Run by [`debug_build_warns_once_when_a_threaded_process_forks`] in a
/// fresh copy of this test binary: forks three times from a process with
/// threads (the harness's), with the warning on or off as the environment
/// says.
#[test]
#[ignore = "run by debug_build_warns_once_when_a_threaded_process_forks"]
fn threaded_fork_warning_helper() {
    let Ok(mode) = std::env::var("PPROCESS_TEST_WARNING") else {
        return;
    };
    pprocess_transport::set_thread_warning(mode == "on");
    for _ in 0..3 {
        let ch = start(|ch| ch.send(&1u8)).unwrap();
        ch.close().unwrap();
    }
}

fn run_warning_helper(mode: &str) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "threaded_fork_warning_helper",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PPROCESS_TEST_WARNING", mode)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "helper failed: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn debug_build_warns_once_when_a_threaded_process_forks() {
    let stderr = run_warning_helper("on");
    let warnings = stderr.matches("pprocess: warning: process").count();
    if cfg!(debug_assertions) {
        assert_eq!(warnings, 1, "{stderr}");
        assert!(
            stderr.contains("start a ForkServer at the top of main"),
            "{stderr}"
        );
        assert!(stderr.contains("threads"), "{stderr}");
    } else {
        assert_eq!(warnings, 0, "{stderr}");
    }
    let silenced = run_warning_helper("off");
    assert!(!silenced.contains("pprocess: warning"), "{silenced}");
}
