//! The default indexer: workers forked once, each holding a shard of the
//! index; searches fan out to every shard.
//!
//! [`Pool::index`] forks [`PoolOptions::workers`] workers first, while the
//! parent is small and has one thread (so a fork copies almost nothing and
//! no lock can be left held). Then a thread of the parent walks the
//! directory (ripgrep's parallel walker, see [`walk`](super::walk)), and
//! the parent hands the files out in batches of up to [`PoolOptions::batch`]
//! as workers ask (fewer when few files wait, so that a few hundred large
//! files are shared out too): each worker keeps two batches, so it never
//! waits for the parent. A worker reads its files in bounded memory
//! ([`scan`](super::scan)) into its own [`ShardBuilder`]; nothing is merged.
//! A batch is a run of file identifiers and one buffer of paths, so the
//! parent's main thread, the one part of the pool that does not grow with
//! the workers, does little more per file than copy its path (see
//! `names.rs` for the rest of that budget). When the walk is over a thread
//! of the parent sorts the file names while the workers read; when every
//! file is read, each worker renumbers its files by that order and sorts
//! its shard, all at the same time.
//!
//! A search ([`Pool::for_each_match`]) sends the pattern to every worker;
//! each streams the words of its shard beginning with the pattern, in
//! order and in chunks (a word's files as one array of numbers, in the
//! order of their names), and the parent merges the streams as it reads
//! them (a word found in several shards gets the union of their files). The
//! parent's work is the walk's bookkeeping and this merge: no index is
//! ever built in one process, and an answer of any size takes the memory of
//! one chunk per worker.
//!
//! A worker that dies while indexing loses the batches it was reading
//! (their files are reported as [`Failure`]s, once each); the batches it had
//! finished are read again by the other workers (or by a new one, if none
//! is left), so they are not lost. A worker that dies after indexing takes
//! its shard with it: the search says so ([`std::io::ErrorKind::Other`], naming
//! the worker) and the pool searches the others from then on.
//!
//! [`Pool::index_remote`] starts the workers with a builder's `start_fn`
//! instead (on the ranks of an MPI job with a `pprocess_mpi::Cluster`'s
//! builder): the same messages, each answered once (see [`remote`]).
//!
//! ```
//! use pprocess_examples::indexer::pool::{Files, Pool, PoolOptions};
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("a.txt"), "The cat sat.")?;
//! std::fs::write(dir.path().join("b.txt"), "A catalog of cats!")?;
//! let files = Files::Walk { dir: dir.path().to_owned(), options: Default::default() };
//! let (mut pool, summary) = Pool::index(files, &PoolOptions::default(), |_| {})?;
//! assert_eq!(summary.files, 2);
//! let found = pool.search("cat")?;
//! let words: Vec<&str> = found.iter().map(|m| m.word.as_str()).collect();
//! assert_eq!(words, ["cat", "catalog", "cats"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`ShardBuilder`]: super::shard::ShardBuilder

mod feed;
mod launch;
mod names;
pub mod remote;
mod search;
pub mod worker;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use pprocess_exchange::{Channel, ChannelId, Exchange, Pid};

use super::parallel::Failure;
use super::walk::WalkOptions;
use feed::{Feeder, Indexing, Worker, ended, feed, lost, shard_lost};
use launch::{Launch, start_worker};
use names::{Names, Sorting};
use worker::{Opener, Reply, Request};

pub use super::scan::open_file;

/// How many workers, and how the work is handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Worker processes (at least 1).
    pub workers: usize,
    /// Files per batch at most (at least 1; fewer while few files wait).
    pub batch: usize,
    /// Time a worker sleeps after each file, to simulate heavy work.
    pub delay: Option<Duration>,
    /// Threads of the directory walk (at least 1).
    pub walk_threads: usize,
}

