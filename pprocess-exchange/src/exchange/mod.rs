//! The Exchange: readiness over many channels (pprocess's `Exchange`).

mod handler;
mod launch;
mod outcome;
mod readiness;
mod remote;
mod slots;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::marker::PhantomData;
use std::os::fd::AsRawFd;

use mio::unix::SourceFd;
use mio::{Events, Interest, Token};
use pprocess_core::{Codec, Result};
use pprocess_transport::{Builder, Channel, ChildFailure, MessagePack};
use serde::de::DeserializeOwned;

pub use handler::{Answering, Handler, Inbox, Message, Reply, answering};
pub(crate) use remote::RemoteStart;
use slots::{Slot, Slots, TrackedPoll};

/// Messages taken from one channel before others get a turn.
const FAIR_SHARE: usize = 64;

/// Identifies a piece of work, and the channel of the child doing it,
/// in an [`Exchange`]: what [`Exchange::start`], [`Exchange::call`],
/// [`Exchange::add`] and managed calls return, and what
/// [`Message::channel`] says. Use it at once with
/// [`Exchange::channel_mut`] (which finds nothing while the work waits
/// for a place under the limit, and after the channel has gone).
///
/// Its [`index`](ChannelId::index) is the work's position in submission
/// order (the key of a [`Map`](crate::Map)'s results). A reused worker
/// takes the id of each piece of work it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub(crate) usize);

impl ChannelId {
    /// The position of the work in submission order.
    #[must_use]
    pub fn index(self) -> usize {
        self.0
    }
}

impl From<ChannelId> for usize {
    fn from(id: ChannelId) -> usize {
        id.0
    }
}

/// Which side of [`Exchange::create`] the caller is on.
#[derive(Debug)]
// Made once per fork and matched at once: its size costs nothing, and
// boxing the channel would only add an allocation and an indirection.
#[allow(clippy::large_enum_variant)]
pub enum Created<C = MessagePack> {
    /// The parent: the new child's channel is registered with this id.
    Parent(ChannelId),
    /// The child, with its end of the channel; end it with
    /// [`exit`](crate::exit).
    Child(Channel<C>),
}

/// What a new child runs: `Err` is the failure for the parent (its
/// message and source chain).
pub(crate) type ChildRun<'a, C> =
    Box<dyn FnOnce(&mut Channel<C>) -> std::result::Result<(), ChildFailure> + 'a>;

/// Queues a job's arguments on a live worker's channel.
pub(crate) type WorkerFeed<'a, C> = Box<dyn FnOnce(&mut Channel<C>) -> Result<()> + 'a>;

/// Queues a job's arguments on a live worker's channel, and can do so
/// again: a job handed to a worker ahead of time goes back to the queue,
/// whole, if that worker ends before starting it.
pub(crate) type Refeed<'a, C> = Box<dyn Fn(&mut Channel<C>) -> Result<()> + 'a>;

/// What a reused worker serves. Waiting work goes only to a live worker
/// that serves the same thing, so one exchange can reuse the workers of
/// several functions without ever handing one's arguments to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Serves {
    /// A managed closure, by the number its callable was given when made
    /// (unique in this process; clones share it).
    Closure(u64),
    /// A remote function, by its wire form.
    Remote([u8; 24]),
}

/// How reusable work reaches a live worker instead of a new child.
pub(crate) struct Feed<'a, C> {
    pub(crate) serves: Serves,
    pub(crate) give: Refeed<'a, C>,
}

/// Work that waits for a free place under the limit.
pub(crate) struct Job<'a, C> {
    pub(crate) index: usize,
    /// Runs in a new child.
    pub(crate) run: ChildRun<'a, C>,
    /// For reusable work: queues the arguments on a live worker (of the
    /// same function) instead.
    pub(crate) feed: Option<Feed<'a, C>>,
    /// For a remote function: started by `Builder::start_fn` instead of a
    /// fork running `run`.
    pub(crate) remote: Option<RemoteStart<'a, C>>,
}

