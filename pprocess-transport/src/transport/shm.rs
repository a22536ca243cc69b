//! The shared-memory transport: a ring buffer per direction in a `memfd`
//! that both ends map, and a socketpair per direction as the doorbell.
//!
//! # The protocol
//!
//! Each ring has a `head` (bytes the writer has committed, ever) and a
//! `tail` (bytes the reader has consumed, ever); the writer owns the bytes
//! from `head` round to `tail`, the reader those from `tail` to `head`.
//! The writer copies, then publishes with a release store of `head`; the
//! reader loads `head` with acquire, copies, then gives the bytes back
//! with a release store of `tail`.
//!
//! Neither side spins. A reader that finds the ring empty sets
//! `reader_waiting`, re-checks `head` (a `SeqCst` fence between, as in
//! Dekker's algorithm), and only then sleeps on its doorbell; a writer
//! that commits bytes checks the flag after a fence and, if it is set,
//! clears it and rings (one byte on the socketpair). Room works the same
//! way the other round (`writer_waiting`, rung by the reader), so room is
//! *readability* of the writer's doorbell, which an exchange can wait on
//! with `mio` (an `eventfd` or a socket is always writable: waiting for
//! its writability would spin).
//!
//! Shared memory has no end of file; the doorbells give one. When a
//! process dies the kernel closes its doorbell ends, so the survivor's
//! next sleep reads end of file, looks at the ring once more, and reports
//! end of file only after everything committed before the death. A frame
//! half-written at that moment stays half of a frame: the channel's reader
//! reports `Truncated`. Closing the sending direction shuts the write half
//! of the data doorbell, which the peer reads as the same end of file.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, MsgFlags, Shutdown, SockFlag, SockType, recv, send, shutdown, socketpair,
};
use pprocess_core::Transport;

use super::TrackedFd;
use crate::sys::{self, SharedMap};

/// The ring size per direction when none is asked for: 1 MiB.
pub const DEFAULT_RING_BYTES: usize = 1 << 20;

/// The smallest ring; smaller requests are rounded up to it.
const MIN_RING_BYTES: usize = 4096;

/// The largest ring (1 GiB per direction).
const MAX_RING_BYTES: usize = 1 << 30;

/// Both rings' headers share the first page; the data follows.
const HEADER_PAGE: usize = 4096;
/// Bytes of header per ring: the writer's line, then the reader's.
const RING_HEADER: usize = 128;
const HEAD: usize = 0;
const WRITER_WAITING: usize = 8;
const TAIL: usize = 64;
const READER_WAITING: usize = 72;

/// One end of a shared-memory channel: it writes into one ring and reads
/// from the other.
///
/// The bytes a [`SocketPair`](crate::SocketPair) would carry go through
/// memory both processes map, with no system call while neither side has
/// to wait; a process that must wait sleeps in the kernel on a doorbell (a
/// socketpair per direction), which the other side rings only when it
/// sees the flag saying so. Make the pair before `fork` (a
/// [`Builder`](crate::Builder) with
/// [`TransportKind::SharedMemory`](crate::TransportKind::SharedMemory)
/// does): the child inherits the mapping. Children forked for other
/// channels replace the mapping with private memory, as they replace
/// other channels' descriptors with `/dev/null`.
///
/// A peer that dies is end of file after everything it committed; a frame
/// it was in the middle of is reported as truncated by the channel.
/// Writing to a peer that has gone is [`io::ErrorKind::BrokenPipe`] once
/// the ring is full (bytes already in the ring are lost with the peer, as
/// in a socket buffer).
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use pprocess_transport::SharedMemory;
///
/// let (mut a, mut b) = SharedMemory::pair()?;
/// a.write_all(b"hi")?;
/// let mut buf = [0; 2];
/// b.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"hi");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Implementation notes
///
/// Each end holds its own view of one `memfd` (`memfd_create(2)`,
/// `mmap(2)` with `MAP_SHARED`) and two socketpair ends; the memfd itself
/// is closed once both views exist. Four descriptors per channel, as for
/// a pair of pipes.
#[derive(Debug)]
pub struct SharedMemory {
    map: SharedMap,
    /// Offsets of the rings' headers and data in the map.
    out_header: usize,
    out_data: usize,
    in_header: usize,
    in_data: usize,
    capacity: usize,
    /// Receives room wake-ups; carries our data wake-ups to the peer.
    write_bell: TrackedFd,
    /// Receives data wake-ups; carries our room wake-ups to the peer.
    read_bell: TrackedFd,
    /// The data doorbell read end of file: the peer will commit nothing
    /// more.
    read_eof: bool,
    write_closed: bool,
}

impl SharedMemory {
    /// Makes a connected pair with rings of [`DEFAULT_RING_BYTES`].
    ///
    /// # Errors
    ///
    /// Any error of `socketpair(2)`, `memfd_create(2)`, `ftruncate(2)` or
    /// `mmap(2)` (for example too many open files, or no memory).
    pub fn pair() -> io::Result<(SharedMemory, SharedMemory)> {
        SharedMemory::with_capacity(DEFAULT_RING_BYTES)
    }

