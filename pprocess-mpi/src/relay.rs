//! One worker's relay on rank 0, without MPI: the bridge's end of the
//! socketpair whose other end is the caller's channel.
//!
//! A [`Session`] reads the frames the caller sends, turns each data frame
//! into a task for its rank, and writes the rank's reply frames back. A
//! rank holds one task at a time (the bridge sends the next only after the
//! reply to the previous one), so two large messages never wait on each
//! other. The session behaves on its end as a forked worker does on its
//! own: an error reply ends it, an end-of-stream frame ends it once the
//! tasks before it are answered, and a caller that closes its end ends it
//! (work still queued is dropped: nobody would read its result).

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use pprocess_core::RemoteKind;
use pprocess_core::frame::{FrameKind, HEADER_LEN, check_len, decode_header};
use pprocess_transport::{SocketPair, Transport};

use crate::wire;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 64 << 10;

/// The bridge's side of one worker.
#[derive(Debug)]
pub(crate) struct Session {
    end: SocketPair,
    func: [u8; wire::FUNC_LEN],
    max_frame: usize,
    /// Bytes read from the caller, not yet a whole frame.
    rbuf: Vec<u8>,
    /// Bytes for the caller, not yet written, from `wpos` on.
    wbuf: Vec<u8>,
    wpos: usize,
    /// Tasks waiting for the rank.
    tasks: VecDeque<Vec<u8>>,
    /// The rank holds a task of ours.
    inflight: bool,
    /// No more frames will be taken from the caller: an end of stream, an
    /// error, or a broken stream.
    ended: bool,
    /// The caller closed its end (or it failed): nothing more to write.
    gone: bool,
    /// A fault of the caller's stream, answered after the tasks before it.
    failure: Option<String>,
}

impl Session {
    /// A session for `func` on `end`, which is made non-blocking.
    pub(crate) fn new(
        end: SocketPair,
        func: [u8; wire::FUNC_LEN],
        max_frame: usize,
    ) -> io::Result<Session> {
        end.set_nonblocking(true)?;
        Ok(Session {
            end,
            func,
            max_frame,
            rbuf: Vec::new(),
            wbuf: Vec::new(),
            wpos: 0,
            tasks: VecDeque::new(),
            inflight: false,
            ended: false,
            gone: false,
            failure: None,
        })
    }

    /// The descriptor to watch (readable and writable).
    pub(crate) fn fd(&self) -> std::os::fd::RawFd {
        self.end.raw_fds()[0]
    }