/// Readiness over many channels, with a limit on live children: pprocess's
/// `Exchange`.
///
/// Children started through the exchange ([`Exchange::start`],
/// [`Exchange::call`], [`Exchange::create`], [`Exchange::manage`]) are
/// registered as they start; other channels join with [`Exchange::add`].
/// Every message is decoded as an `R` and given to the handler `H`
/// (pprocess's `store_data`; [`Inbox`] by default) by [`Exchange::store`],
/// [`Exchange::wait`] and [`Exchange::finish`]. Lower level,
/// [`Exchange::ready`] says which channels can be read without blocking.
///
/// Readiness comes from `mio` (epoll, edge-triggered); the cost of a
/// `store` grows with the channels that are ready, not with those
/// registered.
///
/// # Options
///
/// - [`limit`](Exchange::limit): at most this many channels at once; work
///   beyond it waits inside the exchange and starts as children finish.
/// - [`reuse`](Exchange::reuse): workers of a function plus arguments
///   ([`Exchange::call_fn`], [`Exchange::manage_reusable`],
///   [`Exchange::manage_fn`]) stay alive and get the next arguments of the
///   same function; they are told to stop when none waits. A worker is
///   sent its next arguments while it computes (it holds at most two
///   calls, so it never waits for a round trip between them); if it dies,
///   the call it computed is its death and the one sent ahead runs
///   elsewhere. Closures given to [`Exchange::start`] and
///   [`Exchange::call`] get a child each.
/// - [`continuous`](Exchange::continuous): a child may send any number of
///   messages; it is done when it hangs up. Otherwise a child is expected to
///   send one result, and one that hangs up without it is reported as
///   [`Error::ChildDied`](crate::Error::ChildDied).
/// - [`autoclose`](Exchange::autoclose) (on by default): a channel whose
///   peer hung up is closed and its child reaped at once; off, the child is
///   reaped later (by [`waitall`](crate::waitall), or at the next fork).
///
/// # Examples
///
/// ```
/// use pprocess_exchange::Exchange;
///
/// let mut ex = Exchange::<u64>::new()?.limit(2);
/// for i in 0..5u64 {
///     ex.call(move || i * i)?; // a child per call, at most 2 at once
/// }
/// ex.finish()?;
/// let mut squares: Vec<u64> = std::iter::from_fn(|| ex.handler_mut().pop())
///     .map(|m| m.result.unwrap())
///     .collect();
/// squares.sort();
/// assert_eq!(squares, [0, 1, 4, 9, 16]);
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
///
/// # Fork safety
///
/// A child never uses the exchange's epoll instance: it is replaced by
/// `/dev/null` in every child forked through this library. A child that
/// needs an exchange makes a new one.
pub struct Exchange<'a, R, H = Inbox<R>, C = MessagePack> {
    poll: TrackedPoll,
    events: Events,
    slots: Slots<C>,
    /// Work index to slot, for every registered channel.
    by_index: HashMap<usize, usize>,
    free: Vec<usize>,
    active: usize,
    /// Channels removed so far (a `store` that saw one end returns).
    removed: u64,
    hot: VecDeque<usize>,
    /// Slots with output queued, waiting for writability.
    writers: Vec<usize>,
    /// Slots handed out by `channel_mut`: output the caller queued there
    /// is written by the next `store` or `ready`.
    touched: Vec<usize>,
    waiting: VecDeque<Job<'a, C>>,
    /// Per slot of a reused worker: the job it was sent ahead of time, to
    /// start when it has answered its current one (see `outcome.rs`).
    prefetched: HashMap<usize, Job<'a, C>>,
    next_index: usize,
    limit: Option<usize>,
    reuse: bool,
    continuous: bool,
    autoclose: bool,
    /// `fork` said `EAGAIN`: start nothing until a child ends.
    fork_blocked: bool,
    builder: Builder<C>,
    handler: H,
    _message: PhantomData<fn() -> R>,
}

impl<R, H, C> fmt::Debug for Exchange<'_, R, H, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("active", &self.active)
            .field("waiting", &self.waiting.len())
            .field("limit", &self.limit)
            .field("reuse", &self.reuse)
            .field("continuous", &self.continuous)
            .field("autoclose", &self.autoclose)
            .finish()
    }
}

