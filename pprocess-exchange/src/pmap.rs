//! `pmap`: a parallel `map` over a pool of forked workers.
//!
//! # Design note: what the parent writes after the fork
//!
//! After a fork, every page the parent had touched is shared with the
//! workers copy-on-write: the parent's first write to each costs a page
//! fault and a 4 KiB copy, for as long as a worker lives. A map of
//! 100,000 trivial items used to fill a `Vec<Option<R>>` of the input's
//! length before forking (one fresh-page fault per page) and then write
//! every result into it (a copy-on-write fault per page): about 1,200 of
//! its 1,500 faults per call, at several microseconds each on a virtual
//! machine. So nothing of the input's size is allocated before the fork:
//! results stay in the vectors they are decoded into (`PmapIter::arrived`,
//! by first index) and are moved out as they are yielded (by `pmap`, a
//! whole run at a time, into an output it sizes once).

use std::borrow::Borrow;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use pprocess_core::{Error, Result};
use pprocess_transport::{Channel, num_cores, start};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::exchange::{ChannelId, Exchange};

/// Ranges handed to each worker per round, so that work stays balanced
/// when items take different times.
const CHUNKS_PER_WORKER: usize = 8;

/// The most items in one chunk: bounds the size of a result frame.
const MAX_CHUNK: usize = 8192;

/// Ranges kept in flight per worker, so a worker never waits for the
/// parent between chunks.
const IN_FLIGHT: usize = 2;

/// Near the end, a range is at most the items left divided by this many
/// per worker ("guided" scheduling): the last ranges shrink (to single
/// items, or to [`TAIL_MIN_WORK`] of work if that is more), so the workers
/// finish together instead of one waiting while the other computes a
/// whole chunk.
const TAIL_SHARES: usize = 2 * IN_FLIGHT;

/// The shortest work a shrinking range is cut to, once the rate at which
/// results arrive is known: each range costs a message each way and a
/// wake-up of the parent, so ranges of trivial items stop shrinking at a
/// few thousand items instead of going down to one (100,000 trivial
/// items took about 80 ranges, most of them in the tail), while ranges
/// of slow items still end at one item.
const TAIL_MIN_WORK: Duration = Duration::from_micros(200);

/// Applies `f` to every item in parallel and returns the results in input
/// order: pprocess's `pmap(callable, sequence, limit)`.
///
/// `items` is anything iterable whose items are, or borrow as, what `f`
/// takes: a slice, array or `&Vec` (`f` gets `&T`), a range, a `Vec` by
/// value, any iterator. It is collected into a vector first (of
/// references, for a borrowed sequence), so every worker holds all of
/// it. A closure whose argument type follows from nothing else (`|&x| x`)
/// needs it named (`|&x: &u32| x`). `limit` workers
/// are forked (default: [`num_cores`]; fewer if there are fewer items),
/// never one per item. They already hold the items in memory, so only
/// index ranges travel to them, and results come back in chunks. `f`
/// needs no `'static` and no `Send`: it runs in the forked copies.
///
/// # Examples
///
/// ```
/// let squares = pprocess_exchange::pmap(|x: &u64| x * x, &[1, 2, 3, 4], None)?;
/// assert_eq!(squares, [1, 4, 9, 16]);
/// let doubled = pprocess_exchange::pmap(|x: &u32| x * 2, 0..10u32, None)?;
/// assert_eq!(doubled[9], 18);
/// let lengths = pprocess_exchange::pmap(|s: &String| s.len(), vec!["ab".to_string()], None)?;
/// assert_eq!(lengths, [2]);
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
///
/// # Errors
///
/// The first failure in input order: [`Error::Remote`] if `f` panicked on
/// an item (the message names the item's index), [`Error::ChildDied`] if a
/// worker died with items in hand, [`Error::Fork`] (or [`Error::Io`] for
/// a lack of descriptors) if no worker could be started at all. If only
/// some could be, the map goes on with those.
pub fn pmap<I, T, R, F>(f: F, items: I, limit: impl Into<Option<usize>>) -> Result<Vec<R>>
where
    I: IntoIterator,
    I::Item: Borrow<T>,
    T: ?Sized,
    F: Fn(&T) -> R,
    R: Serialize + DeserializeOwned,
{
    let mut results = pmap_iter(f, items, limit)?;
    // Sized once (the iterator knows its length): `collect` into a
    // `Result` would grow the vector by doubling. Whole runs are moved in
    // at a time.
    let mut out = Vec::with_capacity(results.len);
    while let Some(run) = results.next_run() {
        out.extend(run?);
    }
    Ok(out)
}

