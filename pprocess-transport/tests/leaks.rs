//! Process-global checks: zombies, open descriptors and `waitall`.
//!
//! They count things across the whole process, so they live in their own
//! test binary and hold [`LOCK`] (as nix's `FORK_MTX`): under `cargo
//! test`'s threaded harness no other test of this binary forks, opens a
//! descriptor or reaps a child meanwhile. Under nextest each test is a
//! process of its own anyway.

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Mutex, MutexGuard, PoisonError};

use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use pprocess_transport::{ExitStatus, Pid, start, waitall, waitall_timeout};

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

fn cycle(i: u32) {
    let mut ch = start(|ch| ch.send(&(i, std::process::id()))).unwrap();
    let (got, child) = ch.receive_timeout::<(u32, u32)>(util::PATIENCE).unwrap();
    assert_eq!(got, i);
    assert_eq!(Pid::try_from(child).ok(), ch.pid());
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
    // `close` reaped it: not even a zombie is left under /proc.
    let proc_dir = format!("/proc/{child}");
    assert!(
        !std::path::Path::new(&proc_dir).exists(),
        "{proc_dir} exists after close"
    );
}

#[test]
fn thousand_start_receive_close_cycles_leave_no_zombie_and_no_fd() {
    let _g = lock();
    // Warm up: anything opened once and kept (by std or the library) is
    // opened here, before the count.
    cycle(u32::MAX);
    let fds_before = util::open_fds();
    assert_eq!(util::zombie_children(), Vec::<Pid>::new());

    for i in 0..1000 {
        cycle(i);
    }

    assert_eq!(util::zombie_children(), Vec::<Pid>::new(), "zombies left");
    assert_eq!(util::children(), Vec::new(), "children left");
    let fds_after = util::open_fds();
    assert!(
        fds_after.len() <= fds_before.len(),
        "descriptors leaked:\nbefore {fds_before:?}\nafter  {fds_after:?}"
    );
}