impl<R: DeserializeOwned> Exchange<'_, R> {
    /// An exchange whose messages wait in an [`Inbox`] (see
    /// [`Exchange::handler_mut`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if the epoll instance cannot be made.
    pub fn new() -> Result<Self> {
        Exchange::with_handler(Inbox::default())
    }
}

impl<R: DeserializeOwned, H: Handler<R>> Exchange<'_, R, H> {
    /// An exchange that gives every message to `handler`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if the epoll instance cannot be made.
    pub fn with_handler(handler: H) -> Result<Self> {
        Exchange::with_builder(Builder::new(), handler)
    }
}

impl<R, H, C: Codec> Exchange<'_, R, H, C> {
    /// Allows at most `limit` channels at once (`None`: no limit).
    /// pprocess users often pass [`num_cores`](crate::num_cores).
    #[must_use]
    pub fn limit(mut self, limit: impl Into<Option<usize>>) -> Self {
        self.limit = limit.into().map(|l| l.max(1));
        self
    }

    /// Keeps workers of a function plus arguments alive and sends them the
    /// next arguments of the same function (see the options above).
    #[must_use]
    pub fn reuse(mut self, reuse: bool) -> Self {
        self.reuse = reuse;
        self
    }

    /// Keeps a channel after each message, until its child hangs up.
    #[must_use]
    pub fn continuous(mut self, continuous: bool) -> Self {
        self.continuous = continuous;
        self
    }

    /// Closes channels and reaps children as soon as they hang up (default
    /// on).
    #[must_use]
    pub fn autoclose(mut self, autoclose: bool) -> Self {
        self.autoclose = autoclose;
        self
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The handler, mutably: with the default [`Inbox`], where messages are
    /// taken from.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// Ends the exchange and returns the handler. Channels still open are
    /// closed and their children reaped, as when the exchange is dropped.
    pub fn into_handler(self) -> H {
        self.handler
    }

    /// The number of channels registered (pprocess's `active()`, as a
    /// count).
    pub fn active(&self) -> usize {
        self.active
    }

    /// The ids of the channels registered.
    pub fn channels(&self) -> impl Iterator<Item = ChannelId> + '_ {
        self.slots.iter().flatten().map(|s| ChannelId(s.index))
    }

    /// How many indices have been given out: the number of pieces of work
    /// submitted and channels added.
    pub fn submitted(&self) -> usize {
        self.next_index
    }

    /// Work waiting for a place under the limit.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Whether work is running or waiting.
    pub fn unfinished(&self) -> bool {
        self.active > 0 || !self.waiting.is_empty()
    }

    /// Whether as many channels are registered as the limit allows.
    pub fn busy(&self) -> bool {
        self.limit.is_some_and(|l| self.active >= l)
    }

    /// The channel with this id, to send to it or receive from it directly.
    ///
    /// `send` through it returns once the message is in the kernel (reading
    /// what the child sends meanwhile, so both sides can send large
    /// messages); what is only `feed`-ed is written by the next
    /// [`Exchange::store`] or [`Exchange::ready`], without blocking.
    pub fn channel_mut(&mut self, id: ChannelId) -> Option<&mut Channel<C>> {
        let slot = *self.by_index.get(&id.0)?;
        let s = self.slots.get_mut(slot)?.as_mut()?;
        self.touched.push(slot);
        // A receive through this reference may read whole frames into the
        // channel's buffer and leave the socket dry: no edge will come for
        // them, so look at the channel again before blocking.
        if !s.hot {
            s.hot = true;
            self.hot.push_back(slot);
        }
        Some(&mut s.channel)
    }

    /// Whether the channel with this id is still registered (the exchange
    /// removes a channel whose peer hung up).
    pub fn is_registered(&self, id: ChannelId) -> bool {
        self.by_index.contains_key(&id.0)
    }

    /// Unregisters a channel and returns it (its child is not reaped).
    pub fn remove(&mut self, id: ChannelId) -> Option<Channel<C>> {
        let slot = *self.by_index.get(&id.0)?;
        let slot = self.take_slot(slot)?;
        Some(slot.channel)
    }

    fn take_slot(&mut self, slot: usize) -> Option<Slot<C>> {
        let s = self.slots.get_mut(slot)?.take()?;
        self.by_index.remove(&s.index);
        if let Some(job) = self.prefetched.remove(&slot) {
            // Sent ahead to a worker that ended before starting it: it
            // runs elsewhere, first.
            self.waiting.push_front(job);
        }
        if s.hot {
            // Else a channel that takes this slot next would be queued (and
            // reported ready) twice.
            self.hot.retain(|&h| h != slot);
        }
        let registry = self.poll.registry();
        let _ = registry.deregister(&mut SourceFd(&s.channel.read_fd().as_raw_fd()));
        if s.writing {
            let wfd = s.channel.transport().write_fd().as_raw_fd();
            if wfd != s.channel.read_fd().as_raw_fd() {
                let _ = registry.deregister(&mut SourceFd(&wfd));
            }
        }
        self.free.push(slot);
        self.active -= 1;
        self.removed += 1;
        self.fork_blocked = false;
        Some(s)
    }

    pub(crate) fn next_index(&mut self) -> usize {
        let i = self.next_index;
        self.next_index += 1;
        i
    }

    pub(crate) fn builder(&self) -> &Builder<C> {
        &self.builder
    }

    pub(crate) fn is_reuse(&self) -> bool {
        self.reuse
    }
}

