//! The transport trait: a byte stream between two processes.

use std::fmt;
use std::io;
use std::os::fd::{BorrowedFd, RawFd};

/// A bidirectional byte stream between two processes.
///
/// A channel frames and encodes messages on top of a transport; an exchange
/// registers [`Transport::read_fd`] for readiness. The socketpair, pipe and
/// Unix-socket transports of `pprocess-transport` implement it, and so can a
/// user's own type.
///
/// Reads and writes follow [`io::Read`] and [`io::Write`]: a read of 0 bytes
/// is end of file; a non-blocking transport returns
/// [`io::ErrorKind::WouldBlock`].
///
/// # Waiting
///
/// A socket or a pipe wakes a waiter by itself: readability of
/// [`Transport::read_fd`] means input, writability of
/// [`Transport::write_fd`] means room. A transport that moves its bytes
/// some other way (shared memory) wakes its peer only when asked to, and
/// may signal room by *readability* of its write descriptor (a doorbell the
/// peer rings). Three methods with defaults that fit sockets say so: a
/// caller that is about to wait calls [`Transport::prepare_read_wait`] or
/// [`Transport::prepare_write_wait`] first and skips the wait when they
/// return `true`, and watches [`Transport::write_fd`] for readability when
/// [`Transport::room_is_readable`] says so. A read or write that returns
/// [`io::ErrorKind::WouldBlock`] has prepared the wait itself.
pub trait Transport: io::Read + io::Write + Send + fmt::Debug {
    /// The descriptor to watch for readability.
    fn read_fd(&self) -> BorrowedFd<'_>;

    /// The descriptor to watch for room to write: for writability, or for
    /// readability if [`Transport::room_is_readable`].
    fn write_fd(&self) -> BorrowedFd<'_>;

    /// Whether room to write is signalled by readability of
    /// [`Transport::write_fd`] rather than writability. `false` (the
    /// default) for sockets and pipes.
    fn room_is_readable(&self) -> bool {
        false
    }

    /// Called before waiting for [`Transport::read_fd`] to become
    /// readable: arranges for the peer to wake it, and returns `true` if
    /// a read can go on at once (input or end of file is there), so the
    /// wait is to be skipped. The default, for transports that wake
    /// readers by themselves, returns `false`.
    ///
    /// # Errors
    ///
    /// Whatever the transport meets while looking.
    fn prepare_read_wait(&mut self) -> io::Result<bool> {
        Ok(false)
    }

    /// Called before waiting for room on [`Transport::write_fd`], as
    /// [`Transport::prepare_read_wait`] is for input: `true` if a write
    /// can go on at once. The default returns `false`.
    ///
    /// # Errors
    ///
    /// Whatever the transport meets while looking.
    fn prepare_write_wait(&mut self) -> io::Result<bool> {
        Ok(false)
    }

    /// Every descriptor this transport owns (one for a socket, two for a
    /// pair of pipes), so that forked children can close the ones they
    /// inherit.
    fn raw_fds(&self) -> Vec<RawFd>;

    /// Switches both directions between blocking and non-blocking mode.
    ///
    /// # Errors
    ///
    /// Any error of the underlying `fcntl`.
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()>;

    /// Closes the sending direction: the peer reads end of file once it has
    /// read everything sent before.
    ///
    /// # Errors
    ///
    /// Any error of the underlying `shutdown` or `close`.
    fn close_write(&mut self) -> io::Result<()>;
}
