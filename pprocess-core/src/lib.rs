//! The contracts of pprocess-rs: errors, codecs, the frame protocol, and the
//! traits that transports and processes implement.
//!
//! This crate makes no system calls. The fork-based processes and the
//! socketpair and pipe transports live in `pprocess-transport`; the readiness
//! Exchange and everything built on it lives in `pprocess-exchange`.
//!
//! # Quick start
//!
//! Most users depend on `pprocess-exchange` (or `pprocess-transport` for a
//! single channel) and never name this crate. It is useful on its own to write
//! a new codec or a new transport:
//!
//! ```
//! use pprocess_core::{Codec, Error, Result};
//! use serde::{Deserialize, Serialize};
//!
//! /// A codec that only carries UTF-8 text (for illustration).
//! #[derive(Debug, Default, Clone, Copy)]
//! struct Text;
//!
//! impl Codec for Text {
//!     const NAME: &'static str = "text";
//!     fn encode<T: Serialize + ?Sized>(_value: &T, _out: &mut Vec<u8>) -> Result<()> {
//!         Err(Error::Encode { type_name: std::any::type_name::<T>(), message: "unsupported".into() })
//!     }
//!     fn decode<'de, T: Deserialize<'de>>(_bytes: &'de [u8]) -> Result<T> {
//!         Err(Error::Decode { expected: std::any::type_name::<T>(), message: "unsupported".into() })
//!     }
//! }
//! assert_eq!(Text::NAME, "text");
//! ```
//!
//! # Frames
//!
//! Every message travels as one frame: a 4-byte little-endian payload
//! length, a 1-byte kind ([`FrameKind`]) and the payload. See [`frame`].
//!
//! # Errors from children
//!
//! A child that panics, or whose function returns an error, sends a
//! [`FrameKind::Error`] frame ([`RemoteReport`]); the parent's receive
//! turns it into [`Error::Remote`] with the child's pid, message and
//! [`RemoteKind`] (panic or error), and for an error its source chain as
//! text ([`RemoteCause`], the [`source`](std::error::Error::source)).
//!
//! # See also
//!
//! The project's guides are in the `docs/` directory at the root of its
//! source tree (not part of the published package; the links below resolve
//! when the docs are built there with `cargo doc`):
//!
//! - [`docs/architecture.md`](../../../docs/architecture.md): the layers, the
//!   frame format, the fork rules as built, the exchange's readiness rules.
//! - [`docs/tutorial.md`](../../../docs/tutorial.md): the whole API by example,
//!   from a sequential loop to `pmap`, `Map`, `Queue` and background processes.
#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

mod codec;
mod error;
pub mod frame;
mod process;
mod transport;

pub use codec::Codec;
pub use error::{Error, MAX_REMOTE_CHAIN, RemoteCause, RemoteKind, Result};
pub use frame::{DEFAULT_MAX_FRAME, FrameKind, HEADER_LEN, RemoteError, RemoteReport};
pub use process::{ExitStatus, Pid, Process};
pub use transport::Transport;

// The README is a doctest too, so its example cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
