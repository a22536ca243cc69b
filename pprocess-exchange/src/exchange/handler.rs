//! What an exchange does with each message: pprocess's `store_data`.

use std::collections::VecDeque;

use pprocess_core::{Pid, Result};

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
    /// not an `R`, [`Error::Truncated`](crate::Error::Truncated) if it died
    /// mid-message.
    pub result: Result<R>,
}

/// Receives every message an exchange collects: the Rust form of
/// pprocess's `store_data`, without subclassing.
///
/// Any `FnMut(Message<R>)` closure is a handler; so is [`Inbox`], which
/// keeps messages for later.
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
pub trait Handler<R> {
    /// Takes one message.
    fn store(&mut self, message: Message<R>);
}

impl<R, F: FnMut(Message<R>)> Handler<R> for F {
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
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

impl<R> Handler<R> for Inbox<R> {
    fn store(&mut self, message: Message<R>) {
        self.messages.push_back(message);
    }
}
