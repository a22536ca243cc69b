//! Elementary parallel programming with forked processes: pprocess for
//! Rust.
//!
//! This crate is the one most users depend on. It re-exports the process
//! and channel layer (`pprocess-transport`: [`start`], [`create`],
//! [`Channel`], ...) and adds what pprocess builds on readiness: the
//! [`Exchange`], [`Map`], [`Queue`], [`pmap`] and managed callables.
//!
//! # Quick start
//!
//! ```
//! // A parallel map over forked workers; results in input order.
//! let lengths = pprocess_exchange::pmap(|s: &&str| s.len(), &["a", "bb", "ccc"], None)?;
//! assert_eq!(lengths, [1, 2, 3]);
//!
//! // Results in submission order, at most 2 children at once.
//! let mut map = pprocess_exchange::Map::<u64>::new()?.limit(2);
//! for i in 0..4u64 {
//!     map.call(move || i + 100)?;
//! }
//! assert_eq!(map.into_vec()?, [100, 101, 102, 103]);
//! # Ok::<(), pprocess_exchange::Error>(())
//! ```
//!
//! # From pprocess
//!
//! | pprocess | here |
//! | --- | --- |
//! | `start(fn, args)` / `create()` / `exit(ch)` | [`start`] / [`create`] / [`exit`] |
//! | `Exchange(limit=, reuse=, continuous=, autoclose=)` | [`Exchange`] with [`Exchange::limit`], ... |
//! | `store_data` in a subclass | a [`Handler`] (any `FnMut(Message<R>)`) |
//! | `Map`, `Queue`, `pmap` | [`Map`], [`Queue`], [`pmap`] / [`pmap_iter`] |
//! | `exchange.manage(MakeParallel(f))` | [`Exchange::manage`] (or [`Exchange::call`] for a closure) |
//! | `MakeReusable`, `reuse=1` | [`Exchange::manage`] with [`Exchange::reuse`] |
//!
//! # One child, one value: `spawn`
//!
//! [`spawn`] is `std::thread::spawn` for processes: the closure runs in a
//! forked child (borrowing whatever it likes; the child has its own copy)
//! and [`JoinHandle::join`] gives its value back. A closure returning
//! `Result<R, E>` gives `R`, or its error as [`Error::Remote`].
//!
//! ```
//! let data = vec![3u64, 4, 5];
//! let handle = pprocess_exchange::spawn(|| data.iter().map(|x| x * x).sum::<u64>())?;
//! assert_eq!(handle.join()?, 50);
//! # Ok::<(), pprocess_exchange::Error>(())
//! ```
//!
//! # Typed channels
//!
//! [`start_typed`] is [`start`] with the message types in the channel's
//! type: the parent's [`TypedChannel<Down, Up>`] sends only `Down` and
//! receives only `Up`, the child's the mirror, so a wrong message is a
//! compile error rather than an [`Error::Decode`] at run time.
//!
//! ```
//! let mut ch = pprocess_exchange::start_typed::<usize, String, _>(|ch| {
//!     let text = ch.receive()?;
//!     ch.send(&text.split_whitespace().count())
//! })?;
//! ch.send(&"three little words".to_string())?;
//! assert_eq!(ch.receive()?, 3);
//! ch.close()?;
//! # Ok::<(), pprocess_exchange::Error>(())
//! ```
//!
//! # Errors from children
//!
//! A child that panics or returns an error is a [`Message`] whose result is
//! [`Error::Remote`]; its [`RemoteKind`] says which, and a returned error's
//! source chain comes along as text ([`RemoteCause`], the error's
//! `source()`). One that dies without a result is [`Error::ChildDied`];
//! the others are unaffected.
//!
//! # One crate
//!
//! Everything of the lower layers that a program needs is re-exported
//! here: processes ([`start`], [`create`], [`spawn`], [`start_typed`],
//! [`Builder`], [`Fork`], [`exit`], [`waitall`], [`num_cores`],
//! [`thread_count`]), channels and codecs ([`Channel`], [`TypedChannel`],
//! [`MessagePack`], `Json`), transports ([`TransportKind`],
//! [`SocketPair`], [`Pipe`], [`UnixSocket`], the [`Transport`] trait),
//! what a child's closure may return ([`ChildOutcome`], [`SpawnOutcome`],
//! [`ChildFailure`]), background processes, and the error types.
//!
//! # Threads
//!
//! Forked children need neither `Send` nor `'static` closures, so most
//! types here do not ask for them, and some are not `Send` because they
//! hold such closures. `tests/send_sync.rs` checks this table:
//!
//! | type | `Send` | `Sync` |
//! | --- | --- | --- |
//! | [`Exchange`], [`Map`], [`Queue`], [`PersistentQueue`] | no: they keep the closures of work not yet started | no |
//! | [`PmapIter`] | no: it holds an exchange | no |
//! | [`Managed`], [`Reusable`] | no: they share their function with the calls they queued | no |
//! | [`Reply`], [`Created`] | yes | no: they hold a channel |
//! | [`Channel`], [`TypedChannel`], [`TypedIter`], [`JoinHandle`], [`PersistentChannel`], [`Fork`], [`PersistentFork`] | yes | no: one thread at a time uses a channel |
//! | [`Message`], [`Inbox`], [`MapStore`], [`ChannelId`] (with a `Send + Sync` result type) | yes | yes |
//! | [`Builder`], [`Child`], [`Background`], [`BackgroundCallable`] (with a `Send + Sync` function) | yes | yes |
//! | [`TransportKind`], [`SocketPair`], [`Pipe`], [`UnixSocket`], [`MessagePack`], `Json` | yes | yes |
//! | [`Error`], [`ExitStatus`], [`RemoteKind`], [`RemoteCause`], [`ChildFailure`] | yes | yes |
//!
//! A channel, handle or exchange can be used from the thread that made it
//! without restriction; forking from a process with several threads has
//! the risks [`start`] describes.
//!
//! # See also
//!
//! The project's guides are in the `docs/` directory at the root of its
//! source tree (not part of the published package; the links below resolve
//! when the docs are built there with `cargo doc`):
//!
//! - [`docs/tutorial.md`](../../../docs/tutorial.md): from a sequential loop to
//!   [`pmap`], [`Map`], [`Queue`], a custom [`Exchange`], [`start`],
//!   [`create`], reused, continuous and background processes. This crate's
//!   `examples/` directory holds five of its steps (`cargo run --example
//!   pmap`, `map`, `queue`, `exchange`, `background`).
//! - [`docs/architecture.md`](../../../docs/architecture.md): the layers, the
//!   frame format, the fork rules as built, the exchange's readiness rules.
#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod exchange;
mod manage;
mod map;
mod persistent;
mod pmap;
mod queue;
mod remote;

