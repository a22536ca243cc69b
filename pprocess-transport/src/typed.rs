//! `TypedChannel`: a channel whose message types are part of its type, so
//! that sending the wrong one is a compile error.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use pprocess_core::{Codec, ExitStatus, Pid, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::channel::Channel;
use crate::codec::MessagePack;
use crate::outcome::{ChildOutcome, run_holding};
use crate::process::{Builder, Fork};

/// A [`Channel`] that sends only `S` and receives only `R`.
///
/// [`start_typed`] makes a pair: the parent's end is a
/// `TypedChannel<Down, Up>` and the child's a `TypedChannel<Up, Down>`, so
/// each side can send only what the other receives. The codec and the
/// frames are those of [`Channel`]; the types exist only at compile time.
///
/// # Examples
///
/// ```
/// use pprocess_transport::start_typed;
///
/// // The child sends `u64`s up and receives `String`s down.
/// let mut ch = start_typed::<u64, String, _>(|ch| {
///     let word = ch.receive()?;
///     ch.send(&(word.len() as u64))
/// })?;
/// ch.send(&"hello".to_string())?;
/// assert_eq!(ch.receive()?, 5);
/// ch.close()?;
/// # Ok::<(), pprocess_core::Error>(())
/// ```
///
/// Sending what the other side does not receive does not compile:
///
/// ```compile_fail,E0308
/// use pprocess_transport::start_typed;
///
/// let mut ch = start_typed::<u64, String, _>(|ch| ch.send(&1u64))?;
/// ch.send(&42u64)?; // the parent sends `String`s, not `u64`s
/// # Ok::<(), pprocess_core::Error>(())
/// ```
///
/// # Thread safety
///
/// `Send`, not `Sync`, whatever `S` and `R` are: it holds a [`Channel`],
/// and values of `S` and `R` only pass through it.
#[must_use = "dropping the parent's end of a channel hangs up on the child"]
pub struct TypedChannel<S, R, C = MessagePack> {
    inner: Channel<C>,
    _types: PhantomData<fn(S) -> R>,
}

impl<S, R, C> fmt::Debug for TypedChannel<S, R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedChannel")
            .field("sends", &std::any::type_name::<S>())
            .field("receives", &std::any::type_name::<R>())
            .field("channel", &self.inner)
            .finish()
    }
}

impl<S, R, C: Codec> TypedChannel<S, R, C> {
    /// Gives an untyped channel types: the caller vouches that its peer
    /// receives `S` and sends `R` (a mismatch shows at run time, as
    /// [`Error::Decode`](pprocess_core::Error::Decode) on one side).
    pub fn new(channel: Channel<C>) -> Self {
        TypedChannel {
            inner: channel,
            _types: PhantomData,
        }
    }

    /// The untyped channel underneath.
    #[must_use]
    pub fn get_ref(&self) -> &Channel<C> {
        &self.inner
    }

    /// The untyped channel underneath, to use what only it offers
    /// ([`Channel::set_nonblocking`], [`Channel::read_fd`], ...).
    pub fn get_mut(&mut self) -> &mut Channel<C> {
        &mut self.inner
    }

    /// Gives the types up.
    #[must_use]
    pub fn into_inner(self) -> Channel<C> {
        self.inner
    }

    /// The pid of the child at the other end (parent side only).
    #[must_use]
    pub fn pid(&self) -> Option<Pid> {
        self.inner.pid()
    }

    /// Writes everything queued by [`TypedChannel::feed`].
    ///
    /// # Errors
    ///
    /// As for [`Channel::flush`].
    pub fn flush(&mut self) -> Result<()> {
        self.inner.flush()
    }

    /// Tells the peer that nothing more will be sent (its receives then
    /// return [`Error::Closed`](pprocess_core::Error::Closed)).
    ///
    /// # Errors
    ///
    /// As for [`Channel::send_end`].
    pub fn send_end(&mut self) -> Result<()> {
        self.inner.send_end()
    }

    /// Closes the channel and, in the parent, waits for the child.
    ///
    /// # Errors
    ///
    /// As for [`Channel::close`].
    pub fn close(self) -> Result<Option<ExitStatus>> {
        self.inner.close()
    }

    /// Waits for the child at the other end (parent side only).
    ///
    /// # Errors
    ///
    /// As for [`Channel::wait`].
    pub fn wait(&mut self) -> Result<Option<ExitStatus>> {
        self.inner.wait()
    }

    /// How the child ended, without blocking.
    ///
    /// # Errors
    ///
    /// As for [`Channel::try_wait`].
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.inner.try_wait()
    }

    /// Kills the child at the other end with `SIGKILL`.
    ///
    /// # Errors
    ///
    /// As for [`Channel::kill`].
    pub fn kill(&mut self) -> Result<()> {
        self.inner.kill()
    }
}

impl<S: Serialize, R, C: Codec> TypedChannel<S, R, C> {
    /// Sends one `S`.
    ///
    /// # Errors
    ///
    /// As for [`Channel::send`].
    pub fn send(&mut self, value: &S) -> Result<()> {
        self.inner.send(value)
    }

    /// Queues one `S` (see [`Channel::feed`]).
    ///
    /// # Errors
    ///
    /// As for [`Channel::feed`].
    pub fn feed(&mut self, value: &S) -> Result<()> {
        self.inner.feed(value)
    }
}

impl<S, R: DeserializeOwned, C: Codec> TypedChannel<S, R, C> {
    /// Blocks until an `R` arrives.
    ///
    /// # Errors
    ///
    /// As for [`Channel::receive`].
    pub fn receive(&mut self) -> Result<R> {
        self.inner.receive()
    }

