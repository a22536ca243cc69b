//! One worker's relay on rank 0, without MPI: the bridge's end of the
//! transport (a socketpair, or what the builder asked for) whose other end
//! is the caller's channel.
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

use pprocess_core::frame::{FrameKind, HEADER_LEN, check_len, decode_header};
use pprocess_core::{RemoteKind, Transport};

use crate::wire;

/// Room made for the next read when no frame header says how much is
/// coming.
const READ_ROOM: usize = 4 << 10;

/// Bytes before the first frame in the read buffer: with the frame's
/// header, room for the remote function, so that a frame at the front
/// becomes its task in place (no copy of the arguments).
const GAP: usize = wire::FUNC_LEN - HEADER_LEN;

/// A call for the rank: the remote function and the encoded arguments,
/// at the front of a read buffer (the bytes after them are not the task's).
#[derive(Debug)]
pub(crate) struct Task {
    buf: Vec<u8>,
    len: usize,
}

impl std::ops::Deref for Task {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The bridge's side of one worker.
#[derive(Debug)]
pub(crate) struct Session {
    end: Box<dyn Transport>,
    func: [u8; wire::FUNC_LEN],
    max_frame: usize,
    /// Bytes read from the caller, from `GAP` to `filled`, not yet a whole
    /// frame; zeroed room after that.
    rbuf: Vec<u8>,
    filled: usize,
    /// Bytes for the caller, not yet written, from `wpos` on.
    wbuf: Vec<u8>,
    wpos: usize,
    /// Tasks waiting for the rank.
    tasks: VecDeque<Task>,
    /// A sent task's buffer, to read the next frames into: its bytes are
    /// initialised already, so a large frame after a large frame costs no
    /// allocation and no zeroing.
    spare: Vec<u8>,
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
        end: Box<dyn Transport>,
        func: [u8; wire::FUNC_LEN],
        max_frame: usize,
    ) -> io::Result<Session> {
        end.set_nonblocking(true)?;
        Ok(Session {
            end,
            func,
            max_frame,
            rbuf: vec![0; GAP],
            filled: GAP,
            wbuf: Vec::new(),
            wpos: 0,
            tasks: VecDeque::new(),
            spare: Vec::new(),
            inflight: false,
            ended: false,
            gone: false,
            failure: None,
        })
    }

    /// The transport, for the bridge to watch its descriptors.
    pub(crate) fn end(&self) -> &dyn Transport {
        &*self.end
    }

    /// How many more bytes the buffer should hold before the next read:
    /// the rest of the frame whose header is in, or some room.
    fn room(&self) -> usize {
        let data = &self.rbuf[GAP..self.filled];
        if let Some(header) = data.get(..HEADER_LEN) {
            let (len, _) = decode_header(header.try_into().expect("HEADER_LEN bytes"));
            if let Ok(len) = check_len(len, self.max_frame) {
                let missing = (HEADER_LEN + len).saturating_sub(data.len());
                if missing > 0 {
                    return missing;
                }
            }
        }
        READ_ROOM
    }

    /// Reads everything the caller has sent and cuts it into tasks.
    pub(crate) fn read(&mut self) {
        loop {
            if self.gone {
                return;
            }
            if self.ended {
                // Nothing more is taken: read into scratch, to see the end.
                self.rbuf.truncate(GAP);
                self.filled = GAP;
            }
            // No more than `room()`, even into a larger reused buffer: the
            // bytes after a frame are copied to the next buffer when the
            // frame is cut, so reading far ahead would copy them again and
            // again.
            let want = self.filled + self.room();
            if self.rbuf.len() < want {
                self.rbuf.resize(want, 0);
            }
            match self.end.read(&mut self.rbuf[self.filled..want]) {
                Ok(0) => {
                    self.caller_gone();
                    return;
                }
                Ok(n) => {
                    self.filled += n;
                    if !self.ended {
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
        self.wbuf = Vec::new();
        self.wpos = 0;
        self.rbuf = vec![0; GAP];
        self.filled = GAP;
        self.spare = Vec::new();
    }

    /// Turns whole frames at the front of the read buffer into tasks.
    fn cut_frames(&mut self) {
        while !self.ended && self.filled - GAP >= HEADER_LEN {
            let header: [u8; HEADER_LEN] = self.rbuf[GAP..GAP + HEADER_LEN]
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
            let end = GAP + HEADER_LEN + len;
            if self.filled < end {
                break;
            }
            // What follows the frame moves to another buffer (the spare,
            // if a task has given one back); the frame's buffer becomes
            // the task: the function over the header and the gap, then
            // the arguments where they were read.
            let rest = self.filled - end;
            let mut next = std::mem::take(&mut self.spare);
            if next.len() < GAP + rest {
                next.resize(GAP + rest, 0);
            }
            next[GAP..GAP + rest].copy_from_slice(&self.rbuf[end..self.filled]);
            self.filled = GAP + rest;
            let mut frame = std::mem::replace(&mut self.rbuf, next);
            match FrameKind::from_byte(kind) {
                Ok(FrameKind::Data) => {
                    frame[..wire::FUNC_LEN].copy_from_slice(&self.func);
                    self.tasks.push_back(Task {
                        buf: frame,
                        len: end,
                    });
                }
                Ok(FrameKind::End) => self.ended = true,
                Ok(FrameKind::Ack) => {}
                Ok(FrameKind::Error) => self.fail("the caller sent an error frame"),
                Err(e) => self.fail(&e.to_string()),
            }
        }
        if self.ended {
            self.rbuf = vec![0; GAP];
            self.filled = GAP;
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
    pub(crate) fn next_task(&mut self) -> Option<Task> {
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

    /// Takes back the buffer of a task that has been sent, for the next
    /// frames.
    pub(crate) fn recycle(&mut self, task: Task) {
        if task.buf.len() > self.spare.len() && !self.ended {
            self.spare = task.buf;
        }
    }

    /// The rank's reply to the task it held: written to the caller. An
    /// error frame ends the session, as it ends a forked worker.
    pub(crate) fn reply(&mut self, frame: Vec<u8>) {
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
                if self.wpos >= self.wbuf.len() {
                    // Nothing else to write: the reply is the buffer.
                    self.wbuf = frame;
                    self.wpos = 0;
                } else {
                    self.wbuf.extend_from_slice(&frame);
                }
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
        self.rbuf = vec![0; GAP];
        self.filled = GAP;
        self.spare = Vec::new();
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
