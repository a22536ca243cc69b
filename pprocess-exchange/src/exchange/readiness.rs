//! Readiness: waiting on epoll, reading hot channels, writing queued output
//! (`ready`, `store`, `wait`, `finish`). See `README.md` beside this file
//! for the edge-trigger rules.

use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::Token;
use mio::unix::SourceFd;
use pprocess_core::{Codec, Error, Result};
use serde::de::DeserializeOwned;

use super::{ChannelId, Exchange, FAIR_SHARE, Handler};

impl<R: DeserializeOwned, H: Handler<R, C>, C: Codec> Exchange<'_, R, H, C> {
    /// Waits up to `timeout` (`None`: for ever; zero: just look) for
    /// channels to become readable, and returns those from which a receive
    /// will not block: a whole message is buffered, or the stream ended
    /// mid-frame (the receive reports it). The list is empty only when the
    /// timeout has passed or no channel is registered.
    ///
    /// A channel whose peer has hung up, once everything it sent has been
    /// received, is removed (and with autoclose its child reaped), as
    /// pprocess does: a loop `while ex.active() > 0 { for id in
    /// ex.ready(None)? { .. } }` ends. A child that ends in failure without
    /// this being seen otherwise (a signal, a non-zero exit) leaves an
    /// [`Error::ChildDied`](crate::Error::ChildDied) message with the handler.
    ///
    /// Use it with [`Exchange::channel_mut`] to receive yourself; or let
    /// [`Exchange::store`] do it all.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if `epoll_wait` fails.
    pub fn ready(&mut self, timeout: Option<Duration>) -> Result<Vec<ChannelId>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            self.poll_events(left)?;
            let mut ready = Vec::new();
            for _ in 0..self.hot.len() {
                let Some(slot) = self.hot.pop_front() else {
                    break;
                };
                let Some(s) = self.slots[slot].as_mut() else {
                    continue;
                };
                match s.channel.fill_ready() {
                    Ok(false) => s.hot = false,
                    Ok(true) if s.channel.at_end() => {
                        s.hot = false;
                        self.hung_up_quietly(slot)?;
                    }
                    Ok(true) | Err(_) => {
                        ready.push(ChannelId(s.index));
                        self.hot.push_back(slot);
                    }
                }
            }
            // An edge may bring part of a frame, and a channel looked at
            // again may have nothing: wait on until the time is up.
            if !ready.is_empty() || self.active == 0 || left == Some(Duration::ZERO) {
                return Ok(ready);
            }
        }
    }

    /// Waits for readiness and records which channels became hot. Does not
    /// block if some channel is already hot.
    pub(super) fn poll_events(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.flush_touched()?;
        if self.active == 0 {
            return Ok(());
        }
        let timeout = if self.hot.is_empty() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match self.poll.poll(&mut self.events, left) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
        for event in self.events.iter() {
            let token = event.token().0;
            let slot = token / 2;
            let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            // An odd token is the write side's descriptor: readable there
            // means room (a shared-memory doorbell), which the writers'
            // flush below takes; only a hang-up or error makes it hot.
            let input = token % 2 == 0 && event.is_readable();
            if !s.hot && (input || event.is_read_closed() || event.is_error()) {
                s.hot = true;
                self.hot.push_back(slot);
            }
        }
        if !self.writers.is_empty() {
            self.flush_pending()?;
        }
        Ok(())
    }

    /// Writes what callers queued through [`Exchange::channel_mut`] (a
    /// `feed` without a flush), or watches for room to write it.
    fn flush_touched(&mut self) -> Result<()> {
        for slot in std::mem::take(&mut self.touched) {
            let queued = self.slots[slot]
                .as_ref()
                .is_some_and(|s| !s.writing && s.channel.pending_output() > 0);
            if queued {
                self.flush_or_watch(slot)?;
            }
        }
        Ok(())
    }

    /// Writes queued output of channels that wait for room.
    fn flush_pending(&mut self) -> Result<()> {
        for slot in std::mem::take(&mut self.writers) {
            let Some(s) = self.slots[slot].as_mut() else {
                continue;
            };
            if !s.writing {
                continue;
            }
            match s.channel.try_flush() {
                Ok(true) => self.stop_watching_writes(slot)?,
                Ok(false) => self.writers.push(slot),
                Err(e) => {
                    self.stop_watching_writes(slot)?;
                    self.write_failed(slot, e)?;
                }
            }
        }
        Ok(())
    }

    fn stop_watching_writes(&mut self, slot: usize) -> Result<()> {
        let Some(s) = self.slots[slot].as_mut() else {
            return Ok(());
        };
        s.writing = false;
        let fd = s.channel.transport().write_fd().as_raw_fd();
        let rfd = s.channel.read_fd().as_raw_fd();
        if fd == rfd {
            self.poll.registry().reregister(
                &mut SourceFd(&fd),
                Token(slot * 2),
                mio::Interest::READABLE,
            )?;
        } else {
            self.poll.registry().deregister(&mut SourceFd(&fd))?;
        }
        Ok(())
    }

    /// Flushes a channel's output without blocking; if some is left, asks
    /// for writability.
    pub(super) fn flush_or_watch(&mut self, slot: usize) -> Result<()> {
        let Some(s) = self.slots[slot].as_mut() else {
            return Ok(());
        };
        match s.channel.try_flush() {
            Ok(true) => Ok(()),
            Ok(false) => {
                if !s.writing {
                    s.writing = true;
                    self.writers.push(slot);
                    let fd = s.channel.transport().write_fd().as_raw_fd();
                    let rfd = s.channel.read_fd().as_raw_fd();
                    // Room is writability, or readability of a doorbell
                    // (shared memory: waiting for writability would spin).
                    let room = if s.channel.transport().room_is_readable() {
                        mio::Interest::READABLE
                    } else {
                        mio::Interest::WRITABLE
                    };
                    if fd == rfd {
                        self.poll.registry().reregister(
                            &mut SourceFd(&fd),
                            Token(slot * 2),
                            mio::Interest::READABLE | room,
                        )?;
                    } else {
                        self.poll.registry().register(
                            &mut SourceFd(&fd),
                            Token(slot * 2 + 1),
                            room,
                        )?;
                    }
                }
                Ok(())
            }
            Err(e) => self.write_failed(slot, e),
        }
    }

    /// A write to a channel failed. A peer that has gone (`Closed`) may
    /// still have sent things: keep reading, and its hang-up will follow.
    /// Anything else breaks the channel.
    fn write_failed(&mut self, slot: usize, error: Error) -> Result<()> {
        if error.is_closed() {
            if let Some(s) = self.slots[slot].as_mut() {
                if !s.hot {
                    s.hot = true;
                    self.hot.push_back(slot);
                }
            }
            return Ok(());
        }
        self.broken(slot, error)
    }

    /// Receives what is available (waiting up to `timeout` if nothing is)
    /// and gives each message to the handler; starts waiting work when
    /// places free up. Returns the number of messages delivered: 0 only if
    /// the timeout passed, a channel ended without a message, or nothing
    /// is running. pprocess's `store`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if waiting for readiness fails; [`Error::Fork`](crate::Error::Fork) if work
    /// cannot be started for a reason other than a temporary lack of
    /// processes or descriptors while other children run. Failures of
    /// single children are messages, not errors.
    pub fn store(&mut self, timeout: Option<Duration>) -> Result<usize> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            self.start_waiting()?;
            if self.active == 0 {
                return Ok(0);
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let removed = self.removed;
            self.poll_events(left)?;
            let delivered = self.drain_hot()?;
            self.start_waiting()?;
            // A channel that ended frees a place: `wait` may go on.
            let ended = self.removed != removed;
            if delivered > 0 || ended || self.active == 0 || left == Some(Duration::ZERO) {
                return Ok(delivered);
            }
        }
    }

    /// Stores messages until fewer channels than the limit are registered.
    ///
    /// # Errors
    ///
    /// As for [`Exchange::store`].
    pub fn wait(&mut self) -> Result<()> {
        while self.busy() {
            self.store(None)?;
        }
        Ok(())
    }

    /// Stores messages until all work has finished and every child has
    /// hung up (and, with autoclose, been reaped).
    ///
    /// # Errors
    ///
    /// As for [`Exchange::store`].
    pub fn finish(&mut self) -> Result<()> {
        while self.unfinished() {
            self.store(None)?;
        }
        Ok(())
    }

    /// If every running child has delivered its result and no work waits,
    /// waits for them to end ([`Exchange::finish`]): the children are
    /// reaped by the time their last result is handed out. Map and Queue
    /// call it before they return what may be the last result.
    pub(crate) fn settle(&mut self) -> Result<()> {
        let all_delivered = !self.continuous
            && self.waiting.is_empty()
            && self.slots.iter().flatten().all(|s| s.delivered);
        if all_delivered {
            self.finish()?;
        }
        Ok(())
    }

    /// Takes messages from hot channels, at most [`FAIR_SHARE`] from one
    /// before the next gets a turn. A message (or a failure) counts as
    /// delivered; so does a hang-up that ends a child's work.
    fn drain_hot(&mut self) -> Result<usize> {
        let mut delivered = 0;
        for _ in 0..self.hot.len() {
            let Some(slot) = self.hot.pop_front() else {
                break;
            };
            let mut taken = 0;
            while let Some(s) = self.slots[slot].as_mut() {
                if taken == FAIR_SHARE {
                    self.hot.push_back(slot);
                    break;
                }
                match s.channel.try_receive::<R>() {
                    Ok(Some(value)) => {
                        taken += 1;
                        delivered += 1;
                        self.deliver(slot, Ok(value))?;
                    }
                    Ok(None) => {
                        s.hot = false;
                        break;
                    }
                    Err(Error::Closed) => {
                        delivered += self.hung_up(slot)?;
                        break;
                    }
                    Err(e @ (Error::Remote { .. } | Error::Decode { .. })) => {
                        taken += 1;
                        delivered += 1;
                        self.deliver(slot, Err(e))?;
                    }
                    Err(e @ Error::Truncated { .. }) => {
                        delivered += 1;
                        self.truncated(slot, e)?;
                        break;
                    }
                    Err(e) => {
                        delivered += 1;
                        self.broken(slot, e)?;
                        break;
                    }
                }
            }
        }
        Ok(delivered)
    }
}
