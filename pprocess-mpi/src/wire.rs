//! What rank 0 and the other ranks say to each other: pure encoding, no
//! MPI, so that it is tested without a cluster.
//!
//! ```text
//! task (tag TASK):   remote function (24 bytes) | arguments (codec bytes)
//! reply (tag REPLY): 0 | result (codec bytes)
//!                    1 (failed) or 2 (panicked) | pid (i32 LE) | message (UTF-8)
//! stop (tag STOP):   empty: the rank ends
//! hello (broadcast): program key (16 bytes) | executable fingerprint (u64 LE)
//! ```

use pprocess_core::{Error, Pid, Result};
use pprocess_transport::Failure;

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

/// A task: the function, then its arguments.
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

/// A reply: the encoded result, or the failure and the pid that had it.
pub(crate) fn reply(outcome: std::result::Result<&[u8], (&Failure, Pid)>) -> Vec<u8> {
    match outcome {
        Ok(result) => {
            let mut out = Vec::with_capacity(1 + result.len());
            out.push(0);
            out.extend_from_slice(result);
            out
        }
        Err((failure, pid)) => {
            let mut out = Vec::with_capacity(5 + failure.message.len());
            out.push(if failure.panicked { 2 } else { 1 });
            out.extend_from_slice(&pid.to_le_bytes());
            out.extend_from_slice(failure.message.as_bytes());
            out
        }
    }
}

/// Reads a reply: the result's bytes, or [`Error::Remote`] for a failure.
pub(crate) fn read_reply(bytes: &[u8]) -> Result<&[u8]> {
    match bytes.split_first() {
        Some((0, result)) => Ok(result),
        Some((&tag @ (1 | 2), rest)) if rest.len() >= 4 => {
            let (pid, message) = rest.split_at(4);
            let mut p = [0u8; 4];
            p.copy_from_slice(pid);
            Err(Error::Remote {
                pid: Pid::from_le_bytes(p),
                message: String::from_utf8_lossy(message).into_owned(),
                kind: if tag == 2 {
                    pprocess_core::RemoteKind::Panic
                } else {
                    pprocess_core::RemoteKind::Error
                },
                source: None,
            })
        }
        _ => Err(Error::Protocol(format!(
            "malformed reply of {} bytes from a rank",
            bytes.len()
        ))),
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn replies_round_trip() {
        assert_eq!(read_reply(&reply(Ok(b"xyz"))).unwrap(), b"xyz");
        let failure = Failure {
            panicked: true,
            message: "item 3 panicked: no".into(),
        };
        match read_reply(&reply(Err((&failure, 77)))) {
            Err(Error::Remote {
                pid: 77, message, ..
            }) => assert_eq!(message, "item 3 panicked: no"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(read_reply(&[]), Err(Error::Protocol(_))));
        assert!(matches!(read_reply(&[1, 0]), Err(Error::Protocol(_))));
    }

    #[test]
    fn hello_round_trip_and_stable_fingerprint() {
        let h = hello([5; 16], 42);
        assert_eq!(read_hello(&h), ([5; 16], 42));
        assert_eq!(exe_fingerprint().unwrap(), exe_fingerprint().unwrap());
    }
}