/// Like [`pmap`], but returns an iterator that yields each result, in input
/// order, as soon as it and all before it have arrived.
///
/// # Examples
///
/// ```
/// let words = ["a", "bb", "ccc"];
/// let mut lens = pprocess_exchange::pmap_iter(|w: &&str| w.len(), &words, 2)?;
/// assert_eq!(lens.next().unwrap()?, 1);
/// assert_eq!(lens.collect::<Result<Vec<_>, _>>()?, [2, 3]);
/// # Ok::<(), pprocess_exchange::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Fork`] or [`Error::Io`] if no worker can be started; failures
/// of single items come from the iterator.
pub fn pmap_iter<I, T, R, F>(f: F, items: I, limit: impl Into<Option<usize>>) -> Result<PmapIter<R>>
where
    I: IntoIterator,
    I::Item: Borrow<T>,
    T: ?Sized,
    F: Fn(&T) -> R,
    R: Serialize + DeserializeOwned,
{
    let items: Vec<I::Item> = items.into_iter().collect();
    let f = |item: &I::Item| f(item.borrow());
    let items = &items[..];
    let n = items.len();
    let wanted = limit.into().unwrap_or_else(num_cores).clamp(1, n.max(1));
    let chunk = (n / (wanted * CHUNKS_PER_WORKER)).clamp(1, MAX_CHUNK);
    let mut iter = PmapIter {
        exchange: Exchange::new()?,
        current: Vec::new().into_iter(),
        arrived: BTreeMap::new(),
        next: 0,
        len: n,
        chunk,
        next_range: 0,
        started: Instant::now(),
        done: 0,
        workers: Vec::new(),
        failed: None,
    };
    if n == 0 {
        return Ok(iter);
    }
    for _ in 0..wanted {
        let ch = match start(|ch: &mut Channel| worker(ch, &f, items)) {
            Ok(ch) => ch,
            // Go on with the workers there are; with none, fail.
            Err(e) if iter.workers.is_empty() => return Err(e),
            Err(_) => break,
        };
        let id = iter.exchange.add(ch)?;
        iter.workers.push(Worker {
            id,
            ranges: VecDeque::new(),
            ended: false,
            gone: false,
        });
    }
    // Every worker gets a range before any gets a second, so that small
    // inputs still spread over all of them.
    for _ in 0..IN_FLIGHT {
        for w in 0..iter.workers.len() {
            iter.feed(w);
        }
    }
    Ok(iter)
}

/// The worker's loop: take a range, send back its results; stop at end of
/// stream. A panic on an item ends the worker with a remote error naming
/// the item.
fn worker<T, R, F>(ch: &mut Channel, f: &F, items: &[T]) -> std::result::Result<(), String>
where
    F: Fn(&T) -> R,
    R: Serialize,
{
    let mut out = Vec::new();
    loop {
        let (start, end) = match ch.receive::<(usize, usize)>() {
            Ok(r) => r,
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        let Some(chunk) = items.get(start..end) else {
            return Err(format!("range {start}..{end} out of bounds"));
        };
        for (i, item) in chunk.iter().enumerate() {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)));
            match r {
                Ok(v) => out.push(v),
                Err(p) => {
                    let msg = pprocess_transport::panic_message(&*p);
                    std::mem::forget(p);
                    // The results before the failing item go first, so the
                    // parent can yield all of them before the error.
                    if !out.is_empty() {
                        ch.send(&out[..]).map_err(|e| e.to_string())?;
                    }
                    // Carried on as a panic (the hook has printed it once
                    // already), so the parent sees its kind.
                    std::panic::resume_unwind(Box::new(format!(
                        "item {} panicked: {msg}",
                        start + i
                    )));
                }
            }
        }
        ch.send(&out[..]).map_err(|e| e.to_string())?;
        out.clear();
    }
}

