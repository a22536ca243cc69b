//! The hand-out of files to the workers while indexing: batches from the
//! walk (or a list), the parent's record of each worker, and what happens
//! when one dies.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};
use std::thread::{self, JoinHandle};

use pprocess_exchange::{Channel, ChannelId, Exchange, Handler, Pid};

use super::super::parallel::Failure;
use super::super::walk::walk_parallel;
use serde_bytes::ByteBuf;

use super::super::{FileId, embedded};
use super::names::{Finding, Names, Pending};
use super::worker::{Inputs, Note, Reply, Request};
use super::{Event, Files, PoolOptions, Progress, Summary};

/// A batch of files handed to a worker: a run of identifiers (files get
/// their identifiers in the order they are put in batches).
#[derive(Debug, Clone, Copy)]
pub(super) struct Batch {
    pub(super) id: u32,
    pub(super) first: FileId,
    pub(super) count: u32,
}

impl Batch {
    /// Its files' identifiers.
    pub(super) fn ids(&self) -> Range<FileId> {
        self.first..self.first + self.count
    }

    /// How many files it has.
    pub(super) fn len(&self) -> usize {
        self.count as usize
    }
}

/// What a batch added to the summary.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counts {
    pub(super) text: usize,
    pub(super) binary: usize,
    pub(super) lossy: usize,
    pub(super) bytes: u64,
    pub(super) words: u64,
}

/// The parent's record of a worker while indexing.
#[derive(Debug)]
pub(super) struct Worker {
    pub(super) pid: Pid,
    /// Batches sent and not done.
    pub(super) in_flight: VecDeque<Batch>,
    /// Batches done, with what they counted: read again elsewhere if the
    /// worker dies.
    pub(super) done: Vec<(Batch, Counts)>,
    /// Files of `done`.
    pub(super) files: usize,
}

/// Where the files come from, batch by batch.
pub(super) struct Feeder {
    /// The walk's findings, until it is over.
    pub(super) walk: Option<(Receiver<Vec<Finding>>, JoinHandle<()>)>,
    /// The first file named and not yet in a batch: the files from here
    /// to the last one named wait for a batch (a file is named as soon as
    /// it is found).
    unbatched: FileId,
    /// Whether the files are the embedded documents.
    embedded: bool,
    /// Whether a path may hold a NUL byte (paths of a list: a walk finds
    /// none).
    check_nul: bool,
    /// The buffer that a batch's paths are sent in, kept for the next.
    paths: Vec<u8>,
    /// Batches to read again (their worker died).
    pub(super) again: VecDeque<Batch>,
    pub(super) batch: usize,
    /// Workers asked for: batches shrink with the files waiting so that
    /// they all finish together.
    pub(super) workers: usize,
    pub(super) next_batch: u32,
}

impl Feeder {
    /// Starts the walk, or names the files of a list.
    pub(super) fn new(files: Files, options: &PoolOptions, index: &mut Indexing<'_>) -> Self {
        let mut feeder = Feeder {
            walk: None,
            unbatched: 0,
            again: VecDeque::new(),
            embedded: false,
            check_nul: false,
            paths: Vec::new(),
            batch: options.batch.max(1),
            workers: options.workers.max(1),
            next_batch: 0,
        };
        match files {
            Files::Walk { dir, options: walk } => {
                let (tx, rx) = sync_channel(256);
                let threads = options.walk_threads;
                let handle = thread::Builder::new()
                    .name("walk".into())
                    .spawn(move || walk_parallel(&dir, &walk, threads, tx, Finding::of))
                    .expect("cannot start the walk thread");
                feeder.walk = Some((rx, handle));
            }
            Files::List(paths) => {
                feeder.check_nul = true;
                for path in paths {
                    feeder.add(Pending::of(path), index);
                }
            }
            Files::Embedded => {
                // In order, none left out: each document's identifier is its
                // position.
                feeder.embedded = true;
                for (name, _) in embedded::EMBEDDED {
                    let name = (*name).to_owned();
                    feeder.add(Pending { name, raw: None }, index);
                }
            }
        }
        if feeder.walk.is_none() {
            index.progress.walk_done = true;
        }
        feeder
    }

    /// Names a file found.
    fn add(&mut self, file: Pending, index: &mut Indexing<'_>) {
        index.progress.found += 1;
        if self.check_nul && file.path().contains(&0) {
            // It would end early in a batch's buffer of paths.
            index.fail(file.name, "a path cannot hold a NUL byte".to_owned());
            return;
        }
        index.names.add(file);
        index.reported.push(false);
    }

    /// Whether files are left to hand out: to read again, named and not
    /// in a batch, or still to be found.
    pub(super) fn has_work(&self, index: &Indexing<'_>) -> bool {
        !self.again.is_empty() || self.waiting(index) > 0 || self.walk.is_some()
    }

