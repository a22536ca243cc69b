//! `Channel`: typed, framed messages over a transport.
//!
//! This file holds the type, its settings, sending and closing;
//! [`receive`] holds receiving, [`acks`] the acknowledgements of
//! persistent channels, and [`bytes`] the codec-independent writing, reading
//! and drop.

mod acks;
mod bytes;
mod direct;
mod receive;

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Write as _};
use std::marker::PhantomData;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use pprocess_core::frame::encode_header;
use pprocess_core::{
    Codec, DEFAULT_MAX_FRAME, Error, ExitStatus, FrameKind, HEADER_LEN, Pid, Process, RemoteError,
    Result, Transport,
};
use serde::Serialize;

use crate::codec::MessagePack;
use crate::framing::ReadBuf;
use crate::reap::Child;

/// Queued output is written once it reaches this size, so a batch of small
/// frames costs one system call per 64 KiB.
const BATCH_BYTES: usize = 64 * 1024;

/// A write buffer larger than this is released after it has been written.
const KEEP_WRITE_CAPACITY: usize = 64 << 20;

/// How long dropping a blocking channel waits for its peer to take queued
/// output before it gives up (and says so on standard error).
const DROP_FLUSH_WAIT: Duration = Duration::from_secs(2);

/// Whether an I/O error means the peer has gone: its end was closed
/// (`EPIPE`), or it closed with data of ours unread (`ECONNRESET`).
fn is_hang_up(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ReadState {
    Open,
    /// End of file was read; frames still buffered come first.
    Eof,
    /// End of file or an end-of-stream frame: nothing more will arrive.
    Ended,
    /// A framing error left the byte stream out of sync.
    Broken(String),
}

/// How long a receive may wait.
#[derive(Debug, Clone, Copy)]
enum Wait {
    Forever,
    Never,
    Until(Instant),
}

/// One end of a connection to another process, carrying typed messages.
///
/// Messages are any serde type, encoded by the codec `C` (MessagePack by
/// default) and sent as length-prefixed frames. In the parent, a channel
/// made by [`start`](crate::start) or [`create`](crate::create) also owns
/// the child process: [`Channel::pid`], [`Channel::wait`] and
/// [`Channel::close`] reach it.
///
/// # Examples
///
/// ```
/// use pprocess_transport::start;
///
/// // The closure runs in a forked child; it gets the child's end.
/// let mut ch = start(|ch| {
///     let n: u64 = ch.receive()?;
///     ch.send(&(n * 2))
/// })?;
/// ch.send(&21u64)?;
/// assert_eq!(ch.receive::<u64>()?, 42);
/// assert!(ch.close()?.unwrap().success()); // reaps the child
/// # Ok::<(), pprocess_core::Error>(())
/// ```
///
/// Both ends can also live in one process, which is how most tests run:
///
/// ```
/// use pprocess_transport::Builder;
///
/// let (mut a, mut b) = Builder::<pprocess_transport::Json>::new().channel_pair()?;
/// a.send(&Some("x"))?;
/// assert_eq!(b.receive::<Option<String>>()?, Some("x".to_string()));
/// # Ok::<(), pprocess_core::Error>(())
/// ```
pub struct Channel<C = MessagePack> {
    transport: Box<dyn Transport>,
    read: ReadBuf,
    read_state: ReadState,
    write: Vec<u8>,
    /// Bytes of `write` already written (non-blocking flushes only).
    written: usize,
    max_frame: usize,
    /// The caller's mode: `true` means no call waits.
    nonblocking: bool,
    /// The descriptors themselves are in `O_NONBLOCK` mode (always, unless
    /// a user's transport refused it): blocking calls then wait with
    /// `poll(2)`, so a sender waiting for room can read meanwhile.
    fd_nonblocking: bool,
    /// The peer has gone: nothing more can be written.
    write_closed: bool,
    /// Send acknowledgements of received frames (persistent channels).
    acknowledge: bool,
    /// Data and error frames handed out (counted when acknowledging).
    received: u64,
    /// The peer's latest acknowledgement.
    peer_acked: u64,
    /// Data and error frames (kind, payload) set aside while waiting for
    /// acknowledgements behind them; received before anything else.
    stashed: VecDeque<(FrameKind, Vec<u8>)>,
    /// The payload of the stashed frame handed out last.
    held: Vec<u8>,
    child: Option<Child>,
    _codec: PhantomData<fn() -> C>,
}

impl<C> fmt::Debug for Channel<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("transport", &self.transport)
            .field("child", &self.child)
            .field("buffered_in", &self.read.pending())
            .field("buffered_out", &(self.write.len() - self.written))
            .field("max_frame", &self.max_frame)
            .finish_non_exhaustive()
    }
}