#[derive(Debug)]
struct Worker {
    id: ChannelId,
    /// Ranges sent and not yet answered, oldest first.
    ranges: VecDeque<(usize, usize)>,
    /// It was told to stop.
    ended: bool,
    /// Its channel is gone (it ended, or failed).
    gone: bool,
}

/// The iterator of [`pmap_iter`]: results in input order.
///
/// Dropping it early kills and reaps its workers.
#[must_use = "iterators are lazy: results are collected only as it is iterated"]
pub struct PmapIter<R> {
    exchange: Exchange<'static, Vec<R>>,
    /// The run of results being yielded: its first item is item `next`.
    current: std::vec::IntoIter<R>,
    /// Runs of results received ahead of `next`, by the index of their
    /// first item. Results stay in the vectors they were decoded into
    /// until they are yielded: nothing of the size of the input is
    /// allocated before the workers are forked, so the parent never
    /// copies pages it shares with them (see the module's design note).
    arrived: BTreeMap<usize, std::vec::IntoIter<R>>,
    next: usize,
    len: usize,
    chunk: usize,
    next_range: usize,
    /// When the workers were started, and how many results have arrived
    /// since: the rate that sets the tail's shortest range.
    started: Instant,
    done: usize,
    workers: Vec<Worker>,
    /// A worker's failure, and the position of the first item it lost:
    /// yielded once every result before it has been.
    failed: Option<(usize, Error)>,
}

