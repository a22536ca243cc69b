//! Fork-based processes and framed channels over socketpairs, pipes and
//! shared memory:
//! pprocess's `start`, `create`, `exit`, `waitall` and channels, for Rust.
//!
//! # Quick start
//!
//! ```
//! use pprocess_transport::start;
//!
//! // The closure runs in a forked child, with everything the parent had in
//! // memory; only messages cross the channel.
//! let data = vec![1u64, 2, 3];
//! let mut ch = start(move |ch| ch.send(&data.iter().sum::<u64>()))?;
//! assert_eq!(ch.receive::<u64>()?, 6);
//! ch.close()?; // waits for the child
//! # Ok::<(), pprocess_core::Error>(())
//! ```
//!
//! # Processes
//!
//! [`start`] forks a child that runs a closure and ends; [`create`] forks
//! and tells the caller which side it is on ([`Fork`]); [`exit`] ends a
//! child; [`waitall`] reaps every child not reaped yet. [`spawn`] forks a
//! child that computes one value, which [`JoinHandle::join`] returns
//! (`std::thread::spawn` for processes). [`Builder`] chooses the
//! transport, the codec and the frame limit.
//!
//! # Channels and codecs
//!
//! A [`Channel`] sends and receives any serde type as length-prefixed
//! frames (see `pprocess_core::frame`). The codec is a type parameter:
//! [`MessagePack`] by default, [`Json`] with the `json` feature (on by
//! default). The transport is chosen when the channel is made:
//! [`SocketPair`] by default, [`Pipe`], or [`SharedMemory`] (a ring
//! buffer per direction in memory that parent and child both map, woken
//! through a socketpair doorbell only when a side waits:
//! [`TransportKind::SharedMemory`]). A [`TypedChannel`] (made by
//! [`start_typed`]) fixes what each side sends and receives, so that a
//! wrong message is a compile error.
//!
//! # Errors from children
//!
//! A child whose closure panics or returns an error sends a remote-error
//! frame; the parent's receive returns
//! [`Error::Remote`] with the child's pid, a [`RemoteKind`] (panic or
//! error) and, for an error, its source chain as text ([`RemoteCause`]).
//! A child that dies mid-message gives
//! [`Error::Truncated`]; one that hangs up
//! between messages gives [`Error::Closed`].
//!
//! # Fork safety
//!
//! See [`start`]. In short: stdio is flushed before each fork, a child
//! closes every channel it inherited but its own, every descriptor is
//! close-on-exec, and a child never returns into the caller's code.
//!
//! # Features
//!
//! - `json` (default): the [`Json`] codec.
//!
//! # See also
//!
//! The project's guides are in the `docs/` directory at the root of its
//! source tree (not part of the published package; the links below resolve
//! when the docs are built there with `cargo doc`):
//!
//! - [`docs/tutorial.md`](../../../docs/tutorial.md): from a sequential loop to
//!   `pmap`, `Map`, `Queue`, a custom exchange, [`start`], [`create`], reused,
//!   continuous and background processes.
//! - [`docs/architecture.md`](../../../docs/architecture.md): the layers, the
//!   frame format, the fork rules as built, the exchange's readiness rules.
#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod channel;
mod codec;
mod forkserver;
mod framing;
mod outcome;
mod panics;
mod process;
mod reap;
mod registry;
mod remote;
mod spawn;
mod spawner;
mod sys;
mod threads;
mod transport;
mod typed;

pub use channel::Channel;
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub use codec::Json;
pub use codec::MessagePack;
pub use forkserver::ForkServer;
pub use outcome::{ChildFailure, ResultOutcome, SpawnOutcome, ValueOutcome};
pub use pprocess_core::{
    Codec, Error, ExitStatus, Pid, Process, RemoteCause, RemoteKind, Result, Transport,
};
pub use process::{
    Background, BackgroundCallable, PersistentChannel, PersistentFork, connect, create_persistent,
    start_persistent,
};
pub use process::{
    Builder, ChildOutcome, Fork, create, create_pipes, exit, is_temporary, num_cores,
    panic_message, run_in_child, start,
};
pub use reap::{Child, waitall, waitall_timeout};
pub use registry::{track_fd, untrack_fd};
pub use remote::{Failure, ProgramKey, RemoteFn};
pub use spawn::{JoinHandle, spawn};
pub use spawner::Spawner;
pub use threads::{set_thread_warning, thread_count};
pub use transport::{
    DEFAULT_RING_BYTES, MAX_ADDRESS_LEN, Pipe, SharedMemory, SocketPair, TransportKind, UnixSocket,
};
pub use typed::{TypedChannel, TypedIter, start_typed};

// The README is a doctest too, so its example cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
