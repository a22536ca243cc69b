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
pub trait Transport: io::Read + io::Write + Send + fmt::Debug {
    /// The descriptor to watch for readability.
    fn read_fd(&self) -> BorrowedFd<'_>;

    /// The descriptor to watch for writability.
    fn write_fd(&self) -> BorrowedFd<'_>;

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
