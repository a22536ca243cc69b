//! The Exchange: readiness over many channels (pprocess's `Exchange`).

mod handler;

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use pprocess_core::{Codec, Error, Result};
use pprocess_transport::{Builder, Channel, Fork, MessagePack};
use serde::de::DeserializeOwned;

pub use handler::{Handler, Inbox, Message};

/// Messages taken from one channel before others get a turn.
const FAIR_SHARE: usize = 64;

/// Identifies a channel registered with an [`Exchange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(usize);

/// What a new child runs: `Err` is the message for the parent.
pub(crate) type ChildRun<C> = Box<dyn FnOnce(&mut Channel<C>) -> std::result::Result<(), String>>;

/// Queues a job's arguments on a live worker's channel.
pub(crate) type WorkerFeed<C> = Box<dyn FnOnce(&mut Channel<C>) -> Result<()>>;

/// Work that waits for a free place under the limit.
pub(crate) struct Job<C> {
    pub(crate) index: usize,
    /// Runs in a new child.
    pub(crate) run: ChildRun<C>,
    /// For reusable work: queues the arguments on a live worker instead.
    pub(crate) feed: Option<WorkerFeed<C>>,
}

struct Slot<C> {
    channel: Channel<C>,
    index: usize,
    /// Readiness was reported and the channel has not been read dry since.
    hot: bool,
    /// Something (a message or an error) was delivered for `index`.
    delivered: bool,
    /// The channel is registered for writability (output is queued).
    writing: bool,
    /// A worker that takes new arguments (reuse mode).
    reusable: bool,
    /// A remote error was delivered: the child has said why it ends.
    explained: bool,
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
/// - [`reuse`](Exchange::reuse): managed workers stay alive and get the next
///   arguments; they are told to stop when no work waits.
/// - [`continuous`](Exchange::continuous): a child may send any number of
///   messages; it is done when it hangs up. Otherwise a child is expected to
///   send one result, and one that hangs up without it is reported as
///   [`Error::ChildDied`].
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
pub struct Exchange<R, H = Inbox<R>, C = MessagePack> {
    poll: TrackedPoll,
    events: Events,
    slots: Vec<Option<Slot<C>>>,
    free: Vec<usize>,
    active: usize,
    hot: VecDeque<usize>,
    /// Slots with output queued, waiting for writability.
    writers: Vec<usize>,
    waiting: VecDeque<Job<C>>,
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

impl<R, H, C> fmt::Debug for Exchange<R, H, C> {
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

impl<R: DeserializeOwned> Exchange<R> {
    /// An exchange whose messages wait in an [`Inbox`] (see
    /// [`Exchange::handler_mut`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the epoll instance cannot be made.
    pub fn new() -> Result<Self> {
        Exchange::with_handler(Inbox::default())
    }
}

impl<R: DeserializeOwned, H: Handler<R>> Exchange<R, H> {
    /// An exchange that gives every message to `handler`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the epoll instance cannot be made.
    pub fn with_handler(handler: H) -> Result<Self> {
        Exchange::with_builder(Builder::new(), handler)
    }
}

impl<R, H, C: Codec> Exchange<R, H, C> {
    /// Allows at most `limit` channels at once (`None`: no limit).
    /// pprocess users often pass [`num_cores`](crate::num_cores).
    pub fn limit(mut self, limit: impl Into<Option<usize>>) -> Self {
        self.limit = limit.into().map(|l| l.max(1));
        self
    }

    /// Keeps managed workers alive and sends them the next arguments.
    pub fn reuse(mut self, reuse: bool) -> Self {
        self.reuse = reuse;
        self
    }

    /// Keeps a channel after each message, until its child hangs up.
    pub fn continuous(mut self, continuous: bool) -> Self {
        self.continuous = continuous;
        self
    }

