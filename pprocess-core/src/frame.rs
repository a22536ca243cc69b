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
    /// The sender failed: a [`RemoteError`] payload (codec-independent).
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
    if len > MAX_ENCODABLE {
        return Err(Error::FrameTooLarge {
            len: len as u64,
            max: MAX_ENCODABLE as u64,
        });
    }
    let l = (len as u32).to_le_bytes();
    Ok([l[0], l[1], l[2], l[3], kind as u8])
}

/// Reads a header: the payload length and the raw kind byte.
///
/// The kind is returned raw so that a reader can report a length error
/// before a kind error. Use [`check_len`] and [`FrameKind::from_byte`] next.
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
    if len > max as u64 {
        Err(Error::FrameTooLarge {
            len,
            max: max as u64,
        })
    } else {
        Ok(len as usize)
    }
}

/// The payload of a [`FrameKind::Error`] frame: who failed and why.
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

    /// Parses the wire form. Invalid UTF-8 is replaced, never rejected.
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
        let message = String::from_utf8_lossy(&payload[4..]).into_owned();
        Ok(RemoteError { pid, message })
    }

    /// The error a receiver returns for this payload.
    pub fn into_error(self) -> Error {
        Error::Remote {
            pid: self.pid,
            message: self.message,
        }
    }
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
        assert!(RemoteError::decode(&[1, 2]).is_err());
    }

    proptest! {
        #[test]
        fn remote_error_round_trips(pid in any::<i32>(), message in ".*") {
            let e = RemoteError { pid, message };
            let mut buf = Vec::new();
            e.encode(&mut buf);
            prop_assert_eq!(RemoteError::decode(&buf).unwrap(), e);
        }

        #[test]
        fn any_header_decodes_without_panic(bytes in any::<[u8; HEADER_LEN]>(), max in 0usize..1 << 30) {
            let (len, kind) = decode_header(&bytes);
            let _ = check_len(len, max);
            let _ = FrameKind::from_byte(kind);
        }
    }
}
