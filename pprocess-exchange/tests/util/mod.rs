//! Helpers shared by the exchange's integration tests: `/proc` views of
//! this process's children and descriptors, raw frame bytes, and the lock
//! that keeps process-counting tests apart under `cargo test`'s threads.

#![allow(dead_code)]

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use pprocess_exchange::{Builder, Channel, Codec, Pid};
use serde::Serialize;

/// Serialises the tests of one binary that count this process's children
/// (under `cargo test` they run on threads of one process, and each
/// other's children would be counted). Poisoning is ignored: a failed test
/// must not fail the others.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A process as `/proc/<pid>/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcEntry {
    pub pid: Pid,
    pub ppid: Pid,
    pub state: char,
}

/// Parses `/proc/<pid>/stat`; `None` if the process is gone.
pub fn proc_entry(pid: Pid) -> Option<ProcEntry> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some(ProcEntry { pid, ppid, state })
}

/// Every child of `parent` that exists (running or zombie).
pub fn children_of(parent: Pid) -> Vec<ProcEntry> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<Pid>().ok())
        .filter_map(proc_entry)
        .filter(|p| p.ppid == parent)
        .collect()
}

/// How many processes (threads counted as the kernel counts them for
/// `RLIMIT_NPROC`: one per task) the user `uid` has.
pub fn processes_of(uid: u32) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<Pid>().ok())
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next()?.parse::<u32>().ok())
                == Some(uid)
        })
        .map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(1)
        })
        .sum()
}

/// This process's pid.
pub fn me() -> Pid {
    nix::unistd::getpid().as_raw()
}

/// Children of this process that have not been reaped (zombies included).
pub fn my_children() -> Vec<ProcEntry> {
    children_of(me())
}

/// Children of this process that are zombies (ended, not reaped).
pub fn my_zombies() -> Vec<ProcEntry> {
    my_children()
        .into_iter()
        .filter(|p| p.state == 'Z')
        .collect()
}

/// Asserts that `pid` is no longer a child of this process: it was reaped
/// (its `/proc` entry is gone, or the pid now belongs to someone else's
/// child).
#[track_caller]
pub fn assert_reaped(pid: Pid) {
    if let Some(p) = proc_entry(pid) {
        assert_ne!(p.ppid, me(), "child {pid} was not reaped: {p:?}");
    }
}

/// The number of descriptors this process has open.
pub fn fd_count() -> usize {
    // The directory handle itself is one entry, the same every time.
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// The descriptors this process has open, with what they point at.
pub fn fds() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| {
            let e = e.ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            Some((
                e.file_name().to_string_lossy().into_owned(),
                target.to_string_lossy().into_owned(),
            ))
        })
        .collect();
    v.sort();
    v
}

/// The exact bytes a channel with codec `C` puts on the wire for `value`
/// (header and payload), made by a real channel rather than hard-coded.
pub fn frame_bytes<C: Codec, T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let (mut a, b) = Builder::<C>::new().channel_pair().expect("channel pair");
    a.send(value).expect("send to pair");
    drop(a);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match nix::unistd::read(b.read_fd(), &mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => panic!("read from pair: {e}"),
        }
    }
}

/// Writes `bytes` to the channel's transport with raw `write(2)` calls,
/// bypassing its framing. For children that write part of a frame.
pub fn raw_write<C>(ch: &Channel<C>, bytes: &[u8]) -> nix::Result<()>
where
    C: Codec,
{
    let fd = ch.transport().write_fd();
    let mut done = 0;
    while done < bytes.len() {
        match nix::unistd::write(fd, &bytes[done..]) {
            Ok(n) => done += n,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Blocks until `pid` (a child of this process) has ended, without reaping
/// it: everything it wrote, and its hang-up, are then in the socket before
/// the exchange looks.
pub fn wait_ended_unreaped(pid: Pid) {
    loop {
        match waitid(
            Id::Pid(nix::unistd::Pid::from_raw(pid)),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
        ) {
            Ok(_) => return,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => panic!("waitid({pid}): {e}"),
        }
    }
}

/// Blocks (level-triggered `poll(2)`, independent of the exchange's epoll)
/// until `fd` has something to read or has hung up, or `timeout` passes.
/// Returns whether it became readable.
pub fn wait_readable(fd: BorrowedFd<'_>, timeout: Duration) -> bool {
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(n) => return n > 0,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => panic!("poll: {e}"),
        }
    }
}

/// Counts the live siblings of the calling process (children of its
/// parent, itself included, zombies included: a zombie still holds a
/// place until it is reaped). Run in a child.
pub fn siblings_including_me() -> usize {
    children_of(nix::unistd::getppid().as_raw()).len()
}

/// Generous bound for things that should happen "at once": only a stalled
/// machine reaches it, and reaching it fails a test instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A chain of pipes that orders children without timing: child `i` waits
/// for a token on pipe `i` ([`Relay::wait`]), and hands one on with
/// [`Relay::pass`]. Clone it into each child's closure.
#[derive(Debug, Clone)]
pub struct Relay {
    pipes: std::sync::Arc<Vec<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)>>,
}

impl Relay {
    /// `n` pipes.
    pub fn new(n: usize) -> Relay {
        let pipes = (0..n).map(|_| nix::unistd::pipe().expect("pipe")).collect();
        Relay {
            pipes: std::sync::Arc::new(pipes),
        }
    }

    /// Waits for the token on pipe `i`. Gives up after [`PATIENCE`] (so a
    /// broken chain fails an assertion on order instead of hanging) and
    /// says whether the token came.
    pub fn wait(&self, i: usize) -> bool {
        let fd = self.pipes[i].0.as_fd();
        if !wait_readable(fd, PATIENCE) {
            return false;
        }
        let mut b = [0u8; 1];
        matches!(nix::unistd::read(fd, &mut b), Ok(1))
    }

    /// Puts a token on pipe `i`.
    pub fn pass(&self, i: usize) {
        let _ = nix::unistd::write(self.pipes[i].1.as_fd(), b"!");
    }
}

/// Waits (checking `/proc` every millisecond) until `pid` has ended: it is
/// a zombie or gone. Gives up after `timeout`. For a child ordering itself
/// after a sibling's death.
pub fn wait_until_dead(pid: Pid, timeout: Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match proc_entry(pid) {
            None => return true,
            Some(p) if p.state == 'Z' || p.state == 'X' => return true,
            Some(_) if std::time::Instant::now() >= deadline => return false,
            Some(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// [`Exchange::finish`](pprocess_exchange::Exchange::finish) that fails
/// after `patience` instead of hanging: for tests of lost readiness, whose
/// failure would otherwise be a blocked `store`.
pub fn finish_within<R, H, C>(
    ex: &mut pprocess_exchange::Exchange<R, H, C>,
    patience: Duration,
) -> pprocess_exchange::Result<()>
where
    R: serde::de::DeserializeOwned,
    H: pprocess_exchange::Handler<R, C>,
    C: Codec,
{
    let deadline = std::time::Instant::now() + patience;
    while ex.unfinished() {
        assert!(
            std::time::Instant::now() < deadline,
            "exchange unfinished after {patience:?}: {ex:?}"
        );
        ex.store(Some(Duration::from_millis(50)))?;
    }
    Ok(())
}
