//! The socketpair transport.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use nix::sys::socket::{
    AddressFamily, MsgFlags, Shutdown, SockFlag, SockType, send, setsockopt, shutdown, socketpair,
    sockopt,
};
use pprocess_core::Transport;

use super::TrackedFd;

/// One end of a Unix-domain `socketpair(2)` (`SOCK_STREAM`, close-on-exec).
///
/// Writes use `MSG_NOSIGNAL`, so a peer that has gone away is an
/// [`io::ErrorKind::BrokenPipe`] error, never a `SIGPIPE`.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use pprocess_transport::SocketPair;
///
/// let (mut a, mut b) = SocketPair::pair()?;
/// a.write_all(b"hi")?;
/// let mut buf = [0; 2];
/// b.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"hi");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct SocketPair {
    fd: TrackedFd,
}

impl SocketPair {
    /// Makes a connected pair.
    ///
    /// # Errors
    ///
    /// Any error of `socketpair(2)` (for example too many open files).
    pub fn pair() -> io::Result<(SocketPair, SocketPair)> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        let [a, b] = TrackedFd::track_all([a, b]);
        Ok((SocketPair { fd: a }, SocketPair { fd: b }))
    }

    /// Sets the kernel's send and receive buffer sizes (`SO_SNDBUF`,
    /// `SO_RCVBUF`); bulk channels move large frames faster with larger
    /// buffers.
    ///
    /// # Errors
    ///
    /// Any error of `setsockopt(2)`.
    pub fn set_buffer_size(&self, bytes: usize) -> io::Result<()> {
        setsockopt(&self.fd, sockopt::SndBuf, &bytes)?;
        setsockopt(&self.fd, sockopt::RcvBuf, &bytes)?;
        Ok(())
    }
}

impl Read for SocketPair {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.fd).read(buf)
    }
}

impl Write for SocketPair {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match send(self.fd.raw(), buf, MsgFlags::MSG_NOSIGNAL) {
                Ok(n) => return Ok(n),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for SocketPair {
    fn read_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
    fn write_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
    fn raw_fds(&self) -> Vec<RawFd> {
        vec![self.fd.as_fd().as_raw_fd()]
    }
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        crate::sys::set_nonblocking(self.fd.as_fd(), nonblocking)
    }
    fn close_write(&mut self) -> io::Result<()> {
        match shutdown(self.fd.raw(), Shutdown::Write) {
            Ok(()) | Err(nix::errno::Errno::ENOTCONN) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
