//! Background processes: persistent channels at a Unix-socket address
//! (pprocess's `create_persistent`, `start_persistent`,
//! `BackgroundCallable`, `connect_persistent`).

use std::collections::VecDeque;
use std::fmt;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pprocess_core::{
    Codec, Error, ExitStatus, FrameKind, Pid, Process, RemoteKind, RemoteReport, Result,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::child::{ChildOutcome, panic_message};
use super::{Builder, Child, ForkPlan, fork_locked};
use crate::channel::{Channel, encode_frame_into};
use crate::codec::MessagePack;
use crate::sys::{self, ForkResult};
use crate::transport::{Listener, UnixSocket, check_address};

/// Frames a persistent channel sends before it waits for acknowledgements.
const WINDOW: usize = 64;

/// The background process's end of a persistent channel: it listens at a
/// filesystem address, serves one peer at a time, and survives a peer's
/// disconnection.
///
/// Every message sent is kept until a peer has acknowledged it (peers made
/// by [`connect`] acknowledge each message as they hand it out), so a
/// message being sent when the peer vanishes goes to the next peer instead
/// of being lost. [`PersistentChannel::send`] accepts up to 64 messages
/// ahead of acknowledgements, then waits — for a peer to connect, if none
/// is connected. When the background function returns, the process waits
/// until everything it sent has been acknowledged, removes its socket file,
/// and ends.
pub struct PersistentChannel<C = MessagePack> {
    listener: Listener,
    conn: Option<Channel<C>>,
    /// Whole frames not yet acknowledged, oldest first.
    unacked: VecDeque<Vec<u8>>,
    /// Frames of `unacked` written on the current connection.
    written: usize,
    /// Acknowledgements of the current connection already accounted for.
    acked: u64,
    max_frame: usize,
}

impl<C> fmt::Debug for PersistentChannel<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistentChannel")
            .field("address", &self.listener.address())
            .field("connected", &self.conn.is_some())
            .field("unacked", &self.unacked.len())
            .finish_non_exhaustive()
    }
}

impl<C: Codec> PersistentChannel<C> {
    /// The address peers connect to.
    #[must_use]
    pub fn address(&self) -> &Path {
        self.listener.address()
    }

    /// Whether a peer is connected now.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Sends a message to the current or a later peer: writes it to the
    /// connected peer (taking one that is waiting, if none is connected),
    /// or keeps it for the next. Waits for acknowledgements (and for a
    /// peer) only when more than 64 messages are unacknowledged.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] or [`Error::FrameTooLarge`] for a value that cannot
    /// be sent; [`Error::Io`] if the listening socket fails. A vanished peer
    /// is not an error.
    pub fn send<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let mut frame = Vec::new();
        encode_frame_into::<C, T>(FrameKind::Data, value, self.max_frame, &mut frame)?;
        self.unacked.push_back(frame);
        self.pump(WINDOW)
    }

    /// Sends a remote-error frame, kept like a message until acknowledged.
    ///
    /// # Errors
    ///
    /// As for [`PersistentChannel::send`].
    pub fn send_error(&mut self, message: &str) -> Result<()> {
        self.send_report(&RemoteReport {
            pid: nix::unistd::getpid().as_raw(),
            kind: RemoteKind::Error,
            message: message.to_string(),
            chain: Vec::new(),
        })
    }

    /// Sends a remote-error frame with its kind and source chain.
    fn send_report(&mut self, report: &RemoteReport) -> Result<()> {
        let mut payload = Vec::new();
        report.encode(&mut payload);
        let mut frame =
            pprocess_core::frame::encode_header(FrameKind::Error, payload.len())?.to_vec();
        frame.extend_from_slice(&payload);
        self.unacked.push_back(frame);
        self.pump(WINDOW)
    }

    /// Receives a message from a peer, waiting for one to connect if
    /// needed; a peer that hangs up is replaced by the next.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`], [`Error::Remote`] or a framing error from the peer.
    pub fn receive<T: DeserializeOwned>(&mut self) -> Result<T> {
        loop {
            self.pump(usize::MAX)?;
            let Some(conn) = self.conn.as_mut() else {
                self.accept_peer(true)?;
                continue;
            };
            match conn.receive::<T>() {
                Ok(v) => return Ok(v),
                Err(Error::Closed | Error::Truncated { .. } | Error::Io(_)) => self.drop_peer(),
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits until every message sent has been acknowledged by some peer.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the listening socket fails.
    pub fn flush(&mut self) -> Result<()> {
        self.pump(0)
    }

    /// Gives up the current peer (it has gone, or its stream is broken).
    /// Its acknowledgements count first, including those still unread, so
    /// that only what it did not acknowledge goes to the next peer.
    fn drop_peer(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            conn.take_remaining_acks();
        }
        self.account_acks();
        self.conn = None;
        self.written = 0;
        self.acked = 0;
    }

    /// Forgets the frames the current peer has acknowledged since the last
    /// call.
    fn account_acks(&mut self) {
        if let Some(conn) = self.conn.as_ref() {
            let newly = conn.peer_acked().saturating_sub(self.acked);
            let newly = usize::try_from(newly)
                .unwrap_or(usize::MAX)
                .min(self.written);
            self.unacked.drain(..newly);
            self.written -= newly;
            self.acked += newly as u64;
        }
    }

    /// Takes the next peer: waits for one if `block`, else only takes one
    /// that is already waiting. Returns whether there is a peer now.
    fn accept_peer(&mut self, block: bool) -> Result<bool> {
        if !block && !sys::poll_one(self.listener.fd(), false, Some(Duration::ZERO))? {
            return Ok(false);
        }
        let socket = self.listener.accept()?;
        let mut ch = Channel::new(Box::new(socket) as Box<dyn pprocess_core::Transport>);
        ch.set_max_frame_size(self.max_frame);
        self.conn = Some(ch);
        self.written = 0;
        self.acked = 0;
        Ok(true)
    }

    /// Writes what the peer has not had and takes acknowledgements until at
    /// most `max_unacked` frames remain unacknowledged. Waits for a peer
    /// only while more than that remain; otherwise takes one only if it is
    /// already waiting.
    fn pump(&mut self, max_unacked: usize) -> Result<()> {
        loop {
            if self.conn.is_none() {
                let block = self.unacked.len() > max_unacked;
                if !self.accept_peer(block)? {
                    return Ok(());
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            let mut failed = false;
            while self.written < self.unacked.len() {
                if conn.write_frames(&self.unacked[self.written]).is_err() {
                    failed = true;
                    break;
                }
                self.written += 1;
            }
            if !failed
                && self.unacked.len() > max_unacked
                && conn.wait_acks(self.acked + 1).is_err()
            {
                failed = true;
            }
            if failed {
                self.drop_peer();
                continue;
            }
            self.account_acks();
            if self.unacked.len() <= max_unacked {
                return Ok(());
            }
        }
    }

    /// Waits until everything sent has been acknowledged, removes the
    /// socket file and ends the process with `_exit(code)`. Never returns.
    pub fn exit(mut self, code: i32) -> ! {
        let code = match self.flush() {
            Ok(()) => code,
            Err(_) => 1,
        };
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.close_write();
        }
        drop(self);
        super::child::end(code)
    }
}

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
                Ok(PersistentFork::Child(PersistentChannel {
                    listener,
                    conn: None,
                    unacked: VecDeque::new(),
                    written: 0,
                    acked: 0,
                    max_frame: self.max_frame,
                }))
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