/// Children whose channels are dropped while they run are orphans for the
/// library; `waitall` must reap every one of them, with its status.
#[test]
fn waitall_reaps_children_whose_channels_were_dropped() {
    let _g = lock();
    // The children block on this pipe (not one of the library's, so they
    // keep it) until every channel has been dropped: none can end, and be
    // reaped, before the library has given up its handle.
    let (release_r, release_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
    let mut expected = BTreeMap::new();
    for code in 0..4u8 {
        let release = &release_r;
        let ch = start(move |_ch| -> Result<(), String> {
            let mut byte = [0u8];
            nix::unistd::read(release, &mut byte).map_err(|e| e.to_string())?;
            if code == 0 {
                Ok(())
            } else {
                Err(format!("child {code} fails"))
            }
        })
        .unwrap();
        let pid = ch.pid().unwrap();
        expected.insert(pid, ExitStatus::Exited(if code == 0 { 0 } else { 1 }));
        drop(ch);
    }
    let alive: BTreeSet<Pid> = util::children().into_iter().map(|(pid, _)| pid).collect();
    let pids: BTreeSet<Pid> = expected.keys().copied().collect();
    assert_eq!(alive, pids, "all four children should still be running");

    std::fs::File::from(release_w).write_all(&[0; 4]).unwrap();
    let reaped = waitall().unwrap();
    assert_eq!(reaped.len(), expected.len(), "{reaped:?}");
    let reaped: BTreeMap<Pid, ExitStatus> = reaped.into_iter().collect();
    assert_eq!(reaped, expected);
    assert_eq!(util::zombie_children(), Vec::<Pid>::new());
    assert_eq!(util::children(), Vec::new());
    assert_eq!(
        waitall().unwrap(),
        Vec::new(),
        "a second waitall finds nobody"
    );
}

/// `waitall` on one thread while the owner of a child waits for it on
/// another: whoever reaps it, the owner gets the child's status (`waitall`
/// used to reap it and note the status a moment later, and an owner whose
/// `waitpid` fell in between was told the child "was reaped by someone
/// else").
#[test]
fn waitall_beside_an_owner_waiting_for_the_same_child_gives_the_owner_its_status() {
    let _g = lock();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reaper = {
        let done = std::sync::Arc::clone(&done);
        std::thread::spawn(move || {
            let mut reaped = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                reaped += waitall_timeout(std::time::Duration::from_millis(20))
                    .expect("waitall_timeout")
                    .len();
            }
            reaped
        })
    };
    let mut failures = Vec::new();
    for i in 0..500u32 {
        // The child ends when the parent closes its end, so both threads
        // are waiting for it as it ends.
        let ch = start(|ch| ch.receive::<u8>().map(|_| ())).unwrap();
        match ch.close() {
            Ok(Some(ExitStatus::Exited(1))) => {}
            other => failures.push(format!("child {i}: {other:?}")),
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let reaped_by_waitall = reaper.join().expect("the reaper thread");
    assert_eq!(
        failures,
        Vec::<String>::new(),
        "({reaped_by_waitall} of 500 reaped by waitall)"
    );
    assert_eq!(util::children(), Vec::new());
}

/// Asks the kernel to give `pid` to the next process made (through
/// `ns_last_pid`, which needs root): makes processes with `make` until one
/// has `pid`, discarding the others; `None` if it cannot be done.
fn give_pid_again<T>(
    pid: Pid,
    mut make: impl FnMut() -> (T, Pid),
    mut discard: impl FnMut(T),
) -> Option<T> {
    for _ in 0..50 {
        if std::fs::write("/proc/sys/kernel/ns_last_pid", format!("{}", pid - 1)).is_err() {
            break;
        }
        let (made, got) = make();
        if got == pid {
            return Some(made);
        }
        // Something else took the pid first: try again.
        discard(made);
    }
    eprintln!("pid {pid} could not be handed out again: reuse not checked");
    None
}

/// Starts a child that ends at once, lets `waitall` reap it, and gives its
/// pid to a `sleep` started by this process. Returns the child's channel,
/// its pid and the `sleep`, if the pid could be handed out again.
fn reaped_child_and_a_process_with_its_pid() -> (
    pprocess_transport::Channel,
    Pid,
    Option<std::process::Child>,
) {
    let ch = start(|_ch| ()).unwrap();
    let pid = ch.pid().unwrap();
    assert_eq!(waitall().unwrap(), [(pid, ExitStatus::Exited(0))]);
    let sleep = || {
        let other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let got = Pid::try_from(other.id()).unwrap();
        (other, got)
    };
    let stand_in = give_pid_again(pid, sleep, |mut other| {
        other.kill().unwrap();
        other.wait().unwrap();
    });
    (ch, pid, stand_in)
}

/// Ends the stand-in with SIGTERM and checks that this is what ended it
/// (a SIGKILL sent before would have), and that its own status was there
/// for its owner to take.
fn assert_untouched(pid: Pid, stand_in: Option<std::process::Child>) {
    use std::os::unix::process::ExitStatusExt;
    let Some(mut other) = stand_in else { return };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = other.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(nix::sys::signal::Signal::SIGTERM as i32),
        "{status:?}"
    );
}

/// After `waitall` has reaped a child, its pid is free and may be another
/// process's: `kill` on the child's handle must not signal that process.
#[test]
fn kill_after_waitall_does_not_signal_a_process_that_reuses_the_pid() {
    let _g = lock();
    let (mut ch, pid, stand_in) = reaped_child_and_a_process_with_its_pid();
    ch.kill().unwrap();
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
    assert_untouched(pid, stand_in);
}

/// Nor may closing the channel wait for (and reap) another child of this
/// process that has the pid now: it gets the status `waitall` kept.
#[test]
fn close_after_waitall_does_not_reap_a_child_that_reuses_the_pid() {
    let _g = lock();
    let (ch, pid, stand_in) = reaped_child_and_a_process_with_its_pid();
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
    assert_untouched(pid, stand_in);
}

/// Nor may it take the status of a later child of the library given the
/// same pid: each handle gets its own child's status.
#[test]
fn a_later_child_given_the_same_pid_keeps_its_own_status() {
    let _g = lock();
    let old = start(|_ch| ()).unwrap();
    let pid = old.pid().unwrap();
    assert_eq!(waitall().unwrap(), [(pid, ExitStatus::Exited(0))]);
    // The later child ends with status 1 at once.
    let failing = || {
        let ch = start(|_ch| -> Result<(), String> { Err("the later child".into()) }).unwrap();
        let got = ch.pid().unwrap();
        (ch, got)
    };
    let Some(later) = give_pid_again(pid, failing, |ch| {
        ch.close().unwrap();
    }) else {
        return;
    };
    assert_eq!(old.close().unwrap(), Some(ExitStatus::Exited(0)));
    assert_eq!(later.close().unwrap(), Some(ExitStatus::Exited(1)));
    assert_eq!(waitall().unwrap(), Vec::new());
}
