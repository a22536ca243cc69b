//! What a child made by `start` does: run the closure under
//! `catch_unwind`, report a failure as a remote-error frame, `_exit`.

use std::any::Any;
use std::fmt::Display;
use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use pprocess_core::Codec;

use crate::channel::Channel;
use crate::sys;

/// What a child's closure may return: `()`, or a `Result` whose error the
/// parent receives as [`Error::Remote`](pprocess_core::Error::Remote).
pub trait ChildOutcome {
    /// `Err(message)` if the child failed.
    ///
    /// # Errors
    ///
    /// The error's text, for the parent.
    fn into_outcome(self) -> Result<(), String>;
}

impl ChildOutcome for () {
    fn into_outcome(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: Display> ChildOutcome for Result<(), E> {
    fn into_outcome(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// The text of a panic payload (a `&str` or `String`; other payloads get a
/// fixed text), as a child reports it to its parent.
///
/// # Examples
///
/// ```
/// let payload = std::panic::catch_unwind(|| panic!("boom {}", 42)).unwrap_err();
/// assert_eq!(pprocess_transport::panic_message(&*payload), "boom 42");
/// ```
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Runs `f` in the child and ends the process. Never returns.
pub(crate) fn run<C, F, R>(mut channel: Channel<C>, f: F) -> !
where
    C: Codec,
    F: FnOnce(&mut Channel<C>) -> R,
    R: ChildOutcome,
{
    let outcome = catch_unwind(AssertUnwindSafe(|| f(&mut channel).into_outcome()));
    let code = match outcome {
        Ok(Ok(())) => 0,
        Ok(Err(message)) => {
            let _ = channel.send_error(&message);
            1
        }
        Err(payload) => {
            let message = panic_message(&*payload);
            // The payload is never dropped: its destructor could panic again.
            std::mem::forget(payload);
            let _ = channel.send_error(&message);
            101
        }
    };
    let _ = channel.flush();
    end(code)
}

/// Flushes stdio and `_exit`s.
pub(crate) fn end(code: i32) -> ! {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    sys::exit_now(code)
}
