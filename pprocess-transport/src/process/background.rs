//! Starting background processes at Unix-socket addresses and reaching
//! them: pprocess's `create_persistent`, `start_persistent`,
//! `BackgroundCallable` and `connect_persistent`.

use std::fmt;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

#[cfg(doc)]
use pprocess_core::Error;
use pprocess_core::{Codec, ExitStatus, Pid, Process, RemoteKind, RemoteReport, Result};
use serde::Serialize;

use super::child::{ChildOutcome, panic_message};
use super::persistent::PersistentChannel;
use super::{Builder, Child, ForkPlan, fork_locked};
use crate::channel::Channel;
use crate::codec::MessagePack;
use crate::sys::{self, ForkResult};
use crate::transport::{Listener, UnixSocket, check_address};

/// The starting process's handle on a background process.
///
/// Dropping it leaves the process running; it is reaped by the library
/// later (or by `init` once this process has ended).
#[derive(Debug)]
pub struct Background {
    child: Child,
    address: PathBuf,
}

impl Background {
    /// The background process's pid.
    #[must_use]
    pub fn pid(&self) -> Pid {
        self.child.pid()
    }

    /// The address it listens at.
    #[must_use]
    pub fn address(&self) -> &Path {
        &self.address
    }

    /// Waits for it to end (after a peer has collected everything it sent).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `waitpid` fails.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        self.child.wait()
    }

    /// How it ended, or `Ok(None)` while it runs.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `waitpid` fails.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Kills it with `SIGKILL` (its socket file stays, as a stale socket
    /// that the next start at this address replaces).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `kill` fails.
    pub fn kill(&mut self) -> Result<()> {
        self.child.kill()
    }
}

/// Which side of [`create_persistent`] the caller is on.
#[derive(Debug)]
// Made once per fork and matched at once: its size costs nothing, and
// boxing the channel would only add an allocation and an indirection.
#[allow(clippy::large_enum_variant)]
pub enum PersistentFork<C = MessagePack> {
    /// The starting process, with a handle on the background process.
    Parent(Background),
    /// The background process, detached, with its persistent channel. End
    /// it with [`PersistentChannel::exit`].
    Child(PersistentChannel<C>),
}

/// Points stdin at `/dev/null` and stdout and stderr at `log` (or
/// `/dev/null`), and starts a new session, so the process outlives its
/// starter and its terminal.
fn detach(log: Option<&Path>) -> std::io::Result<()> {
    nix::unistd::setsid()?;
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    let out = match log {
        Some(path) => OpenOptions::new().create(true).append(true).open(path)?,
        None => null.try_clone()?,
    };
    nix::unistd::dup2_stdin(&null)?;
    nix::unistd::dup2_stdout(&out)?;
    nix::unistd::dup2_stderr(&out)?;
    Ok(())
}

impl<C: Codec> Builder<C> {
    /// Sends a background process's standard output and error to `path`
    /// (appending) instead of `/dev/null`.
    #[must_use]
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.log = Some(path.into());
        self
    }

    /// Binds a persistent channel at `address` and forks a detached
    /// background process that owns it: pprocess's `create_persistent`.
    ///
    /// The socket file is made owner-only (0600). A stale socket (nobody
    /// listening) at the address is replaced; any other existing file is
    /// refused.
    ///
    /// # Errors
    ///
    /// [`Error::Address`] for an address that is too long, in use, or held
    /// by a file that is not a stale socket; [`Error::Fork`] if `fork`
    /// fails.
    pub fn create_persistent(&self, address: impl AsRef<Path>) -> Result<PersistentFork<C>> {
        let mut listener = Listener::bind(address.as_ref())?;
        let keep = [listener.raw_fd()];
        let plan = ForkPlan {
            keep: &keep,
            parent_end: None,
            die_with_parent: false,
        };
        match fork_locked(plan)?.0 {
            ForkResult::Parent(pid) => Ok(PersistentFork::Parent(Background {
                child: Child::new(pid),
                address: listener.address().to_path_buf(),
            })),
            ForkResult::Child => {
                listener.take_ownership();
                if let Err(e) = detach(self.log.as_deref()) {
                    drop(listener);
                    let _ = e;
                    sys::exit_now(127);
                }
                Ok(PersistentFork::Child(PersistentChannel::new(
                    listener,
                    self.max_frame,
                )))
            }
        }
    }

    /// Starts a detached background process listening at `address` that
    /// runs `f` with its persistent channel, then waits until a peer has
    /// collected everything and ends: pprocess's `start_persistent`.
    ///
    /// A panic or an error returned by `f` reaches the peer as
    /// [`Error::Remote`].
    ///
    /// # Errors
    ///
    /// As for [`Builder::create_persistent`].
    pub fn start_persistent<F, R>(&self, address: impl AsRef<Path>, f: F) -> Result<Background>
    where
        F: FnOnce(&mut PersistentChannel<C>) -> R,
        R: ChildOutcome,
    {
        match self.create_persistent(address)? {
            PersistentFork::Parent(bg) => Ok(bg),
            PersistentFork::Child(mut ch) => {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    f(&mut ch).into_failure()
                }));
                let pid = nix::unistd::getpid().as_raw();
                let code = match outcome {
                    Ok(Ok(())) => 0,
                    Ok(Err(failure)) => {
                        let _ = ch.send_report(&RemoteReport {
                            pid,
                            kind: RemoteKind::Error,
                            message: failure.message().to_string(),
                            chain: failure.chain().to_vec(),
                        });
                        1
                    }
                    Err(payload) => {
                        let message = panic_message(&*payload);
                        std::mem::forget(payload);
                        let _ = ch.send_report(&RemoteReport {
                            pid,
                            kind: RemoteKind::Panic,
                            message,
                            chain: Vec::new(),
                        });
                        101
                    }
                };
                ch.exit(code)
            }
        }
    }

    /// Connects to a background process at `address`; the channel
    /// acknowledges each message it hands out, so the background process
    /// keeps nothing twice and loses nothing if this peer goes away.
    /// pprocess's `connect_persistent`.
    ///
    /// # Errors
    ///
    /// [`Error::Address`] if nothing listens at `address`.
    pub fn connect(&self, address: impl AsRef<Path>) -> Result<Channel<C>> {
        let socket = UnixSocket::connect(address)?;
        let mut ch = self.channel(Box::new(socket));
        ch.set_acknowledge(true);
        Ok(ch)
    }
}

