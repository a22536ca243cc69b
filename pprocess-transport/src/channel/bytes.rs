//! The codec-independent half of a channel: writing queued bytes (waiting
//! for writability while reading what the peer sends, so two senders
//! never deadlock), reading into the buffer, and the drop that flushes
//! for a bounded time.

use std::io::{self, Write as _};
use std::time::{Duration, Instant};

use pprocess_core::{Error, HEADER_LEN, Result};

use super::{Channel, DROP_FLUSH_WAIT, KEEP_WRITE_CAPACITY, ReadState, is_hang_up};
use crate::reap::Child;
use crate::sys;

/// Writing and reading bytes, and the child: nothing here depends on the
/// codec, so that `Drop` (and an exchange's drop) can use it too.
impl<C> Channel<C> {
    /// Takes the child handle out of the channel, so that dropping the
    /// channel leaves the process to the caller.
    pub fn take_child(&mut self) -> Option<Child> {
        self.child.take()
    }

    /// [`Channel::flush`] with a deadline: returns `Ok(false)` if output
    /// is still queued when it passes.
    pub(super) fn flush_until(&mut self, deadline: Option<Instant>) -> Result<bool> {
        while self.written < self.write.len() {
            if self.write_closed {
                self.discard_output();
                return Err(Error::Closed);
            }
            match self.transport.write(&self.write[self.written..]) {
                Ok(0) => {
                    self.discard_output();
                    return Err(io::Error::from(io::ErrorKind::WriteZero).into());
                }
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                    if left == Some(Duration::ZERO) {
                        return Ok(false);
                    }
                    self.wait_writable(left)?;
                }
                Err(e) => return Err(self.write_failed(e)),
            }
        }
        self.discard_output();
        Ok(true)
    }

    /// Waits for room to write; meanwhile takes in what the peer sends
    /// (bounded by the frame limit), so that a peer blocked on sending to
    /// us can go on and read what we send.
    pub(super) fn wait_writable(&mut self, timeout: Option<Duration>) -> Result<()> {
        let room = self.read_state == ReadState::Open
            && self.read.pending() <= self.max_frame.saturating_add(HEADER_LEN);
        // Ask the transport to wake us for both before sleeping (a
        // shared-memory peer rings only when asked); either may be there
        // already.
        let room_now = self.transport.prepare_write_wait()?;
        let input_now = room && self.transport.prepare_read_wait()?;
        let readable = if room_now || input_now {
            input_now
        } else {
            let read_fd = room.then(|| self.transport.read_fd());
            let room_readable = self.transport.room_is_readable();
            sys::poll_write_or_read(self.transport.write_fd(), room_readable, read_fd, timeout)?.1
        };
        if readable {
            match self.fill() {
                Ok(0) => self.read_state = ReadState::Eof,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                    ) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Waits until input may be read (or the timeout passes; `None`: for
    /// ever), asking the transport first to arrange the wake-up. Whether
    /// it became ready.
    pub(super) fn poll_input(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        if self.transport.prepare_read_wait()? {
            return Ok(true);
        }
        sys::poll_one(self.transport.read_fd(), false, timeout)
    }

    /// Waits until there is room to write, as [`Channel::poll_input`] does
    /// for input.
    pub(super) fn poll_room(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        if self.transport.prepare_write_wait()? {
            return Ok(true);
        }
        let writability = !self.transport.room_is_readable();
        sys::poll_one(self.transport.write_fd(), writability, timeout)
    }

    /// Turns a failed write into the error to return, dropping what was
    /// queued: a vanished peer is [`Error::Closed`].
    pub(super) fn write_failed(&mut self, e: io::Error) -> Error {
        self.discard_output();
        if is_hang_up(&e) {
            self.write_closed = true;
            Error::Closed
        } else {
            e.into()
        }
    }

    /// One read from the transport into the read buffer. A reset
    /// (`ECONNRESET`: the peer closed with data of ours unread) is an end
    /// of file: the kernel hands out everything the peer sent before it.
    pub(super) fn fill(&mut self) -> io::Result<usize> {
        match self.read.fill(&mut *self.transport) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(0),
            other => other,
        }
    }

    pub(super) fn discard_output(&mut self) {
        self.write.clear();
        self.written = 0;
        if self.write.capacity() > KEEP_WRITE_CAPACITY {
            self.write = Vec::new();
        }
    }
}

impl<C> Drop for Channel<C> {
    fn drop(&mut self) {
        // A blocking channel delivers what was fed, as a `BufWriter` does,
        // but waits for a peer that reads nothing only so long; a
        // non-blocking one writes what the socket takes at once.
        if self.written >= self.write.len() || self.write_closed {
            return;
        }
        let wait = if self.nonblocking || !self.fd_nonblocking {
            Duration::ZERO
        } else {
            DROP_FLUSH_WAIT
        };
        let unsent = match self.flush_until(Some(Instant::now() + wait)) {
            Ok(true) | Err(_) => return,
            Ok(false) => self.write.len() - self.written,
        };
        let _ = writeln!(
            io::stderr(),
            "pprocess: channel dropped with {unsent} bytes unsent: the peer took nothing for {wait:?}"
        );
    }
}
