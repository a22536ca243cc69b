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
//! # Errors from children
//!
//! A child that panics or returns an error is a [`Message`] whose result is
//! [`Error::Remote`]; one that dies without a result is
//! [`Error::ChildDied`]; the others are unaffected.
#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

mod exchange;
mod manage;
mod map;
mod persistent;
mod pmap;
mod queue;
mod remote;

pub use exchange::{ChannelId, Exchange, Handler, Inbox, Message};
pub use manage::Managed;
pub use map::{Map, MapStore};
pub use persistent::{PersistentQueue, background_queue};
pub use pmap::{PmapIter, pmap, pmap_iter};
pub use pprocess_core::{Codec, Error, ExitStatus, Pid, Result};
#[cfg(feature = "json")]
pub use pprocess_transport::Json;
pub use pprocess_transport::{
    Background, BackgroundCallable, Builder, Channel, Fork, ForkServer, MessagePack,
    PersistentChannel, PersistentFork, RemoteFn, TransportKind, connect, create, create_persistent,
    create_pipes, exit, is_temporary, num_cores, set_thread_warning, start, start_persistent,
    thread_count, waitall, waitall_timeout,
};
pub use queue::Queue;
pub use remote::{ManagedFn, pmap_fn};
