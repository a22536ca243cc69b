//! One program, two launchers: the same work on forked workers on one
//! machine, or spread over the ranks of an MPI job across hosts.
//!
//! # Quick start
//!
//! ```
//! fn score(x: u64) -> u64 {
//!     x * x
//! }
//!
//! // At the top of main. Under `mpirun`/`srun` (with the `mpi` feature),
//! // rank 0 goes on from here and every other rank serves work until rank
//! // 0 ends; otherwise work runs on forked workers of this machine.
//! let cluster = pprocess_mpi::init()?;
//! let squares = cluster.pmap(score, 0..100u64)?;
//! assert_eq!(squares[9], 81);
//! # Ok::<(), pprocess_mpi::Error>(())
//! ```
//!
//! # What crosses
//!
//! Work is a function plus arguments
//! ([`RemoteFn`](pprocess_transport::RemoteFn)): a `fn` item or a closure
//! that captures nothing, with serde arguments and results (MessagePack).
//! A rank runs the same executable as rank 0 (checked at [`init`]), so the
//! function is found there by its place in the executable; closures'
//! captures never cross. Results come back in input order, and a panic is
//! [`Error::Remote`] naming the item.
//!
//! # Launchers
//!
//! Built with the feature `mpi` and started by `mpirun` or `srun` (seen in
//! the environment: `OMPI_COMM_WORLD_SIZE`, `PMI_SIZE` or `PMIX_RANK`),
//! [`init`] starts a thread that initialises MPI (`MPI_THREAD_FUNNELED`:
//! only that thread ever calls MPI). Otherwise — without the feature, or
//! started directly — nothing of MPI is touched, and work runs on forked
//! workers: through a [`ForkServer`](pprocess_transport::ForkServer) when
//! `init` runs while the process has one thread, else forked from the
//! process.
//!
//! # Map, Queue and Exchange over ranks
//!
//! [`Cluster::builder`] is a [`Builder`] whose `start_fn` starts a worker
//! on a free rank instead of forking one: on rank 0, the MPI thread relays
//! between the rank and one end of a socketpair (or of the builder's
//! [`transport`](Builder::transport), shared memory for instance), and the
//! other end is an ordinary channel that an exchange waits on with mio
//! beside any other.
//! So [`Map`] and [`Queue`](pprocess_exchange::Queue) with `call_fn` and
//! `manage_fn`, and [`pmap_fn`], run over ranks unchanged; a worker holds
//! its rank until its channel ends. Without MPI, the same builder forks.
//!
//! # Fork safety
//!
//! Under MPI, neither rank 0 nor the other ranks fork: an MPI process must
//! not call MPI after `fork`, and a forked child must not inherit MPI
//! state it could touch. Do not call `start`, `create` or a fork-based
//! exchange in a program that runs under MPI.
//!
//! # Features
//!
//! - `mpi` (off by default): the MPI backend, through the `mpi` crate
//!   (needs Open MPI's `libopenmpi-dev` and `libclang-dev` to build).
#![deny(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

#[cfg(feature = "mpi")]
mod bridge;
mod local;
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
mod pool;
#[cfg(feature = "mpi")]
mod ranks;
// Without the feature, only the tests use the relay and the wire format.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
mod relay;
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
mod sys;
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
mod wire;

pub use pprocess_core::{Error, Result};