impl<R: DeserializeOwned, H: Handler<R, C>, C: Codec> Exchange<'_, R, H, C> {
    /// An exchange whose children's channels are made by `builder` (codec,
    /// transport, frame limit) and whose messages go to `handler`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if the epoll instance cannot be made.
    pub fn with_builder(builder: Builder<C>, handler: H) -> Result<Self> {
        let poll = TrackedPoll::new()?;
        Ok(Exchange {
            poll,
            events: Events::with_capacity(256),
            slots: Slots::new(),
            by_index: HashMap::new(),
            free: Vec::new(),
            active: 0,
            removed: 0,
            hot: VecDeque::new(),
            writers: Vec::new(),
            touched: Vec::new(),
            waiting: VecDeque::new(),
            prefetched: HashMap::new(),
            next_index: 0,
            limit: None,
            reuse: false,
            continuous: false,
            autoclose: true,
            fork_blocked: false,
            builder,
            handler,
            _message: PhantomData,
        })
    }

    /// Registers a channel; its messages get the next index. The channel is
    /// switched to non-blocking mode.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if it cannot be registered.
    pub fn add(&mut self, channel: Channel<C>) -> Result<ChannelId> {
        let index = self.next_index;
        self.next_index += 1;
        self.register(channel, index, None)
    }

    /// Waits (storing messages) until the limit allows another channel,
    /// then adds this one.
    ///
    /// # Errors
    ///
    /// As for [`Exchange::wait`] and [`Exchange::add`].
    pub fn add_wait(&mut self, channel: Channel<C>) -> Result<ChannelId> {
        self.wait()?;
        self.add(channel)
    }

    fn register(
        &mut self,
        mut channel: Channel<C>,
        index: usize,
        serves: Option<Serves>,
    ) -> Result<ChannelId> {
        channel.set_nonblocking(true)?;
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        let fd = channel.read_fd().as_raw_fd();
        if let Err(e) =
            self.poll
                .registry()
                .register(&mut SourceFd(&fd), Token(slot * 2), Interest::READABLE)
        {
            self.free.push(slot);
            // A child nobody can hear must not run on unwatched.
            let _ = channel.kill();
            let _ = channel.wait();
            return Err(e.into());
        }
        self.slots[slot] = Some(Slot {
            channel,
            index,
            // A channel may hold data already: look before waiting.
            hot: true,
            delivered: false,
            writing: false,
            serves,
            explained: false,
        });
        self.hot.push_back(slot);
        self.by_index.insert(index, slot);
        self.active += 1;
        Ok(ChannelId(index))
    }
}
