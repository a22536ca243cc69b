//! What a child made by `start` does: run the closure under
//! `catch_unwind`, report a failure as a remote-error frame, `_exit`.
//! The outcome traits and the runner itself are in `src/outcome.rs`, so
//! that the rest of the crate (spawn, typed channels) can use them.

use std::any::Any;

use pprocess_core::Codec;

pub use crate::outcome::ChildOutcome;

use crate::channel::Channel;
use crate::outcome::run_holding;

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
pub(crate) fn run<C, F, R>(channel: Channel<C>, f: F) -> !
where
    C: Codec,
    F: FnOnce(&mut Channel<C>) -> R,
    R: ChildOutcome,
{
    run_holding(channel, |ch| ch, f)
}

/// Flushes stdio and `_exit`s.
pub(crate) fn end(code: i32) -> ! {
    crate::outcome::end(code)
}
