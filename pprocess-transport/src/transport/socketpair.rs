//! The socketpair transport.

use std::io;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, setsockopt, socketpair, sockopt};

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
        let [a, b] = TrackedFd::make_all(|| {
            let (a, b) = socketpair(
                AddressFamily::Unix,
                SockType::Stream,
                None,
                SockFlag::SOCK_CLOEXEC,
            )?;
            Ok([a, b])
        })?;
        Ok((SocketPair { fd: a }, SocketPair { fd: b }))
    }

    /// Wraps a descriptor received from another process (the fork
    /// server's workers get their channel end this way), tracking it.
    pub(crate) fn from_fd(fd: std::os::fd::OwnedFd) -> SocketPair {
        let [fd] = TrackedFd::track_all([fd]);
        SocketPair { fd }
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

super::stream_socket_impls!(SocketPair);
