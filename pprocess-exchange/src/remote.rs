//! Work that is a function plus serde arguments — what a fork server (or
//! another host) can run: [`Exchange::call_fn`], [`Exchange::manage_fn`]
//! and [`pmap_fn`].
//!
//! With a builder that has a fork server
//! ([`Builder::fork_server`](pprocess_transport::Builder::fork_server)),
//! each worker is forked by the server from its clean copy of the program;
//! without one, by this process, as for [`Exchange::call`].

use std::fmt;
use std::rc::Rc;

use pprocess_core::{Codec, Result};
use pprocess_transport::{Builder, Channel, ChildFailure, RemoteFn, num_cores};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::exchange::{ChannelId, Exchange, Feed, Handler, Job, Refeed, RemoteStart, Serves};
use crate::map::Map;

/// Chunks handed to each worker of [`pmap_fn`], so that work stays
/// balanced when items take different times.
const CHUNKS_PER_WORKER: usize = 8;

/// The most items in one chunk of [`pmap_fn`].
const MAX_CHUNK: usize = 8192;

fn never_forked<C>(_: &mut Channel<C>) -> std::result::Result<(), ChildFailure> {
    Err(ChildFailure::new(
        "remote work runs in a spawned worker, never in a fork",
    ))
}

impl<R, H, C> Exchange<'_, R, H, C>
where
    R: Serialize + DeserializeOwned + 'static,
    H: Handler<R, C>,
    C: Codec,
{
    /// Starts a worker that computes `f(args)` and sends back its value,
    /// like [`Exchange::call`] but for a function plus arguments rather
    /// than a closure, so that the exchange's fork server (if its builder
    /// has one) can run it. Returns the id of the result.
    ///
    /// `f` is a `fn` item or a closure that captures nothing; `args`
    /// travel through the codec. With [`Exchange::reuse`], a worker that has
    /// sent its result takes the next waiting call of the same function
    /// (pprocess's `start(MakeReusable(f), args)` on a reusing exchange):
    /// many calls run on `limit` processes. Calls of different functions
    /// can share one exchange; each worker only ever runs its own function.
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
    /// let mut map = Map::<u64>::new()?.limit(2);
    /// for x in 1..=4 {
    ///     map.call_fn(cube, x)?;
    /// }
    /// assert_eq!(map.into_vec()?, [1, 8, 27, 64]);
    ///
    /// // Reused: twenty calls, two processes.
    /// let mut map = Map::<(u64, u32)>::new()?.limit(2).reuse(true);
    /// for x in 0..20 {
    ///     map.call_fn(|x: u64| (x + 1, std::process::id()), x)?;
    /// }
    /// let mut pids: Vec<u32> = map.into_vec()?.iter().map(|r| r.1).collect();
    /// pids.sort();
    /// pids.dedup();
    /// assert!(pids.len() <= 2);
    /// # Ok::<(), pprocess_exchange::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Exchange::start`]; also [`Error::Fork`](crate::Error::Fork)
    /// if the fork server has gone.
    pub fn call_fn<A>(&mut self, f: fn(A) -> R, args: A) -> Result<ChannelId>
    where
        A: Serialize + DeserializeOwned + 'static,
    {
        remote_job(self, RemoteFn::new(f), args)
    }

    /// Wraps `f` so that each call runs in a worker of this exchange and
    /// sends its return value back: [`Exchange::manage`] for a function
    /// plus arguments, so that the exchange's fork server (if its builder
    /// has one) can run it. With [`Exchange::reuse`], workers stay alive and
    /// take the next arguments.
    ///
    /// Several managed functions can share one reusing exchange: a free
    /// worker takes only waiting calls of its own function, and ends (making
    /// room for another function's worker) when none waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use pprocess_exchange::Queue;
    ///
    /// let mut queue = Queue::<(u32, u32)>::new()?.limit(2).reuse(true);
    /// let calc = queue.manage_fn(|(i, j): (u32, u32)| (i, i * j));
    /// for i in 0..4 {
    ///     calc.call(&mut queue, (i, 10))?;
    /// }
    /// let mut got: Vec<(u32, u32)> = queue.collect::<Result<_, _>>()?;
    /// got.sort();
    /// assert_eq!(got, [(0, 0), (1, 10), (2, 20), (3, 30)]);
    /// # Ok::<(), pprocess_exchange::Error>(())
    /// ```
    pub fn manage_fn<A>(&self, f: fn(A) -> R) -> ManagedFn<A, R, C>
    where
        A: Serialize + DeserializeOwned + 'static,
    {
        ManagedFn {
            func: RemoteFn::new(f),
            _args: std::marker::PhantomData,
        }
    }
}

