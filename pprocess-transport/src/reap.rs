//! The parent's side of its children: the [`Child`] handle, reaping
//! (exactly once, by the handle, by [`waitall`], or for a dropped handle
//! at the next fork) and the statuses `waitall` keeps for live handles.

use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use pprocess_core::{Error, ExitStatus, Pid, Process, Result};

use crate::registry::{self, ChildState};
use crate::sys;

/// A child process forked by this library, from the parent's side.
///
/// It is reaped exactly once: by [`Process::wait`], by a [`Process::try_wait`]
/// that finds it ended, or (if the handle is dropped while the child still
/// runs) by the library later, at the next fork or in [`waitall`].
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    /// Tells this child from a later one given the same pid (0: not in
    /// the registry).
    serial: u64,
    status: Option<ExitStatus>,
}

impl Child {
    /// The handle of the child `pid`, just forked and recorded in the
    /// registry (or not recorded, as the fork server's own process).
    pub(crate) fn new(pid: Pid) -> Self {
        let serial = registry::lock().state().serial_of(pid);
        Child {
            pid,
            serial,
            status: None,
        }
    }

    /// Waits at most `timeout` for the child to end: its status, or
    /// `Ok(None)` if it still runs then.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `waitpid` or `poll` fails.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        if let Some(s) = self.try_wait()? {
            return Ok(Some(s));
        }
        match sys::pidfd_open(self.pid) {
            Ok(fd) => {
                if sys::poll_one(fd.as_fd(), false, Some(timeout))? {
                    return self.wait().map(Some);
                }
                Ok(None)
            }
            // Before Linux 5.3 there is no pidfd: look once more.
            Err(_) => self.try_wait(),
        }
    }
}

fn convert(status: WaitStatus) -> Option<ExitStatus> {
    match status {
        WaitStatus::Exited(_, code) => Some(ExitStatus::Exited(code)),
        WaitStatus::Signaled(_, sig, _) => Some(ExitStatus::Signaled(sig as i32)),
        _ => None,
    }
}

/// `waitpid` for one child, with the status `waitall` may have collected
/// already.
///
/// The registry is looked at first, and the child reaped, under its lock:
/// `waitall` reaps under that lock too and notes the status there. Once a
/// child is reaped its pid is free and may be another process's, even
/// another child of this one: a `waitpid` on it would then wait for, and
/// reap, that child. So a blocking wait looks first, then waits for an end
/// without reaping (`WNOWAIT`, outside the lock), then looks again and
/// reaps without blocking, under the lock.
fn reap(pid: Pid, serial: u64, block: bool) -> Result<Option<ExitStatus>> {
    let target = nix::unistd::Pid::from_raw(pid);
    loop {
        if block {
            if let Some(s) = registry::lock().state().take_kept(pid, serial) {
                return Ok(Some(s));
            }
            match waitid(Id::Pid(target), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
                // ECHILD: reaped by `waitall`, as the registry will say.
                Ok(_) | Err(Errno::ECHILD) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::Io(e.into())),
            }
        }
        let mut g = registry::lock();
        if let Some(s) = g.state().take_kept(pid, serial) {
            return Ok(Some(s));
        }
        match waitpid(target, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if !block => return Ok(None),
            Ok(status) => match convert(status) {
                Some(s) => {
                    g.state().forget(pid, serial);
                    return Ok(Some(s));
                }
                // Stopped or continued (or, blocking, not ended yet):
                // not an end.
                None if block => continue,
                None => return Ok(None),
            },
            Err(Errno::EINTR) => continue,
            Err(Errno::ECHILD) => {
                return Err(Error::Io(io::Error::other(format!(
                    "child {pid} was reaped by someone else"
                ))));
            }
            Err(e) => return Err(Error::Io(e.into())),
        }
    }
}

impl Process for Child {
    fn pid(&self) -> Pid {
        self.pid
    }

    fn wait(&mut self) -> Result<ExitStatus> {
        if let Some(s) = self.status {
            return Ok(s);
        }
        let status = reap(self.pid, self.serial, true)?
            .ok_or_else(|| Error::Io(io::Error::other("waitpid returned without a status")))?;
        self.status = Some(status);
        Ok(status)
    }

    fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = reap(self.pid, self.serial, false)?;
        }
        Ok(self.status)
    }

    fn kill(&mut self) -> Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        // `waitall` reaps under the registry's lock and notes the status
        // there: look under that lock, and signal while holding it, so the
        // child cannot be reaped between the look and the signal. Once a
        // child is reaped its pid is free, and may already be another
        // process's.
        let mut g = registry::lock();
        if let Some(status) = g.state().take_kept(self.pid, self.serial) {
            self.status = Some(status);
            return Ok(());
        }
        let sent = kill(nix::unistd::Pid::from_raw(self.pid), Signal::SIGKILL);
        drop(g);
        match sent {
            Ok(()) | Err(Errno::ESRCH) => Ok(()),
            Err(e) => Err(Error::Io(e.into())),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        if let Ok(Some(_)) = reap(self.pid, self.serial, false) {
            return;
        }
        let mut g = registry::lock();
        let state = g.state();
        // `waitall` reaped it after the look above: nobody will ask for
        // its status now.
        if state.take_kept(self.pid, self.serial).is_some() {
            return;
        }
        if state.state_of(self.pid, self.serial) == Some(ChildState::Owned) {
            state
                .children
                .insert(self.pid, (self.serial, ChildState::Orphan));
        }
    }
}

/// Reaps children whose handles were dropped while they ran.
pub(crate) fn reap_orphans(state: &mut registry::State) {
    state.children.retain(|&pid, &mut (_, st)| {
        st != ChildState::Orphan
            || matches!(
                waitpid(nix::unistd::Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)),
                Ok(WaitStatus::StillAlive)
            )
    });
}

/// Waits for every child this process forked through the library and has
/// not reaped yet (pprocess's `waitall`). Returns their pids and statuses.
///
/// It waits for *every* such child, including those whose [`Channel`](crate::Channel) is
/// still alive (their channel's [`Channel::wait`](crate::Channel::wait) still gets the status):
/// a child that waits for a message from this process before it ends
/// blocks `waitall` for ever. [`waitall_timeout`] gives up after a while.
///
/// # Errors
///
/// [`Error::Io`] if `waitpid` fails other than for a child already reaped.
pub fn waitall() -> Result<Vec<(Pid, ExitStatus)>> {
    waitall_until(None)
}

/// Like [`waitall`], but waits at most `timeout`: returns the children
/// that ended by then; the others stay for a later call.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pprocess_transport::{ExitStatus, start, waitall_timeout};
///
/// // A child that waits for a message before it ends.
/// let mut ch = start(|ch| ch.receive::<u8>().map(|_| ()))?;
/// assert!(waitall_timeout(Duration::from_millis(50))?.is_empty());
/// ch.send(&1u8)?; // now it ends
/// let ended = waitall_timeout(Duration::from_secs(10))?;
/// assert_eq!(ended, [(ch.pid().unwrap(), ExitStatus::Exited(0))]);
/// // Its channel still gets its status.
/// assert_eq!(ch.close()?, Some(ExitStatus::Exited(0)));
/// # Ok::<(), pprocess_core::Error>(())
/// ```
///
/// # Errors
///
/// As for [`waitall`].
pub fn waitall_timeout(timeout: Duration) -> Result<Vec<(Pid, ExitStatus)>> {
    waitall_until(Some(Instant::now() + timeout))
}

fn waitall_until(deadline: Option<Instant>) -> Result<Vec<(Pid, ExitStatus)>> {
    let pids: Vec<Pid> = {
        let mut g = registry::lock();
        g.state()
            .children
            .iter()
            .filter(|(_, (_, st))| !matches!(st, ChildState::Reaped(_)))
            .map(|(&pid, _)| pid)
            .collect()
    };
    let mut reaped = Vec::new();
    for pid in pids {
        if let Some(deadline) = deadline {
            // A pidfd becomes readable when the process ends: wait for
            // that with what is left of the time, then reap without
            // blocking. (No pidfd, on kernels before 5.3: wait blindly.)
            if let Ok(fd) = sys::pidfd_open(pid) {
                let left = deadline.saturating_duration_since(Instant::now());
                if !sys::poll_one(fd.as_fd(), false, Some(left))? {
                    continue;
                }
            }
        }
        // Wait for the end without reaping (`WNOWAIT`), then reap and note
        // the status under the registry's lock: an owner whose `waitpid`
        // finds the child gone (ECHILD) takes that lock next, and finds
        // the status there. Reaping first and noting it after the lock was
        // taken left an owner in between with no status at all.
        loop {
            match waitid(
                Id::Pid(nix::unistd::Pid::from_raw(pid)),
                WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
            ) {
                Ok(_) | Err(Errno::ECHILD) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::Io(e.into())),
            }
        }
        let mut g = registry::lock();
        let status = loop {
            match waitpid(nix::unistd::Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
                Ok(s) => break convert(s),
                Err(Errno::EINTR) => continue,
                // Its owner reaped it meanwhile.
                Err(Errno::ECHILD) => break None,
                Err(e) => return Err(Error::Io(e.into())),
            }
        };
        let Some(status) = status else { continue };
        let children = &mut g.state().children;
        if let Some(&(serial, ChildState::Owned)) = children.get(&pid) {
            children.insert(pid, (serial, ChildState::Reaped(status)));
        } else {
            children.remove(&pid);
        }
        drop(g);
        reaped.push((pid, status));
    }
    Ok(reaped)
}
