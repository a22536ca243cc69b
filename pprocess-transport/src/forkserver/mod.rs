//! The fork server: a clean process, forked at the top of `main` before any
//! thread exists, that forks the workers of a threaded program.

mod protocol;
mod server;
mod spawn;
mod worker;

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use pprocess_core::{Error, Pid, Process, Result};

use crate::process::{Builder, ForkPlan, fork_locked};
use crate::reap::Child;
use crate::registry;
use crate::sys::{self, FnAddr, ForkResult};
use crate::threads::thread_count;
use crate::transport::TrackedFd;

/// How long a dropped fork server gets to end by itself before it is
/// killed.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// A clean process that forks workers on request, for programs that have
/// threads: Python multiprocessing's `forkserver`.
///
/// A child forked from a multi-threaded process has one thread, and every
/// lock that another thread held at the moment of the fork stays locked in
/// it for ever: a `Mutex` of yours, a logger's, an allocator's arena, a
/// runtime's. [`start`](crate::start) cannot guard against that. A fork
/// server can: [`ForkServer::start`], called at the top of `main` while the
/// process has one thread, forks a small process that holds no lock and
/// starts no thread; later, from any thread, work is sent to it and it
/// forks a worker from its own clean copy of the program.
///
/// Work sent to a fork server is a [`RemoteFn`](crate::RemoteFn) — a `fn`
/// item or a closure that captures nothing — plus serde arguments, since
/// the worker is a copy of the program as it was when the server started,
/// not as it is now. [`Builder::fork_server`](crate::Builder::fork_server)
/// makes a builder whose [`Builder::start_fn`](crate::Builder::start_fn) goes
/// through the server; with `pprocess-exchange`, the same builder makes a
/// `Map`, `Queue` or `Exchange` whose `call_fn`, `manage_fn` and `pmap_fn`
/// work goes through it.
///
/// A worker is a child of the program, not of the server (Linux's
/// `CLONE_PARENT`): the program's channel to it has its pid, waits for it,
/// reaps it and kills it exactly as for a child it forked itself, and it
/// dies with the program (`PR_SET_PDEATHSIG`) unless the builder lets it
/// outlive it. The server ends when its handle (and every clone of it) is
/// dropped, or with the program.
///
/// Linux ties `PR_SET_PDEATHSIG` to a thread: the server and its workers
/// are killed when the thread that called [`ForkServer::start`] ends, so
/// call it from the main thread (or from a thread that outlives them).
///
/// # Examples
///
/// ```
/// use pprocess_transport::{ForkServer, RemoteFn};
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// # // Doctests run on a thread of a test harness: make the clean,
/// # // single-threaded process that a real program's `main` is.
/// # let mut done = pprocess_transport::start(|done| -> pprocess_transport::Result<()> {
/// // At the top of main, before any thread is started:
/// let server = ForkServer::start()?;
///
/// // ... threads may be started now ...
/// let mut ch = server.builder().start_fn(RemoteFn::new(square))?;
/// ch.send(&12u64)?;
/// assert_eq!(ch.receive::<u64>()?, 144);
/// ch.send_end()?; // the worker ends
/// assert!(ch.close()?.unwrap().success());
/// # done.send(&())
/// # })?;
/// # done.receive::<()>()?;
/// # assert!(done.close()?.unwrap().success());
/// # Ok::<(), pprocess_core::Error>(())
/// ```
///
/// # Errors
///
/// See [`ForkServer::start`].
///
/// # Fork safety
///
/// The server's memory is the program's at the moment it started: statics
/// set later, and anything reached only through a closure's captures, are
/// not in a worker. Functions must be in the executable (see
/// [`RemoteFn`](crate::RemoteFn)).
#[derive(Clone)]
pub struct ForkServer {
    inner: Arc<Inner>,
}

struct Inner {
    /// The program's end of the control socket; one request at a time.
    control: Mutex<Option<TrackedFd>>,
    /// The server process.
    process: Mutex<Child>,
    pid: Pid,
    /// The process that started the server (a forked copy of the handle in
    /// a child must not use or reap it).
    owner: Pid,
}

impl fmt::Debug for ForkServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForkServer")
            .field("pid", &self.inner.pid)
            .field("owner", &self.inner.owner)
            .finish()
    }
}

fn me() -> Pid {
    nix::unistd::getpid().as_raw()
}

