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
//! Every public name of pprocess 0.5.1 and what it is here:
//!
//! | pprocess | here |
//! | --- | --- |
//! | `start(callable, *args)` | [`start`] (a closure: the arguments are its captures); [`spawn`] for one value back |
//! | `create()` / `exit(channel)` | [`create`] (returns [`Fork`]) / [`exit`] |
//! | `create_socketpair()` / `create_pipes()` | [`create`] (a socketpair by default) / [`create_pipes`]; [`Builder::transport`] |
//! | `waitall()` | [`waitall`] (and [`waitall_timeout`]) |
//! | `get_number_of_cores()` | [`num_cores`] |
//! | `Channel.send` / `receive` / `close` / `wait` | [`Channel::send`] / [`Channel::receive`] / [`Channel::close`] / [`Channel::wait`] |
//! | `Channel.pid` | [`Channel::pid`] |
//! | `AcknowledgementError` | none: ordinary sends are not acknowledged (below); a broken stream is [`Error::Closed`] or [`Error::Truncated`] |
//! | `Exchange(channels, limit, reuse, continuous, autoclose)` | [`Exchange`] with [`Exchange::limit`], [`Exchange::reuse`], [`Exchange::continuous`], [`Exchange::autoclose`]; channels join with [`Exchange::add`] |
//! | `Exchange.add` / `add_wait` / `remove` | [`Exchange::add`] / [`Exchange::add_wait`] / [`Exchange::remove`] |
//! | `Exchange.active` / `busy` / `unfinished` | [`Exchange::active`] / [`Exchange::busy`] / [`Exchange::unfinished`] |
//! | `Exchange.ready(timeout)` | [`Exchange::ready`] (channel ids, not channels) |
//! | `Exchange.store(timeout)` / `wait` / `finish` | [`Exchange::store`] / [`Exchange::wait`] / [`Exchange::finish`] |
//! | `store_data(channel)` in a subclass | a [`Handler`] (any `FnMut(Message<R>)`, or [`Handler::handle`] with a [`Reply`] to answer) |
//! | `start_waiting(channel)` (override) | built in: work over the limit waits inside the exchange and starts as children end |
//! | `Exchange.start(callable, *args)` | [`Exchange::start`], or [`Exchange::call`] for a closure whose value is the result |
//! | `Exchange.create()` | [`Exchange::create`] (returns [`Created`]) |
//! | `Exchange.manage(callable)`, `ManagedCallable` | [`Exchange::manage`], [`Managed`] (call it with the exchange: `calc.call(&mut ex, args)`) |
//! | `MakeParallel(callable)` | not needed: [`Exchange::call`] and [`Exchange::manage`] send the return value |
//! | `MakeReusable(callable)` with `reuse=1` | [`Exchange::manage_reusable`] ([`Reusable`]), [`Exchange::call_fn`] or [`Exchange::manage_fn`] with [`Exchange::reuse`] |
//! | `Map`, `Map.next` / `Queue`, `Queue.next` | [`Map`] / [`Queue`], both iterators |
//! | `Undefined` (a result not yet there) | `None` in [`MapStore`]; [`Map::get`] |
//! | `pmap(callable, sequence, limit)` | [`pmap`] / [`pmap_iter`]; [`pmap_fn`] for a function plus serde items |
//! | `PersistentChannel` | [`PersistentChannel`] |
//! | `create_persistent(address)` / `start_persistent(address, callable, *args)` | [`create_persistent`] / [`start_persistent`] (returning a [`Background`] handle) |
//! | `connect_persistent(address)` | [`connect`] |
//! | `close_streams()` | done by every background process as it detaches; [`Builder::log_file`] keeps its output |
//! | `PersistentExchange`, `Persistent.connect(address)` | [`PersistentExchange`], [`Exchange::connect`] |
//! | `PersistentExchange.start(address, ...)` / `create(address)` / `manage(address, ...)` | [`Exchange::start_persistent`] / [`Exchange::create_persistent`] / [`Exchange::manage_persistent`] |
//! | `PersistentCallable` / `BackgroundCallable` | [`PersistentCallable`] / [`BackgroundCallable`] |
//! | `PersistentQueue` / `BackgroundQueue(address)` | [`PersistentQueue`] / [`background_queue`] |
//!
//! ## Deliberately different
//!
//! - **Sends are not acknowledged.** pprocess's `send` waits for an `"OK"`
//!   from the receiver after every message, so that a child cannot exit
//!   before its data is read. Here a message is a length-prefixed frame on
//!   a reliable stream and a child's output is flushed before it exits, so
//!   an acknowledgement would only add a round trip per message (the
//!   benchmarks measure that cost in pprocess). Only persistent channels
//!   acknowledge, because a background process must know what to send
//!   again to the next peer after a disconnection.
//! - **`close` waits.** [`Channel::close`] flushes, closes both directions
//!   and waits for the child, returning its exit status. pprocess's
//!   `close` only closes the pipes and leaves the child to `waitall`.
//!   Dropping a channel flushes (for at most 2 s) and reaps the child if it
//!   has ended, else leaves it to be reaped by [`waitall`] or by the
//!   library's next fork.
//! - **Errors are values.** A child's exception is not pickled and raised
//!   in the parent: a panic or returned error becomes [`Error::Remote`]
//!   (with its [`RemoteKind`] and source chain) in that child's
//!   [`Message`], and a child that dies without a result is
//!   [`Error::ChildDied`]; the other children are unaffected.
//! - **Closures, not callables with arguments.** Arguments travel as a
//!   closure's captures through the fork and need no serde; only results
//!   (and a reused worker's later arguments) cross a channel, through a
//!   [`Codec`] ([`MessagePack`] by default) instead of pickle.
//! - **Reuse needs a function plus arguments.** A closure's captures exist
//!   only in the parent, so [`Exchange::start`] and [`Exchange::call`]
//!   always fork; reused workers run [`Exchange::manage_reusable`],
//!   [`Exchange::call_fn`] and [`Exchange::manage_fn`] work, and each only
//!   ever gets the arguments of its own function.
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
//! [`SocketPair`], [`Pipe`], [`SharedMemory`], [`UnixSocket`], the
//! [`Transport`] trait),
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
//! | [`Exchange`] (and [`PersistentExchange`]), [`Map`], [`Queue`], [`PersistentQueue`] | no: they keep the closures of work not yet started | no |
//! | [`PmapIter`] | no: it holds an exchange | no |
//! | [`Managed`], [`Reusable`], [`PersistentCallable`] | no: they share their function with their clones and the calls they queued | no |
//! | [`ManagedFn`] | yes | yes |
//! | [`Reply`], [`Created`] | yes | no: they hold a channel |
//! | [`Channel`], [`TypedChannel`], [`TypedIter`], [`JoinHandle`], [`PersistentChannel`], [`Fork`], [`PersistentFork`] | yes | no: one thread at a time uses a channel |
//! | [`Message`], [`Inbox`], [`MapStore`], [`ChannelId`] (with a `Send + Sync` result type) | yes | yes |
//! | [`Builder`], [`Child`], [`Background`], [`BackgroundCallable`] (with a `Send + Sync` function) | yes | yes |
//! | [`TransportKind`], [`SocketPair`], [`Pipe`], [`UnixSocket`], [`MessagePack`], `Json` | yes | yes |
//! | [`SharedMemory`] | yes | no: one thread at a time uses an end of its rings |
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
    SharedMemory, SocketPair, SpawnOutcome, TypedChannel, TypedIter, UnixSocket, ValueOutcome,
    panic_message, run_in_child, spawn, start_typed, track_fd, untrack_fd,
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
