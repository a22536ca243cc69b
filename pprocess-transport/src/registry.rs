//! What the library created and must clean up: its descriptors (closed in
//! every forked child but the ones the child keeps) and its children (reaped
//! exactly once).
//!
//! One lock guards both and is held across `fork`, so a child never
//! inherits the table half-updated, and no descriptor can be created or
//! closed by another thread while a child is being made.

use std::collections::{HashMap, HashSet};
use std::os::fd::RawFd;
use std::sync::{Mutex, MutexGuard, PoisonError};

use pprocess_core::{ExitStatus, Pid};

/// The state of a child the library forked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildState {
    /// Running, or ended but not reaped; its handle is alive.
    Owned,
    /// Its handle was dropped before it ended: reap and forget it.
    Orphan,
    /// Reaped by `waitall`; the status waits for its handle to ask.
    Reaped(ExitStatus),
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// Descriptors to close in every forked child.
    pub(crate) fds: HashSet<RawFd>,
    /// Shared-memory views (address to length and the descriptors of the
    /// transport that owns the view): a forked child keeps a view only if
    /// it keeps one of those descriptors, and replaces the others.
    pub(crate) maps: HashMap<usize, (usize, [RawFd; 2])>,
    /// Children forked by this process and not yet reaped and collected,
    /// each with its serial number (see [`State::add_child`]).
    pub(crate) children: HashMap<Pid, (u64, ChildState)>,
    /// Statuses `waitall` kept for handles whose pid a later child of this
    /// process has been given, by pid and serial.
    pub(crate) displaced: HashMap<(Pid, u64), ExitStatus>,
    next_serial: u64,
}

impl State {
    /// Records a child just forked, with a new serial number (its handle
    /// reads it with [`State::serial_of`]): once a child is reaped the
    /// kernel may give its pid to a later child, and the serial tells the
    /// two handles apart. A status `waitall` kept for the earlier child
    /// moves to `displaced`.
    pub(crate) fn add_child(&mut self, pid: Pid) {
        self.next_serial += 1;
        if let Some((old, ChildState::Reaped(status))) = self
            .children
            .insert(pid, (self.next_serial, ChildState::Owned))
        {
            self.displaced.insert((pid, old), status);
        }
    }

    /// The serial number of the child recorded with `pid` (0 if none is).
    pub(crate) fn serial_of(&self, pid: Pid) -> u64 {
        self.children.get(&pid).map_or(0, |&(serial, _)| serial)
    }

    /// The state of the child `pid` of serial number `serial`, if that child
    /// is the one recorded with `pid`.
    pub(crate) fn state_of(&self, pid: Pid, serial: u64) -> Option<ChildState> {
        match self.children.get(&pid) {
            Some(&(s, state)) if s == serial => Some(state),
            _ => None,
        }
    }

    /// Takes the status `waitall` kept for the child `pid` of serial
    /// number `serial`.
    pub(crate) fn take_kept(&mut self, pid: Pid, serial: u64) -> Option<ExitStatus> {
        if let Some(status) = self.displaced.remove(&(pid, serial)) {
            return Some(status);
        }
        match self.state_of(pid, serial) {
            Some(ChildState::Reaped(status)) => {
                self.children.remove(&pid);
                Some(status)
            }
            _ => None,
        }
    }

    /// Forgets the child `pid` of serial number `serial` (reaped by its
    /// handle).
    pub(crate) fn forget(&mut self, pid: Pid, serial: u64) {
        if self.state_of(pid, serial).is_some() {
            self.children.remove(&pid);
        }
    }
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

/// A locked view of the registry.
pub(crate) struct Locked(MutexGuard<'static, Option<State>>);

impl Locked {
    pub(crate) fn state(&mut self) -> &mut State {
        self.0.get_or_insert_with(State::default)
    }
}

/// Locks the registry. The lock is never held across a blocking call
/// other than `fork`.
pub(crate) fn lock() -> Locked {
    Locked(STATE.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Adds descriptors that forked children must not keep.
pub(crate) fn track(fds: &[RawFd]) {
    let mut g = lock();
    g.state().fds.extend(fds.iter().copied());
}

/// Marks a descriptor the caller owns (an epoll instance, a listening
/// socket, ...) as one that every child forked from now on must not keep.
///
/// The child gets `/dev/null` in its place, so a copy of the owning object
/// in the child stays harmless. Call [`untrack_fd`] before closing it.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// let file = std::fs::File::open("/dev/null")?;
/// pprocess_transport::track_fd(file.as_raw_fd());
/// pprocess_transport::untrack_fd(file.as_raw_fd());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn track_fd(fd: RawFd) {
    track(&[fd]);
}

/// Stops tracking a descriptor given to [`track_fd`]; call it before the
/// descriptor is closed.
pub fn untrack_fd(fd: RawFd) {
    let mut g = lock();
    g.state().fds.remove(&fd);
}