impl ForkServer {
    /// Forks the fork server. Call it at the top of `main`, before any
    /// thread is started.
    ///
    /// # Errors
    ///
    /// [`Error::Fork`] if the process has more than one thread (or the
    /// count cannot be read from `/proc/self/status`), naming the count,
    /// or if `fork` fails; [`Error::Io`] if the control socket cannot be
    /// made.
    pub fn start() -> Result<ForkServer> {
        match thread_count() {
            Some(1) => {}
            n => {
                let n = n.map_or_else(|| "an unknown number of".to_string(), |n| n.to_string());
                return Err(Error::Fork(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "a fork server must start while the process has one thread, \
                         and this one has {n} threads (start it at the top of main)"
                    ),
                )));
            }
        }
        // Made before the fork, so the server and its workers share it.
        let _ = sys::key();
        let [ours, theirs] = TrackedFd::make_all(|| {
            let (ours, theirs) = socketpair(
                AddressFamily::Unix,
                SockType::SeqPacket,
                None,
                SockFlag::SOCK_CLOEXEC,
            )?;
            Ok([ours, theirs])
        })
        .map_err(crate::process::channel_error)?;
        let keep = [theirs.raw()];
        let plan = ForkPlan {
            keep: &keep,
            parent_end: None,
            die_with_parent: true,
        };
        match fork_locked(plan)?.0 {
            ForkResult::Parent(pid) => {
                // The program reaps it itself, when the handle goes:
                // `waitall` must not wait for a process that ends only then.
                registry::lock().state().children.remove(&pid);
                drop(theirs);
                Ok(ForkServer {
                    inner: Arc::new(Inner {
                        control: Mutex::new(Some(ours)),
                        process: Mutex::new(Child::new(pid)),
                        pid,
                        owner: me(),
                    }),
                })
            }
            ForkResult::Child => {
                drop(ours);
                let program = nix::unistd::getppid().as_raw();
                server::run(theirs, program)
            }
        }
    }

    /// A builder (socketpair, MessagePack) whose [`Builder::start_fn`] goes
    /// through this server: `Builder::new().fork_server(self)`.
    #[must_use]
    pub fn builder(&self) -> Builder {
        Builder::new().fork_server(self)
    }

    /// The server's pid.
    #[must_use]
    pub fn pid(&self) -> Pid {
        self.inner.pid
    }

    /// Whether the server still runs (it ends only when its handles are
    /// dropped, or if it is killed).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `waitpid` fails.
    pub fn is_running(&self) -> Result<bool> {
        if me() != self.inner.owner {
            return Ok(false);
        }
        let mut p = self
            .inner
            .process
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(p.try_wait()?.is_none())
    }

    /// Asks the server for a worker that runs `func` on the channel end
    /// `worker_end`; returns its pid, registered as a child of this
    /// process.
    pub(crate) fn spawn(
        &self,
        func: FnAddr,
        worker_end: BorrowedFd<'_>,
        max_frame: usize,
        die_with_parent: bool,
    ) -> Result<Pid> {
        let owner = self.inner.owner;
        if me() != owner {
            return Err(Error::Fork(io::Error::other(format!(
                "fork server {} belongs to process {owner}; a forked child ({}) cannot use it",
                self.inner.pid,
                me()
            ))));
        }
        let gone = |e: io::Error| {
            Error::Fork(io::Error::new(
                e.kind(),
                format!("fork server {} cannot be reached: {e}", self.inner.pid),
            ))
        };
        let req = protocol::Spawn {
            func: func.to_wire(),
            max_frame: max_frame as u64,
            die_with_parent,
        };
        let control = self
            .inner
            .control
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(control) = control.as_ref() else {
            return Err(gone(io::Error::from(io::ErrorKind::NotConnected)));
        };
        protocol::send_request(control.as_fd(), &req, worker_end).map_err(gone)?;
        let reply = protocol::receive_reply(control.as_fd()).map_err(gone)?;
        match reply {
            Ok(pid) => {
                registry::lock().state().add_child(pid);
                Ok(pid)
            }
            Err(libc::EBADMSG) => Err(Error::Protocol(format!(
                "fork server {} refused the remote function",
                self.inner.pid
            ))),
            Err(errno) => Err(Error::Fork(io::Error::from_raw_os_error(errno))),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if me() != self.owner {
            return;
        }
        // Closing our end is the server's signal to end.
        drop(
            self.control
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let p = self
            .process
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if !matches!(p.wait_timeout(STOP_GRACE), Ok(Some(_))) {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}
