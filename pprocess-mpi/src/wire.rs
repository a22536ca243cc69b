//! What rank 0 and the other ranks say to each other: pure encoding, no
//! MPI, so that it is tested without a cluster.
//!
//! ```text
//! task (tag TASK):   remote function (24 bytes) | arguments (codec bytes)
//! reply (tag REPLY): one frame, as a channel carries it: a data frame with
//!                    the encoded result, or an error frame (RemoteReport)
//! stop (tag STOP):   empty: the rank ends
//! hello (broadcast): program key (16 bytes) | executable fingerprint (u64 LE)
//! ```
//!
//! A reply is the very frame that rank 0's bridge writes to the caller's
//! channel, so the bridge copies no payload on the way back.

use pprocess_core::frame::{FrameKind, HEADER_LEN, encode_header};
use pprocess_core::{Error, Pid, RemoteKind, RemoteReport, Result};
use pprocess_transport::{Failure, MessagePack, RemoteFn};

/// Tag of a task from rank 0.
pub(crate) const TASK: i32 = 1;
/// Tag of a reply to rank 0.
pub(crate) const REPLY: i32 = 2;
/// Tag of the message that ends a rank.
pub(crate) const STOP: i32 = 3;

/// Bytes of a remote function's wire form.
pub(crate) const FUNC_LEN: usize = 24;

/// Bytes of the hello every rank gets from rank 0.
pub(crate) const HELLO_LEN: usize = 24;

/// A task: the function, then its arguments (the bridge builds them in
/// place; tests build them here).
#[cfg(test)]
pub(crate) fn task(func: &[u8; FUNC_LEN], args: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FUNC_LEN + args.len());
    out.extend_from_slice(func);
    out.extend_from_slice(args);
    out
}

/// Splits a task into the function's wire form and the arguments.
pub(crate) fn split_task(bytes: &[u8]) -> Result<(&[u8], &[u8])> {
    if bytes.len() < FUNC_LEN {
        return Err(Error::Protocol(format!(
            "task of {} bytes is shorter than a remote function ({FUNC_LEN})",
            bytes.len()
        )));
    }
    Ok(bytes.split_at(FUNC_LEN))
}

/// An error frame: `pid` failed with `message`.
pub(crate) fn error_frame(pid: Pid, kind: RemoteKind, message: &str) -> Vec<u8> {
    let mut out = vec![0; HEADER_LEN];
    RemoteReport {
        pid,
        kind,
        message: message.to_string(),
        chain: Vec::new(),
    }
    .encode(&mut out);
    let header = encode_header(FrameKind::Error, out.len() - HEADER_LEN).unwrap_or([
        0,
        0,
        0,
        0,
        FrameKind::Error as u8,
    ]);
    out[..HEADER_LEN].copy_from_slice(&header);
    out
}

/// Runs a task here and returns the reply frame: the result as a data
/// frame, or an error frame naming `pid` if the function panicked, its
/// arguments or result did not decode or encode, or the task is malformed.
pub(crate) fn answer(task: &[u8], pid: Pid) -> Vec<u8> {
    let (func, args) = match split_task(task)
        .and_then(|(func, args)| Ok((RemoteFn::<MessagePack>::from_bytes(func)?, args)))
    {
        Ok(parts) => parts,
        Err(e) => return error_frame(pid, RemoteKind::Error, &e.to_string()),
    };
    let mut out = vec![0; HEADER_LEN];
    match func.invoke(args, &mut out) {
        Ok(()) => match encode_header(FrameKind::Data, out.len() - HEADER_LEN) {
            Ok(header) => {
                out[..HEADER_LEN].copy_from_slice(&header);
                out
            }
            Err(e) => error_frame(pid, RemoteKind::Error, &format!("result: {e}")),
        },
        Err(Failure { panicked, message }) => error_frame(
            pid,
            if panicked {
                RemoteKind::Panic
            } else {
                RemoteKind::Error
            },
            &message,
        ),
    }
}

/// The hello: the program key and the executable's fingerprint.
pub(crate) fn hello(key: [u8; 16], fingerprint: u64) -> [u8; HELLO_LEN] {
    let mut out = [0u8; HELLO_LEN];
    out[..16].copy_from_slice(&key);
    out[16..].copy_from_slice(&fingerprint.to_le_bytes());
    out
}

