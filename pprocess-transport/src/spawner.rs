//! [`Spawner`]: a way for [`Builder::start_fn`] to start remote-function
//! workers somewhere other than a fork of this machine (an MPI rank).

use std::fmt;
use std::sync::Arc;

use pprocess_core::{Result, Transport};

use crate::process::Builder;

/// Starts workers for [`RemoteFn`](crate::RemoteFn)s somewhere other than
/// a fork of this process or of a [`ForkServer`](crate::ForkServer): the
/// ranks of an MPI job, for instance (`pprocess-mpi` implements it).
///
/// A builder given one ([`Builder::spawner`]) hands every
/// [`Builder::start_fn`] to it, so that everything built on `start_fn` —
/// an exchange's `call_fn` and `manage_fn`, `pmap_fn` — runs there
/// unchanged. The builder makes a pair of the transport it was asked for
/// ([`Builder::transport`]: a socketpair unless told otherwise) and keeps
/// one end as the caller's [`Channel`](crate::Channel); the spawner gets
/// the other end and must behave on it as a forked worker does on its
/// own: read data
/// frames (one call's encoded arguments each), answer each with a data
/// frame holding the encoded result, or with an error frame (after which
/// it closes the end), and close the end after an end-of-stream frame or
/// when the caller closes theirs.
///
/// # Examples
///
/// A spawner that serves the function on a thread of this process (what
/// an MPI job of one rank could do):
///
/// ```
/// use std::io::{Read, Write};
/// use std::sync::Arc;
/// use pprocess_core::frame::{FrameKind, HEADER_LEN, decode_header, encode_header};
/// use pprocess_core::Transport;
/// use pprocess_transport::{Builder, MessagePack, RemoteFn, Spawner};
///
/// #[derive(Debug)]
/// struct OnAThread;
///
/// impl Spawner for OnAThread {
///     fn spawn(
///         &self,
///         func: [u8; 24],
///         mut end: Box<dyn Transport>,
///         _max_frame: usize,
///     ) -> pprocess_core::Result<()> {
///         let func = RemoteFn::<MessagePack>::from_bytes(&func)?;
///         std::thread::spawn(move || {
///             let mut header = [0; HEADER_LEN];
///             while end.read_exact(&mut header).is_ok() {
///                 let (len, kind) = decode_header(&header);
///                 let mut args = vec![0; len as usize];
///                 if kind != FrameKind::Data as u8 || end.read_exact(&mut args).is_err() {
///                     return;
///                 }
///                 let mut out = Vec::new();
///                 func.invoke(&args, &mut out).expect("this example does not fail");
///                 let header = encode_header(FrameKind::Data, out.len()).unwrap();
///                 end.write_all(&header).and_then(|()| end.write_all(&out)).unwrap();
///             }
///         });
///         Ok(())
///     }
/// }
///
/// let builder = Builder::<MessagePack>::new().spawner(Arc::new(OnAThread));
/// let mut ch = builder.start_fn(RemoteFn::new(|x: u32| x + 1))?;
/// assert_eq!(ch.pid(), None); // nothing was forked
/// ch.send(&41u32)?;
/// assert_eq!(ch.receive::<u32>()?, 42);
/// ch.send_end()?;
/// # Ok::<(), pprocess_core::Error>(())
/// ```
pub trait Spawner: Send + Sync + fmt::Debug {
    /// Starts a worker that serves the function whose wire form
    /// ([`RemoteFn::to_bytes`](crate::RemoteFn::to_bytes)) is `func` on
    /// `end`, reading frames of at most `max_frame` bytes.
    ///
    /// # Errors
    ///
    /// Whatever keeps the worker from starting. An
    /// [`Error::Fork`](pprocess_core::Error::Fork) with `EAGAIN` says that
    /// no place is free right now: an exchange then waits for one of its
    /// workers to end and tries again (see [`is_temporary`](crate::is_temporary)).
    fn spawn(&self, func: [u8; 24], end: Box<dyn Transport>, max_frame: usize) -> Result<()>;
}

impl<C> Builder<C> {
    /// Hands [`Builder::start_fn`]'s workers to `spawner` instead of
    /// forking them (it takes precedence over a
    /// [`Builder::fork_server`]). [`Builder::start`] and
    /// [`Builder::create`] still fork this process.
    ///
    /// # Examples
    ///
    /// See [`Spawner`].
    #[must_use]
    pub fn spawner(mut self, spawner: Arc<dyn Spawner>) -> Self {
        self.spawner = Some(spawner);
        self
    }
}