    /// An `R` if a whole one can be had without blocking, else `Ok(None)`.
    ///
    /// # Errors
    ///
    /// As for [`Channel::try_receive`].
    pub fn try_receive(&mut self) -> Result<Option<R>> {
        self.inner.try_receive()
    }

    /// Waits at most `timeout` for an `R`.
    ///
    /// # Errors
    ///
    /// As for [`Channel::receive_timeout`].
    pub fn receive_timeout(&mut self, timeout: Duration) -> Result<R> {
        self.inner.receive_timeout(timeout)
    }

    /// An iterator over what arrives, each item as [`TypedChannel::receive`]
    /// returns it, until the peer hangs up.
    ///
    /// It ends after a clean hang-up; after any other error but a
    /// [`Decode`](pprocess_core::Error::Decode) or
    /// [`Remote`](pprocess_core::Error::Remote) one (which leave the
    /// channel usable) it yields that error and ends.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ch = pprocess_transport::start_typed::<u32, (), _>(|ch| {
    ///     (0..4).try_for_each(|i| ch.send(&(i * i)))
    /// })?;
    /// let squares: Vec<u32> = ch.iter().collect::<Result<_, _>>()?;
    /// assert_eq!(squares, [0, 1, 4, 9]);
    /// ch.close()?;
    /// # Ok::<(), pprocess_core::Error>(())
    /// ```
    pub fn iter(&mut self) -> TypedIter<'_, S, R, C> {
        TypedIter {
            channel: Some(self),
        }
    }
}

/// The iterator of [`TypedChannel::iter`].
///
/// `Send`, not `Sync`.
#[must_use = "iterators are lazy: nothing is received until it is used"]
pub struct TypedIter<'a, S, R, C = MessagePack> {
    channel: Option<&'a mut TypedChannel<S, R, C>>,
}

impl<S, R, C> fmt::Debug for TypedIter<'_, S, R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedIter")
            .field("ended", &self.channel.is_none())
            .finish()
    }
}

impl<S, R: DeserializeOwned, C: Codec> Iterator for TypedIter<'_, S, R, C> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        let channel = self.channel.as_mut()?;
        match channel.receive() {
            Ok(value) => Some(Ok(value)),
            Err(pprocess_core::Error::Closed) => {
                self.channel = None;
                None
            }
            Err(
                e @ (pprocess_core::Error::Decode { .. } | pprocess_core::Error::Remote { .. }),
            ) => Some(Err(e)),
            Err(e) => {
                self.channel = None;
                Some(Err(e))
            }
        }
    }
}

impl<S, R: DeserializeOwned, C: Codec> std::iter::FusedIterator for TypedIter<'_, S, R, C> {}

impl<C: Codec> Builder<C> {
    /// Both ends of a typed channel in this process (no fork), as
    /// [`Builder::channel_pair`]: the first sends `A` and receives `B`, the
    /// second the mirror.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](pprocess_core::Error::Io) if the transport cannot be
    /// made.
    #[allow(clippy::type_complexity)]
    pub fn typed_pair<A, B>(&self) -> Result<(TypedChannel<A, B, C>, TypedChannel<B, A, C>)> {
        let (a, b) = self.channel_pair()?;
        Ok((TypedChannel::new(a), TypedChannel::new(b)))
    }

    /// [`start_typed`] with this builder's transport, codec and frame
    /// limit.
    ///
    /// # Errors
    ///
    /// As for [`Builder::start`].
    ///
    /// # Fork safety
    ///
    /// See [`start`](crate::start).
    pub fn start_typed<Up, Down, O>(
        &self,
        f: impl FnOnce(&mut TypedChannel<Up, Down, C>) -> O,
    ) -> Result<TypedChannel<Down, Up, C>>
    where
        O: ChildOutcome,
    {
        match self.create()? {
            Fork::Parent(ch) => Ok(TypedChannel::new(ch)),
            Fork::Child(ch) => run_holding(TypedChannel::new(ch), TypedChannel::get_mut, f),
        }
    }
}

/// Forks a child that runs `f` with its end of a new typed channel, then
/// ends; returns the parent's end. [`start`](crate::start) with types:
/// the child's end sends `Up` and receives `Down`, the parent's end sends
/// `Down` and receives `Up`.
///
/// As with `start`, a panic or an error returned by `f` reaches the parent
/// as [`Error::Remote`](pprocess_core::Error::Remote) on its next receive.
///
/// # Examples
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// enum Request { Square(u64), Stop }
///
/// let mut ch = pprocess_transport::start_typed::<u64, Request, _>(|ch| {
///     while let Request::Square(n) = ch.receive()? {
///         ch.send(&(n * n))?;
///     }
///     Ok::<(), pprocess_core::Error>(())
/// })?;
/// for n in 1..4 {
///     ch.send(&Request::Square(n))?;
///     assert_eq!(ch.receive()?, n * n);
/// }
/// ch.send(&Request::Stop)?;
/// assert!(ch.close()?.unwrap().success());
/// # Ok::<(), pprocess_core::Error>(())
/// ```
///
/// # Errors
///
/// As for [`start`](crate::start).
///
/// # Fork safety
///
/// See [`start`](crate::start).
pub fn start_typed<Up, Down, O>(
    f: impl FnOnce(&mut TypedChannel<Up, Down>) -> O,
) -> Result<TypedChannel<Down, Up>>
where
    O: ChildOutcome,
{
    Builder::new().start_typed(f)
}