/// [`Builder::create_persistent`] with the defaults (MessagePack).
///
/// # Errors
///
/// As for [`Builder::create_persistent`].
pub fn create_persistent(address: impl AsRef<Path>) -> Result<PersistentFork> {
    Builder::new().create_persistent(address)
}

/// [`Builder::start_persistent`] with the defaults (MessagePack, output to
/// `/dev/null`).
///
/// # Examples
///
/// ```
/// use pprocess_transport::{connect, start_persistent};
///
/// let dir = std::env::temp_dir().join(format!("pp-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let address = dir.join("task.socket");
/// let mut bg = start_persistent(&address, |ch| ch.send(&(6 * 7)))?;
/// // Any process can now connect and collect the result.
/// let mut ch = connect(&address)?;
/// assert_eq!(ch.receive::<i32>()?, 42);
/// assert!(bg.wait()?.success());
/// assert!(!address.exists()); // the background process removed it
/// std::fs::remove_dir(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As for [`Builder::create_persistent`].
pub fn start_persistent<F, R>(address: impl AsRef<Path>, f: F) -> Result<Background>
where
    F: FnOnce(&mut PersistentChannel) -> R,
    R: ChildOutcome,
{
    Builder::new().start_persistent(address, f)
}

/// [`Builder::connect`] with the defaults (MessagePack).
///
/// # Errors
///
/// As for [`Builder::connect`].
pub fn connect(address: impl AsRef<Path>) -> Result<Channel> {
    Builder::new().connect(address)
}

/// A plain function run in a background process at an address, its return
/// value kept for whoever connects: pprocess's
/// `BackgroundCallable(address, MakeParallel(f))`.
///
/// # Examples
///
/// ```
/// use pprocess_transport::{BackgroundCallable, connect};
///
/// let address = std::env::temp_dir().join(format!("pp-bgc-{}.socket", std::process::id()));
/// let mut bg = BackgroundCallable::new(&address, |n: u64| n * 2).call(21)?;
/// assert_eq!(connect(&address)?.receive::<u64>()?, 42);
/// bg.wait()?;
/// # Ok::<(), pprocess_core::Error>(())
/// ```
pub struct BackgroundCallable<F, C = MessagePack> {
    address: PathBuf,
    f: F,
    builder: Builder<C>,
}

impl<F, C> fmt::Debug for BackgroundCallable<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackgroundCallable")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl<F> BackgroundCallable<F> {
    /// Wraps `f` to run at `address`.
    pub fn new(address: impl Into<PathBuf>, f: F) -> Self {
        BackgroundCallable {
            address: address.into(),
            f,
            builder: Builder::new(),
        }
    }
}

impl<F, C: Codec> BackgroundCallable<F, C> {
    /// Uses `builder` (codec, log file) for the background process.
    pub fn with_builder<D: Codec>(self, builder: Builder<D>) -> BackgroundCallable<F, D> {
        BackgroundCallable {
            address: self.address,
            f: self.f,
            builder,
        }
    }

    /// Starts the background process computing `f(args)`.
    ///
    /// # Errors
    ///
    /// As for [`Builder::create_persistent`].
    pub fn call<A, R>(self, args: A) -> Result<Background>
    where
        F: FnOnce(A) -> R,
        R: Serialize,
    {
        check_address(&self.address)?;
        let f = self.f;
        self.builder
            .start_persistent(&self.address, move |ch: &mut PersistentChannel<C>| {
                ch.send(&f(args))
            })
    }
}
