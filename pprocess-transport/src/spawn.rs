//! `spawn` and `JoinHandle`: a forked child that computes one value, in
//! the shape of `std::thread::spawn(..).join()`.

use std::fmt;
use std::marker::PhantomData;

use pprocess_core::{Codec, Error, Pid, Result};
use serde::de::DeserializeOwned;

use crate::channel::Channel;
use crate::codec::MessagePack;
use crate::outcome::{ChildFailure, SpawnOutcome};
use crate::process::Builder;

/// The parent's handle on a child made by [`spawn`]: wait for its value
/// with [`JoinHandle::join`].
///
/// # Dropping
///
/// A handle must not leave a zombie or an orphan behind, and its drop must
/// never hang. So dropping a handle whose child has ended reaps it, and
/// dropping one whose child still runs **kills** the child (`SIGKILL`) and
/// reaps it, as a `kill_on_drop` process would: the value it was computing
/// is lost. Call [`JoinHandle::join`] to have it. (A thread's handle can
/// detach; a child left running without a handle would become a zombie
/// that only [`waitall`](crate::waitall) or the next fork reaps.)
///
/// # Thread safety
///
/// `Send` (it may be joined on another thread) but not `Sync`, like the
/// [`Channel`] inside it.
///
/// # Examples
///
/// ```
/// let data = vec![1u64, 2, 3];
/// // The closure borrows `data`: the child has its own copy of it.
/// let handle = pprocess_transport::spawn(|| data.iter().sum::<u64>())?;
/// assert_eq!(handle.join()?, 6);
/// # Ok::<(), pprocess_core::Error>(())
/// ```
#[must_use = "dropping a JoinHandle kills its child if it still runs; call join() for the value"]
pub struct JoinHandle<R, C: Codec = MessagePack> {
    channel: Channel<C>,
    pid: Pid,
    _value: PhantomData<fn() -> R>,
}

impl<R, C: Codec> fmt::Debug for JoinHandle<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("pid", &self.pid)
            .field("value", &std::any::type_name::<R>())
            .field("channel", &self.channel)
            .finish()
    }
}

impl<R, C: Codec> JoinHandle<R, C> {
    /// The child's pid.
    #[must_use]
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Whether [`JoinHandle::join`] would return without waiting: the value
    /// (or the child's error, or its hang-up) has arrived, or the child has
    /// ended. Never blocks.
    pub fn is_finished(&mut self) -> bool {
        match self.channel.fill_ready() {
            Ok(true) | Err(_) => true,
            Ok(false) => !matches!(self.channel.try_wait(), Ok(None)),
        }
    }

    /// Kills the child with `SIGKILL`. A later [`JoinHandle::join`] gives
    /// [`Error::ChildDied`] with the signal, unless the value had already
    /// been sent.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `kill` fails.
    pub fn kill(&mut self) -> Result<()> {
        self.channel.kill()
    }
}

impl<R: DeserializeOwned, C: Codec> JoinHandle<R, C> {
    /// Waits for the child's value and reaps the child.
    ///
    /// # Errors
    ///
    /// - [`Error::Remote`]: the closure panicked (kind
    ///   [`RemoteKind::Panic`](pprocess_core::RemoteKind::Panic)) or
    ///   returned an error (kind
    ///   [`RemoteKind::Error`](pprocess_core::RemoteKind::Error), with the
    ///   error's source chain), or the value could not be encoded;
    /// - [`Error::ChildDied`]: the child ended without sending its value
    ///   (killed, or it called `exit` itself), with its exit status;
    /// - [`Error::Decode`]: what arrived is not an `R`;
    /// - [`Error::Io`]: reading or `waitpid` failed (the child is killed
    ///   and reaped first).
    pub fn join(mut self) -> Result<R> {
        match self.channel.receive::<R>() {
            Ok(value) => {
                self.channel.wait()?;
                Ok(value)
            }
            Err(Error::Closed | Error::Truncated { .. }) => {
                let status = self.channel.wait()?.ok_or_else(|| no_child(self.pid))?;
                Err(Error::ChildDied {
                    pid: self.pid,
                    status,
                })
            }
            Err(e @ (Error::Remote { .. } | Error::Decode { .. })) => {
                // The child has sent its last frame and is ending.
                self.channel.wait()?;
                Err(e)
            }
            Err(e) => {
                // The stream is broken: the child may never end by itself.
                let _ = self.channel.kill();
                let _ = self.channel.wait();
                Err(e)
            }
        }
    }
}