    /// Makes a connected pair whose rings hold `bytes` each, rounded up to
    /// a power of two between 4 KiB and 1 GiB.
    ///
    /// # Errors
    ///
    /// As for [`SharedMemory::pair`].
    pub fn with_capacity(bytes: usize) -> io::Result<(SharedMemory, SharedMemory)> {
        let capacity = bytes
            .clamp(MIN_RING_BYTES, MAX_RING_BYTES)
            .next_power_of_two();
        let flags = SockFlag::SOCK_CLOEXEC;
        // Made and registered under the registry's lock, as a socketpair
        // channel's descriptors are (see `TrackedFd::make_all`).
        let [xa, xb, ya, yb] = TrackedFd::make_all(|| {
            let (xa, xb) = socketpair(AddressFamily::Unix, SockType::Stream, None, flags)?;
            let (ya, yb) = socketpair(AddressFamily::Unix, SockType::Stream, None, flags)?;
            Ok([xa, xb, ya, yb])
        })?;
        let owners_a = [xa.raw(), ya.raw()];
        let owners_b = [yb.raw(), xb.raw()];
        let (map_a, map_b) =
            SharedMap::create_pair(HEADER_PAGE + 2 * capacity, (owners_a, owners_b))?;
        let ring0 = (0, HEADER_PAGE);
        let ring1 = (RING_HEADER, HEADER_PAGE + capacity);
        let end =
            |map, out: (usize, usize), inn: (usize, usize), write_bell, read_bell| SharedMemory {
                map,
                out_header: out.0,
                out_data: out.1,
                in_header: inn.0,
                in_data: inn.1,
                capacity,
                write_bell,
                read_bell,
                read_eof: false,
                write_closed: false,
            };
        Ok((
            end(map_a, ring0, ring1, xa, ya),
            end(map_b, ring1, ring0, yb, xb),
        ))
    }

    /// The size of each ring in bytes.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn out_u64(&self, field: usize) -> &AtomicU64 {
        self.map.u64_at(self.out_header + field)
    }
    fn out_u32(&self, field: usize) -> &AtomicU32 {
        self.map.u32_at(self.out_header + field)
    }
    fn in_u64(&self, field: usize) -> &AtomicU64 {
        self.map.u64_at(self.in_header + field)
    }
    fn in_u32(&self, field: usize) -> &AtomicU32 {
        self.map.u32_at(self.in_header + field)
    }

    /// Bytes between `tail` and `head`, checked: a peer (or stray write)
    /// that broke the indices gives an error, never an out-of-ring copy.
    fn used(&self, head: u64, tail: u64) -> io::Result<usize> {
        let used = head.wrapping_sub(tail);
        match usize::try_from(used) {
            Ok(n) if n <= self.capacity => Ok(n),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "shared-memory ring corrupt: {used} bytes pending in a ring of {}",
                    self.capacity
                ),
            )),
        }
    }

    /// The ring position of a running index.
    fn pos(&self, index: u64) -> usize {
        // Truncation is the point: the capacity is a power of two that fits
        // in usize, so the masked value does too.
        #[allow(clippy::cast_possible_truncation)]
        let low = index as usize;
        low & (self.capacity - 1)
    }

    /// Copies `src` into the outgoing ring at running index `head`
    /// (wrapping round the end).
    fn copy_to_ring(&self, head: u64, src: &[u8]) {
        let at = self.pos(head);
        let first = src.len().min(self.capacity - at);
        self.map.copy_in(self.out_data + at, &src[..first]);
        if first < src.len() {
            self.map.copy_in(self.out_data, &src[first..]);
        }
    }

    /// Copies from the incoming ring at running index `tail` into `dst`.
    fn copy_from_ring(&self, tail: u64, dst: &mut [u8]) {
        let at = self.pos(tail);
        let first = dst.len().min(self.capacity - at);
        self.map.copy_out(self.in_data + at, &mut dst[..first]);
        if first < dst.len() {
            self.map.copy_out(self.in_data, &mut dst[first..]);
        }
    }

    /// Sets `reader_waiting` on the incoming ring and looks again: whether
    /// input is there (so no wake-up will come for it, and none is needed).
    fn arm_read(&self) -> io::Result<bool> {
        let tail = self.in_u64(TAIL).load(Ordering::Relaxed);
        self.in_u32(READER_WAITING).store(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let head = self.in_u64(HEAD).load(Ordering::Acquire);
        Ok(self.used(head, tail)? > 0)
    }

    /// Sets `writer_waiting` on the outgoing ring and looks again: whether
    /// there is room now.
    fn arm_write(&self) -> io::Result<bool> {
        let head = self.out_u64(HEAD).load(Ordering::Relaxed);
        self.out_u32(WRITER_WAITING).store(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let tail = self.out_u64(TAIL).load(Ordering::Acquire);
        Ok(self.used(head, tail)? < self.capacity)
    }
}

/// Rings a doorbell: one byte, never blocking. A full doorbell already
/// holds a wake-up; a peer that has gone needs none.
fn ring(fd: &TrackedFd) {
    loop {
        match send(
            fd.raw(),
            &[1],
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
        ) {
            Err(Errno::EINTR) => continue,
            _ => return,
        }
    }
}

/// What sleeping on a doorbell gave.
enum Bell {
    /// Woken (or a wake-up left from before): look again.
    Rung,
    /// The peer's end is closed.
    Hangup,
}

/// Takes the wake-ups waiting on a doorbell, sleeping until one comes if
/// the descriptor is in blocking mode. `WouldBlock` (non-blocking, none
/// there) and `Interrupted` are errors for the caller to pass on.
fn sleep_on(fd: &TrackedFd) -> io::Result<Bell> {
    let mut buf = [0u8; 64];
    match recv(fd.raw(), &mut buf, MsgFlags::empty()) {
        Ok(0) | Err(Errno::ECONNRESET) => Ok(Bell::Hangup),
        Ok(_) => Ok(Bell::Rung),
        Err(e) => Err(e.into()),
    }
}

impl Read for SharedMemory {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let tail = self.in_u64(TAIL).load(Ordering::Relaxed);
            let head = self.in_u64(HEAD).load(Ordering::Acquire);
            let avail = self.used(head, tail)?;
            if avail > 0 {
                let n = avail.min(buf.len());
                self.copy_from_ring(tail, &mut buf[..n]);
                self.in_u64(TAIL).store(tail + n as u64, Ordering::Release);
                fence(Ordering::SeqCst);
                let waiting = self.in_u32(WRITER_WAITING);
                if waiting.load(Ordering::Relaxed) != 0 && waiting.swap(0, Ordering::Relaxed) != 0 {
                    ring(&self.read_bell);
                }
                return Ok(n);
            }
            if self.read_eof {
                return Ok(0);
            }
            if self.arm_read()? {
                continue;
            }
            match sleep_on(&self.read_bell)? {
                Bell::Rung => {}
                Bell::Hangup => {
                    // Everything the peer committed before it went is
                    // visible now: look once more, then report the end.
                    fence(Ordering::SeqCst);
                    self.read_eof = true;
                }
            }
        }
    }
}

