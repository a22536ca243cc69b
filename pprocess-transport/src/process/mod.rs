//! Forked processes: `start`, `create`, `exit`, `waitall`, `num_cores`.

mod background;
mod child;
mod persistent;

use std::fmt;
use std::io::{self, Write};
use std::marker::PhantomData;
use std::os::fd::RawFd;

use pprocess_core::{Codec, DEFAULT_MAX_FRAME, Error, Result};

pub use background::{
    Background, BackgroundCallable, PersistentFork, connect, create_persistent, start_persistent,
};
pub use child::{ChildOutcome, panic_message};
pub use persistent::PersistentChannel;

use crate::channel::Channel;
use crate::codec::MessagePack;
use crate::reap::{Child, reap_orphans};
use crate::registry;
use crate::sys::{self, ForkResult};
use crate::transport::{self, TransportKind};

/// Which side of [`create`] the caller is on.
#[derive(Debug)]
pub enum Fork<C = MessagePack> {
    /// The parent, holding its end of the channel to the child
    /// ([`Channel::pid`] is the child's pid).
    Parent(Channel<C>),
    /// The child, holding its end. End it with [`exit`].
    Child(Channel<C>),
}

/// What [`fork_locked`] is asked to do besides forking.
pub(crate) struct ForkPlan<'a> {
    /// Descriptors the child keeps (its end of the new channel).
    pub(crate) keep: &'a [RawFd],
    /// The parent's end of the new channel: closed first thing in the
    /// child, which frees a descriptor for `/dev/null` even when the
    /// parent is at its descriptor limit; handed back in the parent.
    pub(crate) parent_end: Option<Box<dyn pprocess_core::Transport>>,
    /// Whether the child ends with the forking thread
    /// (`PR_SET_PDEATHSIG`).
    pub(crate) die_with_parent: bool,
}

/// Forks with the standard streams' locks and the registry's held, so that
/// no other thread is inside them at the fork: stdout is flushed first and
/// a child can always print. In the child: closes the parent's end of the
/// new channel, replaces every other tracked descriptor but `plan.keep`
/// with `/dev/null`, forgets the parent's children, and (unless asked to
/// outlive the parent) arranges to die with the forking thread.
pub(crate) fn fork_locked(mut plan: ForkPlan<'_>) -> Result<(ForkResult, ForkPlan<'_>)> {
    crate::threads::warn_if_threaded();
    crate::panics::install_hook();
    let parent = nix::unistd::getpid().as_raw();
    let mut out = io::stdout().lock();
    let _ = out.flush();
    let err = io::stderr().lock();
    let mut g = registry::lock();
    reap_orphans(g.state());
    match sys::fork() {
        Err(e) => Err(Error::Fork(e)),
        Ok(ForkResult::Parent(pid)) => {
            g.state().add_child(pid);
            Ok((ForkResult::Parent(pid), plan))
        }
        Ok(ForkResult::Child) => {
            crate::panics::entered_child();
            if plan.die_with_parent {
                sys::die_with_parent(parent);
            }
            // Single-threaded now: the registry can be let go and taken
            // again. Dropping the parent's end unregisters it under the lock.
            drop(g);
            drop(plan.parent_end.take());
            let mut g = registry::lock();
            let state = g.state();
            let inherited = state
                .fds
                .iter()
                .copied()
                .filter(|fd| !plan.keep.contains(fd));
            if let Err(e) = sys::replace_with_dev_null(inherited) {
                drop(err);
                let _ = writeln!(
                    io::stderr(),
                    "pprocess: child {} cannot close inherited channels: {e}",
                    std::process::id()
                );
                sys::exit_now(127);
            }
            state.fds.retain(|fd| plan.keep.contains(fd));
            let kept = |fds: &[RawFd; 2]| fds.iter().any(|fd| plan.keep.contains(fd));
            let foreign = state
                .maps
                .iter()
                .filter(|(_, (_, fds))| !kept(fds))
                .map(|(&addr, &(len, _))| (addr, len));
            if let Err(e) = sys::replace_with_anonymous(foreign) {
                drop(err);
                let _ = writeln!(
                    io::stderr(),
                    "pprocess: child {} cannot unmap inherited rings: {e}",
                    std::process::id()
                );
                sys::exit_now(127);
            }
            state.maps.retain(|_, (_, fds)| kept(fds));
            state.children.clear();
            state.displaced.clear();
            drop(g);
            drop(err);
            drop(out);
            Ok((ForkResult::Child, plan))
        }
    }
}