impl<C: Codec> Channel<C> {
    /// Wraps a transport. Use this to run a channel over a transport of your
    /// own; [`Builder`](crate::Builder) makes the standard ones.
    ///
    /// The transport is switched to non-blocking mode underneath (the
    /// channel still blocks where its methods say so, waiting with
    /// `poll(2)`); if it refuses, the channel uses it in blocking mode.
    #[must_use]
    pub fn new(transport: Box<dyn Transport>) -> Self {
        let fd_nonblocking = transport.set_nonblocking(true).is_ok();
        Channel {
            transport,
            read: ReadBuf::default(),
            read_state: ReadState::Open,
            write: Vec::new(),
            written: 0,
            max_frame: DEFAULT_MAX_FRAME,
            nonblocking: false,
            fd_nonblocking,
            write_closed: false,
            acknowledge: false,
            received: 0,
            peer_acked: 0,
            stashed: VecDeque::new(),
            held: Vec::new(),
            child: None,
            _codec: PhantomData,
        }
    }

    pub(crate) fn with_child(mut self, child: Child) -> Self {
        self.child = Some(child);
        self
    }

    /// Sets the largest payload this channel sends or accepts (default
    /// [`DEFAULT_MAX_FRAME`], 256 MiB). A peer announcing more gets
    /// [`Error::FrameTooLarge`] before anything is allocated.
    pub fn set_max_frame_size(&mut self, bytes: usize) {
        self.max_frame = bytes;
    }

    /// The largest payload this channel sends or accepts.
    #[must_use]
    pub fn max_frame_size(&self) -> usize {
        self.max_frame
    }

    /// The pid of the child at the other end, in the parent that started it;
    /// `None` in the child and for channels not made by a fork (pprocess
    /// used 0 for "this is the child").
    pub fn pid(&self) -> Option<Pid> {
        self.child.as_ref().map(Process::pid)
    }

    /// The transport underneath.
    #[must_use]
    pub fn transport(&self) -> &dyn Transport {
        &*self.transport
    }

