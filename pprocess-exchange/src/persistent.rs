//! Background processes at addresses, started and collected through an
//! exchange: pprocess's `PersistentExchange` (`start`, `create`, `manage`
//! with an address, and `connect`), `PersistentCallable`,
//! `PersistentQueue` and `BackgroundQueue`.
//!
//! A background process is not a child of the exchange that started it:
//! it is detached, does not count against the limit, and outlives the
//! exchange and the program. Its results are collected by whichever
//! exchange [connects](Exchange::connect) to its address, in this run or a
//! later one.

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use pprocess_core::{Codec, Result};
use pprocess_transport::{Background, ChildOutcome, PersistentChannel, PersistentFork};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::exchange::{ChannelId, Exchange, Handler, Inbox};
use crate::queue::Queue;

/// An [`Exchange`] used to start work in background processes at
/// addresses and to collect it later, across a restart of the collecting
/// program: pprocess's `PersistentExchange`. It is the ordinary exchange;
/// the name is for readers coming from pprocess.
///
/// # Examples
///
/// pprocess's `simple_persistent_managed`, in short: start a managed call
/// in the background, drop the exchange, and collect the result through a
/// new one (which could be in another run of the program).
///
/// ```
/// use pprocess_exchange::PersistentExchange;
///
/// let address = std::env::temp_dir().join(format!("pp-pe-{}.socket", std::process::id()));
/// let exchange = PersistentExchange::<Vec<u32>>::new()?.limit(1);
/// let ptask = exchange.manage_persistent(&address, |n: u32| (0..n).map(|i| i * i).collect());
/// let mut background = ptask.call(&exchange, 5)?;
/// drop(exchange);
///
/// let mut exchange = PersistentExchange::<Vec<u32>>::new()?.limit(1);
/// exchange.connect(&address)?;
/// exchange.finish()?;
/// let results = exchange.handler_mut().pop().unwrap().result?;
/// assert_eq!(results, [0, 1, 4, 9, 16]);
/// assert!(background.wait()?.success());
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
pub type PersistentExchange<'a, R, H = Inbox<R>, C = pprocess_transport::MessagePack> =
    Exchange<'a, R, H, C>;

/// A function whose calls each run in a background process at one
/// address, its result kept there until an exchange connects:
/// pprocess's `PersistentCallable`, made by
/// [`Exchange::manage_persistent`].
///
/// Like [`Managed`](crate::Managed), it holds only the function; each
/// [`call`](PersistentCallable::call) takes the exchange whose builder
/// (codec, frame limit, log file) the background process uses. The
/// arguments reach the process through the fork; only the result travels.
/// One address holds one background process at a time: a second call
/// while the first one's result waits fails with
/// [`Error::Address`](crate::Error::Address).
pub struct PersistentCallable<A, F> {
    address: PathBuf,
    f: Rc<F>,
    _args: PhantomData<fn(A)>,
}

impl<A, F> fmt::Debug for PersistentCallable<A, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistentCallable")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl<A, F> Clone for PersistentCallable<A, F> {
    fn clone(&self) -> Self {
        PersistentCallable {
            address: self.address.clone(),
            f: Rc::clone(&self.f),
            _args: PhantomData,
        }
    }
}

impl<A, F> PersistentCallable<A, F> {
    /// Where its background processes listen.
    #[must_use]
    pub fn address(&self) -> &Path {
        &self.address
    }

    /// Starts `f(args)` in a detached background process listening at the
    /// callable's address; its result waits there for an exchange to
    /// [connect](Exchange::connect). Returns the handle on the process
    /// (dropping it leaves the process running).
    ///
    /// # Errors
    ///
    /// [`Error::Address`](crate::Error::Address) if the address is too
    /// long or in use; [`Error::Fork`](crate::Error::Fork) if `fork`
    /// fails.
    pub fn call<R, H, C>(&self, exchange: &Exchange<'_, R, H, C>, args: A) -> Result<Background>
    where
        F: Fn(A) -> R,
        R: Serialize,
        C: Codec,
    {
        let f = Rc::clone(&self.f);
        exchange
            .builder()
            .start_persistent(&self.address, move |ch: &mut PersistentChannel<C>| {
                ch.send(&f(args))
            })
    }
}

impl<R, H, C: Codec> Exchange<'_, R, H, C> {
    /// Starts a detached background process listening at `address` that
    /// runs `f` with its persistent channel: pprocess's
    /// `PersistentExchange.start(address, callable)`. Collect what it sends
    /// with [`Exchange::connect`], from this exchange or another, in this
    /// run or a later one. The process uses this exchange's builder (codec,
    /// frame limit, log file); it does not count against the limit.
    ///
    /// # Errors
    ///
    /// As for [`Builder::start_persistent`](crate::Builder::start_persistent).
    pub fn start_persistent<F, O>(&self, address: impl AsRef<Path>, f: F) -> Result<Background>
    where
        F: FnOnce(&mut PersistentChannel<C>) -> O,
        O: ChildOutcome,
    {
        self.builder().start_persistent(address, f)
    }

