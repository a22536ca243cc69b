//! The transports: socketpair (the default), pipes and shared memory.

mod fd;

/// Implements `Read`, `Write` (with `MSG_NOSIGNAL`) and `Transport` for a
/// stream-socket type whose descriptor is its `fd: TrackedFd` field.
macro_rules! stream_socket_impls {
    ($ty:ty) => {
        impl std::io::Read for $ty {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::io::Read::read(&mut &self.fd, buf)
            }
        }

        impl std::io::Write for $ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                loop {
                    match nix::sys::socket::send(
                        self.fd.raw(),
                        buf,
                        nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
                    ) {
                        Ok(n) => return Ok(n),
                        Err(nix::errno::Errno::EINTR) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                loop {
                    match nix::sys::socket::sendmsg::<nix::sys::socket::UnixAddr>(
                        self.fd.raw(),
                        bufs,
                        &[],
                        nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
                        None,
                    ) {
                        Ok(n) => return Ok(n),
                        Err(nix::errno::Errno::EINTR) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl pprocess_core::Transport for $ty {
            fn read_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(&self.fd)
            }
            fn write_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(&self.fd)
            }
            fn raw_fds(&self) -> Vec<std::os::fd::RawFd> {
                vec![self.fd.raw()]
            }
            fn set_nonblocking(&self, nonblocking: bool) -> std::io::Result<()> {
                crate::sys::set_nonblocking(std::os::fd::AsFd::as_fd(&self.fd), nonblocking)
            }
            fn close_write(&mut self) -> std::io::Result<()> {
                match nix::sys::socket::shutdown(self.fd.raw(), nix::sys::socket::Shutdown::Write) {
                    Ok(()) | Err(nix::errno::Errno::ENOTCONN) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
        }
    };
}
use stream_socket_impls;
mod pipe;
mod shm;
mod socketpair;
mod unix_socket;

pub(crate) use fd::TrackedFd;
pub use pipe::Pipe;
pub use shm::{DEFAULT_RING_BYTES, SharedMemory};
pub use socketpair::SocketPair;
pub(crate) use unix_socket::{Listener, check_address};
pub use unix_socket::{MAX_ADDRESS_LEN, UnixSocket};

use std::io;

use pprocess_core::Transport;

/// Which transport a [`Builder`](crate::Builder) makes for a new child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TransportKind {
    /// A Unix-domain `socketpair(2)`: one bidirectional descriptor per side.
    #[default]
    SocketPair,
    /// Two `pipe(2)`s, one per direction (pprocess's `create_pipes`).
    Pipe,
    /// A ring buffer per direction in shared memory (a `memfd` mapped by
    /// parent and child), with a socketpair per direction as the doorbell
    /// that wakes a side that waits: see [`SharedMemory`]. The byte stream
    /// (frames, codecs) is the one a socket would carry; bytes move without
    /// a system call while neither side waits. Each ring holds
    /// [`DEFAULT_RING_BYTES`], or what
    /// [`Builder::socket_buffer_size`](crate::Builder::socket_buffer_size)
    /// asks for (rounded up to a power of two). Exchanges wait on it with
    /// `mio` like on the others; a peer that dies is end of file after the
    /// bytes it committed.
    SharedMemory,
}

/// Makes a connected pair of transports of the given kind, both tracked so
/// that forked children close them.
pub(crate) fn pair(
    kind: TransportKind,
    socket_buffer: Option<usize>,
) -> io::Result<(Box<dyn Transport>, Box<dyn Transport>)> {
    Ok(match kind {
        TransportKind::SocketPair => {
            let (a, b) = SocketPair::pair()?;
            if let Some(size) = socket_buffer {
                a.set_buffer_size(size)?;
                b.set_buffer_size(size)?;
            }
            (Box::new(a), Box::new(b))
        }
        TransportKind::Pipe => {
            let (a, b) = Pipe::pair()?;
            (Box::new(a), Box::new(b))
        }
        TransportKind::SharedMemory => {
            let (a, b) = SharedMemory::with_capacity(socket_buffer.unwrap_or(DEFAULT_RING_BYTES))?;
            (Box::new(a), Box::new(b))
        }
    })
}