/// Submits one call of `func` on `args`: to a new worker, or, with reuse,
/// to a live worker of the same function when one is free (whichever
/// comes first takes the arguments).
fn remote_job<A, R, H, C>(
    exchange: &mut Exchange<'_, R, H, C>,
    func: RemoteFn<C>,
    args: A,
) -> Result<ChannelId>
where
    A: Serialize + 'static,
    R: DeserializeOwned,
    H: Handler<R, C>,
    C: Codec,
{
    let index = exchange.next_index();
    let args = Rc::new(args);
    let feed = exchange.is_reuse().then(|| {
        let again = Rc::clone(&args);
        Feed {
            serves: Serves::Remote(func.to_bytes()),
            give: Box::new(move |ch: &mut Channel<C>| ch.feed(&*again)) as Refeed<'_, C>,
        }
    });
    exchange.submit(Job {
        index,
        run: Box::new(never_forked),
        feed,
        remote: Some(RemoteStart {
            func,
            first: Box::new(move |ch: &mut Channel<C>| ch.feed(&*args)),
        }),
    })
}

/// A function plus arguments whose calls run in workers of an exchange:
/// made by [`Exchange::manage_fn`]. Like [`Managed`](crate::Managed), it
/// holds only the function: each call takes the exchange.
pub struct ManagedFn<A, R, C> {
    func: RemoteFn<C>,
    _args: std::marker::PhantomData<fn(A) -> R>,
}

impl<A, R, C> fmt::Debug for ManagedFn<A, R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedFn")
            .field("func", &self.func)
            .finish_non_exhaustive()
    }
}

impl<A, R, C> ManagedFn<A, R, C>
where
    R: Serialize + DeserializeOwned + 'static,
    C: Codec,
    A: Serialize + DeserializeOwned + 'static,
{
    /// Starts the function on `args` in a worker (or queues it under the
    /// limit, or, with reuse, sends it to a worker when one is free).
    /// Returns the index of its result.
    ///
    /// # Errors
    ///
    /// As for [`Exchange::call_fn`].
    pub fn call<H: Handler<R, C>>(
        &self,
        exchange: &mut Exchange<'_, R, H, C>,
        args: A,
    ) -> Result<ChannelId> {
        remote_job(exchange, self.func, args)
    }
}

/// A parallel map of a function over items that travel to the workers:
/// [`pmap`](crate::pmap) for a function plus serde arguments, so that a
/// fork server (a builder's
/// [`fork_server`](pprocess_transport::Builder::fork_server)) can run it.
/// Results come back in input order.
///
/// `limit` workers (default: [`num_cores`]; fewer if there are fewer
/// items) are started once and reused: the items are sent to them in
/// chunks, and each chunk's results come back in one message. Unlike
/// [`pmap`](crate::pmap), whose forked workers already hold the items,
/// every item crosses a channel here; use `pmap` where no fork server is
/// needed.
///
/// # Examples
///
/// ```
/// use pprocess_exchange::{Builder, MessagePack, pmap_fn};
///
/// let builder = Builder::<MessagePack>::new(); // or `server.builder()`
/// let words = vec!["a".to_string(), "bb".into(), "ccc".into()];
/// let lengths = pmap_fn(&builder, |s: String| s.len(), words, 2)?;
/// assert_eq!(lengths, [1, 2, 3]);
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
///
/// # Errors
///
/// The first failure in input order: [`Error::Remote`](crate::Error::Remote)
/// if `f` panicked on an item (the message names the item's position),
/// [`Error::ChildDied`](crate::Error::ChildDied) if a worker died with
/// items in hand, [`Error::Fork`](crate::Error::Fork) if no worker could
/// be started.
pub fn pmap_fn<T, R, C>(
    builder: &Builder<C>,
    f: fn(T) -> R,
    items: impl IntoIterator<Item = T>,
    limit: impl Into<Option<usize>>,
) -> Result<Vec<R>>
where
    T: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + 'static,
    C: Codec,
{
    let mut items: Vec<T> = items.into_iter().collect();
    let n = items.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    let workers = limit.into().unwrap_or_else(num_cores).clamp(1, n);
    let chunk = (n / (workers * CHUNKS_PER_WORKER)).clamp(1, MAX_CHUNK);
    let func = RemoteFn::<C>::each(f);
    let mut map = Map::<Vec<R>, C>::with_builder(builder.clone())?
        .limit(workers)
        .reuse(true);
    let mut first = 0;
    // Chunks are cut from the front; `drain` keeps the rest in place.
    while !items.is_empty() {
        let take = chunk.min(items.len());
        let part: Vec<T> = items.drain(..take).collect();
        let index = map.next_index();
        let args = Rc::new((first, part));
        let again = Rc::clone(&args);
        map.submit(Job {
            index,
            run: Box::new(never_forked),
            feed: Some(Feed {
                serves: Serves::Remote(func.to_bytes()),
                give: Box::new(move |ch: &mut Channel<C>| ch.feed(&*again)),
            }),
            remote: Some(RemoteStart {
                func,
                first: Box::new(move |ch: &mut Channel<C>| ch.feed(&*args)),
            }),
        })?;
        first += take;
    }
    let mut out = Vec::with_capacity(n);
    for part in map {
        out.extend(part?);
    }
    Ok(out)
}
