//! `Queue`: results in arrival order (pprocess's `Queue`).

use std::ops::{Deref, DerefMut};

use pprocess_core::{Codec, Result};
use pprocess_transport::{Builder, MessagePack};
use serde::de::DeserializeOwned;

use crate::exchange::{Exchange, Inbox, Message};

/// An exchange whose results come out in the order they arrive:
/// pprocess's `Queue`.
///
/// Submit work through `Deref` to [`Exchange`]; iterate to get results
/// (`Result<R>`), or [`Queue::next_message`] for the index and pid as
/// well. Iteration ends when all work has finished and every result has
/// been taken.
///
/// # Examples
///
/// ```
/// use pprocess_exchange::Queue;
///
/// let mut queue = Queue::<String>::new()?.continuous(true);
/// queue.start(|ch| {
///     for word in ["a", "b", "c"] {
///         ch.send(word)?;
///     }
///     Ok::<(), pprocess_exchange::Error>(())
/// })?;
/// let words: Vec<String> = queue.collect::<Result<_, _>>()?;
/// assert_eq!(words, ["a", "b", "c"]);
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
#[derive(Debug)]
pub struct Queue<'a, R, C = MessagePack> {
    exchange: Exchange<'a, R, Inbox<R>, C>,
}

impl<R: DeserializeOwned> Queue<'_, R> {
    /// A queue over socketpair channels with the MessagePack codec.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if the epoll instance cannot be made.
    pub fn new() -> Result<Self> {
        Queue::with_builder(Builder::new())
    }
}

impl<R: DeserializeOwned, C: Codec> Queue<'_, R, C> {
    /// A queue whose channels `builder` makes.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if the epoll instance cannot be made.
    pub fn with_builder(builder: Builder<C>) -> Result<Self> {
        Ok(Queue {
            exchange: Exchange::with_builder(builder, Inbox::default())?,
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

    /// See [`Exchange::continuous`].
    #[must_use]
    pub fn continuous(mut self, continuous: bool) -> Self {
        self.exchange = self.exchange.continuous(continuous);
        self
    }

    /// Results received and not yet taken (pprocess's `len(queue)`).
    #[must_use]
    pub fn len(&self) -> usize {
        self.exchange.handler().len()
    }

    /// Whether no result is waiting to be taken.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.exchange.handler().is_empty()
    }

    /// The next message with its index and pid, waiting for one if work is
    /// unfinished; `None` when everything has been taken.
    ///
    /// # Errors
    ///
    /// As for [`Exchange::store`].
    pub fn next_message(&mut self) -> Result<Option<Message<R>>> {
        loop {
            if let Some(m) = self.exchange.handler_mut().pop() {
                if self.exchange.handler().is_empty() {
                    // Perhaps the last result: its children end before it
                    // is handed out.
                    self.exchange.settle()?;
                }
                return Ok(Some(m));
            }
            if !self.exchange.unfinished() {
                return Ok(None);
            }
            self.exchange.store(None)?;
        }
    }
}

impl<R: DeserializeOwned, C: Codec> Iterator for Queue<'_, R, C> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        match self.next_message() {
            Ok(m) => m.map(|m| m.result),
            Err(e) => Some(Err(e)),
        }
    }
}

impl<'a, R, C> Deref for Queue<'a, R, C> {
    type Target = Exchange<'a, R, Inbox<R>, C>;
    fn deref(&self) -> &Self::Target {
        &self.exchange
    }
}

impl<R, C> DerefMut for Queue<'_, R, C> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.exchange
    }
}