impl SharedMemory {
    /// Waits for room (as the descriptor's mode allows), then lets `fill`
    /// copy `n` bytes (at most `len`, at most the room) into the ring at
    /// the running index it is given, commits them, and rings the reader
    /// if it sleeps. Returns `n`.
    fn write_with(
        &mut self,
        len: usize,
        fill: impl Fn(&SharedMemory, u64, usize),
    ) -> io::Result<usize> {
        if self.write_closed {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "shared-memory ring closed for writing",
            ));
        }
        if len == 0 {
            return Ok(0);
        }
        loop {
            let head = self.out_u64(HEAD).load(Ordering::Relaxed);
            let tail = self.out_u64(TAIL).load(Ordering::Acquire);
            let room = self.capacity - self.used(head, tail)?;
            if room > 0 {
                let n = room.min(len);
                fill(self, head, n);
                self.out_u64(HEAD).store(head + n as u64, Ordering::Release);
                fence(Ordering::SeqCst);
                let waiting = self.out_u32(READER_WAITING);
                if waiting.load(Ordering::Relaxed) != 0 && waiting.swap(0, Ordering::Relaxed) != 0 {
                    ring(&self.write_bell);
                }
                return Ok(n);
            }
            if self.arm_write()? {
                continue;
            }
            match sleep_on(&self.write_bell)? {
                Bell::Rung => {}
                Bell::Hangup => {
                    return Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "shared-memory peer has gone",
                    ));
                }
            }
        }
    }
}

impl Write for SharedMemory {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_with(buf.len(), |me, head, n| me.copy_to_ring(head, &buf[..n]))
    }

    /// Copies the slices straight into the ring, one after the other, and
    /// commits them together: a header and a payload held apart cost no
    /// copy into a buffer of their own first.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.write_with(len, |me, head, n| {
            let mut at = head;
            let mut left = n;
            for b in bufs {
                if left == 0 {
                    break;
                }
                let take = b.len().min(left);
                me.copy_to_ring(at, &b[..take]);
                at += take as u64;
                left -= take;
            }
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for SharedMemory {
    fn read_fd(&self) -> BorrowedFd<'_> {
        self.read_bell.as_fd()
    }
    fn write_fd(&self) -> BorrowedFd<'_> {
        self.write_bell.as_fd()
    }
    fn room_is_readable(&self) -> bool {
        true
    }
    fn prepare_read_wait(&mut self) -> io::Result<bool> {
        self.arm_read()
    }
    fn prepare_write_wait(&mut self) -> io::Result<bool> {
        self.arm_write()
    }
    fn raw_fds(&self) -> Vec<RawFd> {
        vec![self.read_bell.raw(), self.write_bell.raw()]
    }
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        sys::set_nonblocking(self.read_bell.as_fd(), nonblocking)?;
        sys::set_nonblocking(self.write_bell.as_fd(), nonblocking)
    }
    fn close_write(&mut self) -> io::Result<()> {
        if self.write_closed {
            return Ok(());
        }
        self.write_closed = true;
        match shutdown(self.write_bell.raw(), Shutdown::Write) {
            Ok(()) | Err(Errno::ENOTCONN) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests;