impl Default for PoolOptions {
    /// A worker per core, batches of up to 128 files, a walk thread per core (at
    /// most 4).
    fn default() -> Self {
        let cores = pprocess_exchange::num_cores();
        PoolOptions {
            workers: cores,
            batch: 128,
            delay: None,
            walk_threads: cores.min(4),
        }
    }
}

/// The files to index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Files {
    /// The files a walk of `dir` finds.
    Walk {
        /// The directory.
        dir: PathBuf,
        /// What the walk finds.
        options: WalkOptions,
    },
    /// These files, named by [`file_name_of`](super::file_name_of).
    List(Vec<PathBuf>),
    /// The embedded documentation (see [`embedded`](super::embedded)).
    Embedded,
}

/// What [`Pool::index`] tells as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A file (or something the walk found) cannot be indexed.
    Failed {
        /// Its name.
        name: &'a str,
        /// Why.
        error: &'a str,
    },
    /// A batch is done.
    Progress(&'a Progress),
}

/// How far indexing has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Files read (or skipped, or failed).
    pub done: usize,
    /// Files found so far.
    pub found: usize,
    /// Whether the walk is over (so `found` is the total).
    pub walk_done: bool,
    /// Bytes read.
    pub bytes: u64,
    /// Words read, with repetitions.
    pub words: u64,
}

/// What indexing did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Text files indexed.
    pub files: usize,
    /// Binary files skipped.
    pub binary: usize,
    /// Text files with invalid UTF-8 (replaced, and indexed).
    pub lossy: usize,
    /// What could not be indexed, each once: unreadable files, files lost
    /// with a worker, and problems of the walk.
    pub failed: Vec<Failure>,
    /// Bytes read.
    pub bytes: u64,
    /// Words read, with repetitions.
    pub words: u64,
    /// Distinct (word, file) entries of the index.
    pub entries: u64,
    /// Workers started (more than asked if some died).
    pub workers: usize,
    /// The time indexing took.
    pub elapsed: Duration,
}

/// A worker's shard, once indexing is over.
#[derive(Debug)]
struct ShardHandle {
    channel: Channel,
    pid: Pid,
    files: usize,
}

/// The index: shards in worker processes, file names in the parent.
#[derive(Debug)]
pub struct Pool {
    shards: Vec<ShardHandle>,
    /// File names, sorted: the shards number files by their place here.
    names: Vec<String>,
    /// The workers were started by a builder: each answers one reply per
    /// request, so a search's chunks are asked for one by one.
    pull: bool,
}

