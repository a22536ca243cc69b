//! `Map`: results in submission order (pprocess's `Map`).

use std::ops::{Deref, DerefMut};

use pprocess_core::{Codec, Error, Result};
use pprocess_transport::{Builder, MessagePack};
use serde::de::DeserializeOwned;

use crate::exchange::{Exchange, Handler, Message};

#[derive(Debug)]
enum Entry<R> {
    Pending,
    Ready(Result<R>),
    Taken,
}

/// The handler behind [`Map`]: a result slot per index.
#[derive(Debug)]
pub struct MapStore<R> {
    results: Vec<Entry<R>>,
}

impl<R> Default for MapStore<R> {
    fn default() -> Self {
        MapStore {
            results: Vec::new(),
        }
    }
}

impl<R, C> Handler<R, C> for MapStore<R> {
    fn store(&mut self, message: Message<R>) {
        let i = message.index;
        if self.results.len() <= i {
            self.results.resize_with(i + 1, || Entry::Pending);
        }
        // The first word for an index stands: a child that sent its result
        // and then died is not reported twice.
        if matches!(self.results[i], Entry::Pending) {
            self.results[i] = Entry::Ready(message.result);
        }
    }
}

/// A copy of an error for [`Map::get`], which must leave the original in
/// place for iteration: the same variant and fields where they can be
/// copied, else the same text.
fn restate(e: &Error) -> Error {
    match e {
        Error::ChildDied { pid, status } => Error::ChildDied {
            pid: *pid,
            status: *status,
        },
        Error::Closed => Error::Closed,
        Error::Timeout(d) => Error::Timeout(*d),
        Error::Truncated { expected, got } => Error::Truncated {
            expected: *expected,
            got: *got,
        },
        Error::FrameTooLarge { len, max } => Error::FrameTooLarge {
            len: *len,
            max: *max,
        },
        Error::Decode { expected, message } => Error::Decode {
            expected,
            message: message.clone(),
        },
        Error::Encode { type_name, message } => Error::Encode {
            type_name,
            message: message.clone(),
        },
        Error::Protocol(m) => Error::Protocol(m.clone()),
        Error::Remote {
            pid,
            message,
            kind,
            source,
        } => Error::Remote {
            pid: *pid,
            message: message.clone(),
            kind: *kind,
            source: source.clone(),
        },
        other => Error::Protocol(other.to_string()),
    }
}

/// An exchange whose results come back in the order the work was submitted,
/// whatever order children finish in: pprocess's `Map`.
///
/// Submit work with [`Exchange::call`], [`Exchange::start`],
/// [`Exchange::manage`] or [`Exchange::create`] (reached through `Deref`);
/// then iterate (each result as soon as it and all before it are in), index
/// with [`Map::get`] (blocks only until that result is in), or collect.
/// A child that fails yields `Err` at its place; the others are unaffected.
///
/// # Examples
///
/// ```
/// use pprocess_exchange::Map;
///
/// let mut map = Map::<u64>::new()?.limit(2);
/// for i in 0..6u64 {
///     map.call(move || {
///         // Later items finish first; the Map still returns them in order.
///         std::thread::sleep(std::time::Duration::from_millis(30 - 5 * i));
///         i * 10
///     })?;
/// }
/// assert_eq!(map.get(3)?, &30);
/// let all: Vec<u64> = map.collect::<Result<_, _>>()?;
/// assert_eq!(all, [0, 10, 20, 30, 40, 50]);
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
#[derive(Debug)]
pub struct Map<'a, R, C = MessagePack> {
    exchange: Exchange<'a, R, MapStore<R>, C>,
    next: usize,
}

impl<R: DeserializeOwned> Map<'_, R> {
    /// A map over socketpair channels with the MessagePack codec.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the epoll instance cannot be made.
    pub fn new() -> Result<Self> {
        Map::with_builder(Builder::new())
    }
}

