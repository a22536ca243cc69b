//! What a child's closure may return ([`ChildOutcome`] for `start`,
//! [`SpawnOutcome`] for `spawn`), and how a child reports it: under
//! `catch_unwind`, a failure becomes a remote-error frame, then `_exit`.
//!
//! The child side of `start` (`process/child.rs`) runs through
//! [`run_holding`] here, as do typed channels' children.

use std::error::Error as StdError;
use std::fmt;
use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use pprocess_core::frame::encode_header;
use pprocess_core::{Codec, FrameKind, MAX_REMOTE_CHAIN, Pid, RemoteKind, RemoteReport, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::channel::Channel;
use crate::process::panic_message;
use crate::sys;

/// Why a child's closure failed, as text: the error's message and its
/// source chain (outermost first). The parent receives it as
/// [`Error::Remote`](pprocess_core::Error::Remote) of kind
/// [`RemoteKind::Error`], with the chain as the error's `source()`.
///
/// `Send` and `Sync`.
///
/// # Examples
///
/// ```
/// use pprocess_transport::ChildFailure;
///
/// let io = std::io::Error::other("disk on fire");
/// let failure = ChildFailure::from_error(&pprocess_transport::Error::Io(io));
/// assert_eq!(failure.message(), "i/o error: other error");
/// assert_eq!(failure.chain(), ["disk on fire"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildFailure {
    message: String,
    chain: Vec<String>,
}

impl ChildFailure {
    /// A failure with a message and no source chain.
    pub fn new(message: impl Into<String>) -> Self {
        ChildFailure {
            message: message.into(),
            chain: Vec::new(),
        }
    }

    /// The error's `Display` text, and those of its sources (at most
    /// [`MAX_REMOTE_CHAIN`]).
    pub fn from_error(error: &(dyn StdError + '_)) -> Self {
        let mut chain = Vec::new();
        let mut next = error.source();
        while let Some(source) = next {
            if chain.len() == MAX_REMOTE_CHAIN {
                break;
            }
            chain.push(source.to_string());
            next = source.source();
        }
        ChildFailure {
            message: error.to_string(),
            chain,
        }
    }

    /// The error's text.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The texts of the error's sources, outermost first.
    #[must_use]
    pub fn chain(&self) -> &[String] {
        &self.chain
    }

    fn into_report(self, pid: Pid) -> RemoteReport {
        RemoteReport {
            pid,
            kind: RemoteKind::Error,
            message: self.message,
            chain: self.chain,
        }
    }
}

impl fmt::Display for ChildFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for ChildFailure {
    fn from(message: String) -> Self {
        ChildFailure::new(message)
    }
}

/// What the closure of [`start`](crate::start) (and of every other way of
/// running a closure in a child with its channel) may return: `()`, or a
/// `Result<(), E>` whose error the parent receives as
/// [`Error::Remote`](pprocess_core::Error::Remote).
///
/// `E` is anything that converts into `Box<dyn std::error::Error>`: every
/// error type (its `source()` chain crosses as text), `String`, `&str`,
/// `Box<dyn Error>`; or a [`ChildFailure`]. A `Box<dyn Error + Send +
/// Sync>` does not convert (the standard library has no such `From`); turn
/// it into a `Box<dyn Error>` with `e as Box<dyn Error>`, or into a
/// [`ChildFailure`] with [`ChildFailure::from_error`]`(&*e)`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be what a child's closure returns",
    label = "the closure returns `{Self}`",
    note = "return `()`, or a `Result<(), E>` whose `E` is an error type, `String`, `&str` or `Box<dyn Error>`"
)]
pub trait ChildOutcome {
    /// `Err` with the failure if the child failed.
    ///
    /// # Errors
    ///
    /// The error's text and source chain, for the parent.
    fn into_failure(self) -> Result<(), ChildFailure>;

    /// `Err(message)` if the child failed: [`ChildOutcome::into_failure`]
    /// without the source chain.
    ///
    /// # Errors
    ///
    /// The error's text, for the parent.
    fn into_outcome(self) -> Result<(), String>
    where
        Self: Sized,
    {
        self.into_failure().map_err(|f| f.message)
    }
}

impl ChildOutcome for () {
    fn into_failure(self) -> Result<(), ChildFailure> {
        Ok(())
    }
}

