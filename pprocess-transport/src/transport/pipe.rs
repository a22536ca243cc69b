//! The pipe transport (pprocess's `create_pipes`).

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, RawFd};

use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use pprocess_core::Transport;

use super::TrackedFd;

/// One side of a pair of pipes: it reads from one pipe and writes to the
/// other.
///
/// Closing the sending direction closes the write end for real, so the
/// peer sees end of file.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use pprocess_transport::Pipe;
///
/// let (mut a, mut b) = Pipe::pair()?;
/// b.write_all(b"up")?;
/// let mut buf = [0; 2];
/// a.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"up");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Pipe {
    read: TrackedFd,
    write: Option<TrackedFd>,
}

impl Pipe {
    /// Makes two pipes and returns the two sides.
    ///
    /// # Errors
    ///
    /// Any error of `pipe2(2)`.
    pub fn pair() -> io::Result<(Pipe, Pipe)> {
        let [r1, w1, r2, w2] = TrackedFd::make_all(|| {
            let (r1, w1) = pipe2(OFlag::O_CLOEXEC)?;
            let (r2, w2) = pipe2(OFlag::O_CLOEXEC)?;
            Ok([r1, w1, r2, w2])
        })?;
        Ok((
            Pipe {
                read: r1,
                write: Some(w2),
            },
            Pipe {
                read: r2,
                write: Some(w1),
            },
        ))
    }

    fn writer(&self) -> io::Result<&TrackedFd> {
        self.write
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed for writing"))
    }
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.read).read(buf)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer()?.file().write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.writer()?.file().write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Pipe {
    fn read_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
    fn write_fd(&self) -> BorrowedFd<'_> {
        // After `close_write` there is no write end; report the read end,
        // which is never writable, so nobody waits on a closed descriptor.
        match &self.write {
            Some(w) => w.as_fd(),
            None => self.read.as_fd(),
        }
    }
    fn raw_fds(&self) -> Vec<RawFd> {
        let mut fds = vec![self.read.raw()];
        fds.extend(self.write.as_ref().map(TrackedFd::raw));
        fds
    }
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        crate::sys::set_nonblocking(self.read.as_fd(), nonblocking)?;
        if let Some(w) = &self.write {
            crate::sys::set_nonblocking(w.as_fd(), nonblocking)?;
        }
        Ok(())
    }
    fn close_write(&mut self) -> io::Result<()> {
        drop(self.write.take());
        Ok(())
    }
}
