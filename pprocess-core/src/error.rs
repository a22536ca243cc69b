//! The one error type of pprocess-rs.

use std::io;
use std::time::Duration;

/// The result type used throughout pprocess-rs.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when creating processes or talking to them.
///
/// Messages are lowercase and say what failed and where (pid, frame size,
/// expected type).
///
/// # Examples
///
/// ```
/// use pprocess_core::Error;
///
/// let err = Error::FrameTooLarge { len: 5_000_000_000, max: 1 << 20 };
/// assert_eq!(err.to_string(), "frame of 5000000000 bytes exceeds limit 1048576");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call on a channel or process failed.
    #[error("i/o error: {0}")]
    Io(io::Error),

    /// The peer closed the channel at a frame boundary: no more messages.
    ///
    /// Returned by receive operations once everything sent has been read.
    #[error("channel closed by peer")]
    Closed,

    /// The peer closed the channel (or died) in the middle of a frame.
    #[error("frame truncated: got {got} of {expected} bytes before end of file")]
    Truncated {
        /// Bytes of the frame (header included) that were expected.
        expected: u64,
        /// Bytes of the frame that arrived.
        got: u64,
    },

    /// A frame header announced a payload longer than the channel allows.
    ///
    /// Nothing of that size was allocated; the channel cannot be used after
    /// this error because its byte stream is no longer in sync.
    #[error("frame of {len} bytes exceeds limit {max}")]
    FrameTooLarge {
        /// The announced payload length.
        len: u64,
        /// The channel's maximum payload length.
        max: u64,
    },

    /// A frame header carried a kind this version does not know.
    #[error("protocol error: {0}")]
    Protocol(String),

    /// A value could not be encoded by the channel's codec.
    #[error("cannot encode {type_name}: {message}")]
    Encode {
        /// The Rust type being encoded.
        type_name: &'static str,
        /// What the codec said.
        message: String,
    },

    /// A payload could not be decoded as the expected type.
    #[error("cannot decode {expected}: {message}")]
    Decode {
        /// The Rust type the receiver asked for.
        expected: &'static str,
        /// What the codec said.
        message: String,
    },

    /// The child panicked, or its function returned an error.
    #[error("child {pid} failed: {message}")]
    Remote {
        /// The pid of the child that failed.
        pid: Pid,
        /// The panic message, or the error's `Display` text.
        message: String,
    },

    /// A child ended without sending what was expected of it.
    #[error("child {pid} ended before sending a result ({status})")]
    ChildDied {
        /// The pid of the child.
        pid: Pid,
        /// How it ended.
        status: ExitStatus,
    },

    /// `fork` failed.
    #[error("fork failed: {0}")]
    Fork(io::Error),

    /// A Unix-socket address cannot be used.
    #[error("cannot use socket address {address}: {reason}")]
    Address {
        /// The address (a filesystem path).
        address: String,
        /// Why: too long, in use, not a socket, nobody listening, ...
        reason: String,
    },

    /// No frame arrived within the time allowed.
    #[error("no message within {0:?}")]
    Timeout(Duration),
}

use crate::{ExitStatus, Pid};

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::Io(err)
    }
}

impl Error {
    /// Whether this error only says that the peer hung up cleanly.
    pub fn is_closed(&self) -> bool {
        matches!(self, Error::Closed)
    }

    /// Whether the error came from the child process (a panic or an error it
    /// returned) rather than from the channel.
    pub fn is_remote(&self) -> bool {
        matches!(self, Error::Remote { .. })
    }
}
