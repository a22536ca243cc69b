//! A blocking send that writes large pieces of a message from the value's
//! own memory (`writev`), not through the channel's write buffer.
//!
//! A frame's header holds the payload's length, so the length must be known
//! before the first byte goes out. The codec therefore writes the value
//! twice through [`Codec::encode_to`]:
//!
//! 1. [`Measure`] copies the pieces into the write buffer, as an ordinary
//!    send would, until a large one turns up, and from then on only counts
//!    them. If no piece is large, that buffer already holds the whole
//!    frame: the header is patched in and the frame written, one pass as
//!    before.
//! 2. If some piece is large (a byte string or a long string the codec
//!    writes in one go), the copy is abandoned, the header is written with
//!    the measured length, and the codec runs again through [`Direct`]:
//!    small pieces are queued, each large one is written with whatever is
//!    queued in one `writev`, straight from the value.
//!
//! A value that encodes differently the second time (a `Serialize` with
//! side effects) cannot corrupt the stream: the second pass writes exactly
//! the measured number of bytes (padding or cutting), so the receiver gets
//! a frame it cannot decode and the sender an `Encode` error, and the
//! frames after it stay in step.

use std::io::{self, IoSlice, Write};

use pprocess_core::frame::{check_len, encode_header};
use pprocess_core::{Codec, Error, FrameKind, HEADER_LEN, Result};
use serde::Serialize;

use super::Channel;

/// A piece of an encoding at least this long is written from the value's
/// memory.
pub(crate) const DIRECT_BYTES: usize = 64 * 1024;

/// The first pass: copies the encoding into the write buffer until a
/// large piece turns up, then only counts the rest. It sits on the path of
/// every small message, so a piece costs one test and a copy, as writing
/// into the `Vec` itself would.
struct Measure<'a> {
    out: &'a mut Vec<u8>,
    /// Bytes not copied: the first large piece and all after it.
    skipped: usize,
}

impl Measure<'_> {
    fn large(&self) -> bool {
        self.skipped > 0
    }
}

impl Write for Measure<'_> {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.skipped == 0 && buf.len() < DIRECT_BYTES {
            self.out.extend_from_slice(buf);
        } else {
            self.skipped += buf.len();
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The second pass: queues small pieces, writes large ones through, and
/// never lets more than the measured length out.
struct Direct<'c, C> {
    ch: &'c mut Channel<C>,
    /// Bytes of the frame's payload still to come.
    left: usize,
    /// The encoding came out longer than measured.
    overflow: bool,
    /// A write failed: the error to report (the codec sees an `io` error
    /// and stops).
    failed: Option<Error>,
}

impl<C> Write for Direct<'_, C> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let take = buf.len().min(self.left);
        self.overflow |= take < buf.len();
        self.left -= take;
        let piece = &buf[..take];
        if piece.len() >= DIRECT_BYTES {
            if let Err(e) = self.ch.write_through(piece) {
                self.failed = Some(e);
                return Err(io::Error::other("channel write failed"));
            }
        } else {
            self.ch.write.extend_from_slice(piece);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<C: Codec> Channel<C> {
    /// Encodes one frame of `kind` and writes everything queued, large
    /// pieces of the value from its own memory.
    pub(super) fn send_frame<T: Serialize + ?Sized>(
        &mut self,
        kind: FrameKind,
        value: &T,
    ) -> Result<()> {
        let at = self.write.len();
        self.write.extend_from_slice(&[0; HEADER_LEN]);
        let mut measure = Measure {
            out: &mut self.write,
            skipped: 0,
        };
        let encoded = C::encode_to(value, &mut measure);
        let (large, skipped) = (measure.large(), measure.skipped);
        let len = self.write.len() - at - HEADER_LEN + skipped;
        let header = encoded.and_then(|()| {
            check_len(len as u64, self.max_frame)?;
            encode_header(kind, len)
        });
        let header = match header {
            Ok(h) => h,
            Err(e) => {
                self.write.truncate(at);
                return Err(e);
            }
        };
        if !large {
            self.write[at..at + HEADER_LEN].copy_from_slice(&header);
            return self.flush();
        }
        self.write.truncate(at);
        self.write.extend_from_slice(&header);
        let mut direct = Direct {
            ch: self,
            left: len,
            overflow: false,
            failed: None,
        };
        let encoded = C::encode_to(value, &mut direct);
        let (left, overflow, failed) = (direct.left, direct.overflow, direct.failed.take());
        if let Some(e) = failed {
            return Err(e);
        }
        // Keep the frame's length whatever the second pass did.
        self.write.resize(self.write.len() + left, 0);
        self.flush()?;
        encoded?;
        if left > 0 || overflow {
            return Err(Error::Encode {
                type_name: std::any::type_name::<T>(),
                message: "the value encoded differently the second time \
                          (its Serialize has side effects); the peer gets an undecodable message"
                    .into(),
            });
        }
        Ok(())
    }
}

impl<C> Channel<C> {
    /// Writes what is queued and then `data`, waiting for room as a flush
    /// does (reading what the peer sends meanwhile); one `writev` per
    /// attempt.
    fn write_through(&mut self, data: &[u8]) -> Result<()> {
        let mut sent = 0;
        while sent < data.len() {
            if self.write_closed {
                self.discard_output();
                return Err(Error::Closed);
            }
            let queued = &self.write[self.written..];
            let wrote = if queued.is_empty() {
                self.transport.write(&data[sent..])
            } else {
                self.transport
                    .write_vectored(&[IoSlice::new(queued), IoSlice::new(&data[sent..])])
            };
            match wrote {
                Ok(0) => {
                    self.discard_output();
                    return Err(io::Error::from(io::ErrorKind::WriteZero).into());
                }
                Ok(n) => {
                    let from_queue = n.min(queued.len());
                    self.written += from_queue;
                    sent += n - from_queue;
                    if self.written == self.write.len() {
                        self.write.clear();
                        self.written = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_writable(None)?,
                Err(e) => return Err(self.write_failed(e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_bytes::{ByteBuf, Bytes};

    use super::DIRECT_BYTES;
    use crate::{Builder, MessagePack};

    /// A 4 MiB byte string goes out without passing through the write
    /// buffer (which would have had to grow to hold it), after what was
    /// queued, and arrives whole.
    #[test]
    fn large_byte_strings_skip_the_write_buffer() {
        let (mut a, mut b) = Builder::<MessagePack>::new().channel_pair().unwrap();
        let data: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
        let reader = std::thread::spawn(move || {
            let first: u8 = b.receive().unwrap();
            (first, b.receive::<ByteBuf>().unwrap().into_vec())
        });
        a.feed(&7u8).unwrap();
        a.send(Bytes::new(&data)).unwrap();
        assert!(
            a.write.capacity() < DIRECT_BYTES,
            "the write buffer grew to {} bytes",
            a.write.capacity()
        );
        let (first, got) = reader.join().unwrap();
        assert_eq!(first, 7);
        assert!(got == data, "the bytes differ");
    }
}
