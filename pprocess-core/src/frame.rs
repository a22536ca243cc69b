//! The frame protocol: header layout, kinds, limits and the remote-error
//! payload. Pure functions, no I/O.
//!
//! ```text
//! +----------------+--------+------------------------+
//! | length: u32 LE | kind:u8| payload (length bytes) |
//! +----------------+--------+------------------------+
//! ```
//!
//! The length counts the payload only. A reader checks it against the
//! channel's maximum ([`check_len`]) before allocating anything.

use crate::error::{MAX_REMOTE_CHAIN, RemoteCause, RemoteKind};
use crate::{Error, Pid, Result};

/// Bytes in a frame header: a 4-byte little-endian length and a kind byte.
pub const HEADER_LEN: usize = 5;

/// The default maximum payload of one frame: 256 MiB.
pub const DEFAULT_MAX_FRAME: usize = 256 << 20;

/// The largest payload the header can describe.
pub const MAX_ENCODABLE: usize = u32::MAX as usize;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameKind {
    /// A value encoded by the channel's codec.
    Data = 0,
    /// The sender failed: a [`RemoteReport`] (or the simpler [`RemoteError`])
    /// payload, codec-independent.
    Error = 1,
    /// The sender will send nothing more (an orderly end of stream).
    End = 2,
    /// An acknowledgement: the payload is the number of data and error
    /// frames the sender has received on this connection so far (u64 LE).
    /// Persistent channels use it to keep what was not yet received for the
    /// next peer.
    Ack = 3,
}

impl FrameKind {
    /// Parses a kind byte.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] for an unknown kind.
    pub fn from_byte(byte: u8) -> Result<Self> {
        match byte {
            0 => Ok(FrameKind::Data),
            1 => Ok(FrameKind::Error),
            2 => Ok(FrameKind::End),
            3 => Ok(FrameKind::Ack),
            other => Err(Error::Protocol(format!("unknown frame kind {other}"))),
        }
    }
}

/// Writes a header for a payload of `len` bytes.
///
/// # Errors
///
/// [`Error::FrameTooLarge`] if `len` does not fit the 4-byte length.
pub fn encode_header(kind: FrameKind, len: usize) -> Result<[u8; HEADER_LEN]> {
    let Ok(l) = u32::try_from(len) else {
        return Err(Error::FrameTooLarge {
            len: len as u64,
            max: MAX_ENCODABLE as u64,
        });
    };
    let l = l.to_le_bytes();
    Ok([l[0], l[1], l[2], l[3], kind as u8])
}

/// Reads a header: the payload length and the raw kind byte.
///
/// The kind is returned raw so that a reader can report a length error
/// before a kind error. Use [`check_len`] and [`FrameKind::from_byte`] next.
#[must_use]
pub fn decode_header(header: &[u8; HEADER_LEN]) -> (u64, u8) {
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    (u64::from(len), header[4])
}

/// Checks an announced payload length against a channel's maximum.
///
/// # Errors
///
/// [`Error::FrameTooLarge`] if `len > max`.
pub fn check_len(len: u64, max: usize) -> Result<usize> {
    match usize::try_from(len) {
        Ok(l) if l <= max => Ok(l),
        _ => Err(Error::FrameTooLarge {
            len,
            max: max as u64,
        }),
    }
}

/// Marks the start of a [`RemoteReport`]'s trailer: a byte that never
/// occurs in UTF-8 text.
const TRAILER_MARK: u8 = 0xFF;

/// The simple payload of a [`FrameKind::Error`] frame: who failed and a
/// message, as a channel's `send_error` sends it. It decodes as a
/// [`RemoteReport`] of kind [`RemoteKind::Error`] without a chain.
///
/// Encoded without the channel's codec (4-byte pid, then UTF-8 text), so the
/// receiver can read it whatever codec the sender used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    /// The pid of the failing process.
    pub pid: Pid,
    /// The panic message or error text.
    pub message: String,
}

impl RemoteError {
    /// Appends the wire form to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.pid.to_le_bytes());
        out.extend_from_slice(self.message.as_bytes());
    }

    /// Parses either form of the payload, this simple one or a
    /// [`RemoteReport`]'s (which it returns). Invalid UTF-8 is replaced,
    /// never rejected.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] if the payload is shorter than a pid.
    pub fn decode(payload: &[u8]) -> Result<RemoteReport> {
        RemoteReport::decode(payload)
    }

    /// The error a receiver returns for this payload: [`Error::Remote`] of
    /// kind [`RemoteKind::Error`], without a source.
    #[must_use]
    pub fn into_error(self) -> Error {
        RemoteReport::from(self).into_error()
    }
}

