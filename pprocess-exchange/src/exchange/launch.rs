//! Launching: work queued under the limit, forked when a place is free
//! (`start`, `call`, `create`), and put back when the system is out of
//! processes or descriptors.

use pprocess_core::{Codec, Result};
use pprocess_transport::{Channel, Fork, is_temporary};
use serde::de::DeserializeOwned;

use super::{ChannelId, Created, Exchange, Handler, Job};

impl<'a, R: DeserializeOwned, H: Handler<R, C>, C: Codec> Exchange<'a, R, H, C> {
    /// Starts waiting work while the limit allows.
    pub(super) fn start_waiting(&mut self) -> Result<()> {
        while !self.busy() && !self.fork_blocked {
            let Some(job) = self.waiting.pop_front() else {
                break;
            };
            self.launch(job)?;
        }
        Ok(())
    }

    /// Forks a child for `job`. A temporary lack of processes or
    /// descriptors (`EAGAIN`, `EMFILE`, `ENFILE`) puts the job back until a
    /// child ends; with no child running it is an error (nothing would
    /// ever free a place).
    fn launch(&mut self, mut job: Job<'a, C>) -> Result<()> {
        match self.fork_for(&job) {
            Ok(Fork::Parent(ch)) => {
                let serves = job.feed.as_ref().filter(|_| self.reuse).map(|f| f.serves);
                match self.register(ch, job.index, serves) {
                    Ok(id) => {
                        self.feed_first(id, job.remote.take(), serves.is_some())?;
                        self.prefetch_for(id, serves)
                    }
                    Err(e) => {
                        self.waiting.push_front(job);
                        Err(e)
                    }
                }
            }
            Ok(Fork::Child(ch)) => pprocess_transport::run_in_child(ch, job.run),
            Err(e) if is_temporary(&e) => {
                if self.active == 0 {
                    self.waiting.push_front(job);
                    return Err(e);
                }
                self.fork_blocked = true;
                self.waiting.push_front(job);
                Ok(())
            }
            Err(e) => {
                self.waiting.push_front(job);
                Err(e)
            }
        }
    }

    /// Queues work, or starts it now if the limit allows. Returns its id.
    pub(crate) fn submit(&mut self, job: Job<'a, C>) -> Result<ChannelId> {
        let index = job.index;
        self.waiting.push_back(job);
        self.start_waiting()?;
        Ok(ChannelId(index))
    }

    /// Starts a child running `f` with its end of a new channel (queued if
    /// the limit is reached); the child's messages are decoded as `R`.
    /// Returns the id its messages will carry, usable at once with
    /// [`Exchange::channel_mut`] when the child could start at once.
    /// pprocess's `Exchange.start`.
    ///
    /// # Errors
    ///
    /// [`Error::Fork`](crate::Error::Fork) or [`Error::Io`](crate::Error::Io) if the child cannot be started
    /// (other than a temporary lack of processes or descriptors while other
    /// children run, which queues it). The work stays queued: a later
    /// [`Exchange::store`] tries again.
    pub fn start<F, O>(&mut self, f: F) -> Result<ChannelId>
    where
        F: FnOnce(&mut Channel<C>) -> O + 'a,
        O: pprocess_transport::ChildOutcome,
    {
        let index = self.next_index();
        self.submit(Job {
            index,
            run: Box::new(move |ch| f(ch).into_failure()),
            feed: None,
            remote: None,
        })
    }

    /// Starts a child that computes `f()` and sends back its value
    /// (pprocess's `MakeParallel`). Returns the id of the result.
    ///
    /// Always a new child, even with [`Exchange::reuse`]: what `f` captures
    /// exists only in this process and cannot be sent to a live worker.
    /// For reused workers, call a function with arguments instead:
    /// [`Exchange::call_fn`] (a `fn` item or non-capturing closure), or a
    /// callable from [`Exchange::manage_reusable`] or
    /// [`Exchange::manage_fn`].
    ///
    /// # Errors
    ///
    /// As for [`Exchange::start`].
    pub fn call<F>(&mut self, f: F) -> Result<ChannelId>
    where
        F: FnOnce() -> R + 'a,
        R: serde::Serialize,
    {
        self.start(move |ch: &mut Channel<C>| ch.send(&f()))
    }

    /// Forks, after waiting for the limit: in the parent the new channel is
    /// registered and [`Created::Parent`] returned with its id; in the
    /// child [`Created::Child`] holds the child's end, and the child must
    /// end with [`exit`](crate::exit). pprocess's `Exchange.create`.
    ///
    /// # Errors
    ///
    /// As for [`Exchange::wait`]; [`Error::Fork`](crate::Error::Fork) if
    /// `fork` fails.
    pub fn create(&mut self) -> Result<Created<C>> {
        self.wait()?;
        match self.builder.create()? {
            Fork::Parent(ch) => {
                let index = self.next_index();
                Ok(Created::Parent(self.register(ch, index, None)?))
            }
            Fork::Child(ch) => Ok(Created::Child(ch)),
        }
    }
}
