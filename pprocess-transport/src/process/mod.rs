//! Forked processes: `start`, `create`, `exit`, `waitall`, `num_cores`.

mod child;
mod persistent;

use std::fmt;
use std::io::{self, Write};
use std::marker::PhantomData;
use std::os::fd::{AsFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use pprocess_core::{Codec, DEFAULT_MAX_FRAME, Error, ExitStatus, Pid, Process, Result};

pub use child::{ChildOutcome, panic_message};
pub use persistent::{
    Background, BackgroundCallable, PersistentChannel, PersistentFork, connect, create_persistent,
    start_persistent,
};

use crate::channel::Channel;
use crate::codec::MessagePack;
use crate::registry::{self, ChildState};
use crate::sys::{self, ForkResult};
use crate::transport::{self, TransportKind};

/// A child process forked by this library, from the parent's side.
///
/// It is reaped exactly once: by [`Process::wait`], by a [`Process::try_wait`]
/// that finds it ended, or (if the handle is dropped while the child still
/// runs) by the library later, at the next fork or in [`waitall`].
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    status: Option<ExitStatus>,
}

impl Child {
    pub(crate) fn new(pid: Pid) -> Self {
        Child { pid, status: None }
    }

    /// Waits at most `timeout` for the child to end: its status, or
    /// `Ok(None)` if it still runs then.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `waitpid` or `poll` fails.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        if let Some(s) = self.try_wait()? {
            return Ok(Some(s));
        }
        match sys::pidfd_open(self.pid) {
            Ok(fd) => {
                if sys::poll_one(fd.as_fd(), false, Some(timeout))? {
                    return self.wait().map(Some);
                }
                Ok(None)
            }
            // Before Linux 5.3 there is no pidfd: look once more.
            Err(_) => self.try_wait(),
        }
    }
}

fn convert(status: WaitStatus) -> Option<ExitStatus> {
    match status {
        WaitStatus::Exited(_, code) => Some(ExitStatus::Exited(code)),
        WaitStatus::Signaled(_, sig, _) => Some(ExitStatus::Signaled(sig as i32)),
        _ => None,
    }
}

/// `waitpid` for one child, with the status `waitall` may have collected
/// already.
fn reap(pid: Pid, block: bool) -> Result<Option<ExitStatus>> {
    let flags = if block {
        None
    } else {
        Some(WaitPidFlag::WNOHANG)
    };
    loop {
        match waitpid(nix::unistd::Pid::from_raw(pid), flags) {
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(status) => match convert(status) {
                Some(s) => {
                    registry::lock().state().children.remove(&pid);
                    return Ok(Some(s));
                }
                // Stopped or continued: not an end.
                None if block => continue,
                None => return Ok(None),
            },
            Err(Errno::EINTR) => continue,
            Err(Errno::ECHILD) => {
                let mut g = registry::lock();
                return match g.state().children.get(&pid) {
                    Some(&ChildState::Reaped(s)) => {
                        g.state().children.remove(&pid);
                        Ok(Some(s))
                    }
                    _ => Err(Error::Io(io::Error::other(format!(
                        "child {pid} was reaped by someone else"
                    )))),
                };
            }
            Err(e) => return Err(Error::Io(e.into())),
        }
    }
}

impl Process for Child {
    fn pid(&self) -> Pid {
        self.pid
    }

    fn wait(&mut self) -> Result<ExitStatus> {
        if let Some(s) = self.status {
            return Ok(s);
        }
        let status = reap(self.pid, true)?
            .ok_or_else(|| Error::Io(io::Error::other("waitpid returned without a status")))?;
        self.status = Some(status);
        Ok(status)
    }

    fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = reap(self.pid, false)?;
        }
        Ok(self.status)
    }

    fn kill(&mut self) -> Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        match kill(nix::unistd::Pid::from_raw(self.pid), Signal::SIGKILL) {
            Ok(()) | Err(Errno::ESRCH) => Ok(()),
            Err(e) => Err(Error::Io(e.into())),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        if let Ok(Some(_)) = reap(self.pid, false) {
            return;
        }
        let mut g = registry::lock();
        if let Some(state) = g.state().children.get_mut(&self.pid) {
            if *state == ChildState::Owned {
                *state = ChildState::Orphan;
            }
        }
    }
}

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
    crate::forkserver::warn_if_threaded();
    let parent = nix::unistd::getpid().as_raw();
    let mut out = io::stdout().lock();
    let _ = out.flush();
    let err = io::stderr().lock();
    let mut g = registry::lock();
    reap_orphans(g.state());
    match sys::fork() {
        Err(e) => Err(Error::Fork(e)),
        Ok(ForkResult::Parent(pid)) => {
            g.state().children.insert(pid, ChildState::Owned);
            Ok((ForkResult::Parent(pid), plan))
        }
        Ok(ForkResult::Child) => {
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
            state.children.clear();
            drop(g);
            drop(err);
            drop(out);
            Ok((ForkResult::Child, plan))
        }
    }
}