    /// The descriptor to watch for incoming data (what an exchange
    /// registers).
    #[must_use]
    pub fn read_fd(&self) -> BorrowedFd<'_> {
        self.transport.read_fd()
    }

    /// Switches the channel between blocking and non-blocking mode.
    ///
    /// Every method works in both modes: [`Channel::send`],
    /// [`Channel::flush`] and [`Channel::receive`] always wait with
    /// `poll(2)` when the transport would block, and the `try_` methods
    /// never wait. What the mode changes: in non-blocking mode
    /// [`Channel::feed`] never writes, and dropping the channel does not
    /// wait to deliver what is queued. An exchange puts its channels in
    /// non-blocking mode.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if a transport that refused non-blocking mode when
    /// the channel was made refuses it again (`fcntl` fails).
    pub fn set_nonblocking(&mut self, nonblocking: bool) -> Result<()> {
        if !self.fd_nonblocking {
            self.transport.set_nonblocking(nonblocking)?;
        }
        self.nonblocking = nonblocking;
        Ok(())
    }

    /// Sends one message and returns once all of it is in the kernel.
    ///
    /// Messages queued by [`Channel::feed`] go first, in the same write.
    /// Large pieces of the value (byte strings and strings of 64 KiB and
    /// more, with the MessagePack or JSON codec) go from the value's own
    /// memory to the kernel in that write (`writev`), without a copy.
    /// While it waits for the peer to make room, it reads what the peer
    /// sends into the channel's buffer (up to one frame of
    /// [`Channel::max_frame_size`] beyond what is buffered), so two
    /// processes that both send large messages before receiving never
    /// deadlock.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] if the codec cannot encode the value (nothing is
    /// sent); [`Error::FrameTooLarge`] if it encodes to more than
    /// [`Channel::max_frame_size`]; [`Error::Closed`] if the peer has gone
    /// (what it sent before can still be received); [`Error::Io`] if the
    /// write fails otherwise.
    pub fn send<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.send_frame(FrameKind::Data, value)
    }

    /// Queues one message without writing it, unless the queue has reached
    /// 64 KiB (never on a non-blocking channel, which must not wait);
    /// [`Channel::flush`] or [`Channel::try_flush`] writes the rest. Many small messages then
    /// cost one system call per 64 KiB rather than one each.
    ///
    /// # Errors
    ///
    /// As for [`Channel::send`].
    pub fn feed<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.encode_frame(FrameKind::Data, value)?;
        if !self.nonblocking && self.write.len() - self.written >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes everything queued, waiting for the peer to make room if it
    /// must (reading what the peer sends meanwhile, as [`Channel::send`]
    /// does).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the peer has gone; [`Error::Io`] if the write
    /// fails otherwise. Either way what was queued is dropped.
    pub fn flush(&mut self) -> Result<()> {
        self.flush_until(None).map(|_| ())
    }

    /// Writes as much of the queue as the transport takes without blocking.
    /// Returns `true` once nothing is left queued.
    ///
    /// Meant for non-blocking channels (an exchange writing to many
    /// children must never block on one of them); on a blocking channel it
    /// first asks `poll(2)` whether there is room.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the peer has gone; [`Error::Io`] if the write
    /// fails otherwise. Either way what was queued is dropped.
    pub fn try_flush(&mut self) -> Result<bool> {
        while self.written < self.write.len() {
            if self.write_closed {
                self.discard_output();
                return Err(Error::Closed);
            }
            if !self.fd_nonblocking && !self.poll_room(Some(Duration::ZERO))? {
                return Ok(false);
            }
            match self.transport.write(&self.write[self.written..]) {
                Ok(0) => {
                    self.discard_output();
                    return Err(io::Error::from(io::ErrorKind::WriteZero).into());
                }
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(self.write_failed(e)),
            }
        }
        self.discard_output();
        Ok(true)
    }

    /// Whether the peer has been seen to go away while writing: sends fail
    /// with [`Error::Closed`] from then on.
    #[must_use]
    pub fn is_write_closed(&self) -> bool {
        self.write_closed
    }

    /// Bytes queued and not yet written.
    #[must_use]
    pub fn pending_output(&self) -> usize {
        self.write.len() - self.written
    }

    fn encode_frame<T: Serialize + ?Sized>(&mut self, kind: FrameKind, value: &T) -> Result<()> {
        encode_frame_into::<C, T>(kind, value, self.max_frame, &mut self.write)
    }

    /// Queues bytes that already form whole frames and writes them.
    pub(crate) fn write_frames(&mut self, frames: &[u8]) -> Result<()> {
        self.write.extend_from_slice(frames);
        self.flush()
    }

    fn queue_raw(&mut self, kind: FrameKind, payload: &[u8]) -> Result<()> {
        let header = encode_header(kind, payload.len())?;
        self.write.extend_from_slice(&header);
        self.write.extend_from_slice(payload);
        Ok(())
    }

    /// Sends a remote-error frame: the receiver's next receive returns
    /// [`Error::Remote`] with this process's pid and `message`. Children
    /// made by [`start`](crate::start) send one for you when the closure
    /// panics or returns an error.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the write fails.
    pub fn send_error(&mut self, message: &str) -> Result<()> {
        let mut payload = Vec::with_capacity(4 + message.len());
        RemoteError {
            pid: nix::unistd::getpid().as_raw(),
            message: message.to_string(),
        }
        .encode(&mut payload);
        self.queue_raw(FrameKind::Error, &payload)?;
        self.flush()
    }

    /// Tells the peer that nothing more will be sent: its receives return
    /// [`Error::Closed`] once it has read everything before. The channel
    /// can still receive.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the write fails.
    pub fn send_end(&mut self) -> Result<()> {
        self.feed_end()?;
        self.flush()
    }

    /// Queues an end-of-stream frame (see [`Channel::send_end`]) without
    /// writing it.
    ///
    /// # Errors
    ///
    /// None in practice; the signature matches the other queueing calls.
    pub fn feed_end(&mut self) -> Result<()> {
        self.queue_raw(FrameKind::End, &[])
    }

    /// Closes the sending direction, so the peer sees end of file after
    /// what was sent; receiving still works.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if flushing or closing fails.
    pub fn close_write(&mut self) -> Result<()> {
        let flushed = self.flush();
        self.transport.close_write()?;
        flushed
    }

    /// Closes the channel and, in the parent, waits for the child and
    /// returns how it ended (as pprocess's `close`).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if flushing or `waitpid` fails.
    pub fn close(mut self) -> Result<Option<ExitStatus>> {
        let flushed = self.flush();
        let mut child = self.child.take();
        drop(self);
        let status = child.as_mut().map(Process::wait).transpose()?;
        flushed.map(|()| status)
    }

    /// Waits for the child at the other end (parent side only; `Ok(None)`
    /// elsewhere).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `waitpid` fails.
    pub fn wait(&mut self) -> Result<Option<ExitStatus>> {
        self.child.as_mut().map(Process::wait).transpose()
    }

    /// How the child ended, without blocking: `Ok(None)` while it runs or
    /// when there is no child.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `waitpid` fails.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        Ok(self
            .child
            .as_mut()
            .map(Process::try_wait)
            .transpose()?
            .flatten())
    }

    /// Kills the child at the other end with `SIGKILL` (it is still reaped
    /// by [`Channel::wait`] or [`Channel::close`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `kill` fails.
    pub fn kill(&mut self) -> Result<()> {
        self.child.as_mut().map_or(Ok(()), Process::kill)
    }
}

/// Appends one frame of `kind` carrying `value` (encoded by `C`) to `out`.
/// On error `out` is left as it was.
pub(crate) fn encode_frame_into<C: Codec, T: Serialize + ?Sized>(
    kind: FrameKind,
    value: &T,
    max_frame: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    let at = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    let header = C::encode(value, out).and_then(|()| {
        let len = out.len() - at - HEADER_LEN;
        pprocess_core::frame::check_len(len as u64, max_frame)?;
        encode_header(kind, len)
    });
    match header {
        Ok(h) => {
            out[at..at + HEADER_LEN].copy_from_slice(&h);
            Ok(())
        }
        Err(e) => {
            out.truncate(at);
            Err(e)
        }
    }
}
