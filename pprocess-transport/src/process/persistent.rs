//! The background process's end of a persistent channel: pprocess's
//! `PersistentChannel`, listening at a Unix-socket address, one peer at a
//! time, keeping what was not acknowledged for the next peer. Starting
//! background processes is in `background.rs`.

use std::collections::VecDeque;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use pprocess_core::{Codec, Error, FrameKind, RemoteKind, RemoteReport, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::channel::{Channel, encode_frame_into};
use crate::codec::MessagePack;
use crate::sys;
use crate::transport::Listener;

/// Frames a persistent channel sends before it waits for acknowledgements.
const WINDOW: usize = 64;

/// The background process's end of a persistent channel: it listens at a
/// filesystem address, serves one peer at a time, and survives a peer's
/// disconnection.
///
/// Every message sent is kept until a peer has acknowledged it (peers made
/// by [`connect`](crate::connect) acknowledge each message as they hand it out), so a
/// message being sent when the peer vanishes goes to the next peer instead
/// of being lost. [`PersistentChannel::send`] accepts up to 64 messages
/// ahead of acknowledgements, then waits — for a peer to connect, if none
/// is connected. When the background function returns, the process waits
/// until everything it sent has been acknowledged, removes its socket file,
/// and ends.
pub struct PersistentChannel<C = MessagePack> {
    listener: Listener,
    conn: Option<Channel<C>>,
    /// Whole frames not yet acknowledged, oldest first.
    unacked: VecDeque<Vec<u8>>,
    /// Frames of `unacked` written on the current connection.
    written: usize,
    /// Acknowledgements of the current connection already accounted for.
    acked: u64,
    max_frame: usize,
}

impl<C> fmt::Debug for PersistentChannel<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistentChannel")
            .field("address", &self.listener.address())
            .field("connected", &self.conn.is_some())
            .field("unacked", &self.unacked.len())
            .finish_non_exhaustive()
    }
}

impl<C: Codec> PersistentChannel<C> {
    /// The channel of a background process that owns `listener`, with no
    /// peer yet.
    pub(super) fn new(listener: Listener, max_frame: usize) -> Self {
        PersistentChannel {
            listener,
            conn: None,
            unacked: VecDeque::new(),
            written: 0,
            acked: 0,
            max_frame,
        }
    }

    /// The address peers connect to.
    #[must_use]
    pub fn address(&self) -> &Path {
        self.listener.address()
    }