impl<R: DeserializeOwned, C: Codec> Map<'_, R, C> {
    /// A map whose channels `builder` makes.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the epoll instance cannot be made.
    pub fn with_builder(builder: Builder<C>) -> Result<Self> {
        Ok(Map {
            exchange: Exchange::with_builder(builder, MapStore::default())?,
            next: 0,
        })
    }

    /// See [`Exchange::limit`].
    #[must_use]
    pub fn limit(mut self, limit: impl Into<Option<usize>>) -> Self {
        self.exchange = self.exchange.limit(limit);
        self
    }

    /// See [`Exchange::reuse`].
    #[must_use]
    pub fn reuse(mut self, reuse: bool) -> Self {
        self.exchange = self.exchange.reuse(reuse);
        self
    }

    /// See [`Exchange::continuous`]: only the first message of each index
    /// is kept.
    #[must_use]
    pub fn continuous(mut self, continuous: bool) -> Self {
        self.exchange = self.exchange.continuous(continuous);
        self
    }

    /// Stores messages until result `index` is in, and returns it. Works
    /// between steps of iteration, for results iteration has not taken
    /// yet.
    ///
    /// # Errors
    ///
    /// The item's own failure (restated: the map keeps the original for
    /// iteration); [`Error::Protocol`] if nothing was submitted with that
    /// index or iteration has already taken it.
    pub fn get(&mut self, index: usize) -> Result<&R> {
        let submitted = self.exchange.submitted();
        if index >= submitted {
            return Err(Error::Protocol(format!(
                "no result {index}: {submitted} were submitted"
            )));
        }
        self.wait_for(index);
        match &self.exchange.handler().results[index] {
            Entry::Ready(Ok(r)) => Ok(r),
            Entry::Ready(Err(e)) => Err(restate(e)),
            Entry::Taken => Err(Error::Protocol(format!(
                "result {index} was taken by iteration"
            ))),
            Entry::Pending => Err(Error::Protocol(format!("result {index} never came"))),
        }
    }

    /// Stores messages until results `range` are all in, and returns them
    /// in order (pprocess's `results[a:b]`).
    ///
    /// # Examples
    ///
    /// ```
    /// use pprocess_exchange::Map;
    ///
    /// let mut map = Map::<u32>::new()?.limit(2);
    /// for i in 0..6u32 {
    ///     map.call(move || i * i)?;
    /// }
    /// assert_eq!(map.get_range(2..5)?, [&4, &9, &16]);
    /// assert_eq!(map.get(5)?, &25);
    /// # Ok::<(), pprocess_exchange::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The first failure in the range, as for [`Map::get`].
    pub fn get_range(&mut self, range: std::ops::Range<usize>) -> Result<Vec<&R>> {
        for i in range.clone() {
            self.get(i)?;
        }
        let results = &self.exchange.handler().results;
        Ok(range
            .filter_map(|i| match &results[i] {
                Entry::Ready(Ok(r)) => Some(r),
                _ => None,
            })
            .collect())
    }

    /// Stores until `index` is no longer pending.
    fn wait_for(&mut self, index: usize) {
        loop {
            let results = &self.exchange.handler().results;
            if !matches!(results.get(index), None | Some(Entry::Pending)) {
                return;
            }
            if !self.exchange.unfinished() {
                self.fail_pending(|| Error::Protocol("no result was delivered".into()));
                return;
            }
            if let Err(e) = self.exchange.store(None) {
                // Work that could not start stays queued: this result is
                // the error, later ones try again.
                let store = self.exchange.handler_mut();
                store.results.resize_with(index + 1, || Entry::Pending);
                if matches!(store.results[index], Entry::Pending) {
                    store.results[index] = Entry::Ready(Err(e));
                }
                return;
            }
        }
    }

    /// Gives every pending index the error `make()`.
    fn fail_pending(&mut self, make: impl Fn() -> Error) {
        let n = self.exchange.submitted();
        let store = self.exchange.handler_mut();
        store.results.resize_with(n, || Entry::Pending);
        for e in &mut store.results {
            if matches!(e, Entry::Pending) {
                *e = Entry::Ready(Err(make()));
            }
        }
    }

    /// Waits for every result and returns them in order, or the first
    /// error.
    ///
    /// # Errors
    ///
    /// The first error in submission order.
    pub fn into_vec(self) -> Result<Vec<R>> {
        self.collect()
    }
}

impl<R: DeserializeOwned, C: Codec> Iterator for Map<'_, R, C> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        let index = self.next;
        if index >= self.exchange.submitted() {
            return None;
        }
        self.wait_for(index);
        if index + 1 == self.exchange.submitted() {
            // The last result: its children end before it is handed out.
            if let Err(e) = self.exchange.settle() {
                return Some(Err(e));
            }
        }
        self.next += 1;
        match std::mem::replace(
            &mut self.exchange.handler_mut().results[index],
            Entry::Taken,
        ) {
            Entry::Ready(r) => Some(r),
            _ => Some(Err(Error::Protocol(format!("result {index} was taken")))),
        }
    }
}

impl<'a, R, C> Deref for Map<'a, R, C> {
    type Target = Exchange<'a, R, MapStore<R>, C>;
    fn deref(&self) -> &Self::Target {
        &self.exchange
    }
}

impl<R, C> DerefMut for Map<'_, R, C> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.exchange
    }
}
