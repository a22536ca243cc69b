//! Descriptor helpers.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// Sets or clears `O_NONBLOCK` on `fd`.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    let flags = fcntl(fd, FcntlArg::F_GETFL)?;
    let mut flags = OFlag::from_bits_retain(flags);
    flags.set(OFlag::O_NONBLOCK, nonblocking);
    fcntl(fd, FcntlArg::F_SETFL(flags))?;
    Ok(())
}

/// Waits until `fd` is readable (`write == false`) or writable, or the
/// timeout passes (`None` waits for ever). Returns whether it became ready
/// (hang-up and errors count as ready: the next read or write reports them).
pub(crate) fn poll_one(
    fd: BorrowedFd<'_>,
    write: bool,
    timeout: Option<Duration>,
) -> io::Result<bool> {
    let events = if write {
        PollFlags::POLLOUT
    } else {
        PollFlags::POLLIN
    };
    let timeout = poll_timeout(timeout);
    let mut fds = [PollFd::new(fd, events)];
    loop {
        match poll(&mut fds, timeout) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Waits until `write_fd` has room, or `read_fd` (when given) has data, or
/// the timeout passes (`None`: for ever). Room is writability of
/// `write_fd`, or its readability when `room_readable` (a doorbell the
/// peer rings). Returns `(room, readable)`; hang-up and errors count as
/// both, so the next write or read reports them. The two may be the same
/// descriptor (a socket).
pub(crate) fn poll_write_or_read(
    write_fd: BorrowedFd<'_>,
    room_readable: bool,
    read_fd: Option<BorrowedFd<'_>>,
    timeout: Option<Duration>,
) -> io::Result<(bool, bool)> {
    let timeout = poll_timeout(timeout);
    let same = read_fd.is_some_and(|r| r.as_raw_fd() == write_fd.as_raw_fd());
    let room_events = if room_readable {
        PollFlags::POLLIN
    } else {
        PollFlags::POLLOUT
    };
    let mut fds = Vec::with_capacity(2);
    let write_events = if same {
        room_events | PollFlags::POLLIN
    } else {
        room_events
    };
    fds.push(PollFd::new(write_fd, write_events));
    if let (Some(r), false) = (read_fd, same) {
        fds.push(PollFd::new(r, PollFlags::POLLIN));
    }
    loop {
        match poll(&mut fds, timeout) {
            Ok(_) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let bad = PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL;
    let got = |fd: &PollFd<'_>| fd.revents().unwrap_or(PollFlags::empty());
    let w = got(&fds[0]);
    let writable = w.intersects(room_events | bad);
    let readable = if same {
        read_fd.is_some() && w.intersects(PollFlags::POLLIN | bad)
    } else {
        fds.get(1)
            .is_some_and(|r| got(r).intersects(PollFlags::POLLIN | bad))
    };
    Ok((writable, readable))
}

/// A `poll(2)` timeout in whole milliseconds, rounded up so that a short
/// timeout never becomes a busy zero poll.
fn poll_timeout(timeout: Option<Duration>) -> PollTimeout {
    match timeout {
        None => PollTimeout::NONE,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
        }
    }
}

/// In a freshly forked child: points every descriptor in `fds` at
/// `/dev/null` instead of what it was, so that the child no longer holds
/// the parent's channel ends (or epoll instances) open, while the Rust
/// objects that still own those numbers close something harmless when
/// they are dropped.
pub(crate) fn replace_with_dev_null(fds: impl Iterator<Item = RawFd>) -> io::Result<()> {
    let mut fds = fds.peekable();
    if fds.peek().is_none() {
        // Nothing inherited: spare the child an open and a close.
        return Ok(());
    }
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    let null_fd = null.as_fd().as_raw_fd();
    for fd in fds {
        if fd == null_fd {
            continue;
        }
        // SAFETY: `null_fd` is open for the whole loop (owned by `null`);
        // `fd` is a descriptor number the library created and still tracks,
        // so it is open in this process and owned by a library object that
        // will close it later. `dup3` atomically replaces what `fd` refers
        // to, so that owner stays the sole owner of a valid descriptor.
        let rc = unsafe { libc::dup3(null_fd, fd, libc::O_CLOEXEC) };
        if rc == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Takes ownership of a descriptor a system call has just returned (for
/// example `accept4`), which nothing else owns yet.
pub(crate) fn own_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: callers pass a descriptor freshly returned by the kernel to
    // this process and not yet wrapped by any owner, so it is open and the
    // new `OwnedFd` is its only owner.
    unsafe { OwnedFd::from_raw_fd(fd) }
}
