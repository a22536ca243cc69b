//! What the program and its fork server say to each other over their
//! `SOCK_SEQPACKET` socketpair: one message per request and per reply.
//!
//! ```text
//! request: b'S' | remote function (24 bytes) | max frame (u64 LE) | die with parent (u8)
//!          + SCM_RIGHTS: the worker's end of its channel
//! reply:   i64 LE: the worker's pid (> 0), or -errno
//! ```
//!
//! The server closes its end when the program's end is closed (end of
//! file): that is the only way it ends, besides dying with the program.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

use crate::sys::{self, WIRE_LEN};

const SPAWN: u8 = b'S';

/// Bytes of a request.
pub(super) const REQUEST_LEN: usize = 1 + WIRE_LEN + 8 + 1;

/// Descriptors a request may carry before the rest are refused.
const MAX_FDS: usize = 4;

/// A request to fork a worker.
#[derive(Debug)]
pub(super) struct Spawn {
    /// The remote function's wire form.
    pub(super) func: [u8; WIRE_LEN],
    /// The channel's frame limit.
    pub(super) max_frame: u64,
    /// Whether the worker ends with the program (`PR_SET_PDEATHSIG`).
    pub(super) die_with_parent: bool,
}

impl Spawn {
    fn encode(&self) -> [u8; REQUEST_LEN] {
        let mut out = [0u8; REQUEST_LEN];
        out[0] = SPAWN;
        out[1..=WIRE_LEN].copy_from_slice(&self.func);
        out[1 + WIRE_LEN..REQUEST_LEN - 1].copy_from_slice(&self.max_frame.to_le_bytes());
        out[REQUEST_LEN - 1] = u8::from(self.die_with_parent);
        out
    }

    fn decode(bytes: &[u8]) -> Option<Spawn> {
        if bytes.len() != REQUEST_LEN || bytes[0] != SPAWN {
            return None;
        }
        let mut func = [0u8; WIRE_LEN];
        func.copy_from_slice(&bytes[1..=WIRE_LEN]);
        let mut max = [0u8; 8];
        max.copy_from_slice(&bytes[1 + WIRE_LEN..REQUEST_LEN - 1]);
        Some(Spawn {
            func,
            max_frame: u64::from_le_bytes(max),
            die_with_parent: bytes[REQUEST_LEN - 1] != 0,
        })
    }
}

fn retry<T>(mut f: impl FnMut() -> nix::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(Errno::EINTR) => continue,
            other => return other.map_err(io::Error::from),
        }
    }
}

/// Sends a spawn request with the worker's end of its channel.
pub(super) fn send_request(
    control: BorrowedFd<'_>,
    req: &Spawn,
    fd: BorrowedFd<'_>,
) -> io::Result<()> {
    let bytes = req.encode();
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(&bytes)];
    retry(|| {
        sendmsg::<()>(
            control.as_raw_fd(),
            &iov,
            &cmsg,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
    })?;
    Ok(())
}

/// A request as the server received it.
#[derive(Debug)]
pub(super) enum Received {
    /// The program closed its end.
    Closed,
    /// A well-formed request and its descriptor.
    Spawn(Spawn, OwnedFd),
    /// Anything else (its descriptors already closed).
    Malformed,
}

/// Waits for the next request.
pub(super) fn receive_request(control: BorrowedFd<'_>) -> io::Result<Received> {
    let mut bytes = [0u8; REQUEST_LEN + 1];
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
    let (len, truncated, mut fds) = {
        let mut iov = [IoSliceMut::new(&mut bytes)];
        let msg = loop {
            match recvmsg::<()>(
                control.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(Errno::EINTR) => continue,
                other => break other?,
            }
        };
        let mut fds: Vec<OwnedFd> = Vec::new();
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmRights(raw) = c {
                    // Freshly installed in this process by the kernel.
                    fds.extend(raw.into_iter().map(sys::own_fd));
                }
            }
        }
        let truncated = msg
            .flags
            .intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC);
        (msg.bytes, truncated, fds)
    };
    if len == 0 && fds.is_empty() {
        return Ok(Received::Closed);
    }
    match (Spawn::decode(&bytes[..len]), fds.len(), truncated) {
        (Some(req), 1, false) => Ok(Received::Spawn(req, fds.remove(0))),
        _ => Ok(Received::Malformed),
    }
}

/// Sends a reply: the worker's pid, or the error that prevented it.
pub(super) fn send_reply(control: BorrowedFd<'_>, reply: Result<i32, i32>) -> io::Result<()> {
    let word: i64 = match reply {
        Ok(pid) => i64::from(pid),
        Err(errno) => -i64::from(errno.max(1)),
    };
    let bytes = word.to_le_bytes();
    let iov = [IoSlice::new(&bytes)];
    retry(|| sendmsg::<()>(control.as_raw_fd(), &iov, &[], MsgFlags::MSG_NOSIGNAL, None))?;
    Ok(())
}

/// Waits for a reply. `Ok(Err(errno))` is the server's refusal; an
/// `UnexpectedEof` error means the server is gone.
pub(super) fn receive_reply(control: BorrowedFd<'_>) -> io::Result<Result<i32, i32>> {
    let mut bytes = [0u8; 8];
    let n = retry(|| nix::sys::socket::recv(control.as_raw_fd(), &mut bytes, MsgFlags::empty()))?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the fork server has ended",
        ));
    }
    if n != 8 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("fork server replied with {n} bytes, not 8"),
        ));
    }
    let word = i64::from_le_bytes(bytes);
    match i32::try_from(word) {
        Ok(pid) if pid > 0 => Ok(Ok(pid)),
        _ => Ok(Err(i32::try_from(-word).unwrap_or(libc::EINVAL))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trip() {
        let req = Spawn {
            func: [7; WIRE_LEN],
            max_frame: 1 << 20,
            die_with_parent: true,
        };
        let back = Spawn::decode(&req.encode()).unwrap();
        assert_eq!(back.func, req.func);
        assert_eq!(back.max_frame, 1 << 20);
        assert!(back.die_with_parent);
        assert!(Spawn::decode(&req.encode()[1..]).is_none());
    }
}
