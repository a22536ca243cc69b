//! The transports: socketpair (the default) and pipes.

mod fd;
mod pipe;
mod socketpair;
mod unix_socket;

pub(crate) use fd::TrackedFd;
pub use pipe::Pipe;
pub use socketpair::SocketPair;
pub(crate) use unix_socket::{Listener, check_address};
pub use unix_socket::{MAX_ADDRESS_LEN, UnixSocket};

use std::io;

use pprocess_core::Transport;

/// Which transport a [`Builder`](crate::Builder) makes for a new child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TransportKind {
    /// A Unix-domain `socketpair(2)`: one bidirectional descriptor per side.
    #[default]
    SocketPair,
    /// Two `pipe(2)`s, one per direction (pprocess's `create_pipes`).
    Pipe,
}

/// Makes a connected pair of transports of the given kind, both tracked so
/// that forked children close them.
pub(crate) fn pair(
    kind: TransportKind,
    socket_buffer: Option<usize>,
) -> io::Result<(Box<dyn Transport>, Box<dyn Transport>)> {
    Ok(match kind {
        TransportKind::SocketPair => {
            let (a, b) = SocketPair::pair()?;
            if let Some(size) = socket_buffer {
                a.set_buffer_size(size)?;
                b.set_buffer_size(size)?;
            }
            (Box::new(a), Box::new(b))
        }
        TransportKind::Pipe => {
            let (a, b) = Pipe::pair()?;
            (Box::new(a), Box::new(b))
        }
    })
}
