//! Receiving: filling the read buffer without blocking (what an exchange
//! does on readiness), decoding whole frames, and waiting with a timeout.

use std::io;
use std::time::{Duration, Instant};

use std::ops::Range;

use pprocess_core::{Codec, Error, FrameKind, HEADER_LEN, RemoteError, Result};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Channel, ReadState, Wait};
use crate::framing::ReadBuf;

/// Where the payload of a message handed out lies.
enum Payload {
    /// In the read buffer.
    Read(Range<usize>),
    /// In the channel's `held` buffer (a frame stashed while
    /// acknowledgements were awaited).
    Held,
}

impl<C: Codec> Channel<C> {
    /// Reads without blocking until a whole frame (or end of file) is
    /// buffered. Returns `true` if the next receive will return at once,
    /// `false` if more must arrive first.
    ///
    /// This is what an exchange calls for each channel that readiness
    /// reported.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if a read fails.
    pub fn fill_ready(&mut self) -> Result<bool> {
        loop {
            if self.read_state != ReadState::Open || self.has_buffered_frame() {
                return Ok(true);
            }
            if !self.fd_nonblocking && !self.poll_input(Some(Duration::ZERO))? {
                return Ok(false);
            }
            match self.fill() {
                Ok(0) => self.read_state = ReadState::Eof,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Blocks until a message arrives and decodes it as a `T`.
    ///
    /// # Errors
    ///
    /// - [`Error::Closed`]: the peer hung up (or sent an end of stream)
    ///   after its last whole message;
    /// - [`Error::Truncated`]: it hung up, or died, in the middle of one;
    /// - [`Error::Remote`]: the child panicked or returned an error;
    /// - [`Error::Decode`]: the payload is not a `T` (the channel stays
    ///   usable);
    /// - [`Error::FrameTooLarge`], [`Error::Protocol`]: the byte stream is
    ///   corrupt (the channel is unusable afterwards);
    /// - [`Error::Io`]: a read failed.
    pub fn receive<T: DeserializeOwned>(&mut self) -> Result<T> {
        // Fast path: a whole data frame is buffered; decode it straight
        // into the return value.
        if self.read_state == ReadState::Open && self.stashed.is_empty() {
            if let Some(range) = self.read.next_data_frame(self.max_frame) {
                let value = C::decode(self.read.slice(range));
                self.acknowledge_one();
                return value;
            }
        }
        match self.receive_inner(Wait::Forever)? {
            Some(v) => Ok(v),
            None => Err(Error::Protocol("blocking receive returned nothing".into())),
        }
    }

    /// Returns a message if a whole one can be had without blocking, else
    /// `Ok(None)`.
    ///
    /// # Errors
    ///
    /// As for [`Channel::receive`].
    pub fn try_receive<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        self.receive_inner(Wait::Never)
    }

    /// Waits at most `timeout` for a message.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if none arrived in time (a partial frame stays
    /// buffered for the next call); otherwise as for [`Channel::receive`].
    pub fn receive_timeout<T: DeserializeOwned>(&mut self, timeout: Duration) -> Result<T> {
        let deadline = Instant::now() + timeout;
        self.receive_inner(Wait::Until(deadline))?
            .ok_or(Error::Timeout(timeout))
    }

    /// Whether a whole frame is buffered, so that the next receive returns
    /// without a system call.
    #[must_use]
    pub fn has_buffered_frame(&self) -> bool {
        !self.stashed.is_empty()
            || self.read.pending() >= HEADER_LEN
                && self.read.pending() as u64 >= self.read.expected()
    }

    /// Whether the peer has hung up and every message before that has been
    /// received.
    #[must_use]
    pub fn is_ended(&self) -> bool {
        self.read_state == ReadState::Ended
    }

    /// Whether the next receive would return [`Error::Closed`] without
    /// waiting: the peer hung up (or sent an end of stream) and nothing it
    /// sent before is left to receive.
    #[must_use]
    pub fn at_end(&self) -> bool {
        match self.read_state {
            ReadState::Ended => true,
            ReadState::Eof => self.read.pending() == 0 && self.stashed.is_empty(),
            ReadState::Open | ReadState::Broken(_) => false,
        }
    }

    /// Decodes the next buffered message, or `Ok(None)` if no whole one
    /// is buffered.
    pub(super) fn take_buffered<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        let Some(payload) = self.next_payload()? else {
            return Ok(None);
        };
        let value = C::decode(self.payload_bytes(&payload));
        if self.acknowledge && self.pending_output() > 0 {
            // The acknowledgement was queued; a blocking receive sends it
            // before handing out the message.
            let _ = self.flush();
        }
        value.map(Some)
    }

    /// Hands out the next buffered message: where its payload lies, or
    /// `Ok(None)` if no whole one is buffered. Error and end frames are
    /// returned as errors; acknowledgements are taken on the way. The
    /// payload stays in place until the channel is next used mutably.
    fn next_payload(&mut self) -> Result<Option<Payload>> {
        match &self.read_state {
            ReadState::Broken(why) => {
                return Err(Error::Protocol(format!("channel unusable after {why}")));
            }
            // Nothing after an end-of-stream frame is delivered.
            ReadState::Ended => return Err(Error::Closed),
            ReadState::Open | ReadState::Eof => {}
        }
        if let Some((kind, payload)) = self.stashed.pop_front() {
            return match kind {
                FrameKind::End => {
                    self.read_state = ReadState::Ended;
                    Err(Error::Closed)
                }
                FrameKind::Error => {
                    self.acknowledge_one();
                    Err(RemoteError::decode(&payload)?.into_error())
                }
                FrameKind::Data | FrameKind::Ack => {
                    self.held = payload;
                    self.queue_acknowledgement();
                    Ok(Some(Payload::Held))
                }
            };
        }
        // Fast path: a whole data frame is buffered.
        if let Some(range) = self.read.next_data_frame(self.max_frame) {
            self.queue_acknowledgement();
            return Ok(Some(Payload::Read(range)));
        }
        loop {
            let next = self.read.next_frame(self.max_frame);
            let frame = match next {
                Ok(f) => f,
                Err(e) => {
                    self.read_state = ReadState::Broken(e.to_string());
                    return Err(e);
                }
            };
            return match frame {
                None => Ok(None),
                Some((FrameKind::Data, range)) => {
                    self.queue_acknowledgement();
                    Ok(Some(Payload::Read(range)))
                }
                Some((FrameKind::Error, range)) => {
                    let remote = RemoteError::decode(self.read.slice(range));
                    self.acknowledge_one();
                    Err(remote?.into_error())
                }
                Some((FrameKind::End, _)) => {
                    self.read_state = ReadState::Ended;
                    Err(Error::Closed)
                }
                Some((FrameKind::Ack, range)) => {
                    self.take_ack(range)?;
                    continue;
                }
            };
        }
    }

    /// The bytes of a payload handed out by [`Channel::next_payload`].
    fn payload_bytes(&self, payload: &Payload) -> &[u8] {
        match payload {
            Payload::Read(range) => self.read.slice(range.clone()),
            Payload::Held => &self.held,
        }
    }

    /// Blocks until a message arrives and decodes it as a `T` that may
    /// borrow from the channel's read buffer: `&str`, `&[u8]` (with
    /// `#[serde(borrow)]`/`serde_bytes`), or structs of them, decoded with
    /// no copy of the payload. The value lives until the channel is used
    /// again, which the borrow checker enforces. Owned types work too, as
    /// with [`Channel::receive`].
    ///
    /// # Examples
    ///
    /// ```
    /// use pprocess_transport::Builder;
    ///
    /// let (mut a, mut b) = Builder::<pprocess_transport::MessagePack>::new().channel_pair()?;
    /// a.send(&("key", serde_bytes::Bytes::new(b"\x00\x01\x02")))?;
    /// let (key, bytes): (&str, &serde_bytes::Bytes) = b.receive_borrowed()?;
    /// assert_eq!((key, &bytes[..]), ("key", &[0u8, 1, 2][..]));
    /// # Ok::<(), pprocess_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Channel::receive`]; also [`Error::Decode`] if the codec can
    /// hand out a field only by copying it (JSON strings with escapes)
    /// and `T` borrows it.
    pub fn receive_borrowed<'a, T: Deserialize<'a>>(&'a mut self) -> Result<T> {
        if self.acknowledge && self.pending_output() > 0 {
            // The last borrowed message's acknowledgement, if the socket
            // did not take it at once.
            let _ = self.flush();
        }
        let payload = loop {
            if let Some(payload) = self.next_payload()? {
                break payload;
            }
            self.wait_for_input(Wait::Forever)?;
        };
        C::decode(self.payload_bytes(&payload))
    }

    pub(super) fn receive_inner<T: DeserializeOwned>(&mut self, wait: Wait) -> Result<Option<T>> {
        loop {
            if let Some(v) = self.take_buffered()? {
                return Ok(Some(v));
            }
            if !self.wait_for_input(wait)? {
                return Ok(None);
            }
        }
    }

    /// With no whole message buffered: reads what arrives, waiting as
    /// `wait` allows. `Ok(false)` if nothing arrived in the time allowed;
    /// an error at end of file.
    fn wait_for_input(&mut self, wait: Wait) -> Result<bool> {
        match self.read_state {
            ReadState::Ended => return Err(Error::Closed),
            ReadState::Eof => return Err(self.end_of_file()),
            _ => {}
        }
        let may_block = match wait {
            Wait::Forever => true,
            Wait::Never => {
                if !self.fd_nonblocking && !self.poll_input(Some(Duration::ZERO))? {
                    return Ok(false);
                }
                false
            }
            Wait::Until(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if !self.poll_input(Some(left))? {
                    return Ok(false);
                }
                false
            }
        };
        match self.fill() {
            Ok(0) => self.read_state = ReadState::Eof,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if may_block {
                    self.poll_input(None)?;
                } else if matches!(wait, Wait::Never) {
                    return Ok(false);
                }
            }
            Err(e) => return Err(e.into()),
        }
        Ok(true)
    }

    pub(super) fn end_of_file(&mut self) -> Error {
        self.read_state = ReadState::Ended;
        if self.read.pending() == 0 {
            Error::Closed
        } else {
            let err = Error::Truncated {
                expected: self.read.expected(),
                got: self.read.pending() as u64,
            };
            self.read = ReadBuf::default();
            err
        }
    }
}