use pprocess_exchange::{Builder, Map, MessagePack, pmap_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Where work runs: the ranks of an MPI job, or forked workers of this
/// machine. Made by [`init`].
///
/// On rank 0 it lives for the rest of the program; when it is dropped, the
/// other ranks end (once they have answered the tasks they hold: the drop
/// waits for them), and channels still open to ranks read end of file. It is not `Send`: drop it on the thread that called
/// [`init`] (a fork server's workers end with the thread that started it).
#[derive(Debug)]
pub struct Cluster {
    backend: Backend,
    _not_send: std::marker::PhantomData<*const ()>,
}

#[derive(Debug)]
enum Backend {
    Local(local::Local),
    #[cfg(feature = "mpi")]
    Mpi(ranks::Ranks),
}

/// Whether this process was started by an MPI launcher.
#[must_use]
pub fn launched_by_mpi() -> bool {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

/// Starts the cluster: call it at the top of `main`, before any thread is
/// started.
///
/// Under an MPI launcher (and with the feature `mpi`), on rank 0 it returns
/// the [`Cluster`] and the program goes on; on every other rank it serves
/// work until rank 0 drops its cluster, then ends the process (it never
/// returns there). Otherwise it returns a cluster of forked workers.
///
/// # Examples
///
/// See the [crate docs](crate).
///
/// # Errors
///
/// [`Error::Protocol`] if MPI was initialised already; [`Error::Io`] if
/// the thread that owns MPI cannot be started. A rank whose executable
/// differs from rank 0's (or cannot be read) aborts the job.
pub fn init() -> Result<Cluster> {
    #[cfg(feature = "mpi")]
    if launched_by_mpi() {
        return Ok(Cluster {
            backend: Backend::Mpi(ranks::init()?),
            _not_send: std::marker::PhantomData,
        });
    }
    Ok(Cluster {
        backend: Backend::Local(local::Local::new()),
        _not_send: std::marker::PhantomData,
    })
}

impl Cluster {
    /// Whether work goes to MPI ranks.
    #[must_use]
    pub fn is_mpi(&self) -> bool {
        !matches!(self.backend, Backend::Local(_))
    }

    /// How many processes work runs on: the ranks other than rank 0 (at
    /// least 1: rank 0 works alone in a job of one rank), or the cores of
    /// this machine.
    #[must_use]
    pub fn workers(&self) -> usize {
        match &self.backend {
            Backend::Local(l) => l.workers(),
            #[cfg(feature = "mpi")]
            Backend::Mpi(r) => (r.size() - 1).max(1),
        }
    }

    /// Whether local work goes through a fork server (it does when
    /// [`init`] ran while the process had one thread).
    #[must_use]
    pub fn has_fork_server(&self) -> bool {
        match &self.backend {
            Backend::Local(l) => l.has_fork_server(),
            #[cfg(feature = "mpi")]
            Backend::Mpi(_) => false,
        }
    }

    /// A builder whose [`Builder::start_fn`] starts workers where this
    /// cluster runs work: on a free rank under MPI (its
    /// [`Builder::spawner`]), else on the fork server or by forking. Give
    /// it to [`Map::with_builder`], [`Queue::with_builder`] or an
    /// [`Exchange`], and use their `call_fn` and `manage_fn`, or to
    /// [`pmap_fn`]: the same code runs on forked workers and over ranks.
    ///
    /// Under MPI, a worker holds its rank until its channel is closed or
    /// ended: use a limit of at most [`Cluster::workers`] (more workers
    /// than that wait for a free rank, as forks wait at the process limit).
    /// When every rank is held by channels that are still open and the
    /// caller has no worker of its own to wait for (two exchanges at once,
    /// each holding ranks), `start_fn` fails with
    /// [`Error::Fork`] whose source is `EAGAIN`.
    /// Only remote functions go to ranks: [`Builder::start`] and
    /// [`Builder::create`] fork this process, which must not happen under
    /// MPI.
    ///
    /// Under MPI a worker's channel runs between the caller and rank 0's
    /// bridge thread, over the builder's [`Builder::transport`]: a
    /// socketpair unless told otherwise. For workers that move large
    /// messages, ask for [`TransportKind::SharedMemory`]: in
    /// `docs/BENCHMARKS.md` it moved 1 MiB to a rank at about 2.3 × the
    /// socketpair's rate and took about a fifth off a 64-byte round trip,
    /// but it costs about 150 µs more to open a worker (a call per worker
    /// with `call_fn` went from about 50 to 200 µs), so the default stays
    /// a socketpair.
    ///
    /// [`TransportKind::SharedMemory`]: pprocess_exchange::TransportKind::SharedMemory
    /// [`Queue::with_builder`]: pprocess_exchange::Queue::with_builder
    /// [`Exchange`]: pprocess_exchange::Exchange
    ///
    /// # Examples
    ///
    /// ```
    /// use pprocess_exchange::Map;
    ///
    /// fn cube(x: u64) -> u64 {
    ///     x * x * x
    /// }
    ///
    /// let cluster = pprocess_mpi::init()?;
    /// let mut map = Map::<u64>::with_builder(cluster.builder())?.limit(cluster.workers());
    /// for x in 1..=4 {
    ///     map.call_fn(cube, x)?;
    /// }
    /// assert_eq!(map.into_vec()?, [1, 8, 27, 64]);
    /// # Ok::<(), pprocess_mpi::Error>(())
    /// ```
    #[must_use]
    pub fn builder(&self) -> Builder<MessagePack> {
        match &self.backend {
            Backend::Local(l) => l.builder(),
            #[cfg(feature = "mpi")]
            Backend::Mpi(r) => Builder::new().spawner(std::sync::Arc::new(r.spawner())),
        }
    }

    /// Applies `f` to every item on the workers and returns the results in
    /// input order; the items travel to the workers in chunks. It is
    /// [`pmap_fn`] over [`Cluster::builder`] with [`Cluster::workers`]
    /// workers.
    ///
    /// # Examples
    ///
    /// ```
    /// let cluster = pprocess_mpi::init()?;
    /// let lengths = cluster.pmap(|s: String| s.len(), ["a".to_string(), "bcd".into()])?;
    /// assert_eq!(lengths, [1, 3]);
    /// # Ok::<(), pprocess_mpi::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The first failure in input order: [`Error::Remote`] if `f` panicked
    /// on an item (`item {position} panicked: {message}`), or what made a
    /// worker fail to start or die.
    pub fn pmap<T, R>(&self, f: fn(T) -> R, items: impl IntoIterator<Item = T>) -> Result<Vec<R>>
    where
        T: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        pmap_fn(&self.builder(), f, items, self.workers())
    }

    /// Runs `f` on each item as a call of its own (a [`Map`] of
    /// `call_fn`s over [`Cluster::builder`]): every result, in input
    /// order, each `Ok` or the error of its own call.
    ///
    /// # Examples
    ///
    /// ```
    /// fn half(x: u32) -> u32 {
    ///     assert!(x % 2 == 0, "{x} is odd");
    ///     x / 2
    /// }
    /// let cluster = pprocess_mpi::init()?;
    /// let results = cluster.map(half, [4, 5, 6])?;
    /// assert_eq!(results[0].as_ref().unwrap(), &2);
    /// assert!(results[1].as_ref().unwrap_err().to_string().contains("5 is odd"));
    /// assert_eq!(results[2].as_ref().unwrap(), &3);
    /// # Ok::<(), pprocess_mpi::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Only if no work could be started at all; failures of single calls
    /// are in the returned vector.
    pub fn map<T, R>(
        &self,
        f: fn(T) -> R,
        items: impl IntoIterator<Item = T>,
    ) -> Result<Vec<Result<R>>>
    where
        T: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let mut map = Map::<R>::with_builder(self.builder())?.limit(self.workers());
        for item in items {
            map.call_fn(f, item)?;
        }
        Ok(map.collect())
    }
}
