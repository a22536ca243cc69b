//! Collecting from background processes: pprocess's `PersistentQueue`,
//! `BackgroundQueue` and `Exchange.connect`.

use std::path::Path;

use pprocess_core::{Codec, Result};
use serde::de::DeserializeOwned;

use crate::exchange::{ChannelId, Exchange, Handler};
use crate::queue::Queue;

/// A [`Queue`] that collects from background processes it
/// [connects](Exchange::connect) to: pprocess's `PersistentQueue`.
///
/// # Examples
///
/// ```
/// use pprocess_exchange::{PersistentQueue, start_persistent};
///
/// let dir = std::env::temp_dir().join(format!("pp-pq-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// for i in 0..3u32 {
///     start_persistent(dir.join(format!("task-{i}.socket")), move |ch| ch.send(&(i * 10)))?;
/// }
/// let mut queue = PersistentQueue::<u32>::new()?;
/// for i in 0..3 {
///     queue.connect(dir.join(format!("task-{i}.socket")))?;
/// }
/// let mut got: Vec<u32> = queue.collect::<Result<_, _>>()?;
/// got.sort();
/// assert_eq!(got, [0, 10, 20]);
/// pprocess_exchange::waitall()?;
/// std::fs::remove_dir(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type PersistentQueue<'a, R, C = pprocess_transport::MessagePack> = Queue<'a, R, C>;

impl<R: DeserializeOwned, H: Handler<R, C>, C: Codec> Exchange<'_, R, H, C> {
    /// Connects to the background process at `address` and registers the
    /// channel (waiting for the limit first), so its results arrive like any
    /// child's. pprocess's `connect`.
    ///
    /// # Errors
    ///
    /// [`Error::Address`](crate::Error::Address) if nothing listens at
    /// `address`.
    pub fn connect(&mut self, address: impl AsRef<Path>) -> Result<ChannelId> {
        self.wait()?;
        let channel = self.builder().connect(address)?;
        self.add(channel)
    }
}

/// A queue of the results of the one background process at `address`:
/// pprocess's `BackgroundQueue(address)`.
///
/// # Examples
///
/// ```
/// use pprocess_exchange::{background_queue, start_persistent};
///
/// let address = std::env::temp_dir().join(format!("pp-bq-{}.socket", std::process::id()));
/// let mut bg = start_persistent(&address, |ch| {
///     for i in 0..5u8 {
///         ch.send(&i)?;
///     }
///     Ok::<(), pprocess_exchange::Error>(())
/// })?;
/// let queue = background_queue::<u8>(&address)?.continuous(true);
/// assert_eq!(queue.collect::<Result<Vec<_>, _>>()?, [0, 1, 2, 3, 4]);
/// bg.wait()?;
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
///
/// # Errors
///
/// As for [`Exchange::connect`].
pub fn background_queue<R: DeserializeOwned>(
    address: impl AsRef<Path>,
) -> Result<Queue<'static, R>> {
    let mut queue = Queue::new()?.limit(1);
    queue.connect(address)?;
    Ok(queue)
}
