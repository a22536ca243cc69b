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
    ///
    /// The message names the kind of failure; the system's own text is the
    /// [`source`](std::error::Error::source).
    #[error("i/o error: {}", .0.kind())]
    Io(#[source] io::Error),

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
    ///
    /// `kind` tells which. For an error, its source chain (the error's
    /// `source()`, that one's `source()`, ...) crossed as text and is this
    /// error's [`source`](std::error::Error::source): a [`RemoteCause`]
    /// per link. The message holds only the outermost text.
    ///
    /// Match it with `..`, as `Error::Remote { pid, message, .. }`: the
    /// variant may gain fields.
    #[error("child {pid} {}: {message}", .kind.verb())]
    Remote {
        /// The pid of the child that failed.
        pid: Pid,
        /// The panic message, or the error's `Display` text.
        message: String,
        /// Whether the child panicked or returned an error.
        kind: RemoteKind,
        /// The error's source chain, outermost first (`None` for a panic
        /// and for an error without a source).
        #[source]
        source: Option<Box<RemoteCause>>,
    },

    /// A child ended without sending what was expected of it.
    #[error("child {pid} ended before sending a result ({status})")]
    ChildDied {
        /// The pid of the child.
        pid: Pid,
        /// How it ended.
        status: ExitStatus,
    },

    /// `fork` failed; the system's reason is the
    /// [`source`](std::error::Error::source) (`EAGAIN` when the process
    /// limit is reached).
    #[error("fork failed")]
    Fork(#[source] io::Error),

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

/// What went wrong in a child that sent [`Error::Remote`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemoteKind {
    /// The child's closure panicked (its process exits with code 101).
    Panic,
    /// The child's closure returned an error (exit code 1), or the child
    /// sent one with `send_error`.
    Error,
}

impl RemoteKind {
    fn verb(self) -> &'static str {
        match self {
            RemoteKind::Panic => "panicked",
            RemoteKind::Error => "failed",
        }
    }
}

/// The most links of a source chain a remote error keeps; the rest are
/// dropped (a chain is rebuilt link by link, and a hostile peer must not
/// make it deep enough to overflow the stack).
pub const MAX_REMOTE_CHAIN: usize = 64;

/// One link of the source chain of an error a child returned, as text:
/// the [`source`](std::error::Error::source) of [`Error::Remote`], whose
/// own source is the next link.
///
/// # Examples
///
/// ```
/// use pprocess_core::RemoteCause;
///
/// let cause = RemoteCause::from_chain(["config unreadable", "permission denied"]).unwrap();
/// assert_eq!(cause.to_string(), "config unreadable");
/// assert_eq!(cause.chain().collect::<Vec<_>>(), ["config unreadable", "permission denied"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCause {
    message: String,
    source: Option<Box<RemoteCause>>,
}

impl RemoteCause {
    /// Links texts, outermost first; `None` for an empty chain. At most
    /// [`MAX_REMOTE_CHAIN`] links are kept.
    pub fn from_chain<I>(chain: I) -> Option<Box<RemoteCause>>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let texts: Vec<String> = chain
            .into_iter()
            .take(MAX_REMOTE_CHAIN)
            .map(Into::into)
            .collect();
        texts.into_iter().rev().fold(None, |source, message| {
            Some(Box::new(RemoteCause { message, source }))
        })
    }

    /// This link's text.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The texts of this link and the ones after it, outermost first.
    pub fn chain(&self) -> impl Iterator<Item = &str> + '_ {
        std::iter::successors(Some(self), |c| c.source.as_deref()).map(|c| c.message.as_str())
    }
}

impl std::fmt::Display for RemoteCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RemoteCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::Io(err)
    }
}

impl Error {
    /// Whether this error only says that the peer hung up cleanly.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self, Error::Closed)
    }

    /// Whether the error came from the child process (a panic or an error it
    /// returned) rather than from the channel.
    #[must_use]
    pub fn is_remote(&self) -> bool {
        matches!(self, Error::Remote { .. })
    }

    /// The source chain of a remote error as text, outermost first: empty
    /// for a panic, for an error without a source, and for every other
    /// variant.
    #[must_use]
    pub fn remote_chain(&self) -> Vec<&str> {
        match self {
            Error::Remote {
                source: Some(cause),
                ..
            } => cause.chain().collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn io_error_is_the_source_and_not_repeated_in_the_message() {
        let err = Error::from(io::Error::new(io::ErrorKind::BrokenPipe, "peer vanished"));
        assert_eq!(err.to_string(), "i/o error: broken pipe");
        let source = err.source().expect("io error has a source");
        assert_eq!(source.to_string(), "peer vanished");
        assert!(!err.to_string().contains("peer vanished"));
    }

    #[test]
    fn fork_error_is_the_source() {
        let err = Error::Fork(io::Error::other("no more processes"));
        assert_eq!(err.to_string(), "fork failed");
        let source = err.source().expect("fork error has a source");
        assert_eq!(source.to_string(), "no more processes");
    }

    #[test]
    fn remote_error_says_panicked_or_failed() {
        let panic = Error::Remote {
            pid: 7,
            message: "boom".into(),
            kind: RemoteKind::Panic,
            source: None,
        };
        assert_eq!(panic.to_string(), "child 7 panicked: boom");
        assert!(panic.source().is_none());
        assert!(panic.remote_chain().is_empty());
        let failed = Error::Remote {
            pid: 8,
            message: "no config".into(),
            kind: RemoteKind::Error,
            source: RemoteCause::from_chain(["cannot open /etc/x", "permission denied"]),
        };
        assert_eq!(failed.to_string(), "child 8 failed: no config");
        assert!(failed.is_remote());
        assert_eq!(
            failed.remote_chain(),
            ["cannot open /etc/x", "permission denied"]
        );
    }

    #[test]
    fn remote_source_chain_walks_every_link_then_ends() {
        let err = Error::Remote {
            pid: 1,
            message: "top".into(),
            kind: RemoteKind::Error,
            source: RemoteCause::from_chain(["a", "b", "c"]),
        };
        let mut texts = Vec::new();
        let mut next = err.source();
        while let Some(e) = next {
            texts.push(e.to_string());
            next = e.source();
        }
        assert_eq!(texts, ["a", "b", "c"]);
    }

    #[test]
    fn remote_chain_is_capped() {
        let long = (0..MAX_REMOTE_CHAIN + 10).map(|i| i.to_string());
        let cause = RemoteCause::from_chain(long).unwrap();
        assert_eq!(cause.chain().count(), MAX_REMOTE_CHAIN);
        assert!(RemoteCause::from_chain(Vec::<String>::new()).is_none());
    }
}