impl Pool {
    /// Indexes `files` with forked workers (see the [module](self)
    /// documentation); calls `observe` as it goes.
    ///
    /// # Errors
    ///
    /// [`Error::Fork`](pprocess_exchange::Error::Fork) or
    /// [`Error::Io`](pprocess_exchange::Error::Io) if workers cannot be
    /// started or waited for. Files that cannot be read, and files lost
    /// with a worker, are not errors: they are in [`Summary::failed`].
    pub fn index(
        files: Files,
        options: &PoolOptions,
        observe: impl FnMut(Event<'_>),
    ) -> pprocess_exchange::Result<(Pool, Summary)> {
        Self::index_with(files, options, open_file, observe)
    }

    /// [`Pool::index`] with workers opening files through `open`.
    ///
    /// # Errors
    ///
    /// As for [`Pool::index`].
    pub fn index_with(
        files: Files,
        options: &PoolOptions,
        open: Opener,
        observe: impl FnMut(Event<'_>),
    ) -> pprocess_exchange::Result<(Pool, Summary)> {
        Self::index_launched(files, options, &Launch::Fork(open), observe)
    }

    /// [`Pool::index`] with workers started by `builder`'s `start_fn`
    /// (see [`remote`]): with a `pprocess_mpi::Cluster`'s builder, on the
    /// ranks of an MPI job, each rank holding a shard. Files are opened by
    /// path where the worker runs, so under MPI the directory must be on a
    /// filesystem every host shares. The answers are the same as
    /// [`Pool::index`]'s.
    ///
    /// ```
    /// use pprocess_examples::indexer::pool::{Files, Pool, PoolOptions};
    /// let builder = pprocess_exchange::Builder::new();
    /// let options = PoolOptions { workers: 2, ..PoolOptions::default() };
    /// let (mut pool, summary) = Pool::index_remote(Files::Embedded, &options, &builder, |_| {})?;
    /// assert!(summary.files > 0);
    /// assert!(!pool.search("fork")?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Pool::index`].
    pub fn index_remote(
        files: Files,
        options: &PoolOptions,
        builder: &pprocess_exchange::Builder<pprocess_exchange::MessagePack>,
        observe: impl FnMut(Event<'_>),
    ) -> pprocess_exchange::Result<(Pool, Summary)> {
        Self::index_launched(files, options, &Launch::Builder(builder), observe)
    }

    #[allow(
        clippy::missing_panics_doc,
        reason = "its expects restate what the lines before them checked"
    )]
    fn index_launched(
        files: Files,
        options: &PoolOptions,
        launch: &Launch<'_>,
        mut observe: impl FnMut(Event<'_>),
    ) -> pprocess_exchange::Result<(Pool, Summary)> {
        let started = Instant::now();
        let mut ex = Exchange::<Reply>::new()?;
        let mut workers: HashMap<ChannelId, Worker> = HashMap::new();
        // Fork before the walk's threads exist and before the parent grows.
        let wanted = options.workers.max(1);
        for _ in 0..wanted {
            start_worker(&mut ex, &mut workers, options, launch)?;
        }
        let mut index = Indexing {
            names: Names::default(),
            reported: Vec::new(),
            progress: Progress::default(),
            summary: Summary {
                workers: wanted,
                ..Summary::default()
            },
            observe: &mut observe,
        };
        let mut feeder = Feeder::new(files, options, &mut index);

        let mut sorting: Option<Sorting> = None;
        loop {
            if workers.is_empty() && feeder.has_work(&index) {
                // No worker is left to read what is left, or again what
                // the dead ones had read: fork anew, once no other thread
                // of the parent is left.
                feeder.finish_walk(&mut index);
                sorting = sorting.map(|s| s.finished(&index.names));
                for _ in 0..wanted {
                    start_worker(&mut ex, &mut workers, options, launch)?;
                    index.summary.workers += 1;
                }
            }
            // Every worker holds its batches ahead while there are any (so
            // the survivors take the dead ones' batches).
            let ids: Vec<ChannelId> = workers.keys().copied().collect();
            for id in ids {
                feed(&mut ex, &mut workers, id, &mut feeder, &mut index)?;
            }
            if !workers.values().any(|w| !w.in_flight.is_empty()) {
                if workers.is_empty() && feeder.has_work(&index) {
                    // Every worker died as it was handed its batches.
                    continue;
                }
                break;
            }
            // Let the walk run ahead, so that the names are known early.
            feeder.drain_walk(&mut index);
            if sorting.is_none() && feeder.all_named() {
                // Every file has its name: sort them while the workers read.
                sorting = Some(index.names.sort());
            }
            for id in ex.ready(None)? {
                let reply = match ex.channel_mut(id).map(|ch| ch.try_receive::<Reply>()) {
                    Some(Ok(Some(reply))) => reply,
                    Some(Ok(None)) | None => continue,
                    Some(Err(e)) => {
                        lost(&mut ex, &mut workers, id, &e, &mut feeder, &mut index);
                        continue;
                    }
                };
                match reply {
                    Reply::Done {
                        batch,
                        bytes,
                        words,
                        notes,
                    } => {
                        let Some(worker) = workers.get_mut(&id) else {
                            continue;
                        };
                        let Some(at) = worker.in_flight.iter().position(|b| b.id == batch) else {
                            continue;
                        };
                        let done = worker.in_flight.remove(at).expect("found above");
                        worker.files += done.len();
                        let counts = index.done(bytes, words, done.len(), notes);
                        worker.done.push((done, counts));
                    }
                    other => {
                        let e = pprocess_exchange::Error::Protocol(format!(
                            "unexpected {other:?} while indexing"
                        ));
                        lost(&mut ex, &mut workers, id, &e, &mut feeder, &mut index);
                    }
                }
            }
            // Workers whose channel the exchange removed at their hang-up
            // (after everything they sent was received).
            let gone: Vec<ChannelId> = workers
                .keys()
                .copied()
                .filter(|id| !ex.is_registered(*id))
                .collect();
            for id in gone {
                let e = pprocess_exchange::Error::Closed;
                lost(&mut ex, &mut workers, id, &e, &mut feeder, &mut index);
            }
        }
        feeder.finish_walk(&mut index);
        debug_assert!(feeder.again.is_empty());
        let (order, ranks) = sorting
            .unwrap_or_else(|| index.names.sort())
            .finish(&index.names);
        let finish = Request::Finish {
            ranks: serde_bytes::ByteBuf::from(ranks),
        };

        // Every file is read: each worker sorts its shard.
        let mut shards = Vec::new();
        let ids: Vec<ChannelId> = workers.keys().copied().collect();
        for id in &ids {
            if let Some(ch) = ex.channel_mut(*id) {
                // A worker that is gone already shows below.
                let _ = ch.send(&finish);
            }
        }
        for id in ids {
            let worker = workers.remove(&id).expect("listed above");
            let Some(mut channel) = ex.remove(id) else {
                continue;
            };
            channel.set_nonblocking(false)?;
            match channel.receive::<Reply>() {
                Ok(Reply::Finished { entries, .. }) => {
                    index.summary.entries += entries;
                    shards.push(ShardHandle {
                        channel,
                        pid: worker.pid,
                        files: worker.files,
                    });
                }
                Ok(other) => {
                    let e = pprocess_exchange::Error::Protocol(format!(
                        "unexpected {other:?} at the end of indexing"
                    ));
                    shard_lost(&mut index, &ended(channel, worker.pid, &e), &worker.done);
                }
                Err(e) => {
                    let why = ended(channel, worker.pid, &e);
                    shard_lost(&mut index, &why, &worker.done);
                }
            }
        }
        drop(finish);
        let names = std::mem::take(&mut index.names).into_sorted(&order);
        let mut summary = index.summary;
        summary.bytes = index.progress.bytes;
        summary.words = index.progress.words;
        summary.elapsed = started.elapsed();
        let pull = matches!(launch, Launch::Builder(_));
        Ok((
            Pool {
                shards,
                names,
                pull,
            },
            summary,
        ))
    }

    /// The pids of the workers holding shards.
    #[must_use]
    pub fn workers(&self) -> Vec<Pid> {
        self.shards.iter().map(|s| s.pid).collect()
    }

    /// The names of the files, sorted (a file's place here is how
    /// [`Pool::for_each_match_placed`] names it).
    #[must_use]
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl Drop for Pool {
    /// Hangs up on every worker and reaps it. A worker started by a
    /// builder is first told to let its shard go ([`Request::Close`], all
    /// of them at once, then their answers): its process lives on (an MPI
    /// rank serves the next worker) and would otherwise keep the shard.
    fn drop(&mut self) {
        if self.pull {
            let sent: Vec<bool> = self
                .shards
                .iter_mut()
                .map(|shard| shard.channel.send(&Request::Close).is_ok())
                .collect();
            for (shard, sent) in self.shards.iter_mut().zip(sent) {
                if sent {
                    // Whatever it answers (or if it is gone), the pool ends.
                    let _ = shard.channel.receive::<Reply>();
                }
            }
        }
        for shard in self.shards.drain(..) {
            let _ = shard.channel.close();
        }
    }
}