    /// Reads everything the caller has sent and cuts it into tasks.
    pub(crate) fn read(&mut self) {
        if self.gone {
            return;
        }
        let mut chunk = vec![0; READ_CHUNK];
        loop {
            match self.end.read(&mut chunk) {
                Ok(0) => {
                    self.caller_gone();
                    return;
                }
                Ok(n) => {
                    if !self.ended {
                        self.rbuf.extend_from_slice(&chunk[..n]);
                        self.cut_frames();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.caller_gone();
                    return;
                }
            }
        }
    }

    fn caller_gone(&mut self) {
        self.gone = true;
        self.ended = true;
        self.tasks.clear();
        self.wbuf.clear();
        self.wpos = 0;
    }

    /// Turns whole frames at the front of `rbuf` into tasks.
    fn cut_frames(&mut self) {
        let mut at = 0;
        while !self.ended && self.rbuf.len() - at >= HEADER_LEN {
            let header: [u8; HEADER_LEN] = self.rbuf[at..at + HEADER_LEN]
                .try_into()
                .expect("a slice of HEADER_LEN bytes");
            let (len, kind) = decode_header(&header);
            let len = match check_len(len, self.max_frame) {
                Ok(len) => len,
                Err(e) => {
                    self.fail(&format!("arguments: {e}"));
                    break;
                }
            };
            if self.rbuf.len() - at - HEADER_LEN < len {
                break;
            }
            let payload = &self.rbuf[at + HEADER_LEN..at + HEADER_LEN + len];
            match FrameKind::from_byte(kind) {
                Ok(FrameKind::Data) => self.tasks.push_back(wire::task(&self.func, payload)),
                Ok(FrameKind::End) => self.ended = true,
                Ok(FrameKind::Ack) => {}
                Ok(FrameKind::Error) => self.fail("the caller sent an error frame"),
                Err(e) => self.fail(&e.to_string()),
            }
            at += HEADER_LEN + len;
        }
        self.rbuf.drain(..at.min(self.rbuf.len()));
        if self.ended {
            self.rbuf = Vec::new();
        }
    }

    /// Ends the session with an error frame from rank 0, written once the
    /// tasks before the fault are answered.
    fn fail(&mut self, message: &str) {
        self.ended = true;
        self.failure = Some(message.to_string());
    }

    /// The next task for the rank, if it holds none of ours. Once the
    /// tasks are done, a fault of the caller's stream is answered here.
    pub(crate) fn next_task(&mut self) -> Option<Vec<u8>> {
        if self.inflight {
            return None;
        }
        if let Some(task) = self.tasks.pop_front() {
            self.inflight = true;
            return Some(task);
        }
        if let Some(message) = self.failure.take() {
            if !self.gone {
                self.wbuf.extend(wire::error_frame(
                    wire::this_pid(),
                    RemoteKind::Error,
                    &message,
                ));
            }
        }
        None
    }

    /// The rank's reply to the task it held: written to the caller. An
    /// error frame ends the session, as it ends a forked worker.
    pub(crate) fn reply(&mut self, frame: &[u8]) {
        self.inflight = false;
        if self.gone {
            return;
        }
        let (len, kind) = match frame.get(..HEADER_LEN) {
            Some(h) => decode_header(h.try_into().expect("a slice of HEADER_LEN bytes")),
            None => (0, u8::MAX),
        };
        let fault = if kind == FrameKind::Error as u8 {
            None
        } else if kind != FrameKind::Data as u8
            || u64::try_from(frame.len().saturating_sub(HEADER_LEN)).ok() != Some(len)
        {
            Some(format!(
                "malformed reply of {} bytes from a rank",
                frame.len()
            ))
        } else if let Err(e) = check_len(len, self.max_frame) {
            Some(format!("result: {e}"))
        } else {
            None
        };
        match fault {
            Some(message) => {
                self.wbuf.extend(wire::error_frame(
                    wire::this_pid(),
                    RemoteKind::Error,
                    &message,
                ));
                self.end_now();
            }
            None => {
                self.wbuf.extend_from_slice(frame);
                if kind == FrameKind::Error as u8 {
                    self.end_now();
                }
            }
        }
    }

    fn end_now(&mut self) {
        self.ended = true;
        self.tasks.clear();
        self.failure = None;
        self.rbuf = Vec::new();
    }

    /// Writes what the caller has not been given yet, as far as the socket
    /// takes it.
    pub(crate) fn flush(&mut self) {
        while !self.gone && self.wpos < self.wbuf.len() {
            match self.end.write(&self.wbuf[self.wpos..]) {
                Ok(n) => self.wpos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.caller_gone(),
            }
        }
        self.wbuf.clear();
        self.wpos = 0;
    }

    /// The rank holds a task of this session.
    pub(crate) fn is_inflight(&self) -> bool {
        self.inflight
    }

    /// The caller closed its end.
    pub(crate) fn is_gone(&self) -> bool {
        self.gone
    }

    /// The session needs its rank no more: it ended and the rank holds
    /// nothing of it.
    pub(crate) fn is_done_with_rank(&self) -> bool {
        self.ended && !self.inflight && self.tasks.is_empty() && self.failure.is_none()
    }

    /// Everything is said: the end can be closed, which the caller reads
    /// as the worker's hang-up.
    pub(crate) fn is_finished(&self) -> bool {
        self.is_done_with_rank() && (self.gone || self.wpos >= self.wbuf.len())
    }
}

#[cfg(test)]
mod tests;
