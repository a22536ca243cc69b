//! The read side of framing: a reused buffer that collects bytes from a
//! transport and hands out whole frames.

use std::io::{self, Read};
use std::ops::Range;

use pprocess_core::frame::{check_len, decode_header};
use pprocess_core::{FrameKind, HEADER_LEN, Result};

/// The largest read of small frames, and the buffer's size (once a stream
/// has filled it) until a larger frame needs more.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// The buffer's size before the first read; it doubles while reads fill it,
/// up to [`READ_CHUNK`].
const FIRST_READ: usize = 4 * 1024;

/// Bytes read from a transport and not yet handed out as frames.
#[derive(Debug, Default)]
pub(crate) struct ReadBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    /// Bytes buffered and not yet handed out.
    pub(crate) fn pending(&self) -> usize {
        self.end - self.start
    }

    /// The bytes of the frame being collected: its full size if the header
    /// has arrived, else the header's size.
    pub(crate) fn expected(&self) -> u64 {
        match self.header() {
            Some((len, _)) => HEADER_LEN as u64 + len,
            None => HEADER_LEN as u64,
        }
    }

    fn header(&self) -> Option<(u64, u8)> {
        let bytes = self.buf.get(self.start..self.start + HEADER_LEN)?;
        if self.pending() < HEADER_LEN {
            return None;
        }
        let mut header = [0; HEADER_LEN];
        header.copy_from_slice(bytes);
        Some(decode_header(&header))
    }

    /// Hands out the next complete frame, if it is all buffered: its kind and
    /// the payload's place in [`ReadBuf::slice`].
    ///
    /// The length is checked against `max` before any space is reserved for
    /// the payload.
    pub(crate) fn next_frame(&mut self, max: usize) -> Result<Option<(FrameKind, Range<usize>)>> {
        let Some((len, kind)) = self.header() else {
            return Ok(None);
        };
        let len = check_len(len, max)?;
        let kind = FrameKind::from_byte(kind)?;
        let total = HEADER_LEN + len;
        if self.pending() < total {
            self.make_room(total);
            return Ok(None);
        }
        let payload = self.start + HEADER_LEN..self.start + total;
        self.start += total;
        Ok(Some((kind, payload)))
    }

    /// The fast path of [`ReadBuf::next_frame`]: hands out the next frame
    /// only if it is a data frame within `max` and wholly buffered (the
    /// common case when small frames arrive in batches); `None` leaves
    /// everything else, errors included, to `next_frame`.
    #[inline]
    pub(crate) fn next_data_frame(&mut self, max: usize) -> Option<Range<usize>> {
        let header = self.buf.get(self.start..self.start + HEADER_LEN)?;
        if self.end - self.start < HEADER_LEN || header[4] != FrameKind::Data as u8 {
            return None;
        }
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let total = HEADER_LEN + len;
        if len > max || self.end - self.start < total {
            return None;
        }
        let payload = self.start + HEADER_LEN..self.start + total;
        self.start += total;
        Some(payload)
    }

    /// The bytes at a range handed out by [`ReadBuf::next_frame`]; valid until
    /// the next fill.
    pub(crate) fn slice(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// Makes sure a frame of `total` bytes fits from `start` on.
    fn make_room(&mut self, total: usize) {
        if self.buf.len() - self.start >= total {
            return;
        }
        self.compact();
        if self.buf.len() < total {
            self.buf.resize(total, 0);
        }
    }

    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// Reads once from `source` into the free space. Returns the bytes read
    /// (0 at end of file).
    pub(crate) fn fill(&mut self, source: &mut dyn Read) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.buf.is_empty() {
            // Small at first: a channel that carries a few small messages
            // (a fresh child's) then touches one page, not 16, which after
            // a fork are all copy-on-write faults.
            self.buf.resize(FIRST_READ, 0);
        }
        if self.end == self.buf.len() {
            self.compact();
            if self.end == self.buf.len() {
                // Only reachable with a full buffer of whole frames that
                // nobody has taken yet; grow rather than stall.
                let len = self.buf.len() * 2;
                self.buf.resize(len, 0);
            }
        }
        let n = source.read(&mut self.buf[self.end..])?;
        self.end += n;
        if self.end == self.buf.len() && self.buf.len() < READ_CHUNK {
            // The read filled the buffer: the peer is streaming, so read
            // more at once next time (up to `READ_CHUNK`).
            let len = (self.buf.len() * 2).min(READ_CHUNK);
            self.buf.resize(len, 0);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pprocess_core::Error;
    use pprocess_core::frame::encode_header;
    use proptest::prelude::*;

    fn frame(kind: FrameKind, payload: &[u8]) -> Vec<u8> {
        let mut v = encode_header(kind, payload.len()).unwrap().to_vec();
        v.extend_from_slice(payload);
        v
    }

    /// A reader that hands out its bytes in the given chunk sizes.
    struct Chunked {
        data: Vec<u8>,
        pos: usize,
        sizes: Vec<usize>,
        i: usize,
    }

    impl Read for Chunked {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let want = self.sizes.get(self.i).copied().unwrap_or(usize::MAX).max(1);
            self.i += 1;
            let n = want.min(buf.len()).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn collect(data: Vec<u8>, sizes: Vec<usize>, max: usize) -> Result<Vec<(FrameKind, Vec<u8>)>> {
        let mut src = Chunked {
            data,
            pos: 0,
            sizes,
            i: 0,
        };
        let mut rb = ReadBuf::default();
        let mut out = Vec::new();
        loop {
            while let Some((k, r)) = rb.next_frame(max)? {
                out.push((k, rb.slice(r).to_vec()));
            }
            if rb.fill(&mut src)? == 0 {
                return if rb.pending() == 0 {
                    Ok(out)
                } else {
                    Err(Error::Truncated {
                        expected: rb.expected(),
                        got: rb.pending() as u64,
                    })
                };
            }
        }
    }

    #[test]
    fn oversized_prefix_fails_before_allocating() {
        let mut data = u32::MAX.to_le_bytes().to_vec();
        data.push(0);
        let err = collect(data, vec![], 1 << 20).unwrap_err();
        assert!(
            matches!(
                err,
                Error::FrameTooLarge {
                    len: 4_294_967_295,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn frame_larger_than_read_chunk_arrives_whole() {
        let big = vec![7u8; READ_CHUNK * 3 + 11];
        let got = collect(frame(FrameKind::Data, &big), vec![1000; 1000], usize::MAX).unwrap();
        assert_eq!(got, vec![(FrameKind::Data, big)]);
    }

    #[test]
    fn eof_inside_header_and_inside_payload_is_truncated() {
        let f = frame(FrameKind::Data, b"hello");
        let err = collect(f[..3].to_vec(), vec![], 100).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Truncated {
                    expected: 5,
                    got: 3
                }
            ),
            "{err}"
        );
        let err = collect(f[..7].to_vec(), vec![], 100).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Truncated {
                    expected: 10,
                    got: 7
                }
            ),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn frames_survive_any_chunking(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20),
            sizes in proptest::collection::vec(1usize..400, 0..200),
        ) {
            let mut data = Vec::new();
            for p in &payloads {
                data.extend(frame(FrameKind::Data, p));
            }
            let got = collect(data, sizes, 1 << 20).unwrap();
            let want: Vec<_> = payloads.into_iter().map(|p| (FrameKind::Data, p)).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2000), max in 0usize..5000) {
            let _ = collect(data, vec![], max);
        }
    }
}