    /// Binds `address` and forks a detached background process that owns
    /// it: pprocess's `PersistentExchange.create(address)`. The caller
    /// gets [`PersistentFork::Parent`]; the background process gets
    /// [`PersistentFork::Child`] with its persistent channel, and ends with
    /// [`PersistentChannel::exit`].
    ///
    /// # Errors
    ///
    /// As for [`Builder::create_persistent`](crate::Builder::create_persistent).
    pub fn create_persistent(&self, address: impl AsRef<Path>) -> Result<PersistentFork<C>> {
        self.builder().create_persistent(address)
    }

    /// Wraps `f` so that each call runs in a background process at
    /// `address` and keeps its return value there for whoever connects:
    /// pprocess's `PersistentExchange.manage(address, MakeParallel(f))`.
    /// See [`PersistentCallable`].
    pub fn manage_persistent<A, F>(
        &self,
        address: impl Into<PathBuf>,
        f: F,
    ) -> PersistentCallable<A, F>
    where
        F: Fn(A) -> R,
    {
        PersistentCallable {
            address: address.into(),
            f: Rc::new(f),
            _args: PhantomData,
        }
    }
}

/// A [`Queue`] that collects from background processes it
/// [connects](Exchange::connect) to: pprocess's `PersistentQueue`.
///
/// # Examples
///
/// ```
/// use pprocess_exchange::{PersistentQueue, start_persistent};
///
/// let dir = std::env::temp_dir().join(format!("pp-pq-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// for i in 0..3u32 {
///     start_persistent(dir.join(format!("task-{i}.socket")), move |ch| ch.send(&(i * 10)))?;
/// }
/// let mut queue = PersistentQueue::<u32>::new()?;
/// for i in 0..3 {
///     queue.connect(dir.join(format!("task-{i}.socket")))?;
/// }
/// let mut got: Vec<u32> = queue.collect::<Result<_, _>>()?;
/// got.sort();
/// assert_eq!(got, [0, 10, 20]);
/// pprocess_exchange::waitall()?;
/// std::fs::remove_dir(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type PersistentQueue<'a, R, C = pprocess_transport::MessagePack> = Queue<'a, R, C>;

impl<R: DeserializeOwned, H: Handler<R, C>, C: Codec> Exchange<'_, R, H, C> {
    /// Connects to the background process at `address` and registers the
    /// channel (waiting for the limit first), so its results arrive like any
    /// child's. pprocess's `connect`.
    ///
    /// # Errors
    ///
    /// [`Error::Address`](crate::Error::Address) if nothing listens at
    /// `address`.
    pub fn connect(&mut self, address: impl AsRef<Path>) -> Result<ChannelId> {
        self.wait()?;
        let channel = self.builder().connect(address)?;
        self.add(channel)
    }
}

/// A queue of the results of the one background process at `address`:
/// pprocess's `BackgroundQueue(address)`.
///
/// # Examples
///
/// ```
/// use pprocess_exchange::{background_queue, start_persistent};
///
/// let address = std::env::temp_dir().join(format!("pp-bq-{}.socket", std::process::id()));
/// let mut bg = start_persistent(&address, |ch| {
///     for i in 0..5u8 {
///         ch.send(&i)?;
///     }
///     Ok::<(), pprocess_exchange::Error>(())
/// })?;
/// let queue = background_queue::<u8>(&address)?.continuous(true);
/// assert_eq!(queue.collect::<Result<Vec<_>, _>>()?, [0, 1, 2, 3, 4]);
/// bg.wait()?;
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
///
/// # Errors
///
/// As for [`Exchange::connect`].
pub fn background_queue<R: DeserializeOwned>(
    address: impl AsRef<Path>,
) -> Result<Queue<'static, R>> {
    let mut queue = Queue::new()?.limit(1);
    queue.connect(address)?;
    Ok(queue)
}