/// Makes channels and children: the transport, the codec `C`, the frame
/// limit. Like [`std::thread::Builder`], for when [`start`] and [`create`]'s
/// defaults (socketpair, MessagePack) do not fit.
///
/// # Examples
///
/// ```
/// use pprocess_transport::{Builder, Json, TransportKind};
///
/// let mut ch = Builder::<Json>::new()
///     .transport(TransportKind::Pipe)
///     .start(|ch| ch.send("over pipes, in JSON"))?;
/// assert_eq!(ch.receive::<String>()?, "over pipes, in JSON");
/// ch.close()?;
/// # Ok::<(), pprocess_core::Error>(())
/// ```
pub struct Builder<C = MessagePack> {
    pub(crate) kind: TransportKind,
    pub(crate) max_frame: usize,
    pub(crate) socket_buffer: Option<usize>,
    log: Option<std::path::PathBuf>,
    pub(crate) outlive_parent: bool,
    pub(crate) server: Option<crate::ForkServer>,
    pub(crate) spawner: Option<std::sync::Arc<dyn crate::Spawner>>,
    _codec: PhantomData<fn() -> C>,
}

impl<C> fmt::Debug for Builder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("kind", &self.kind)
            .field("max_frame", &self.max_frame)
            .field("socket_buffer", &self.socket_buffer)
            .field("outlive_parent", &self.outlive_parent)
            .field("server", &self.server)
            .field("spawner", &self.spawner)
            .field("codec", &std::any::type_name::<C>())
            .finish_non_exhaustive()
    }
}

impl<C> Clone for Builder<C> {
    fn clone(&self) -> Self {
        Builder {
            kind: self.kind,
            max_frame: self.max_frame,
            socket_buffer: self.socket_buffer,
            log: self.log.clone(),
            outlive_parent: self.outlive_parent,
            server: self.server.clone(),
            spawner: self.spawner.clone(),
            _codec: PhantomData,
        }
    }
}

impl<C: Codec> Default for Builder<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Codec> Builder<C> {
    /// Socketpair transport, 256 MiB frame limit, the kernel's socket
    /// buffer sizes.
    #[must_use]
    pub fn new() -> Self {
        Builder {
            kind: TransportKind::SocketPair,
            max_frame: DEFAULT_MAX_FRAME,
            socket_buffer: None,
            log: None,
            outlive_parent: false,
            server: None,
            spawner: None,
            _codec: PhantomData,
        }
    }

    /// Chooses the transport of [`Builder::start`]'s and
    /// [`Builder::create`]'s children, and of workers a
    /// [`Builder::spawner`] starts (forked [`Builder::start_fn`] workers
    /// always use a socketpair).
    #[must_use]
    pub fn transport(mut self, kind: TransportKind) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the largest payload the channels send or accept.
    #[must_use]
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// Sets `SO_SNDBUF` and `SO_RCVBUF` of socketpair channels (bulk
    /// transfers of large frames go faster with a few MiB), and the size of
    /// each ring of [`TransportKind::SharedMemory`] channels.
    #[must_use]
    pub fn socket_buffer_size(mut self, bytes: usize) -> Self {
        self.socket_buffer = Some(bytes);
        self
    }

    /// Lets children outlive this process (default off).
    ///
    /// By default a child is killed (`SIGKILL`, through Linux's
    /// `PR_SET_PDEATHSIG`) when its parent dies, so no work goes on
    /// unwatched after a crash. Linux sends that signal when the *thread*
    /// that forked the child ends: fork from a thread that outlives its
    /// children (the main thread, or the one that owns the
    /// [`Channel`]s), or turn this on. Background processes
    /// ([`Builder::start_persistent`]) always outlive their starter.
    #[must_use]
    pub fn outlive_parent(mut self, outlive: bool) -> Self {
        self.outlive_parent = outlive;
        self
    }

    pub(crate) fn channel(&self, transport: Box<dyn pprocess_core::Transport>) -> Channel<C> {
        let mut ch = Channel::new(transport);
        ch.set_max_frame_size(self.max_frame);
        ch
    }