/// The full payload of a [`FrameKind::Error`] frame: who failed, whether it
/// panicked or returned an error, the message and the error's source chain
/// as text.
///
/// Wire form (codec-independent):
///
/// ```text
/// pid: i32 LE | message: UTF-8 | 0xFF | kind: u8 | count: u32 LE | count × (len: u32 LE, UTF-8)
/// ```
///
/// Kind 0 is an error, 1 a panic. Everything from `0xFF` on is the trailer;
/// `0xFF` never occurs in UTF-8, so a payload without one is the simple
/// form of [`RemoteError`] and decodes as kind error with an empty chain.
/// Bytes after the chain are ignored (room for later extensions); a
/// trailer that does not parse is read as part of the message, as the
/// simple form would be.
///
/// # Examples
///
/// ```
/// use pprocess_core::{Error, RemoteKind, RemoteReport};
///
/// let report = RemoteReport {
///     pid: 42,
///     kind: RemoteKind::Error,
///     message: "cannot load".into(),
///     chain: vec!["no such file".into()],
/// };
/// let mut wire = Vec::new();
/// report.encode(&mut wire);
/// assert_eq!(RemoteReport::decode(&wire)?, report);
/// let err = report.into_error();
/// assert_eq!(err.to_string(), "child 42 failed: cannot load");
/// assert_eq!(err.remote_chain(), ["no such file"]);
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteReport {
    /// The pid of the failing process.
    pub pid: Pid,
    /// A panic or a returned error.
    pub kind: RemoteKind,
    /// The panic message or the error's text.
    pub message: String,
    /// The error's source chain as text, outermost first (empty for a
    /// panic). At most [`MAX_REMOTE_CHAIN`] links survive decoding.
    pub chain: Vec<String>,
}

impl RemoteReport {
    /// Appends the wire form to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.pid.to_le_bytes());
        out.extend_from_slice(self.message.as_bytes());
        out.push(TRAILER_MARK);
        out.push(match self.kind {
            RemoteKind::Panic => 1,
            _ => 0,
        });
        let chain = &self.chain[..self.chain.len().min(MAX_REMOTE_CHAIN)];
        #[allow(
            clippy::cast_possible_truncation,
            reason = "at most MAX_REMOTE_CHAIN (64) links"
        )]
        let count = chain.len() as u32;
        out.extend_from_slice(&count.to_le_bytes());
        for link in chain {
            // A link past 4 GiB (which no frame could carry anyway) is cut
            // short rather than given a wrapped length.
            let len = u32::try_from(link.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&link.as_bytes()[..len as usize]);
        }
    }

    /// Parses the wire form, or the simple form of [`RemoteError`].
    /// Invalid UTF-8 is replaced, never rejected.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] if the payload is shorter than a pid.
    pub fn decode(payload: &[u8]) -> Result<Self> {
        if payload.len() < 4 {
            return Err(Error::Protocol(format!(
                "remote error payload of {} bytes is shorter than a pid",
                payload.len()
            )));
        }
        let pid = Pid::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]);
        let body = &payload[4..];
        if let Some(at) = body.iter().position(|&b| b == TRAILER_MARK) {
            if let Some((kind, chain)) = decode_trailer(&body[at + 1..]) {
                return Ok(RemoteReport {
                    pid,
                    kind,
                    message: String::from_utf8_lossy(&body[..at]).into_owned(),
                    chain,
                });
            }
        }
        Ok(RemoteReport {
            pid,
            kind: RemoteKind::Error,
            message: String::from_utf8_lossy(body).into_owned(),
            chain: Vec::new(),
        })
    }

    /// The error a receiver returns for this payload: [`Error::Remote`]
    /// whose source is the chain.
    #[must_use]
    pub fn into_error(self) -> Error {
        Error::Remote {
            pid: self.pid,
            message: self.message,
            kind: self.kind,
            source: RemoteCause::from_chain(self.chain),
        }
    }
}

impl From<RemoteError> for RemoteReport {
    fn from(simple: RemoteError) -> Self {
        RemoteReport {
            pid: simple.pid,
            kind: RemoteKind::Error,
            message: simple.message,
            chain: Vec::new(),
        }
    }
}