impl<R> fmt::Debug for PmapIter<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PmapIter")
            .field("next", &self.next)
            .field("len", &self.len)
            .field("chunk", &self.chunk)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl<R: DeserializeOwned> PmapIter<R> {
    /// Makes `current` hold item `next` (and the items after it that
    /// arrived with it), waiting for it if needed: `None` once every item
    /// has been given, or the error that takes the place of item `next`.
    fn fill(&mut self) -> Option<Result<()>> {
        if self.current.len() > 0 {
            return Some(Ok(()));
        }
        if self.next >= self.len {
            return None;
        }
        loop {
            if let Some(run) = self.arrived.remove(&self.next) {
                self.current = run;
                return Some(Ok(()));
            }
            if self.failed.as_ref().is_some_and(|(at, _)| self.next >= *at) {
                self.next = self.len;
                return self.failed.take().map(|(_, e)| Err(e));
            }
            if let Err(e) = self.pump() {
                self.next = self.len;
                return Some(Err(e));
            }
        }
    }

    /// The results from item `next` on that have arrived, as one run, as
    /// [`fill`](Self::fill) finds them; they count as given.
    fn next_run(&mut self) -> Option<Result<std::vec::IntoIter<R>>> {
        Some(self.fill()?.map(|()| {
            self.next += self.current.len();
            std::mem::take(&mut self.current)
        }))
    }

    /// The items a worker does in [`TAIL_MIN_WORK`] at the rate seen so
    /// far (0 before any result has arrived).
    fn tail_floor(&self, workers: usize) -> usize {
        // done / (elapsed * workers) items per second per worker, times
        // TAIL_MIN_WORK; in integers (u128 nanoseconds do not overflow).
        let worker_time = self.started.elapsed().as_nanos() * workers as u128;
        if worker_time == 0 {
            return 0;
        }
        let items = self.done as u128 * TAIL_MIN_WORK.as_nanos() / worker_time;
        usize::try_from(items).unwrap_or(usize::MAX)
    }

    /// Sends worker `w` its next range, or tells it (once) to stop when
    /// none is left and it has nothing in flight. A worker that has gone
    /// cannot be written to; its end is reported when its channel is read,
    /// so a failed write is left to that.
    fn feed(&mut self, w: usize) {
        let workers = self.workers.len();
        let floor = self.tail_floor(workers);
        let worker = &mut self.workers[w];
        if worker.ended || worker.gone {
            return;
        }
        let Some(ch) = self.exchange.channel_mut(worker.id) else {
            return;
        };
        if self.next_range < self.len && self.failed.is_none() {
            let left = self.len - self.next_range;
            let share = left.div_ceil(workers * TAIL_SHARES).max(floor);
            let range = (
                self.next_range,
                self.next_range + self.chunk.min(share).clamp(1, left),
            );
            self.next_range = range.1;
            worker.ranges.push_back(range);
            let _ = ch.send(&range);
        } else if worker.ranges.is_empty() {
            worker.ended = true;
            let _ = ch.send_end();
        }
    }

    /// Records that worker `w` ended: nothing lost if it had nothing in
    /// hand, otherwise `error` is the failure of its oldest unanswered item.
    fn worker_ended(&mut self, w: usize, error: Error) {
        let worker = &mut self.workers[w];
        worker.gone = true;
        let Some(&(at, _)) = worker.ranges.front() else {
            return;
        };
        worker.ranges.clear();
        // Results before it still come from the other workers: the error
        // is "the first failure in input order".
        if self.failed.as_ref().is_none_or(|(first, _)| at < *first) {
            self.failed = Some((at, error));
        }
    }

    /// Receives whatever is ready and files it.
    fn pump(&mut self) -> Result<()> {
        if !self.exchange.unfinished() {
            return Err(Error::Protocol("workers ended before all results".into()));
        }
        let ready = self.exchange.ready(None)?;
        for id in ready {
            if let Some(w) = self.workers.iter().position(|w| w.id == id) {
                self.take_results(w)?;
            }
        }
        self.find_gone_workers();
        Ok(())
    }

    /// Files the results worker `w` has sent.
    fn take_results(&mut self, w: usize) -> Result<()> {
        let id = self.workers[w].id;
        loop {
            let Some(ch) = self.exchange.channel_mut(id) else {
                return Ok(());
            };
            let values = match ch.try_receive::<Vec<R>>() {
                Ok(Some(values)) => values,
                Ok(None) => return Ok(()),
                Err(e) => {
                    let mut ch = self.exchange.remove(id);
                    let pid = ch.as_ref().and_then(Channel::pid);
                    let status = ch.as_mut().and_then(|c| c.wait().ok().flatten());
                    let error = match (e, pid, status) {
                        (e @ Error::Remote { .. }, ..) => e,
                        (_, Some(pid), Some(status)) if !status.success() => {
                            Error::ChildDied { pid, status }
                        }
                        (e, ..) => e,
                    };
                    self.worker_ended(w, error);
                    return Ok(());
                }
            };
            let Some(&(start, end)) = self.workers[w].ranges.front() else {
                return Err(Error::Protocol("result for no range".into()));
            };
            let got = values.len();
            if got > end - start {
                return Err(Error::Protocol(format!(
                    "range {start}..{end} returned {got} results"
                )));
            }
            if got > 0 {
                self.done += got;
                self.arrived.insert(start, values.into_iter());
            }
            if got < end - start {
                // The results before a failing item; its error follows.
                self.workers[w].ranges[0].0 = start + got;
                continue;
            }
            self.workers[w].ranges.pop_front();
            self.feed(w);
        }
    }

    /// Workers whose channel the exchange removed at their hang-up (it
    /// does so once everything they sent has been received): a range they
    /// held is lost with them, and the exchange's inbox says how they died.
    fn find_gone_workers(&mut self) {
        let mut deaths = Vec::new();
        while let Some(m) = self.exchange.handler_mut().pop() {
            deaths.push(m);
        }
        for w in 0..self.workers.len() {
            let id = self.workers[w].id;
            if self.workers[w].gone || self.exchange.is_registered(id) {
                continue;
            }
            let error = deaths
                .iter_mut()
                .find(|m| m.channel == id)
                .and_then(|m| std::mem::replace(&mut m.result, Ok(Vec::new())).err())
                .unwrap_or_else(|| Error::Protocol("a worker ended with items unanswered".into()));
            self.worker_ended(w, error);
        }
    }
}

impl<R: DeserializeOwned> Iterator for PmapIter<R> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        if let Err(e) = self.fill()? {
            return Some(Err(e));
        }
        let v = self.current.next()?;
        self.next += 1;
        Some(Ok(v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.len - self.next;
        (left, Some(left))
    }
}

impl<R> Drop for PmapIter<R> {
    fn drop(&mut self) {
        // Stop the workers and reap them: no zombies, even when the
        // iterator is dropped early.
        let done = self.next_range >= self.len && self.workers.iter().all(|w| w.ranges.is_empty());
        for w in &self.workers {
            if let Some(mut ch) = self.exchange.remove(w.id) {
                if !done {
                    let _ = ch.kill();
                }
                let _ = ch.close_write();
                let _ = ch.wait();
            }
        }
    }
}