    /// Whether a peer is connected now.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Sends a message to the current or a later peer: writes it to the
    /// connected peer (taking one that is waiting, if none is connected),
    /// or keeps it for the next. Waits for acknowledgements (and for a
    /// peer) only when more than 64 messages are unacknowledged.
    ///
    /// Kept messages go out at the next `send`, [`flush`](Self::flush) or
    /// when the background function returns: a peer that connects while
    /// the function computes between sends waits until then. Call `flush`
    /// after a send to wait until a peer has everything sent so far.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] or [`Error::FrameTooLarge`] for a value that cannot
    /// be sent; [`Error::Io`] if the listening socket fails. A vanished peer
    /// is not an error.
    pub fn send<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let mut frame = Vec::new();
        encode_frame_into::<C, T>(FrameKind::Data, value, self.max_frame, &mut frame)?;
        self.unacked.push_back(frame);
        self.pump(WINDOW)
    }

    /// Sends a remote-error frame, kept like a message until acknowledged.
    ///
    /// # Errors
    ///
    /// As for [`PersistentChannel::send`].
    pub fn send_error(&mut self, message: &str) -> Result<()> {
        self.send_report(&RemoteReport {
            pid: nix::unistd::getpid().as_raw(),
            kind: RemoteKind::Error,
            message: message.to_string(),
            chain: Vec::new(),
        })
    }

    /// Sends a remote-error frame with its kind and source chain.
    pub(super) fn send_report(&mut self, report: &RemoteReport) -> Result<()> {
        let mut payload = Vec::new();
        report.encode(&mut payload);
        let mut frame =
            pprocess_core::frame::encode_header(FrameKind::Error, payload.len())?.to_vec();
        frame.extend_from_slice(&payload);
        self.unacked.push_back(frame);
        self.pump(WINDOW)
    }

    /// Receives a message from a peer, waiting for one to connect if
    /// needed; a peer that hangs up is replaced by the next.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`], [`Error::Remote`] or a framing error from the peer.
    pub fn receive<T: DeserializeOwned>(&mut self) -> Result<T> {
        loop {
            self.pump(usize::MAX)?;
            let Some(conn) = self.conn.as_mut() else {
                self.accept_peer(true)?;
                continue;
            };
            match conn.receive::<T>() {
                Ok(v) => return Ok(v),
                Err(Error::Closed | Error::Truncated { .. } | Error::Io(_)) => self.drop_peer(),
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits until every message sent has been acknowledged by some peer.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the listening socket fails.
    pub fn flush(&mut self) -> Result<()> {
        self.pump(0)
    }

    /// Gives up the current peer (it has gone, or its stream is broken).
    /// Its acknowledgements count first, including those still unread, so
    /// that only what it did not acknowledge goes to the next peer.
    fn drop_peer(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            conn.take_remaining_acks();
        }
        self.account_acks();
        self.conn = None;
        self.written = 0;
        self.acked = 0;
    }

    /// Forgets the frames the current peer has acknowledged since the last
    /// call.
    fn account_acks(&mut self) {
        if let Some(conn) = self.conn.as_ref() {
            let newly = conn.peer_acked().saturating_sub(self.acked);
            let newly = usize::try_from(newly)
                .unwrap_or(usize::MAX)
                .min(self.written);
            self.unacked.drain(..newly);
            self.written -= newly;
            self.acked += newly as u64;
        }
    }

    /// Takes the next peer: waits for one if `block`, else only takes one
    /// that is already waiting. Returns whether there is a peer now.
    fn accept_peer(&mut self, block: bool) -> Result<bool> {
        if !block && !sys::poll_one(self.listener.fd(), false, Some(Duration::ZERO))? {
            return Ok(false);
        }
        let socket = self.listener.accept()?;
        let mut ch = Channel::new(Box::new(socket) as Box<dyn pprocess_core::Transport>);
        ch.set_max_frame_size(self.max_frame);
        self.conn = Some(ch);
        self.written = 0;
        self.acked = 0;
        Ok(true)
    }

    /// Writes what the peer has not had and takes acknowledgements until at
    /// most `max_unacked` frames remain unacknowledged. Waits for a peer
    /// only while more than that remain; otherwise takes one only if it is
    /// already waiting.
    fn pump(&mut self, max_unacked: usize) -> Result<()> {
        loop {
            if self.conn.is_none() {
                let block = self.unacked.len() > max_unacked;
                if !self.accept_peer(block)? {
                    return Ok(());
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            let mut failed = false;
            while self.written < self.unacked.len() {
                if conn.write_frames(&self.unacked[self.written]).is_err() {
                    failed = true;
                    break;
                }
                self.written += 1;
            }
            if !failed
                && self.unacked.len() > max_unacked
                && conn.wait_acks(self.acked + 1).is_err()
            {
                failed = true;
            }
            if failed {
                self.drop_peer();
                continue;
            }
            self.account_acks();
            if self.unacked.len() <= max_unacked {
                return Ok(());
            }
        }
    }

    /// Waits until everything sent has been acknowledged, removes the
    /// socket file and ends the process with `_exit(code)`. Never returns.
    pub fn exit(mut self, code: i32) -> ! {
        let code = match self.flush() {
            Ok(()) => code,
            Err(_) => 1,
        };
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.close_write();
        }
        drop(self);
        super::child::end(code)
    }
}
