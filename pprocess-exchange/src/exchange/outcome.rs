//! What becomes of a channel's messages and of its end: delivery to the
//! handler, the next arguments for a reused worker, hang-ups, deaths and
//! broken streams.
//!
//! Every end of a child is reported in terms of the work it held: a child
//! that hung up without its result, or whose stream was cut mid-frame, or
//! whose socket was reset, is [`Error::ChildDied`](crate::Error::ChildDied) with its `waitpid`
//! status whenever that status is a failure, so the caller learns the
//! signal or exit code, not a socket error.

use pprocess_core::{Codec, Error, ExitStatus, Result};
use serde::de::DeserializeOwned;

use super::{ChannelId, Exchange, Handler, Job, Message, Reply, Serves, Slot};

impl<'a, R: DeserializeOwned, H: Handler<R, C>, C: Codec> Exchange<'a, R, H, C> {
    fn message(&self, slot: usize, result: Result<R>) -> Option<Message<R>> {
        let s = self.slots[slot].as_ref()?;
        Some(Message {
            index: s.index,
            channel: ChannelId(s.index),
            pid: s.channel.pid(),
            result,
        })
    }

    /// Hands a message to the handler; a reused worker gets its next work.
    pub(super) fn deliver(&mut self, slot: usize, result: Result<R>) -> Result<()> {
        // A remote error ends the child: a reused worker's loop is over
        // (work fed to it now would be lost), and its exit status says
        // nothing more.
        let remote = matches!(result, Err(Error::Remote { .. }));
        let Some(message) = self.message(slot, result) else {
            return Ok(());
        };
        let stopped = match self.slots[slot].as_mut() {
            Some(s) => {
                s.delivered = true;
                let stopped = self.handler.handle(message, Reply::new(&mut s.channel));
                if s.channel.pending_output() > 0 {
                    self.touched.push(slot);
                }
                stopped
            }
            None => self.handler.handle(message, Reply::none()),
        };
        let Some(s) = self.slots[slot].as_mut() else {
            return stopped;
        };
        if remote {
            s.serves = None;
            s.explained = true;
        } else if s.serves.is_some() && !self.continuous {
            self.next_for_worker(slot)?;
        }
        stopped
    }

    /// A reused worker has answered its current call: the call sent to it
    /// ahead of time becomes current, and the next waiting call for its
    /// function is sent ahead in turn; with neither, it is told to stop
    /// (which frees its place for other work).
    ///
    /// Sending the next arguments before the worker has answered keeps it
    /// from idling for a round trip through this process between calls.
    /// A worker holds at most two calls; the one sent ahead goes back to
    /// the queue if the worker ends first (`take_slot`).
    fn next_for_worker(&mut self, slot: usize) -> Result<()> {
        let Some(serves) = self.slots[slot].as_ref().and_then(|s| s.serves) else {
            return Ok(());
        };
        let current = match self.prefetched.remove(&slot) {
            Some(job) => Some(job),
            None => self.feed_waiting(slot, serves)?,
        };
        let Some(s) = self.slots[slot].as_mut() else {
            return Ok(());
        };
        match current {
            Some(job) => {
                // From here the worker holds this work: if it dies, the
                // work is reported as its death.
                self.by_index.remove(&s.index);
                self.by_index.insert(job.index, slot);
                s.index = job.index;
                s.delivered = false;
                self.prefetch(slot, serves)?;
            }
            None => {
                s.serves = None;
                if let Err(e) = s.channel.feed_end() {
                    return self.broken(slot, e);
                }
            }
        }
        self.flush_or_watch(slot)
    }

    /// A new reused worker (of `serves`) gets its second call at once.
    pub(super) fn prefetch_for(&mut self, id: ChannelId, serves: Option<Serves>) -> Result<()> {
        let (Some(serves), Some(&slot)) = (serves, self.by_index.get(&id.0)) else {
            return Ok(());
        };
        if self.continuous {
            return Ok(());
        }
        self.prefetch(slot, serves)?;
        self.flush_or_watch(slot)
    }

    /// Sends a reused worker the arguments of the next call waiting for
    /// its function, ahead of its answer to the current one.
    fn prefetch(&mut self, slot: usize, serves: Serves) -> Result<()> {
        if let Some(job) = self.feed_waiting(slot, serves)? {
            self.prefetched.insert(slot, job);
        }
        Ok(())
    }

