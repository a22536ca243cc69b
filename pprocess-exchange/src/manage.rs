//! Managed callables: pprocess's `MakeParallel`, `MakeReusable` and
//! `Exchange.manage`.
//!
//! A managed callable holds only the function: each call takes the
//! exchange it runs on, so several callables can share one exchange and
//! results can be read between calls.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use pprocess_core::{Codec, Error, Result};
use pprocess_transport::{Channel, ChildFailure};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::exchange::{ChannelId, Exchange, Feed, Handler, Job, Serves};

/// Numbers the reusable callables made in this process: a reused worker
/// takes only the arguments of the callable it was started for.
static NEXT_CALLABLE: AtomicU64 = AtomicU64::new(0);

/// A function whose calls run in children of an exchange, one child per
/// call: pprocess's `exchange.manage(MakeParallel(f))`.
///
/// Made by [`Exchange::manage`]; each [`Managed::call`] starts (or queues
/// under the limit) one computation on the exchange it is given and
/// returns the id its result will carry. The arguments reach the child
/// through the fork, so they need no serde; only the result travels.
///
/// # Examples
///
/// ```
/// use pprocess_exchange::Queue;
///
/// let mut queue = Queue::<(u32, u32)>::new()?.limit(2);
/// let calc = queue.manage(|(i, j): (u32, u32)| (i, i * j));
/// let double = queue.manage(|(i, _): (u32, u32)| (i, 2 * i));
/// for i in 0..3 {
///     calc.call(&mut queue, (i, 10))?;
///     double.call(&mut queue, (i + 10, 0))?;
/// }
/// let mut got: Vec<(u32, u32)> = queue.collect::<Result<_, _>>()?;
/// got.sort();
/// assert_eq!(got, [(0, 0), (1, 10), (2, 20), (10, 20), (11, 22), (12, 24)]);
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
///
/// A callable cannot outlive what its function borrows:
///
/// ```compile_fail,E0597
/// use pprocess_exchange::Map;
///
/// let mut map = Map::<usize>::new()?;
/// {
///     let data = vec![1, 2, 3];
///     let len = map.manage(|extra: usize| data.len() + extra);
///     len.call(&mut map, 1)?;
/// } // `data` is dropped here, while `map` still holds the call
/// let _ = map.into_vec();
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
pub struct Managed<A, F> {
    f: Rc<F>,
    _args: PhantomData<fn(A)>,
}

/// A function whose workers are reused when the exchange has
/// [`Exchange::reuse`] on: pprocess's `MakeReusable`. A worker computes a
/// call, sends the result and waits for the next arguments, which travel
/// through the codec (so they must be serde types). Without reuse it
/// behaves as [`Managed`].
///
/// Made by [`Exchange::manage_reusable`].
///
/// # Examples
///
/// ```
/// use pprocess_exchange::Map;
///
/// let mut map = Map::<(u64, u32)>::new()?.limit(2).reuse(true);
/// let f = map.manage_reusable(|x: u64| (x * x, std::process::id()));
/// for x in 0..20u64 {
///     f.call(&mut map, x)?;
/// }
/// let got = map.into_vec()?;
/// let squares: Vec<u64> = got.iter().map(|r| r.0).collect();
/// assert_eq!(squares, (0..20u64).map(|x| x * x).collect::<Vec<_>>());
/// let mut workers: Vec<u32> = got.iter().map(|r| r.1).collect();
/// workers.sort();
/// workers.dedup();
/// assert_eq!(workers.len(), 2); // 20 calls on 2 processes
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
pub struct Reusable<A, F> {
    f: Rc<F>,
    id: u64,
    _args: PhantomData<fn(A)>,
}

impl<A, F> fmt::Debug for Managed<A, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Managed").finish_non_exhaustive()
    }
}

impl<A, F> fmt::Debug for Reusable<A, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reusable").finish_non_exhaustive()
    }
}

impl<A, F> Clone for Managed<A, F> {
    fn clone(&self) -> Self {
        Managed {
            f: Rc::clone(&self.f),
            _args: PhantomData,
        }
    }
}

impl<A, F> Clone for Reusable<A, F> {
    fn clone(&self) -> Self {
        Reusable {
            f: Rc::clone(&self.f),
            id: self.id,
            _args: PhantomData,
        }
    }
}

