//! A descriptor the library tracks for fork hygiene.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::registry;

/// An owned descriptor, registered so that forked children replace it, and
/// unregistered and closed under the registry lock so that no child forked
/// at the same moment can keep it.
#[derive(Debug)]
pub(crate) struct TrackedFd {
    // Always `Some` until `drop` takes it.
    file: Option<File>,
    raw: RawFd,
}

impl TrackedFd {
    /// Makes descriptors with `make` and registers them while holding the
    /// registry lock across both, so that no child forked meanwhile by
    /// another thread inherits them untracked (and keeps them open).
    pub(crate) fn make_all<const N: usize>(
        make: impl FnOnce() -> io::Result<[OwnedFd; N]>,
    ) -> io::Result<[TrackedFd; N]> {
        let mut g = registry::lock();
        let fds = make()?;
        g.state().fds.extend(fds.iter().map(AsRawFd::as_raw_fd));
        drop(g);
        Ok(fds.map(|fd| TrackedFd {
            raw: fd.as_raw_fd(),
            file: Some(File::from(fd)),
        }))
    }

    /// Wraps descriptors that were just created, registering them under one
    /// lock.
    pub(crate) fn track_all<const N: usize>(fds: [OwnedFd; N]) -> [TrackedFd; N] {
        let raws: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        registry::track(&raws);
        fds.map(|fd| TrackedFd {
            raw: fd.as_raw_fd(),
            file: Some(File::from(fd)),
        })
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.raw
    }

    pub(crate) fn file(&self) -> &File {
        match &self.file {
            Some(f) => f,
            None => unreachable!("descriptor used after drop"),
        }
    }
}

impl AsFd for TrackedFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file().as_fd()
    }
}

impl Read for &TrackedFd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file().read(buf)
    }
}

impl Write for &TrackedFd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file().write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.file().write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for TrackedFd {
    fn drop(&mut self) {
        let mut g = registry::lock();
        g.state().fds.remove(&self.raw);
        drop(self.file.take());
    }
}