    /// Takes the first waiting call for `serves` and queues its arguments
    /// on the worker's channel; returns it (`None`: none waits). A call
    /// whose arguments cannot be encoded is that call's error (the channel
    /// is left as it was, and the next waiting call is tried).
    fn feed_waiting(&mut self, slot: usize, serves: Serves) -> Result<Option<Job<'a, C>>> {
        loop {
            if self.slots[slot].is_none() {
                return Ok(None);
            }
            let Some(at) = self
                .waiting
                .iter()
                .position(|job| job.feed.as_ref().is_some_and(|f| f.serves == serves))
            else {
                return Ok(None);
            };
            let Some(job) = self.waiting.remove(at) else {
                return Ok(None);
            };
            let Some(s) = self.slots[slot].as_mut() else {
                return Ok(None);
            };
            let fed = match &job.feed {
                Some(feed) => (feed.give)(&mut s.channel),
                None => Ok(()),
            };
            match fed {
                Ok(()) => return Ok(Some(job)),
                Err(e) => self.handler.handle(
                    Message {
                        index: job.index,
                        channel: ChannelId(job.index),
                        pid: None,
                        result: Err(e),
                    },
                    Reply::none(),
                )?,
            }
        }
    }

    /// Takes the slot out, reaps its child if asked to (blocking: the child
    /// has hung up, so it is ending), and says how it ended.
    fn end_slot(&mut self, slot: usize) -> Option<(Slot<C>, Option<ExitStatus>)> {
        let mut s = self.take_slot(slot)?;
        let status = if self.autoclose {
            s.channel.close_write().ok();
            s.channel.wait().ok().flatten()
        } else {
            s.channel.try_wait().ok().flatten()
        };
        Some((s, status))
    }

    /// The peer hung up at a frame boundary. Reports the death of a child
    /// that had not delivered its result (or, continuous, that failed
    /// without saying why). Returns the number of messages stored (0 or 1).
    pub(super) fn hung_up(&mut self, slot: usize) -> Result<usize> {
        let Some((s, status)) = self.end_slot(slot) else {
            return Ok(0);
        };
        let failed = status.is_some_and(|st| !st.success());
        let mut stored = 0;
        if let Some(pid) = s.channel.pid() {
            // Continuous: any number of messages (none included) is a
            // result; only a failure the child did not report is news.
            let report = if self.continuous {
                failed && !s.explained
            } else {
                !s.delivered
            };
            if report {
                let error = match status {
                    Some(status) => Error::ChildDied { pid, status },
                    None => Error::Closed,
                };
                stored = 1;
                let told = self.handler.handle(
                    Message {
                        index: s.index,
                        channel: ChannelId(s.index),
                        pid: Some(pid),
                        result: Err(error),
                    },
                    Reply::none(),
                );
                if let Err(e) = told {
                    drop(s);
                    self.start_waiting()?;
                    return Err(e);
                }
            }
        }
        drop(s);
        self.start_waiting()?;
        Ok(stored)
    }

    /// [`Exchange::ready`]'s removal of a channel whose peer hung up: the
    /// caller received its messages, so only a failed end is news.
    pub(super) fn hung_up_quietly(&mut self, slot: usize) -> Result<()> {
        let Some((s, status)) = self.end_slot(slot) else {
            return Ok(());
        };
        if let (Some(pid), Some(status)) = (s.channel.pid(), status) {
            if !status.success() && !s.explained {
                let told = self.handler.handle(
                    Message {
                        index: s.index,
                        channel: ChannelId(s.index),
                        pid: Some(pid),
                        result: Err(Error::ChildDied { pid, status }),
                    },
                    Reply::none(),
                );
                drop(s);
                self.start_waiting()?;
                return told;
            }
        }
        drop(s);
        self.start_waiting()
    }

    /// The stream ended inside a frame: the child died while sending (or
    /// closed mid-frame). With a failed exit status that is its death.
    pub(super) fn truncated(&mut self, slot: usize, error: Error) -> Result<()> {
        let Some((s, status)) = self.end_slot(slot) else {
            return Ok(());
        };
        let error = match (s.channel.pid(), status) {
            (Some(pid), Some(status)) if !status.success() => Error::ChildDied { pid, status },
            _ => error,
        };
        let told = self.handler.handle(
            Message {
                index: s.index,
                channel: ChannelId(s.index),
                pid: s.channel.pid(),
                result: Err(error),
            },
            Reply::none(),
        );
        drop(s);
        self.start_waiting()?;
        told
    }

    /// A channel's byte stream is broken (corrupt header, failed read or
    /// write): report it, kill and reap the child.
    pub(super) fn broken(&mut self, slot: usize, error: Error) -> Result<()> {
        let message = self.message(slot, Err(error));
        let Some(mut s) = self.take_slot(slot) else {
            return Ok(());
        };
        let _ = s.channel.kill();
        if self.autoclose {
            let _ = s.channel.wait();
        }
        drop(s);
        let told = match message {
            Some(m) => self.handler.handle(m, Reply::none()),
            None => Ok(()),
        };
        self.start_waiting()?;
        told
    }
}