    /// Makes both ends of a channel in this process (no fork): for tests,
    /// and for handing one end to a child made some other way.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the transport cannot be made.
    pub fn channel_pair(&self) -> Result<(Channel<C>, Channel<C>)> {
        let (a, b) = transport::pair(self.kind, self.socket_buffer)?;
        Ok((self.channel(a), self.channel(b)))
    }

    /// Forks, pprocess's `create`: returns [`Fork::Parent`] in the parent
    /// and [`Fork::Child`] in the child, each with its end of a new
    /// channel. The child must end with [`exit`].
    ///
    /// # Errors
    ///
    /// [`Error::Fork`] if `fork` fails (with `EAGAIN` when the process
    /// limit is reached); [`Error::Io`] if the channel cannot be made.
    ///
    /// # Fork safety
    ///
    /// See [`start`].
    pub fn create(&self) -> Result<Fork<C>> {
        let (parent_end, child_end) =
            transport::pair(self.kind, self.socket_buffer).map_err(channel_error)?;
        let keep = child_end.raw_fds();
        let plan = ForkPlan {
            keep: &keep,
            parent_end: Some(parent_end),
            die_with_parent: !self.outlive_parent,
        };
        match fork_locked(plan)? {
            (ForkResult::Parent(pid), plan) => {
                drop(child_end);
                let Some(parent_end) = plan.parent_end else {
                    unreachable!("fork_locked hands the parent's end back in the parent")
                };
                Ok(Fork::Parent(
                    self.channel(parent_end).with_child(Child::new(pid)),
                ))
            }
            (ForkResult::Child, _) => Ok(Fork::Child(self.channel(child_end))),
        }
    }

    /// Forks a child that runs `f` with its end of a new channel and then
    /// ends; returns the parent's end. pprocess's `start`.
    ///
    /// If `f` panics or returns an error, the parent's next receive returns
    /// [`Error::Remote`] with the child's pid and the message. The child
    /// never returns into the caller's code: it ends with `_exit` (code 0,
    /// 1 after an error, 101 after a panic), so no destructor of the
    /// parent's state runs in it.
    ///
    /// # Errors
    ///
    /// As for [`Builder::create`].
    ///
    /// # Fork safety
    ///
    /// See [`start`].
    pub fn start<F, R>(&self, f: F) -> Result<Channel<C>>
    where
        F: FnOnce(&mut Channel<C>) -> R,
        R: ChildOutcome,
    {
        match self.create()? {
            Fork::Parent(ch) => Ok(ch),
            Fork::Child(ch) => child::run(ch, f),
        }
    }
}

/// Descriptors ran out while making a channel: the error names the limit.
#[derive(Debug)]
struct NoDescriptors {
    errno: i32,
}

impl fmt::Display for NoDescriptors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.errno == nix::libc::ENFILE {
            return write!(f, "cannot make a channel: the system's file table is full");
        }
        match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE) {
            Ok((soft, _)) => write!(
                f,
                "cannot make a channel: too many open files (limit {soft})"
            ),
            Err(_) => write!(f, "cannot make a channel: too many open files"),
        }
    }
}

impl std::error::Error for NoDescriptors {}

/// Gives a lack of descriptors (`EMFILE`/`ENFILE`) a message that names
/// the limit; other errors pass unchanged.
pub(crate) fn channel_error(e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(errno @ (nix::libc::EMFILE | nix::libc::ENFILE)) => {
            Error::Io(io::Error::new(e.kind(), NoDescriptors { errno }))
        }
        _ => Error::Io(e),
    }
}

/// Whether an error from [`Builder::create`] or [`Builder::start`] is a
/// temporary lack of processes or descriptors (`EAGAIN` from `fork`,
/// `EMFILE`/`ENFILE` making the channel): worth retrying once a child has
/// ended. An exchange queues such work instead of failing.
#[must_use]
pub fn is_temporary(error: &Error) -> bool {
    match error {
        Error::Fork(e) => matches!(
            e.raw_os_error(),
            Some(nix::libc::EAGAIN | nix::libc::EMFILE | nix::libc::ENFILE)
        ),
        Error::Io(e) => {
            matches!(
                e.raw_os_error(),
                Some(nix::libc::EMFILE | nix::libc::ENFILE)
            ) || e
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<NoDescriptors>().is_some())
        }
        _ => false,
    }
}

