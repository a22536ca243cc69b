//! `Builder::fork_server` and `Builder::spawn`: workers that run a remote
//! function, forked by the fork server or, without one, by this process.

use std::io::{self, Write};

use pprocess_core::{Codec, Result, Transport};

use super::{ForkServer, worker};
use crate::channel::Channel;
use crate::process::{Builder, ForkPlan, channel_error, fork_locked};
use crate::reap::Child;
use crate::remote::RemoteFn;
use crate::sys::{self, ForkResult};
use crate::transport::{self, SocketPair};

impl<C: Codec> Builder<C> {
    /// Sends [`Builder::spawn`]'s workers to `server`, which forks them
    /// from its clean copy of the program instead of from this process.
    ///
    /// Only work that is a [`RemoteFn`] plus arguments can go there;
    /// [`Builder::start`] and [`Builder::create`] still fork this process.
    ///
    /// # Examples
    ///
    /// See [`ForkServer`].
    #[must_use]
    pub fn fork_server(mut self, server: &ForkServer) -> Self {
        self.server = Some(server.clone());
        self
    }

    /// The fork server [`Builder::spawn`] uses, if any.
    #[must_use]
    pub fn server(&self) -> Option<&ForkServer> {
        self.server.as_ref()
    }

    /// Starts a worker that serves `func` and returns the channel to it.
    ///
    /// Each message sent on the channel is one call's arguments (an `A` for
    /// [`RemoteFn::new`], `(first, items)` for [`RemoteFn::each`]); the
    /// worker answers each with the result, in order, and ends when the
    /// channel's sending side is closed or an end of stream is sent
    /// ([`Channel::send_end`]). If the function panics (or its arguments do
    /// not decode), the next receive returns [`Error::Remote`] and the
    /// worker ends.
    ///
    /// With a [`Builder::spawner`], the spawner starts the worker (the
    /// channel then has no child process here); with a
    /// [`Builder::fork_server`], the server forks it; otherwise this
    /// process does, as [`Builder::start`] would. A spawner's worker is
    /// reached over the [`Builder::transport`] asked for; a forked worker
    /// (by the server or by this process) over a socketpair, whatever that
    /// says. The frame limit, socket buffer size (a shared-memory ring's
    /// size) and [`Builder::outlive_parent`] apply.
    ///
    /// # Examples
    ///
    /// ```
    /// use pprocess_transport::{Builder, MessagePack, RemoteFn};
    ///
    /// // No fork server: this process forks the worker.
    /// let mut ch = Builder::<MessagePack>::new().start_fn(RemoteFn::new(|s: String| s.to_uppercase()))?;
    /// ch.send("one")?;
    /// ch.send("two")?;
    /// assert_eq!(ch.receive::<String>()?, "ONE");
    /// assert_eq!(ch.receive::<String>()?, "TWO");
    /// ch.send_end()?;
    /// assert!(ch.close()?.unwrap().success());
    /// # Ok::<(), pprocess_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Fork`] if the worker cannot be forked (with `EAGAIN` at the
    /// process limit), if the fork server has gone, or if this process is
    /// a child that inherited the server's handle;
    /// [`Error::Io`] if the channel cannot be made;
    /// [`Error::Protocol`] if the server refuses the function; what the
    /// [`Builder::spawner`] returns, if the builder has one.
    ///
    /// [`Error::Remote`]: pprocess_core::Error::Remote
    /// [`Error::Fork`]: pprocess_core::Error::Fork
    /// [`Error::Io`]: pprocess_core::Error::Io
    /// [`Error::Protocol`]: pprocess_core::Error::Protocol
    pub fn start_fn(&self, func: RemoteFn<C>) -> Result<Channel<C>> {
        if let Some(spawner) = &self.spawner {
            // The spawner's end may be any transport: it is not handed to
            // a forked child or through a socket.
            let (ours, theirs) =
                transport::pair(self.kind, self.socket_buffer).map_err(channel_error)?;
            spawner.spawn(func.to_bytes(), theirs, self.max_frame)?;
            return Ok(self.channel(ours));
        }
        let (ours, mut theirs) = SocketPair::pair().map_err(channel_error)?;
        if let Some(size) = self.socket_buffer {
            ours.set_buffer_size(size)?;
            theirs.set_buffer_size(size)?;
        }
        if let Some(server) = &self.server {
            let pid = server.spawn(
                func.addr(),
                theirs.as_fd_for_spawn(),
                self.max_frame,
                !self.outlive_parent,
            )?;
            drop(theirs);
            return Ok(self.channel(Box::new(ours)).with_child(Child::new(pid)));
        }
        let keep = theirs.raw_fds();
        let plan = ForkPlan {
            keep: &keep,
            parent_end: Some(Box::new(ours)),
            die_with_parent: !self.outlive_parent,
        };
        match fork_locked(plan)? {
            (ForkResult::Parent(pid), plan) => {
                drop(theirs);
                let Some(ours) = plan.parent_end else {
                    unreachable!("fork_locked hands the parent's end back in the parent")
                };
                Ok(self.channel(ours).with_child(Child::new(pid)))
            }
            (ForkResult::Child, _) => {
                let code = worker::serve(&mut theirs, func.addr(), self.max_frame);
                drop(theirs);
                let _ = io::stdout().flush();
                let _ = io::stderr().flush();
                sys::exit_now(code)
            }
        }
    }
}

impl SocketPair {
    fn as_fd_for_spawn(&self) -> std::os::fd::BorrowedFd<'_> {
        Transport::read_fd(self)
    }
}
