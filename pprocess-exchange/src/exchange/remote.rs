//! Work that is a remote function plus arguments ([`RemoteFn`]): started
//! by [`Builder::start_fn`](pprocess_transport::Builder::start_fn) — through the
//! builder's fork server if it has one — and fed its first arguments as
//! soon as its channel is registered.

use pprocess_core::{Codec, Result};
use pprocess_transport::{Fork, RemoteFn};
use serde::de::DeserializeOwned;

use super::{ChannelId, Exchange, Handler, Job, WorkerFeed};

/// How a remote job starts: the function its worker serves, and the
/// arguments of its first call.
pub(crate) struct RemoteStart<'a, C> {
    pub(crate) func: RemoteFn<C>,
    pub(crate) first: WorkerFeed<'a, C>,
}

impl<'a, R: DeserializeOwned, H: Handler<R, C>, C: Codec> Exchange<'a, R, H, C> {
    /// Makes the process for `job`: a worker spawned for its remote
    /// function, or a fork of this process for a closure.
    pub(super) fn fork_for(&self, job: &Job<'a, C>) -> Result<Fork<C>> {
        match &job.remote {
            Some(remote) => self.builder.start_fn(remote.func).map(Fork::Parent),
            None => self.builder.create(),
        }
    }

    /// Feeds a freshly registered remote worker its first arguments, and
    /// (unless it is to be reused) the end of its stream, so that it ends
    /// after its one result.
    pub(super) fn feed_first(
        &mut self,
        id: ChannelId,
        remote: Option<RemoteStart<'a, C>>,
        reusable: bool,
    ) -> Result<()> {
        let Some(remote) = remote else {
            return Ok(());
        };
        let Some(&slot) = self.by_index.get(&id.0) else {
            return Ok(());
        };
        let Some(s) = self.slots[slot].as_mut() else {
            return Ok(());
        };
        let fed = (remote.first)(&mut s.channel).and_then(|()| {
            if reusable {
                Ok(())
            } else {
                s.channel.feed_end()
            }
        });
        match fed {
            Ok(()) => self.flush_or_watch(slot),
            Err(e) => self.broken(slot, e),
        }
    }
}
