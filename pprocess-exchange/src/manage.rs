//! Managed callables: pprocess's `MakeParallel`, `MakeReusable` and
//! `Exchange.manage`.

use std::fmt;
use std::rc::Rc;

use pprocess_core::{Codec, Error, Result};
use pprocess_transport::Channel;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::exchange::{Exchange, Handler, Job};

/// A function whose calls run in children managed by an exchange:
/// pprocess's `exchange.manage(MakeParallel(f))`, or with
/// [`Exchange::reuse`] on, `MakeReusable(f)`.
///
/// Made by [`Exchange::manage`]; each [`Managed::call`] starts (or queues)
/// one computation and returns the index its result will carry.
///
/// # Examples
///
/// ```
/// use pprocess_exchange::Queue;
///
/// let mut queue = Queue::<(u32, u32)>::new()?.limit(2);
/// let mut calc = queue.manage(|(i, j): (u32, u32)| (i, i * j));
/// for i in 0..3 {
///     calc.call((i, 10))?;
/// }
/// let mut got: Vec<(u32, u32)> = queue.collect::<Result<_, _>>()?;
/// got.sort();
/// assert_eq!(got, [(0, 0), (1, 10), (2, 20)]);
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
pub struct Managed<'e, A, R, H, C, F> {
    exchange: &'e mut Exchange<R, H, C>,
    f: Rc<F>,
    _args: std::marker::PhantomData<fn(A)>,
}

impl<A, R, H, C, F> fmt::Debug for Managed<'_, A, R, H, C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Managed").finish_non_exhaustive()
    }
}

impl<R, H, C> Exchange<R, H, C>
where
    R: Serialize + DeserializeOwned + 'static,
    H: Handler<R>,
    C: Codec,
{
    /// Wraps `f` so that each call runs in a child of this exchange and
    /// sends its return value back (pprocess's `manage`). With
    /// [`Exchange::reuse`], workers stay alive and take the next arguments
    /// over their channel, so `A` travels through the codec.
    pub fn manage<A, F>(&mut self, f: F) -> Managed<'_, A, R, H, C, F>
    where
        F: Fn(A) -> R + 'static,
        A: Serialize + DeserializeOwned + Clone + 'static,
    {
        Managed {
            exchange: self,
            f: Rc::new(f),
            _args: std::marker::PhantomData,
        }
    }
}

impl<A, R, H, C, F> Managed<'_, A, R, H, C, F>
where
    R: Serialize + DeserializeOwned + 'static,
    H: Handler<R>,
    C: Codec,
    F: Fn(A) -> R + 'static,
    A: Serialize + DeserializeOwned + Clone + 'static,
{
    /// Starts `f(args)` in a child (or queues it under the limit, or, with
    /// reuse, sends it to a worker when one is free). Returns the index of
    /// its result.
    ///
    /// # Errors
    ///
    /// [`Error::Fork`] or [`Error::Io`] if a child cannot be started.
    pub fn call(&mut self, args: A) -> Result<usize> {
        let index = self.exchange.next_index();
        let f = Rc::clone(&self.f);
        let job = if self.exchange.is_reuse() {
            let first = args.clone();
            Job {
                index,
                run: Box::new(move |ch| reusable_loop(ch, &*f, first).map_err(|e| e.to_string())),
                feed: Some(Box::new(move |ch: &mut Channel<C>| ch.feed(&args))),
                remote: None,
            }
        } else {
            Job {
                index,
                run: Box::new(move |ch| ch.send(&f(args)).map_err(|e| e.to_string())),
                feed: None,
                remote: None,
            }
        };
        self.exchange.submit(job)
    }

    /// The exchange, for its other operations while this callable lives.
    pub fn exchange(&mut self) -> &mut Exchange<R, H, C> {
        self.exchange
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