impl<R, C: Codec> Drop for JoinHandle<R, C> {
    fn drop(&mut self) {
        // Reaped already (joined, or seen ended)? Nothing to do. Otherwise
        // kill: a child that never ends must not make the drop hang.
        if let Ok(Some(_)) = self.channel.try_wait() {
            return;
        }
        let _ = self.channel.kill();
        let _ = self.channel.wait();
    }
}

fn no_child(pid: Pid) -> Error {
    Error::Io(std::io::Error::other(format!(
        "channel to child {pid} lost its process handle"
    )))
}

impl<C: Codec> Builder<C> {
    /// Forks a child that computes `f()` and sends back its value, with this
    /// builder's transport, codec and frame limit; [`spawn`] with the
    /// defaults.
    ///
    /// # Errors
    ///
    /// As for [`Builder::start`].
    ///
    /// # Fork safety
    ///
    /// See [`start`](crate::start).
    pub fn spawn<O, M>(&self, f: impl FnOnce() -> O) -> Result<JoinHandle<O::Value, C>>
    where
        O: SpawnOutcome<M>,
    {
        let channel = self.start(
            move |ch: &mut Channel<C>| -> std::result::Result<(), ChildFailure> {
                let value = f().into_value()?;
                ch.send(&value).map_err(|e| ChildFailure::from_error(&e))
            },
        )?;
        let pid = channel.pid().ok_or_else(|| {
            Error::Io(std::io::Error::other(
                "a started channel has no child process",
            ))
        })?;
        Ok(JoinHandle {
            channel,
            pid,
            _value: PhantomData,
        })
    }
}

/// Forks a child that computes `f()` and sends back its value:
/// `std::thread::spawn` for processes. [`JoinHandle::join`] waits for it.
///
/// `f` may borrow anything (the child has its own copy of the parent's
/// memory) and need not be `Send`. What it returns decides what `join`
/// gives ([`SpawnOutcome`]):
///
/// - a serde value `R` (`Serialize + DeserializeOwned`): `Ok(R)`;
/// - `Result<R, E>` with an error type `E` (any `std::error::Error`,
///   `String`, `&str`, `Box<dyn Error>`): `Ok(R)`, or the error as
///   [`Error::Remote`] whose source is the error's chain, as text.
///
/// A panic is an [`Error::Remote`] too; a child that dies without a value
/// is [`Error::ChildDied`].
///
/// # Examples
///
/// ```
/// use pprocess_transport::{Error, RemoteKind, spawn};
///
/// let handle = spawn(|| -> Result<u64, std::num::ParseIntError> { "42".parse() })?;
/// assert_eq!(handle.join()?, 42);
///
/// let handle = spawn(|| "x".parse::<u64>())?;
/// match handle.join() {
///     Err(Error::Remote { kind: RemoteKind::Error, message, .. }) => {
///         assert_eq!(message, "invalid digit found in string")
///     }
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), Error>(())
/// ```
///
/// A `Result` whose error is itself a serde type (`String`) fits both
/// forms; say which with the marker:
///
/// ```
/// use pprocess_transport::{ResultOutcome, spawn};
///
/// let handle = spawn::<_, ResultOutcome>(|| Err::<u32, String>("no".into()))?;
/// assert!(handle.join().unwrap_err().is_remote());
/// # Ok::<(), pprocess_transport::Error>(())
/// ```
///
/// # Errors
///
/// As for [`start`](crate::start): [`Error::Fork`] if `fork` fails,
/// [`Error::Io`] if the channel cannot be made.
///
/// # Fork safety
///
/// See [`start`](crate::start).
pub fn spawn<O, M>(f: impl FnOnce() -> O) -> Result<JoinHandle<O::Value>>
where
    O: SpawnOutcome<M>,
{
    Builder::new().spawn(f)
}