    /// Files named and not yet in a batch.
    fn waiting(&self, index: &Indexing<'_>) -> usize {
        index.names.len() - self.unbatched as usize
    }

    /// Whether every file to index has its identifier and name: the walk
    /// is over.
    pub(super) fn all_named(&self) -> bool {
        self.walk.is_none()
    }

    /// Takes what the walk has found so far, without waiting.
    pub(super) fn drain_walk(&mut self, index: &mut Indexing<'_>) {
        while let Some((rx, _)) = &self.walk {
            match rx.try_recv() {
                Ok(found) => self.take(found, index),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => self.end_walk(index),
            }
        }
    }

    /// Waits for the walk to end, keeping what it finds for later batches.
    pub(super) fn finish_walk(&mut self, index: &mut Indexing<'_>) {
        while let Some((rx, _)) = &self.walk {
            match rx.recv() {
                Ok(found) => self.take(found, index),
                Err(_) => self.end_walk(index),
            }
        }
    }

    /// Names the files the walk found (reporting its problems now).
    fn take(&mut self, found: Vec<Finding>, index: &mut Indexing<'_>) {
        for found in found {
            match found {
                Finding::File(file) => self.add(file, index),
                Finding::Problem(problem) => index.fail(problem.path, problem.error),
            }
        }
    }

    pub(super) fn end_walk(&mut self, index: &mut Indexing<'_>) {
        index.progress.walk_done = true;
        if let Some((_, handle)) = self.walk.take() {
            if handle.join().is_err() {
                eprintln!("start_indexer: the directory walk panicked");
            }
        }
    }

    /// The next batch: a batch to read again, or up to `batch` new files
    /// (waiting for the walk to find one, not for it to find them all;
    /// fewer when few are waiting).
    /// `None` when there are no more files.
    pub(super) fn next(&mut self, index: &mut Indexing<'_>) -> Option<Batch> {
        if let Some(batch) = self.again.pop_front() {
            return Some(batch);
        }
        self.drain_walk(index);
        while self.waiting(index) == 0 {
            // Wait for the walk to find a file, not for it to find them all.
            let (rx, _) = self.walk.as_ref()?;
            match rx.recv() {
                Ok(found) => self.take(found, index),
                Err(_) => self.end_walk(index),
            }
        }
        // Guided: a batch is at most a quarter of a worker's share of the
        // files named and not handed out, so that no worker is left with a
        // long batch while the others have nothing to do. While the walk
        // runs, that share is of the files found so far: a directory of a
        // few hundred large files (a year of monthly mailboxes) is found
        // before the first batch, and batches of `batch` files would give
        // it all to the first worker.
        let waiting = self.waiting(index);
        let size = (waiting / (4 * self.workers)).clamp(1, self.batch);
        let count = u32::try_from(size.min(waiting)).expect("a batch's files fit in u32");
        let first = self.unbatched;
        self.unbatched += count;
        let id = self.next_batch;
        self.next_batch += 1;
        Some(Batch { id, first, count })
    }

    /// The request for `batch`, its paths in the buffer kept for them.
    fn request(&mut self, batch: Batch, index: &Indexing<'_>) -> Request {
        let inputs = if self.embedded {
            Inputs::Embedded
        } else {
            let mut paths = std::mem::take(&mut self.paths);
            paths.clear();
            for id in batch.ids() {
                paths.extend_from_slice(index.names.path(id));
                paths.push(0);
            }
            Inputs::Paths(ByteBuf::from(paths))
        };
        Request::Files {
            batch: batch.id,
            first: batch.first,
            count: batch.count,
            inputs,
        }
    }

    /// Keeps the buffer of a sent request's paths for the next.
    fn sent(&mut self, request: Request) {
        if let Request::Files {
            inputs: Inputs::Paths(paths),
            ..
        } = request
        {
            self.paths = paths.into_vec();
        }
    }
}

/// The parent's state while indexing.
pub(super) struct Indexing<'o> {
    /// Each file's name, by identifier.
    pub(super) names: Names,
    /// Files reported as failed (each is reported once, even if read
    /// again).
    pub(super) reported: Vec<bool>,
    pub(super) progress: Progress,
    pub(super) summary: Summary,
    pub(super) observe: &'o mut dyn FnMut(Event<'_>),
}