/// Runs `f` as [`start`]'s children do — under `catch_unwind`, with a
/// remote-error frame for a panic or error — then ends the process with
/// `_exit`. For layers that fork with [`create`] and then want `start`'s
/// ending. Never returns.
///
/// Only call it in a child.
pub fn run_in_child<C, F, R>(channel: Channel<C>, f: F) -> !
where
    C: Codec,
    F: FnOnce(&mut Channel<C>) -> R,
    R: ChildOutcome,
{
    child::run(channel, f)
}

/// Forks a child that runs `f` with its end of a new socketpair channel
/// (MessagePack codec), then ends; returns the parent's end. pprocess's
/// `start`.
///
/// # Examples
///
/// ```
/// let mut ch = pprocess_transport::start(|ch| {
///     for i in 0..3u32 {
///         ch.send(&i)?;
///     }
///     Ok::<(), pprocess_core::Error>(())
/// })?;
/// let got: Vec<u32> = (0..3).map(|_| ch.receive()).collect::<Result<_, _>>()?;
/// assert_eq!(got, [0, 1, 2]);
/// assert!(ch.receive::<u32>().unwrap_err().is_closed());
/// ch.close()?;
/// # Ok::<(), pprocess_core::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Fork`] if `fork` fails; [`Error::Io`] if the channel cannot be
/// made.
///
/// # Fork safety
///
/// `start` and [`create`] are safe functions, unlike `nix::unistd::fork`,
/// because the library keeps the child to what is sound after a fork: it
/// flushes stdio before forking, holds its own lock across the fork, closes
/// the channels the child inherited, and ends the child with `_exit`.
/// What it cannot guard is a lock held by *another thread* of the parent at
/// the moment of the fork (a `Mutex` of yours, or stdout's while that
/// thread prints): the child has only the forking thread, and would wait
/// for that lock for ever. Fork from a process with one thread where you
/// can ([`thread_count`](crate::thread_count) tells), and do not share locks with code that
/// runs in children.
///
/// A panic in a child does not go through the parent's panic hook (whose
/// locks another thread may have held at the fork): the first fork installs
/// a hook that, in children, writes the thread, place and message to
/// standard error with plain `write(2)` calls (no backtrace), and calls the
/// hook it replaced everywhere else. The panic then reaches the parent as
/// [`Error::Remote`]. A hook set after the first fork replaces it.
pub fn start<F, R>(f: F) -> Result<Channel>
where
    F: FnOnce(&mut Channel) -> R,
    R: ChildOutcome,
{
    Builder::new().start(f)
}

/// Forks, pprocess's `create`: [`Fork::Parent`] in the parent,
/// [`Fork::Child`] in the child, each with its end of a new socketpair
/// channel. The child ends with [`exit`].
///
/// # Examples
///
/// ```
/// use pprocess_transport::{Fork, create, exit};
///
/// match create()? {
///     Fork::Child(mut ch) => {
///         ch.send("hello from the child")?;
///         exit(ch);
///     }
///     Fork::Parent(mut ch) => {
///         assert_eq!(ch.receive::<String>()?, "hello from the child");
///         assert!(ch.close()?.unwrap().success());
///     }
/// }
/// # Ok::<(), pprocess_core::Error>(())
/// ```
///
/// # Errors
///
/// As for [`start`].
///
/// # Fork safety
///
/// See [`start`].
pub fn create() -> Result<Fork> {
    Builder::new().create()
}

/// Like [`create`], over a pair of pipes instead of a socketpair
/// (pprocess's `create_pipes`).
///
/// # Errors
///
/// As for [`start`].
pub fn create_pipes() -> Result<Fork> {
    Builder::new().transport(TransportKind::Pipe).create()
}

/// Ends a child made by [`create`]: flushes and closes its channel, flushes
/// stdio, and calls `_exit(0)`. Never returns.
///
/// Only call it in a child: in the parent it ends the parent.
pub fn exit<C: Codec>(channel: Channel<C>) -> ! {
    let _ = channel.close();
    child::end(0)
}

/// The number of CPUs this process may run on (pprocess's
/// `get_number_of_cores`); at least 1.
pub fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
