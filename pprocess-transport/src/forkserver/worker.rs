//! What a worker does: take arguments from its channel, run the remote
//! function, send the result back; end at end of stream.

use std::io;

use pprocess_core::frame::encode_header;
use pprocess_core::{Error, FrameKind, RemoteError, Transport};

use crate::framing::ReadBuf;
use crate::remote::Failure;
use crate::sys::FnAddr;

/// Exit code of a worker whose function panicked (as for `start`).
const PANICKED: i32 = 101;

/// Exit code of a worker that failed otherwise.
const FAILED: i32 = 1;

/// Serves `func` on `transport` until the caller ends the stream: each
/// data frame is one call's arguments, answered by a data frame with the
/// result. A failure is sent as a remote-error frame and ends the worker.
/// Returns the exit code.
pub(crate) fn serve(transport: &mut dyn Transport, func: FnAddr, max_frame: usize) -> i32 {
    if let Err(e) = transport.set_nonblocking(false) {
        return report(transport, &format!("cannot use its channel: {e}"), FAILED);
    }
    let mut read = ReadBuf::default();
    let mut out = Vec::new();
    loop {
        let frame = match read.next_frame(max_frame) {
            Ok(Some(frame)) => frame,
            Ok(None) => match read.fill(transport) {
                Ok(0) if read.pending() == 0 => return 0,
                Ok(0) => return FAILED,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return FAILED,
            },
            Err(e) => return report(transport, &e.to_string(), FAILED),
        };
        match frame {
            (FrameKind::Data, range) => {
                out.clear();
                out.extend_from_slice(&[0; pprocess_core::HEADER_LEN]);
                let args = read.slice(range);
                match func.invoke(args, &mut out) {
                    Ok(()) => {
                        let len = out.len() - pprocess_core::HEADER_LEN;
                        if len > max_frame {
                            let e = Error::FrameTooLarge {
                                len: len as u64,
                                max: max_frame as u64,
                            };
                            return report(transport, &format!("result: {e}"), FAILED);
                        }
                        let header = match encode_header(FrameKind::Data, len) {
                            Ok(h) => h,
                            Err(e) => return report(transport, &e.to_string(), FAILED),
                        };
                        out[..pprocess_core::HEADER_LEN].copy_from_slice(&header);
                        if transport.write_all(&out).is_err() {
                            // The caller has gone: nobody to answer.
                            return FAILED;
                        }
                    }
                    Err(Failure { panicked, message }) => {
                        return report(
                            transport,
                            &message,
                            if panicked { PANICKED } else { FAILED },
                        );
                    }
                }
            }
            (FrameKind::End, _) => return 0,
            (FrameKind::Ack, _) => {}
            (FrameKind::Error, _) => {
                return report(transport, "the caller sent an error frame", FAILED);
            }
        }
    }
}

/// Sends a remote-error frame with `message`; returns `code`.
fn report(transport: &mut dyn Transport, message: &str, code: i32) -> i32 {
    let mut payload = Vec::new();
    RemoteError {
        pid: nix::unistd::getpid().as_raw(),
        message: message.to_string(),
    }
    .encode(&mut payload);
    if let Ok(header) = encode_header(FrameKind::Error, payload.len()) {
        let _ = transport.write_all(&header);
        let _ = transport.write_all(&payload);
    }
    code
}