pub use exchange::{
    Answering, ChannelId, Created, Exchange, Handler, Inbox, Message, Reply, answering,
};
pub use manage::{Managed, Reusable};
pub use map::{Map, MapStore};
pub use persistent::{PersistentCallable, PersistentExchange, PersistentQueue, background_queue};
pub use pmap::{PmapIter, pmap, pmap_iter};
pub use pprocess_core::{
    Codec, DEFAULT_MAX_FRAME, Error, ExitStatus, Pid, Process, RemoteCause, RemoteKind, Result,
    Transport,
};
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub use pprocess_transport::Json;
pub use pprocess_transport::{
    Background, BackgroundCallable, Builder, Channel, Fork, ForkServer, MessagePack,
    PersistentChannel, PersistentFork, RemoteFn, TransportKind, connect, create, create_persistent,
    create_pipes, exit, is_temporary, num_cores, set_thread_warning, start, start_persistent,
    thread_count, waitall, waitall_timeout,
};
pub use pprocess_transport::{
    Child, ChildFailure, ChildOutcome, JoinHandle, MAX_ADDRESS_LEN, Pipe, ResultOutcome,
    SocketPair, SpawnOutcome, TypedChannel, TypedIter, UnixSocket, ValueOutcome, panic_message,
    run_in_child, spawn, start_typed, track_fd, untrack_fd,
};
pub use queue::Queue;
pub use remote::{ManagedFn, pmap_fn};

/// The README's Rust code, compiled and run by `cargo test` (doctests).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The tutorial's Rust code, compiled and run by `cargo test` (doctests).
#[cfg(doctest)]
#[doc = include_str!("../../docs/tutorial.md")]
pub struct TutorialDoctests;

/// The crate's own README, compiled and run by `cargo test` (doctests).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;