impl<'e, E: Into<Box<dyn StdError + 'e>>> ChildOutcome for Result<(), E> {
    fn into_failure(self) -> Result<(), ChildFailure> {
        self.map_err(|e| ChildFailure::from_error(&*e.into()))
    }
}

impl ChildOutcome for Result<(), ChildFailure> {
    fn into_failure(self) -> Result<(), ChildFailure> {
        self
    }
}

/// Marker for [`SpawnOutcome`]: the closure's value is the result.
#[derive(Debug)]
pub enum ValueOutcome {}

/// Marker for [`SpawnOutcome`]: the closure returns a `Result`; `Ok` is
/// the result, `Err` reaches the parent as
/// [`Error::Remote`](pprocess_core::Error::Remote).
#[derive(Debug)]
pub enum ResultOutcome {}

/// What the closure of [`spawn`](crate::spawn) may return, and what its
/// [`JoinHandle::join`](crate::JoinHandle::join) gives back.
///
/// - Any `R: Serialize + DeserializeOwned` (marker [`ValueOutcome`]):
///   `join` returns `Ok(R)`.
/// - `Result<R, E>` with an error `E` as for [`ChildOutcome`] (marker
///   [`ResultOutcome`]): `join` returns `Ok(R)`, or the error as
///   [`Error::Remote`](pprocess_core::Error::Remote) with its source chain.
///
/// The compiler picks the marker. Only a `Result` whose error type is
/// itself serializable (`Result<R, String>`) fits both; name the marker
/// then: `spawn::<_, ResultOutcome>(..)` (or `ValueOutcome` to get the
/// `Result` back as a value).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be what a spawned child returns",
    label = "the closure returns `{Self}`",
    note = "return a serde type (`Serialize + DeserializeOwned`), or a `Result<R, E>` with such an `R` and an error type `E`"
)]
pub trait SpawnOutcome<M> {
    /// What crosses to the parent.
    type Value: Serialize + DeserializeOwned;

    /// The value, or why there is none.
    ///
    /// # Errors
    ///
    /// The closure's error, as text.
    fn into_value(self) -> Result<Self::Value, ChildFailure>;
}

impl<T: Serialize + DeserializeOwned> SpawnOutcome<ValueOutcome> for T {
    type Value = T;

    fn into_value(self) -> Result<T, ChildFailure> {
        Ok(self)
    }
}

impl<'e, R, E> SpawnOutcome<ResultOutcome> for Result<R, E>
where
    R: Serialize + DeserializeOwned,
    E: Into<Box<dyn StdError + 'e>>,
{
    type Value = R;

    fn into_value(self) -> Result<R, ChildFailure> {
        self.map_err(|e| ChildFailure::from_error(&*e.into()))
    }
}

/// Runs `f` on `holder` (something that owns the child's channel, such as
/// a typed channel), reports a failure on the channel `channel` finds in
/// it, and ends the process. Never returns.
pub(crate) fn run_holding<H, C, F, R>(
    mut holder: H,
    channel: fn(&mut H) -> &mut Channel<C>,
    f: F,
) -> !
where
    C: Codec,
    F: FnOnce(&mut H) -> R,
    R: ChildOutcome,
{
    let outcome = catch_unwind(AssertUnwindSafe(|| f(&mut holder).into_failure()));
    let pid = nix::unistd::getpid().as_raw();
    let ch = channel(&mut holder);
    let code = match outcome {
        Ok(Ok(())) => 0,
        Ok(Err(failure)) => {
            let _ = send_report(ch, &failure.into_report(pid));
            1
        }
        Err(payload) => {
            let message = panic_message(&*payload);
            // The payload is never dropped: its destructor could panic again.
            std::mem::forget(payload);
            let report = RemoteReport {
                pid,
                kind: RemoteKind::Panic,
                message,
                chain: Vec::new(),
            };
            let _ = send_report(ch, &report);
            101
        }
    };
    let _ = ch.flush();
    end(code)
}

/// Sends a remote-error frame carrying `report`.
fn send_report<C: Codec>(ch: &mut Channel<C>, report: &RemoteReport) -> Result<()> {
    let mut payload = Vec::new();
    report.encode(&mut payload);
    let mut frame = encode_header(FrameKind::Error, payload.len())?.to_vec();
    frame.extend_from_slice(&payload);
    ch.write_frames(&frame)
}

/// Flushes stdio and `_exit`s.
pub(crate) fn end(code: i32) -> ! {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    sys::exit_now(code)
}