/// Reaps children whose handles were dropped while they ran.
fn reap_orphans(state: &mut registry::State) {
    state.children.retain(|&pid, st| {
        *st != ChildState::Orphan
            || matches!(
                waitpid(nix::unistd::Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)),
                Ok(WaitStatus::StillAlive)
            )
    });
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
    kind: TransportKind,
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

    /// Chooses the transport.
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
    /// transfers of large frames go faster with a few MiB).
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
/// can ([`thread_count`] tells), and do not share locks with code that
/// runs in children.
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

/// Waits for every child this process forked through the library and has
/// not reaped yet (pprocess's `waitall`). Returns their pids and statuses.
///
/// It waits for *every* such child, including those whose [`Channel`] is
/// still alive (their channel's [`Channel::wait`] still gets the status):
/// a child that waits for a message from this process before it ends
/// blocks `waitall` for ever. [`waitall_timeout`] gives up after a while.
///
/// # Errors
///
/// [`Error::Io`] if `waitpid` fails other than for a child already reaped.
pub fn waitall() -> Result<Vec<(Pid, ExitStatus)>> {
    waitall_until(None)
}

/// Like [`waitall`], but waits at most `timeout`: returns the children
/// that ended by then; the others stay for a later call.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pprocess_transport::{start, waitall_timeout};
///
/// // A child that waits for a message that never comes.
/// let ch = start(|ch| ch.receive::<u8>().map(|_| ()))?;
/// assert!(waitall_timeout(Duration::from_millis(50))?.is_empty());
/// drop(ch); // it sees end of file and ends
/// let ended = waitall_timeout(Duration::from_secs(10))?;
/// assert_eq!(ended.len(), 1);
/// # Ok::<(), pprocess_core::Error>(())
/// ```
///
/// # Errors
///
/// As for [`waitall`].
pub fn waitall_timeout(timeout: Duration) -> Result<Vec<(Pid, ExitStatus)>> {
    waitall_until(Some(Instant::now() + timeout))
}

fn waitall_until(deadline: Option<Instant>) -> Result<Vec<(Pid, ExitStatus)>> {
    let pids: Vec<Pid> = {
        let mut g = registry::lock();
        g.state()
            .children
            .iter()
            .filter(|(_, st)| !matches!(st, ChildState::Reaped(_)))
            .map(|(&pid, _)| pid)
            .collect()
    };
    let mut reaped = Vec::new();
    for pid in pids {
        if let Some(deadline) = deadline {
            // A pidfd becomes readable when the process ends: wait for
            // that with what is left of the time, then reap without
            // blocking. (No pidfd, on kernels before 5.3: wait blindly.)
            if let Ok(fd) = sys::pidfd_open(pid) {
                let left = deadline.saturating_duration_since(Instant::now());
                if !sys::poll_one(fd.as_fd(), false, Some(left))? {
                    continue;
                }
            }
        }
        let status = loop {
            match waitpid(nix::unistd::Pid::from_raw(pid), None) {
                Ok(s) => match convert(s) {
                    Some(s) => break Some(s),
                    None => continue,
                },
                Err(Errno::EINTR) => continue,
                Err(Errno::ECHILD) => break None,
                Err(e) => return Err(Error::Io(e.into())),
            }
        };
        let Some(status) = status else { continue };
        let mut g = registry::lock();
        let children = &mut g.state().children;
        if children.get(&pid) == Some(&ChildState::Owned) {
            children.insert(pid, ChildState::Reaped(status));
        } else {
            children.remove(&pid);
        }
        reaped.push((pid, status));
    }
    Ok(reaped)
}

/// The number of CPUs this process may run on (pprocess's
/// `get_number_of_cores`); at least 1.
pub fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The number of threads of this process (Linux: from `/proc/self/status`),
/// or `None` if it cannot be read. More than one means a forked child may
/// find a lock held for ever; see [`start`]'s fork-safety notes.
#[must_use]
pub fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}