impl<R, H, C> Exchange<'_, R, H, C> {
    /// Wraps `f` so that each call runs in a child of an exchange and sends
    /// its return value back (pprocess's `manage(MakeParallel(f))`).
    /// The callable does not borrow the exchange: pass it to each
    /// [`Managed::call`].
    pub fn manage<A, F>(&self, f: F) -> Managed<A, F>
    where
        F: Fn(A) -> R,
    {
        Managed {
            f: Rc::new(f),
            _args: PhantomData,
        }
    }

    /// Wraps `f` for reused workers (pprocess's
    /// `manage(MakeReusable(f))`); see [`Reusable`].
    pub fn manage_reusable<A, F>(&self, f: F) -> Reusable<A, F>
    where
        F: Fn(A) -> R,
        A: Serialize + DeserializeOwned,
    {
        Reusable {
            f: Rc::new(f),
            id: NEXT_CALLABLE.fetch_add(1, Ordering::Relaxed),
            _args: PhantomData,
        }
    }
}

impl<A, F> Managed<A, F> {
    /// Starts `f(args)` in a child of `exchange` (or queues it under the
    /// limit). Returns the id of its result.
    ///
    /// # Errors
    ///
    /// [`Error::Fork`] or [`Error::Io`] if a child cannot be started (other
    /// than a temporary lack of processes or descriptors, which queues it).
    pub fn call<'a, R, H, C>(
        &self,
        exchange: &mut Exchange<'a, R, H, C>,
        args: A,
    ) -> Result<ChannelId>
    where
        A: 'a,
        F: Fn(A) -> R + 'a,
        R: Serialize + DeserializeOwned,
        H: Handler<R, C>,
        C: Codec,
    {
        let index = exchange.next_index();
        let f = Rc::clone(&self.f);
        exchange.submit(Job {
            index,
            run: Box::new(move |ch| ch.send(&f(args)).map_err(|e| ChildFailure::from_error(&e))),
            feed: None,
            remote: None,
        })
    }
}

impl<A, F> Reusable<A, F> {
    /// Starts `f(args)`: with [`Exchange::reuse`], on a worker that is free
    /// (sending it the arguments) or a new one under the limit; without, in
    /// a child of its own. Returns the id of its result.
    ///
    /// # Errors
    ///
    /// As for [`Managed::call`].
    pub fn call<'a, R, H, C>(
        &self,
        exchange: &mut Exchange<'a, R, H, C>,
        args: A,
    ) -> Result<ChannelId>
    where
        A: Serialize + DeserializeOwned + 'a,
        F: Fn(A) -> R + 'a,
        R: Serialize + DeserializeOwned,
        H: Handler<R, C>,
        C: Codec,
    {
        if !exchange.is_reuse() {
            return Managed {
                f: Rc::clone(&self.f),
                _args: PhantomData,
            }
            .call(exchange, args);
        }
        let index = exchange.next_index();
        let f = Rc::clone(&self.f);
        // The arguments go either into a new child (through the fork) or
        // to a live worker (through the codec): whichever runs first takes
        // them. In a new child, taking them changes only the child's copy.
        let args = Rc::new(RefCell::new(Some(args)));
        let for_feed = Rc::clone(&args);
        exchange.submit(Job {
            index,
            run: Box::new(move |ch| {
                let Some(first) = args.borrow_mut().take() else {
                    return Err(ChildFailure::new(
                        "arguments already sent to another worker",
                    ));
                };
                reusable_loop(ch, &*f, first).map_err(|e| ChildFailure::from_error(&e))
            }),
            feed: Some(Feed {
                serves: Serves::Closure(self.id),
                // By reference: if the worker sent these arguments ends
                // before it starts on them, they go to another worker or
                // into a new child.
                give: Box::new(
                    move |ch: &mut Channel<C>| match for_feed.borrow().as_ref() {
                        Some(args) => ch.feed(args),
                        None => Err(Error::Protocol("arguments already taken".into())),
                    },
                ),
            }),
            remote: None,
        })
    }
}

/// pprocess's `MakeReusable`: compute, send, wait for the next arguments;
/// stop at end of stream.
fn reusable_loop<A, R, C, F>(ch: &mut Channel<C>, f: &F, first: A) -> Result<()>
where
    A: DeserializeOwned,
    R: Serialize,
    C: Codec,
    F: Fn(A) -> R,
{
    let mut args = first;
    loop {
        ch.send(&f(args))?;
        match ch.receive::<A>() {
            Ok(next) => args = next,
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
