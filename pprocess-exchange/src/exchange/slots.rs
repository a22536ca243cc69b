//! What an exchange owns at the system level: its epoll instance (hidden
//! from forked children) and its channels' slots, whose children are
//! reaped when the exchange is dropped.

use std::io;
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use mio::{Events, Poll};
use pprocess_core::{Pid, Process};
use pprocess_transport::Channel;

/// How long a dropped exchange lets children that have delivered their
/// work end by themselves before it kills them.
const DROP_GRACE: Duration = Duration::from_secs(1);

/// One registered channel and what the exchange knows of its work.
pub(super) struct Slot<C> {
    pub(super) channel: Channel<C>,
    pub(super) index: usize,
    /// Readiness was reported and the channel has not been read dry since.
    pub(super) hot: bool,
    /// Something (a message or an error) was delivered for `index`.
    pub(super) delivered: bool,
    /// The channel is registered for writability (output is queued).
    pub(super) writing: bool,
    /// A worker that takes new arguments for this function (reuse mode).
    pub(super) serves: Option<super::Serves>,
    /// A remote error was delivered: the child has said why it ends.
    pub(super) explained: bool,
}

/// The slots of an exchange. Dropping them reaps every child still
/// registered, so an exchange leaves no zombie: a child that delivered
/// its result gets [`DROP_GRACE`] to end (its channel is closed first, so
/// a child waiting to read sees end of file); the rest are killed.
///
/// Only the process that made the exchange does this: a child forked by
/// [`Exchange::create`](super::Exchange::create) holds a copy whose pids
/// are its siblings', and must never signal them.
pub(super) struct Slots<C> {
    slots: Vec<Option<Slot<C>>>,
    owner: Pid,
}

impl<C> Slots<C> {
    pub(super) fn new() -> Self {
        Slots {
            slots: Vec::new(),
            owner: nix::unistd::getpid().as_raw(),
        }
    }
}

impl<C> Deref for Slots<C> {
    type Target = Vec<Option<Slot<C>>>;
    fn deref(&self) -> &Self::Target {
        &self.slots
    }
}

impl<C> DerefMut for Slots<C> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.slots
    }
}

impl<C> Drop for Slots<C> {
    fn drop(&mut self) {
        if nix::unistd::getpid().as_raw() != self.owner {
            // A forked copy: leave the parent's children alone.
            for slot in self.slots.drain(..).flatten() {
                std::mem::forget(slot);
            }
            return;
        }
        let mut done = Vec::new();
        for slot in self.slots.drain(..).flatten() {
            let mut channel = slot.channel;
            let Some(mut child) = channel.take_child() else {
                continue;
            };
            drop(channel);
            if slot.delivered {
                done.push(child);
            } else {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let deadline = Instant::now() + DROP_GRACE;
        for mut child in done {
            let left = deadline.saturating_duration_since(Instant::now());
            if !matches!(child.wait_timeout(left), Ok(Some(_))) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The exchange's epoll instance, registered so that forked children get
/// `/dev/null` in its place (they must never share the parent's events).
pub(super) struct TrackedPoll {
    poll: Poll,
    fd: RawFd,
}

impl TrackedPoll {
    pub(super) fn new() -> io::Result<Self> {
        let poll = Poll::new()?;
        let fd = poll.as_raw_fd();
        pprocess_transport::track_fd(fd);
        Ok(TrackedPoll { poll, fd })
    }

    pub(super) fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    pub(super) fn poll(
        &mut self,
        events: &mut Events,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        self.poll.poll(events, timeout)
    }
}

impl Drop for TrackedPoll {
    fn drop(&mut self) {
        pprocess_transport::untrack_fd(self.fd);
    }
}