    /// Closes channels and reaps children as soon as they hang up (default
    /// on).
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
    /// closed; their children are reaped later (see [`waitall`](crate::waitall)).
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
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| ChannelId(i))
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
    pub fn channel_mut(&mut self, id: ChannelId) -> Option<&mut Channel<C>> {
        let s = self.slots.get_mut(id.0)?.as_mut()?;
        // A receive through this reference may read whole frames into the
        // channel's buffer and leave the socket dry: no edge will come for
        // them, so look at the channel again before blocking.
        if !s.hot {
            s.hot = true;
            self.hot.push_back(id.0);
        }
        Some(&mut s.channel)
    }

    /// Unregisters a channel and returns it (its child is not reaped).
    pub fn remove(&mut self, id: ChannelId) -> Option<Channel<C>> {
        let slot = self.take_slot(id.0)?;
        Some(slot.channel)
    }

    fn take_slot(&mut self, slot: usize) -> Option<Slot<C>> {
        let s = self.slots.get_mut(slot)?.take()?;
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

impl<R: DeserializeOwned, H: Handler<R>, C: Codec> Exchange<R, H, C> {
    /// An exchange whose children's channels are made by `builder` (codec,
    /// transport, frame limit) and whose messages go to `handler`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the epoll instance cannot be made.
    pub fn with_builder(builder: Builder<C>, handler: H) -> Result<Self> {
        let poll = TrackedPoll::new()?;
        Ok(Exchange {
            poll,
            events: Events::with_capacity(256),
            slots: Vec::new(),
            free: Vec::new(),
            active: 0,
            hot: VecDeque::new(),
            writers: Vec::new(),
            waiting: VecDeque::new(),
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
    /// [`Error::Io`] if it cannot be registered.
    pub fn add(&mut self, channel: Channel<C>) -> Result<ChannelId> {
        let index = self.next_index;
        self.next_index += 1;
        self.register(channel, index, false)
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
        reusable: bool,
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
            return Err(e.into());
        }
        self.slots[slot] = Some(Slot {
            channel,
            index,
            // A channel may hold data already: look before waiting.
            hot: true,
            delivered: false,
            writing: false,
            reusable,
            explained: false,
        });
        self.hot.push_back(slot);
        self.active += 1;
        Ok(ChannelId(slot))
    }

    /// Waits up to `timeout` (`None`: for ever; zero: just look) for
    /// channels to become readable, and returns those from which a receive
    /// will not block: a whole message is buffered, or the peer hung up.
    /// The list is empty only when the timeout has passed or no channel is
    /// registered.
    ///
    /// Use it with [`Exchange::channel_mut`] to receive yourself; or let
    /// [`Exchange::store`] do it all.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `epoll_wait` fails.
    pub fn ready(&mut self, timeout: Option<Duration>) -> Result<Vec<ChannelId>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            self.poll_events(left)?;
            let mut ready = Vec::new();
            for _ in 0..self.hot.len() {
                let Some(slot) = self.hot.pop_front() else {
                    break;
                };
                let Some(s) = self.slots[slot].as_mut() else {
                    continue;
                };
                match s.channel.fill_ready() {
                    Ok(false) => s.hot = false,
                    Ok(true) | Err(_) => {
                        ready.push(ChannelId(slot));
                        self.hot.push_back(slot);
                    }
                }
            }
            // An edge may bring part of a frame, and a channel looked at
            // again may have nothing: wait on until the time is up.
            if !ready.is_empty() || self.active == 0 || left == Some(Duration::ZERO) {
                return Ok(ready);
            }
        }
    }

    /// Waits for readiness and records which channels became hot. Does not
    /// block if some channel is already hot.
    fn poll_events(&mut self, timeout: Option<Duration>) -> Result<()> {
        if self.active == 0 {
            return Ok(());
        }
        let timeout = if self.hot.is_empty() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match self.poll.poll(&mut self.events, left) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
        for event in self.events.iter() {
            let token = event.token().0;
            let slot = token / 2;
            let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if !s.hot && (event.is_readable() || event.is_read_closed() || event.is_error()) {
                s.hot = true;
                self.hot.push_back(slot);
            }
        }
        if !self.writers.is_empty() {
            self.flush_pending()?;
        }
        Ok(())
    }

    /// Writes queued output of channels that wait for room.
    fn flush_pending(&mut self) -> Result<()> {
        for slot in std::mem::take(&mut self.writers) {
            let Some(s) = self.slots[slot].as_mut() else {
                continue;
            };
            if !s.writing {
                continue;
            }
            match s.channel.try_flush() {
                Ok(true) => {
                    s.writing = false;
                    let fd = s.channel.transport().write_fd().as_raw_fd();
                    let rfd = s.channel.read_fd().as_raw_fd();
                    if fd == rfd {
                        self.poll.registry().reregister(
                            &mut SourceFd(&fd),
                            Token(slot * 2),
                            Interest::READABLE,
                        )?;
                    } else {
                        self.poll.registry().deregister(&mut SourceFd(&fd))?;
                    }
                }
                Ok(false) => self.writers.push(slot),
                Err(e) => self.broken(slot, e)?,
            }
        }
        Ok(())
    }

    /// Flushes a channel's output without blocking; if some is left, asks
    /// for writability.
    fn flush_or_watch(&mut self, slot: usize) -> Result<()> {
        let Some(s) = self.slots[slot].as_mut() else {
            return Ok(());
        };
        match s.channel.try_flush() {
            Ok(true) => Ok(()),
            Ok(false) => {
                if !s.writing {
                    s.writing = true;
                    self.writers.push(slot);
                    let fd = s.channel.transport().write_fd().as_raw_fd();
                    let rfd = s.channel.read_fd().as_raw_fd();
                    if fd == rfd {
                        self.poll.registry().reregister(
                            &mut SourceFd(&fd),
                            Token(slot * 2),
                            Interest::READABLE | Interest::WRITABLE,
                        )?;
                    } else {
                        self.poll.registry().register(
                            &mut SourceFd(&fd),
                            Token(slot * 2 + 1),
                            Interest::WRITABLE,
                        )?;
                    }
                }
                Ok(())
            }
            Err(e) => self.broken(slot, e),
        }
    }

    /// Receives what is available (waiting up to `timeout` if nothing is)
    /// and gives each message to the handler; starts waiting work when
    /// places free up. Returns the number of messages delivered.
    /// pprocess's `store`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if waiting for readiness fails; [`Error::Fork`] if work
    /// cannot be started for a reason other than a temporary lack of
    /// processes. Failures of single children are messages, not errors.
    pub fn store(&mut self, timeout: Option<Duration>) -> Result<usize> {
        self.start_waiting()?;
        if self.active == 0 {
            return Ok(0);
        }
        self.poll_events(timeout)?;
        let delivered = self.drain_hot()?;
        self.start_waiting()?;
        Ok(delivered)
    }

    /// Stores messages until fewer channels than the limit are registered.
    ///
    /// # Errors
    ///
    /// As for [`Exchange::store`].
    pub fn wait(&mut self) -> Result<()> {
        while self.busy() {
            self.store(None)?;
        }
        Ok(())
    }

    /// Stores messages until all work has finished and every child has
    /// hung up (and, with autoclose, been reaped).
    ///
    /// # Errors
    ///
    /// As for [`Exchange::store`].
    pub fn finish(&mut self) -> Result<()> {
        while self.unfinished() {
            self.store(None)?;
        }
        Ok(())
    }

    fn drain_hot(&mut self) -> Result<usize> {
        let mut delivered = 0;
        for _ in 0..self.hot.len() {
            let Some(slot) = self.hot.pop_front() else {
                break;
            };
            let mut taken = 0;
            while let Some(s) = self.slots[slot].as_mut() {
                if taken == FAIR_SHARE {
                    self.hot.push_back(slot);
                    break;
                }
                match s.channel.try_receive::<R>() {
                    Ok(Some(value)) => {
                        taken += 1;
                        delivered += 1;
                        self.deliver(slot, Ok(value))?;
                    }
                    Ok(None) => {
                        s.hot = false;
                        break;
                    }
                    Err(Error::Closed) => {
                        self.hung_up(slot)?;
                        break;
                    }
                    Err(e @ (Error::Remote { .. } | Error::Decode { .. })) => {
                        taken += 1;
                        delivered += 1;
                        self.deliver(slot, Err(e))?;
                    }
                    Err(e) => {
                        delivered += 1;
                        self.broken(slot, e)?;
                        break;
                    }
                }
            }
        }
        Ok(delivered)
    }

    fn message(&self, slot: usize, result: Result<R>) -> Option<Message<R>> {
        let s = self.slots[slot].as_ref()?;
        Some(Message {
            index: s.index,
            channel: ChannelId(slot),
            pid: s.channel.pid(),
            result,
        })
    }

    /// Hands a message to the handler; a reused worker gets its next work.
    fn deliver(&mut self, slot: usize, result: Result<R>) -> Result<()> {
        // A remote error ends the child: a reused worker's loop is over
        // (work fed to it now would be lost), and its exit status says
        // nothing more.
        let remote = matches!(result, Err(Error::Remote { .. }));
        let Some(message) = self.message(slot, result) else {
            return Ok(());
        };
        self.handler.store(message);
        let Some(s) = self.slots[slot].as_mut() else {
            return Ok(());
        };
        s.delivered = true;
        if remote {
            s.reusable = false;
            s.explained = true;
        } else if s.reusable && !self.continuous {
            self.next_for_worker(slot)?;
        }
        Ok(())
    }

    /// Gives a reused worker the next waiting arguments, or tells it to stop.
    fn next_for_worker(&mut self, slot: usize) -> Result<()> {
        let Some(s) = self.slots[slot].as_mut() else {
            return Ok(());
        };
        let next = match self.waiting.front() {
            Some(job) if job.feed.is_some() => self.waiting.pop_front(),
            _ => None,
        };
        let queued = match next.and_then(|job| Some((job.index, job.feed?))) {
            Some((index, feed)) => {
                s.index = index;
                s.delivered = false;
                feed(&mut s.channel)
            }
            None => {
                s.reusable = false;
                s.channel.feed_end()
            }
        };
        match queued {
            Ok(()) => self.flush_or_watch(slot),
            Err(e) => self.broken(slot, e),
        }
    }

    /// The peer hung up at a frame boundary.
    fn hung_up(&mut self, slot: usize) -> Result<()> {
        let Some(mut s) = self.take_slot(slot) else {
            return Ok(());
        };
        let pid = s.channel.pid();
        let status = if self.autoclose {
            s.channel.close_write().ok();
            s.channel.wait().ok().flatten()
        } else {
            s.channel.try_wait().ok().flatten()
        };
        let failed = status.is_some_and(|st| !st.success());
        if let Some(pid) = pid {
            // Continuous: any number of messages (none included) is a
            // result; only a failure the child did not report is news.
            let report = if self.continuous {
                failed && !s.explained
            } else {
                !s.delivered
            };
            if report {
                let error = match status {
                    Some(status) => Error::ChildDied { pid, status },
                    None => Error::Closed,
                };
                self.handler.store(Message {
                    index: s.index,
                    channel: ChannelId(slot),
                    pid: Some(pid),
                    result: Err(error),
                });
            }
        }
        drop(s);
        self.start_waiting()
    }

    /// A channel's byte stream is broken (truncated frame, corrupt header,
    /// failed write): report it, kill and reap the child.
    fn broken(&mut self, slot: usize, error: Error) -> Result<()> {
        if let Some(message) = self.message(slot, Err(error)) {
            self.handler.store(message);
        }
        let Some(mut s) = self.take_slot(slot) else {
            return Ok(());
        };
        let _ = s.channel.kill();
        if self.autoclose {
            let _ = s.channel.wait();
        }
        drop(s);
        self.start_waiting()
    }

    /// Starts waiting work while the limit allows.
    fn start_waiting(&mut self) -> Result<()> {
        while !self.busy() && !self.fork_blocked {
            let Some(job) = self.waiting.pop_front() else {
                break;
            };
            self.launch(job)?;
        }
        Ok(())
    }

    /// Forks a child for `job`. `EAGAIN` puts the job back until a child
    /// ends.
    fn launch(&mut self, job: Job<C>) -> Result<()> {
        match self.builder.create() {
            Ok(Fork::Parent(ch)) => {
                let reusable = job.feed.is_some() && self.reuse;
                self.register(ch, job.index, reusable)?;
                Ok(())
            }
            Ok(Fork::Child(ch)) => crate::manage::run_child(ch, job.run),
            Err(Error::Fork(e)) if e.raw_os_error() == Some(nix::libc::EAGAIN) => {
                if self.active == 0 {
                    return Err(Error::Fork(e));
                }
                self.fork_blocked = true;
                self.waiting.push_front(job);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Queues work, or starts it now if the limit allows. Returns its index.
    pub(crate) fn submit(&mut self, job: Job<C>) -> Result<usize> {
        let index = job.index;
        self.waiting.push_back(job);
        self.start_waiting()?;
        Ok(index)
    }

    /// Starts a child running `f` with its end of a new channel (queued if
    /// the limit is reached); the child's messages are decoded as `R`.
    /// Returns the index its messages will carry. pprocess's
    /// `Exchange.start`.
    ///
    /// # Errors
    ///
    /// [`Error::Fork`] or [`Error::Io`] if the child cannot be started
    /// (other than a temporary lack of processes, which queues it).
    pub fn start<F, O>(&mut self, f: F) -> Result<usize>
    where
        F: FnOnce(&mut Channel<C>) -> O + 'static,
        O: pprocess_transport::ChildOutcome,
    {
        let index = self.next_index();
        self.submit(Job {
            index,
            run: Box::new(move |ch| f(ch).into_outcome()),
            feed: None,
        })
    }

    /// Starts a child that computes `f()` and sends back its value
    /// (pprocess's `MakeParallel`). Returns the index of the result.
    ///
    /// # Errors
    ///
    /// As for [`Exchange::start`].
    pub fn call<F>(&mut self, f: F) -> Result<usize>
    where
        F: FnOnce() -> R + 'static,
        R: serde::Serialize,
    {
        self.start(move |ch: &mut Channel<C>| ch.send(&f()))
    }

    /// Forks, after waiting for the limit: in the parent the new channel is
    /// registered and `Ok(None)` returned; in the child `Ok(Some(channel))`
    /// is returned, and the child must end with
    /// [`exit`](crate::exit). pprocess's `Exchange.create`.
    ///
    /// # Errors
    ///
    /// As for [`Exchange::wait`]; [`Error::Fork`] if `fork` fails.
    pub fn create(&mut self) -> Result<Option<Channel<C>>> {
        self.wait()?;
        match self.builder.create()? {
            Fork::Parent(ch) => {
                let index = self.next_index();
                self.register(ch, index, false)?;
                Ok(None)
            }
            Fork::Child(ch) => Ok(Some(ch)),
        }
    }
}

/// The exchange's epoll instance, registered so that forked children get
/// `/dev/null` in its place (they must never share the parent's events).
struct TrackedPoll {
    poll: Poll,
    fd: RawFd,
}

impl TrackedPoll {
    fn new() -> io::Result<Self> {
        let poll = Poll::new()?;
        let fd = poll.as_raw_fd();
        pprocess_transport::track_fd(fd);
        Ok(TrackedPoll { poll, fd })
    }

    fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    fn poll(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        self.poll.poll(events, timeout)
    }
}

impl Drop for TrackedPoll {
    fn drop(&mut self) {
        pprocess_transport::untrack_fd(self.fd);
    }
}