impl Indexing<'_> {
    pub(super) fn fail(&mut self, name: String, error: String) {
        (self.observe)(Event::Failed {
            name: &name,
            error: &error,
        });
        self.summary.failed.push(Failure { name, error });
    }

    /// Reports that file `id` cannot be indexed, unless it was reported.
    pub(super) fn fail_file(&mut self, id: FileId, error: String) {
        if !std::mem::replace(&mut self.reported[id as usize], true) {
            let name = self.names.name(id).to_owned();
            self.fail(name, error);
        }
    }

    /// Counts a batch done; returns what it counted.
    pub(super) fn done(
        &mut self,
        bytes: u64,
        words: u64,
        files: usize,
        notes: Vec<(FileId, Note)>,
    ) -> Counts {
        let mut counts = Counts {
            text: files,
            bytes,
            words,
            ..Counts::default()
        };
        for (id, note) in notes {
            match note {
                Note::Lossy => counts.lossy += 1,
                Note::Binary => {
                    counts.binary += 1;
                    counts.text -= 1;
                }
                Note::Failed(error) => {
                    counts.text -= 1;
                    self.fail_file(id, error);
                }
            }
        }
        self.progress.bytes += bytes;
        self.progress.words += words;
        self.progress.done += files;
        self.summary.files += counts.text;
        self.summary.binary += counts.binary;
        self.summary.lossy += counts.lossy;
        (self.observe)(Event::Progress(&self.progress));
        counts
    }
}

/// Batches each worker holds: one to read, one waiting.
pub(super) const AHEAD: usize = 2;

/// How worker `pid` ended, from its channel's error and its exit status (a
/// forked worker is reaped here).
pub(super) fn ended(channel: Channel, pid: Pid, e: &pprocess_exchange::Error) -> String {
    match channel.close() {
        Ok(Some(status)) if !status.success() => format!("worker {pid} {status}"),
        _ => format!("worker {pid} failed: {e}"),
    }
}

/// Hands a worker batches until it holds [`AHEAD`] of them.
pub(super) fn feed(
    ex: &mut Exchange<Reply>,
    workers: &mut HashMap<ChannelId, Worker>,
    id: ChannelId,
    feeder: &mut Feeder,
    index: &mut Indexing<'_>,
) -> pprocess_exchange::Result<()> {
    loop {
        let Some(worker) = workers.get(&id) else {
            return Ok(());
        };
        if worker.in_flight.len() >= AHEAD {
            return Ok(());
        }
        let Some(batch) = feeder.next(index) else {
            return Ok(());
        };
        let request = feeder.request(batch, index);
        let sent = match ex.channel_mut(id) {
            Some(ch) => ch.send(&request),
            None => Err(pprocess_exchange::Error::Closed),
        };
        feeder.sent(request);
        workers
            .get_mut(&id)
            .expect("looked up above")
            .in_flight
            .push_back(batch);
        if let Err(e) = sent {
            lost(ex, workers, id, &e, feeder, index);
            return Ok(());
        }
    }
}

/// A worker died while indexing: its batches in flight are lost (reported),
/// the batches it had done are queued to be read again.
pub(super) fn lost(
    ex: &mut Exchange<Reply>,
    workers: &mut HashMap<ChannelId, Worker>,
    id: ChannelId,
    e: &pprocess_exchange::Error,
    feeder: &mut Feeder,
    index: &mut Indexing<'_>,
) {
    let Some(worker) = workers.remove(&id) else {
        return;
    };
    let why = match ex.remove(id) {
        Some(channel) => ended(channel, worker.pid, e),
        // The exchange removed it at its hang-up, and said how it died.
        None => match death_of(ex, id) {
            Some(pprocess_exchange::Error::ChildDied { status, .. }) => {
                format!("worker {} {status}", worker.pid)
            }
            _ => format!("worker {} failed: {e}", worker.pid),
        },
    };
    for batch in worker.in_flight {
        index.progress.done += batch.len();
        for file in batch.ids() {
            index.fail_file(file, format!("lost: {why} while reading it"));
        }
    }
    // What it had done is counted again when it is read again.
    for (batch, counts) in worker.done.into_iter().rev() {
        index.progress.done -= batch.len();
        index.progress.bytes -= counts.bytes;
        index.progress.words -= counts.words;
        index.summary.files -= counts.text;
        index.summary.binary -= counts.binary;
        index.summary.lossy -= counts.lossy;
        feeder.again.push_front(batch);
    }
}

/// Takes the exchange's report of how the worker of `id` ended (the
/// exchange removes a channel whose peer hung up, and keeps a failed end
/// in its inbox), leaving the reports of others.
fn death_of(ex: &mut Exchange<Reply>, id: ChannelId) -> Option<pprocess_exchange::Error> {
    let mut found = None;
    let mut others = Vec::new();
    while let Some(m) = ex.handler_mut().pop() {
        if m.channel == id && found.is_none() {
            found = m.result.err();
        } else {
            others.push(m);
        }
    }
    for m in others {
        Handler::<Reply>::store(ex.handler_mut(), m);
    }
    found
}

/// A worker died between indexing and sorting: its files are lost.
pub(super) fn shard_lost(index: &mut Indexing<'_>, why: &str, done: &[(Batch, Counts)]) {
    for (batch, counts) in done {
        index.summary.files -= counts.text;
        for file in batch.ids() {
            index.fail_file(file, format!("lost: {why} before its shard was sorted"));
        }
    }
}

#[cfg(test)]
mod tests;