/// Kind and chain after the trailer mark; `None` if they do not parse.
fn decode_trailer(mut rest: &[u8]) -> Option<(RemoteKind, Vec<String>)> {
    fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if rest.len() < n {
            return None;
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Some(head)
    }
    fn take_u32(rest: &mut &[u8]) -> Option<usize> {
        let b = take(rest, 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    let kind = match take(&mut rest, 1)?[0] {
        1 => RemoteKind::Panic,
        _ => RemoteKind::Error,
    };
    let count = take_u32(&mut rest)?;
    // Each link takes at least its 4-byte length: a count the payload
    // cannot hold is corrupt, and nothing is allocated for it.
    if count > rest.len() / 4 {
        return None;
    }
    let mut chain = Vec::with_capacity(count.min(MAX_REMOTE_CHAIN));
    for _ in 0..count {
        let len = take_u32(&mut rest)?;
        let text = take(&mut rest, len)?;
        if chain.len() < MAX_REMOTE_CHAIN {
            chain.push(String::from_utf8_lossy(text).into_owned());
        }
    }
    Some((kind, chain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_round_trips_length_and_kind() {
        let h = encode_header(FrameKind::Error, 70_000).unwrap();
        assert_eq!(decode_header(&h), (70_000, 1));
        assert_eq!(FrameKind::from_byte(1).unwrap(), FrameKind::Error);
    }

    #[test]
    fn unknown_kind_is_protocol_error() {
        let err = FrameKind::from_byte(9).unwrap_err();
        assert!(
            matches!(err, Error::Protocol(ref m) if m.contains('9')),
            "{err}"
        );
    }

    #[test]
    fn length_over_max_is_frame_too_large() {
        let err = check_len(4_000_000_000, 1 << 20).unwrap_err();
        assert!(matches!(
            err,
            Error::FrameTooLarge {
                len: 4_000_000_000,
                max: 1_048_576
            }
        ));
        assert_eq!(check_len(10, 10).unwrap(), 10);
    }

    #[test]
    fn remote_error_survives_invalid_utf8_and_short_payloads() {
        let mut buf = 42i32.to_le_bytes().to_vec();
        buf.extend_from_slice(b"bad \xff byte");
        let e = RemoteError::decode(&buf).unwrap();
        assert_eq!(e.pid, 42);
        assert!(e.message.starts_with("bad "));
        assert_eq!(e.kind, RemoteKind::Error);
        assert!(RemoteError::decode(&[1, 2]).is_err());
    }

    #[test]
    fn simple_payload_decodes_as_error_without_chain() {
        let mut buf = Vec::new();
        RemoteError {
            pid: 9,
            message: "plain".into(),
        }
        .encode(&mut buf);
        let report = RemoteReport::decode(&buf).unwrap();
        assert_eq!(
            report,
            RemoteReport {
                pid: 9,
                kind: RemoteKind::Error,
                message: "plain".into(),
                chain: vec![]
            }
        );
    }

    #[test]
    fn panic_report_round_trips_and_says_panicked() {
        let report = RemoteReport {
            pid: 3,
            kind: RemoteKind::Panic,
            message: "index out of bounds".into(),
            chain: vec![],
        };
        let mut buf = Vec::new();
        report.encode(&mut buf);
        let err = RemoteReport::decode(&buf).unwrap().into_error();
        assert!(
            matches!(&err, Error::Remote { pid: 3, kind: RemoteKind::Panic, message, .. } if message == "index out of bounds"),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "child 3 panicked: index out of bounds");
    }

    #[test]
    fn corrupt_trailer_is_read_as_message_text() {
        // A count the payload cannot hold.
        let mut buf = 5i32.to_le_bytes().to_vec();
        buf.extend_from_slice(b"msg");
        buf.push(0xFF);
        buf.push(0);
        buf.extend_from_slice(&u32::MAX.to_le_bytes());
        let report = RemoteReport::decode(&buf).unwrap();
        assert_eq!(report.kind, RemoteKind::Error);
        assert!(report.message.starts_with("msg"));
        assert!(report.chain.is_empty());
        // A link longer than what is left.
        let mut buf = 5i32.to_le_bytes().to_vec();
        buf.extend_from_slice(b"msg\xff\x01");
        buf.extend_from_slice(&1u32.to_le_bytes());
        buf.extend_from_slice(&100u32.to_le_bytes());
        buf.extend_from_slice(b"short");
        let report = RemoteReport::decode(&buf).unwrap();
        assert_eq!(report.kind, RemoteKind::Error);
        assert!(report.chain.is_empty());
    }

    #[test]
    fn long_chain_is_capped_on_both_sides() {
        let report = RemoteReport {
            pid: 1,
            kind: RemoteKind::Error,
            message: "m".into(),
            chain: (0..MAX_REMOTE_CHAIN * 2).map(|i| i.to_string()).collect(),
        };
        let mut buf = Vec::new();
        report.encode(&mut buf);
        let back = RemoteReport::decode(&buf).unwrap();
        assert_eq!(back.chain.len(), MAX_REMOTE_CHAIN);
        assert_eq!(back.chain[..], report.chain[..MAX_REMOTE_CHAIN]);
    }

    proptest! {
        #[test]
        fn remote_error_round_trips(pid in any::<i32>(), message in ".*") {
            let e = RemoteError { pid, message };
            let mut buf = Vec::new();
            e.encode(&mut buf);
            prop_assert_eq!(RemoteError::decode(&buf).unwrap(), RemoteReport::from(e));
        }

        #[test]
        fn remote_report_round_trips(
            pid in any::<i32>(),
            panic in any::<bool>(),
            message in ".*",
            chain in proptest::collection::vec(".*", 0..5),
        ) {
            let report = RemoteReport {
                pid,
                kind: if panic { RemoteKind::Panic } else { RemoteKind::Error },
                message,
                chain,
            };
            let mut buf = Vec::new();
            report.encode(&mut buf);
            prop_assert_eq!(RemoteReport::decode(&buf).unwrap(), report);
        }

        #[test]
        fn any_remote_payload_decodes_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = RemoteReport::decode(&bytes).map(RemoteReport::into_error);
        }

        #[test]
        fn any_header_decodes_without_panic(bytes in any::<[u8; HEADER_LEN]>(), max in 0usize..1 << 30) {
            let (len, kind) = decode_header(&bytes);
            let _ = check_len(len, max);
            let _ = FrameKind::from_byte(kind);
        }
    }
}
