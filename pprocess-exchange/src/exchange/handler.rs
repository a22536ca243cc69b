//! What an exchange does with each message: pprocess's `store_data`.

use std::collections::VecDeque;
use std::fmt;

use pprocess_core::{Pid, Result};
use pprocess_transport::{Channel, MessagePack};
use serde::Serialize;

use super::ChannelId;

/// One message (or failure) from a child, as the exchange delivers it.
#[derive(Debug)]
pub struct Message<R> {
    /// The position of the work in submission order: the value returned by
    /// [`Exchange::start`](crate::Exchange::start),
    /// [`Exchange::call`](crate::Exchange::call) or a managed call, or the
    /// index given to a channel by [`Exchange::add`](crate::Exchange::add).
    pub index: usize,
    /// The channel it arrived on.
    pub channel: ChannelId,
    /// The child's pid, when the channel belongs to a child of this process.
    pub pid: Option<Pid>,
    /// The message, or what went wrong: [`Error::Remote`](crate::Error::Remote)
    /// if the child panicked or returned an error,
    /// [`Error::ChildDied`](crate::Error::ChildDied) if it ended without a
    /// result, [`Error::Decode`](crate::Error::Decode) if the payload was
    /// not an `R`.
    pub result: Result<R>,
}

/// Receives every message an exchange collects: the Rust form of
/// pprocess's `store_data`, without subclassing.
///
/// Any `FnMut(Message<R>)` closure is a handler; so is [`Inbox`], which
/// keeps messages for later. A handler that answers the child that sent a
/// message, or stops the exchange with an error, implements
/// [`Handler::handle`] (or is made with [`answering`]).
///
/// # Examples
///
/// ```
/// use pprocess_exchange::{Exchange, Message};
///
/// let mut total = 0;
/// let mut ex = Exchange::with_handler(|m: Message<u32>| total += m.result.unwrap())?;
/// for i in 0..4u32 {
///     ex.call(move || i * 10)?;
/// }
/// ex.finish()?;
/// drop(ex);
/// assert_eq!(total, 60);
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
pub trait Handler<R, C = MessagePack> {
    /// Takes one message.
    fn store(&mut self, message: Message<R>);

    /// Takes one message, with a way to answer the child that sent it
    /// (nothing to answer on when the message reports the child's end).
    /// The exchange calls this for every message. Returning an error stops the exchange's
    /// [`store`](crate::Exchange::store) (and so `wait`, `finish`, ...)
    /// with that error; the exchange stays usable. By default it calls
    /// [`Handler::store`].
    ///
    /// # Errors
    ///
    /// Whatever the handler decides: it is handed to the caller of
    /// `store`.
    fn handle(&mut self, message: Message<R>, reply: Reply<'_, C>) -> Result<()> {
        let _ = reply;
        self.store(message);
        Ok(())
    }
}

/// The channel a message came from, for a [`Handler`] to answer on.
/// What it sends is written by the exchange without blocking. A message
/// that reports a child's end has no channel left to answer on.
pub struct Reply<'c, C = MessagePack> {
    channel: Option<&'c mut Channel<C>>,
}

impl<C> fmt::Debug for Reply<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply").finish_non_exhaustive()
    }
}

impl<'c, C> Reply<'c, C> {
    pub(crate) fn new(channel: &'c mut Channel<C>) -> Self {
        Reply {
            channel: Some(channel),
        }
    }

    /// No channel to answer on (the child has ended).
    pub(crate) fn none() -> Self {
        Reply { channel: None }
    }

    /// The channel itself, while the child is there.
    pub fn channel(&mut self) -> Option<&mut Channel<C>> {
        self.channel.as_deref_mut()
    }
}

impl<C: pprocess_core::Codec> Reply<'_, C> {
    /// Sends `value` to the child that sent the message (queued; the
    /// exchange writes it without blocking).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`](crate::Error::Closed) if the message reported the
    /// child's end; [`Error::Encode`](crate::Error::Encode) or
    /// [`Error::FrameTooLarge`](crate::Error::FrameTooLarge) for a value
    /// that cannot be sent.
    pub fn send<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        match self.channel.as_mut() {
            Some(ch) => ch.feed(value),
            None => Err(pprocess_core::Error::Closed),
        }
    }

    /// Tells the child that nothing more will be sent (its receive returns
    /// [`Error::Closed`](crate::Error::Closed)).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`](crate::Error::Closed) if the child has ended.
    pub fn end(&mut self) -> Result<()> {
        match self.channel.as_mut() {
            Some(ch) => ch.feed_end(),
            None => Err(pprocess_core::Error::Closed),
        }
    }
}

/// A handler from a closure that gets each message with its [`Reply`] and
/// may stop the exchange by returning an error.
///
/// # Examples
///
/// ```
/// use pprocess_exchange::{Exchange, Message, Reply, answering};
///
/// // Each child asks for a number and sends back its double; the handler
/// // answers the question and keeps the doubles.
/// let mut doubles = Vec::new();
/// let handler = answering(|m: Message<u32>, mut reply: Reply| {
///     let v = m.result?;
///     if v >= 100 {
///         doubles.push(v);
///     } else {
///         reply.send(&(v + 100))?;
///     }
///     Ok(())
/// });
/// let mut ex = Exchange::with_handler(handler)?.continuous(true);
/// for i in 0..3u32 {
///     ex.start(move |ch| {
///         ch.send(&i)?; // a question
///         let n: u32 = ch.receive()?;
///         ch.send(&(n * 2))
///     })?;
/// }
/// ex.finish()?;
/// drop(ex);
/// doubles.sort();
/// assert_eq!(doubles, [200, 202, 204]);
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
pub fn answering<R, C, F>(f: F) -> Answering<F>
where
    F: FnMut(Message<R>, Reply<'_, C>) -> Result<()>,
{
    Answering(f)
}

/// The handler made by [`answering`].
pub struct Answering<F>(F);

impl<F> fmt::Debug for Answering<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answering").finish_non_exhaustive()
    }
}

impl<R, C, F> Handler<R, C> for Answering<F>
where
    F: FnMut(Message<R>, Reply<'_, C>) -> Result<()>,
{
    /// Called by the exchange only through [`Handler::handle`]; called
    /// directly, the closure gets a [`Reply`] with nothing to answer on and
    /// its error is dropped.
    fn store(&mut self, message: Message<R>) {
        let _ = (self.0)(message, Reply::none());
    }

    fn handle(&mut self, message: Message<R>, reply: Reply<'_, C>) -> Result<()> {
        (self.0)(message, reply)
    }
}

impl<R, C, F: FnMut(Message<R>)> Handler<R, C> for F {
    fn store(&mut self, message: Message<R>) {
        self(message)
    }
}

/// The default handler: keeps messages in arrival order until taken.
#[derive(Debug)]
pub struct Inbox<R> {
    messages: VecDeque<Message<R>>,
}

impl<R> Default for Inbox<R> {
    fn default() -> Self {
        Inbox {
            messages: VecDeque::new(),
        }
    }
}

impl<R> Inbox<R> {
    /// Takes the oldest message.
    pub fn pop(&mut self) -> Option<Message<R>> {
        self.messages.pop_front()
    }

    /// Messages waiting.
    #[must_use]
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether no message is waiting.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

impl<R, C> Handler<R, C> for Inbox<R> {
    fn store(&mut self, message: Message<R>) {
        self.messages.push_back(message);
    }
}
