//! Acknowledgements, for channels to persistent (background) processes:
//! the receiver counts what it hands out and tells the sender, which
//! keeps what was not acknowledged for the next peer. Data that arrives
//! while acknowledgements are awaited is stashed for later receives.

use std::io;

use pprocess_core::{Codec, Error, FrameKind, Result};

use super::{Channel, ReadState};

impl<C: Codec> Channel<C> {
    /// Turns on acknowledgements: after each data or error frame it hands
    /// out, the channel tells the peer how many it has received. Channels to
    /// persistent (background) processes need it.
    pub(crate) fn set_acknowledge(&mut self, on: bool) {
        self.acknowledge = on;
    }

    /// What the peer has acknowledged on this connection so far.
    pub(crate) fn peer_acked(&self) -> u64 {
        self.peer_acked
    }

    /// Reads and takes acknowledgements until the peer has acknowledged at
    /// least `target` frames. Data and error frames that arrive first are
    /// set aside for later receives (up to one frame limit's worth; a peer
    /// that sends more while it acknowledges nothing is a protocol error).
    ///
    /// Errors: `Closed` or `Truncated` if the peer hangs up first.
    pub(crate) fn wait_acks(&mut self, target: u64) -> Result<u64> {
        loop {
            while self.peer_acked < target {
                match self.read.next_frame(self.max_frame)? {
                    Some((FrameKind::Ack, range)) => self.take_ack(range)?,
                    Some((kind, range)) => self.stash(kind, range)?,
                    None => break,
                }
            }
            if self.peer_acked >= target {
                return Ok(self.peer_acked);
            }
            if let ReadState::Eof | ReadState::Ended = self.read_state {
                return Err(self.end_of_file());
            }
            match self.fill() {
                Ok(0) => self.read_state = ReadState::Eof,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.poll_input(None)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Takes every acknowledgement that can be had without blocking from a
    /// connection that is being given up (its peer has gone): what the
    /// peer acknowledged before it went must count, or the persistent
    /// channel would send those messages again to the next peer. Anything
    /// else the peer sent is dropped with the connection.
    pub(crate) fn take_remaining_acks(&mut self) {
        if self.set_nonblocking(true).is_err() {
            return;
        }
        loop {
            match self.read.next_frame(self.max_frame) {
                Ok(Some((FrameKind::Ack, range))) => {
                    if self.take_ack(range).is_err() {
                        return;
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    if let ReadState::Eof | ReadState::Ended | ReadState::Broken(_) =
                        self.read_state
                    {
                        return;
                    }
                    match self.fill() {
                        Ok(0) => self.read_state = ReadState::Eof,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return,
                    }
                }
                Err(_) => return,
            }
        }
    }

    pub(super) fn stash(&mut self, kind: FrameKind, range: std::ops::Range<usize>) -> Result<()> {
        let held: usize = self.stashed.iter().map(|(_, p)| p.len()).sum();
        if held + range.len() > self.max_frame {
            return Err(Error::Protocol(format!(
                "peer sent {} bytes of messages while acknowledgements were awaited (limit {})",
                held + range.len(),
                self.max_frame
            )));
        }
        let payload = self.read.slice(range).to_vec();
        self.stashed.push_back((kind, payload));
        Ok(())
    }

    pub(super) fn take_ack(&mut self, range: std::ops::Range<usize>) -> Result<()> {
        let bytes = self.read.slice(range);
        let count: [u8; 8] = bytes.try_into().map_err(|_| {
            Error::Protocol(format!("acknowledgement of {} bytes, not 8", bytes.len()))
        })?;
        self.peer_acked = self.peer_acked.max(u64::from_le_bytes(count));
        Ok(())
    }

    /// Counts a data frame handed out and, if acknowledging, queues the
    /// acknowledgement and writes it if the socket takes it at once. It
    /// never reads, so a payload handed out stays where it is.
    pub(super) fn queue_acknowledgement(&mut self) {
        if self.acknowledge {
            self.received += 1;
            let count = self.received.to_le_bytes();
            if self.queue_raw(FrameKind::Ack, &count).is_ok() {
                let _ = self.try_flush();
            }
        }
    }

    /// Counts a frame handed out and, if acknowledging, tells the peer,
    /// waiting for the socket to take the acknowledgement if need be.
    pub(super) fn acknowledge_one(&mut self) {
        self.queue_acknowledgement();
        if self.acknowledge && self.pending_output() > 0 {
            let _ = self.flush();
        }
    }
}