/// Reads a hello.
pub(crate) fn read_hello(bytes: &[u8; HELLO_LEN]) -> ([u8; 16], u64) {
    let mut key = [0u8; 16];
    key.copy_from_slice(&bytes[..16]);
    let mut f = [0u8; 8];
    f.copy_from_slice(&bytes[16..]);
    (key, u64::from_le_bytes(f))
}

/// A fingerprint of this process's executable file (every rank must run
/// the same one: remote functions are places in it).
///
/// # Errors
///
/// [`Error::Io`] if `/proc/self/exe` cannot be read.
pub(crate) fn exe_fingerprint() -> Result<u64> {
    use std::hash::Hasher;
    let bytes = std::fs::read("/proc/self/exe")?;
    // SipHash with fixed keys: the same in every rank that runs the same
    // build of the same program.
    let mut h = std::hash::DefaultHasher::new();
    h.write(&bytes);
    Ok(h.finish())
}

/// This process's pid (this crate does not call `getpid` itself).
#[allow(
    clippy::cast_possible_wrap,
    reason = "pids are below pid_max, at most 2^22 on Linux, so they fit in an i32"
)]
pub(crate) fn this_pid() -> Pid {
    std::process::id() as Pid
}

#[cfg(test)]
mod tests {
    use super::*;
    use pprocess_core::frame::decode_header;

    fn halve(x: u32) -> u32 {
        assert!(x % 2 == 0, "{x} is odd");
        x / 2
    }

    fn task_for(x: u32) -> Vec<u8> {
        let f = RemoteFn::<MessagePack>::new(halve);
        let mut args = Vec::new();
        f.encode_args(&x, &mut args).unwrap();
        task(&f.to_bytes(), &args)
    }

    #[test]
    fn task_round_trip_and_short_task_is_an_error() {
        let t = task(&[9; FUNC_LEN], b"args");
        let (f, a) = split_task(&t).unwrap();
        assert_eq!(f, [9; FUNC_LEN]);
        assert_eq!(a, b"args");
        assert!(
            split_task(&t[..10])
                .unwrap_err()
                .to_string()
                .contains("shorter")
        );
    }

    #[test]
    fn answer_is_a_data_frame_with_the_result() {
        let frame = answer(&task_for(8), 5);
        let (len, kind) = decode_header(frame[..HEADER_LEN].try_into().unwrap());
        assert_eq!(kind, FrameKind::Data as u8);
        assert_eq!(len, u64::try_from(frame.len() - HEADER_LEN).unwrap());
        let got: u32 = RemoteFn::<MessagePack>::new(halve)
            .decode_result(&frame[HEADER_LEN..])
            .unwrap();
        assert_eq!(got, 4);
    }

    #[test]
    fn answer_to_a_panic_or_a_bad_task_is_an_error_frame() {
        let frame = answer(&task_for(7), 77);
        let (_, kind) = decode_header(frame[..HEADER_LEN].try_into().unwrap());
        assert_eq!(kind, FrameKind::Error as u8);
        let report = RemoteReport::decode(&frame[HEADER_LEN..]).unwrap();
        assert_eq!((report.pid, report.kind), (77, RemoteKind::Panic));
        assert_eq!(report.message, "7 is odd");

        let frame = answer(&[1, 2, 3], 9);
        let report = RemoteReport::decode(&frame[HEADER_LEN..]).unwrap();
        assert_eq!(report.kind, RemoteKind::Error);
        assert!(report.message.contains("shorter"), "{}", report.message);
        let mut forged = task_for(2);
        forged[0] ^= 1;
        let report = RemoteReport::decode(&answer(&forged, 9)[HEADER_LEN..]).unwrap();
        assert!(report.message.contains("rejected"), "{}", report.message);
    }

    #[test]
    fn hello_round_trip_and_stable_fingerprint() {
        let h = hello([5; 16], 42);
        assert_eq!(read_hello(&h), ([5; 16], 42));
        assert_eq!(exe_fingerprint().unwrap(), exe_fingerprint().unwrap());
    }
}
