//! The parallel indexer: files parsed in forked children, merged in the
//! parent as they arrive.
//!
//! The documents are split into slices of [`Options::slice`] files; each
//! slice is parsed by a child started through a continuous [`Queue`] whose
//! limit is [`Options::window`], so at most `window` children run at once
//! and the exchange starts the next slice as soon as one ends. A child
//! already has the document list in memory (it is a fork of the parent), so
//! only slice bounds cross the process boundary on the way in; on the way
//! out, each child sends one [`Report`] per file as soon as the file is
//! parsed: the file's distinct words, or why it could not be read. The
//! parent merges every report into one [`Index`] when it arrives.
//!
//! Forking is cheap but not free: after each fork, the parent's first
//! write to every page of its (growing) index copies that page, because the
//! child shares it. With [`Options::reuse`], `window` workers are forked
//! once instead, and each asks for the next slice when it has sent the last
//! one (pprocess's `reuse`, with streaming).
//!
//! A child that dies (a panic, a signal) loses only the files it had not
//! reported yet: they are reported as failed, and every other file is
//! indexed (a reused worker that dies is replaced). The result is the same index [`index_sequential`] builds, file
//! identifiers included (a file's identifier is its position in the list).
//!
//! [`index_sequential`]: super::index_sequential
//!
//! ```
//! use pprocess_examples::indexer::parallel::{Document, Options, index_parallel};
//! let docs = vec![
//!     Document::text("a.txt", "The cat sat."),
//!     Document::text("b.txt", "A catalog of cats!"),
//! ];
//! let indexed = index_parallel(docs, &Options::default(), |_, _| {})?;
//! let words: Vec<String> = indexed.index.search("cat").into_iter().map(|m| m.word).collect();
//! assert_eq!(words, ["cat", "catalog", "cats"]);
//! assert_eq!(indexed.children, 1);
//! assert!(indexed.failed.is_empty());
//! # Ok::<(), pprocess_exchange::Error>(())
//! ```

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use pprocess_exchange::{Channel, Queue};

use super::{FileId, Index};

mod document;

pub use document::{
    Assignment, Document, Reader, Report, Source, documents, joined_distinct_words,
};

/// How the work is shared out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// At most this many children at once (at least 1).
    pub window: usize,
    /// Files given to each child (at least 1).
    pub slice: usize,
    /// Time a child sleeps after each file, to simulate heavy work.
    pub delay: Option<Duration>,
    /// Fork `window` workers that each take slice after slice, rather than
    /// a child per slice.
    pub reuse: bool,
}

impl Default for Options {
    /// pprocess's defaults: a window of 4 children, slices of 5 files, no
    /// delay, a child per slice.
    fn default() -> Self {
        Options {
            window: 4,
            slice: 5,
            delay: None,
            reuse: false,
        }
    }
}

/// What happened to one document, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A document was parsed and merged into the index.
    Indexed {
        /// Its name.
        name: &'a str,
        /// Its distinct words.
        words: usize,
        /// Whether invalid UTF-8 was replaced.
        lossy: bool,
    },
    /// A document could not be indexed.
    Failed {
        /// Its name.
        name: &'a str,
        /// Why.
        error: &'a str,
    },
}

/// How far indexing has gone, given with every [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Documents indexed or failed.
    pub done: usize,
    /// Documents in all.
    pub total: usize,
    /// Distinct words in the index so far.
    pub words: usize,
    /// Distinct (word, document) entries in the index so far.
    pub entries: usize,
}

/// A document that could not be indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Its name.
    pub name: String,
    /// Why.
    pub error: String,
}

/// The result of [`index_parallel`].
#[derive(Debug)]
pub struct Indexed {
    /// The index of every document (failed ones are listed without words).
    pub index: Index,
    /// The documents that could not be indexed, in the order they failed.
    pub failed: Vec<Failure>,
    /// The names of the documents in which invalid UTF-8 was replaced.
    pub lossy: Vec<String>,
    /// The number of binary documents (skipped).
    pub binary: usize,
    /// The number of children started.
    pub children: usize,
    /// The time indexing took.
    pub elapsed: Duration,
}

/// Indexes `docs` in forked children (see the [module](self) documentation)
/// and calls `observe` in the parent after each document is indexed or
/// fails.
///
/// # Errors
///
/// [`Error::Fork`](pprocess_exchange::Error::Fork) or
/// [`Error::Io`](pprocess_exchange::Error::Io) if children cannot be
/// started or the exchange cannot wait for them. The failure of a child is
/// not an error: its unreported documents are in [`Indexed::failed`].
pub fn index_parallel(
    docs: impl Into<Rc<[Document]>>,
    options: &Options,
    observe: impl FnMut(&Event<'_>, &Progress),
) -> pprocess_exchange::Result<Indexed> {
    index_parallel_with(docs, options, Document::open, observe)
}

/// The parent's side: the index and what is known of each document.
struct Merge<'d, O> {
    docs: &'d [Document],
    /// The index's identifier of each document.
    ids: Vec<FileId>,
    /// Whether each document has been indexed or has failed.
    settled: Vec<bool>,
    done: usize,
    index: Index,
    failed: Vec<Failure>,
    lossy: Vec<String>,
    binary: usize,
    observe: O,
}

impl<O: FnMut(&Event<'_>, &Progress)> Merge<'_, O> {
    fn progress(&self) -> Progress {
        Progress {
            done: self.done,
            total: self.docs.len(),
            words: self.index.words(),
            entries: self.index.entries(),
        }
    }

    /// Marks `file` settled; `false` if it already was (or is not a file).
    fn settle(&mut self, file: usize) -> bool {
        match self.settled.get_mut(file) {
            Some(settled @ false) => {
                *settled = true;
                self.done += 1;
                true
            }
            _ => false,
        }
    }

    /// Merges the words of `file` (each followed by a space).
    fn parsed(&mut self, file: usize, lossy: bool, binary: bool, words: &str) {
        if !self.settle(file) {
            return;
        }
        self.binary += usize::from(binary);
        let id = self.ids[file];
        let mut count = 0;
        for word in words.split(' ').filter(|w| !w.is_empty()) {
            self.index.add(word, id);
            count += 1;
        }
        let name = &self.docs[file].name;
        if lossy {
            self.lossy.push(name.clone());
        }
        let progress = self.progress();
        (self.observe)(
            &Event::Indexed {
                name,
                words: count,
                lossy,
            },
            &progress,
        );
    }

    /// Records that `file` could not be indexed.
    fn failed(&mut self, file: usize, error: String) {
        if !self.settle(file) {
            return;
        }
        let name = &self.docs[file].name;
        let progress = self.progress();
        (self.observe)(
            &Event::Failed {
                name,
                error: &error,
            },
            &progress,
        );
        self.failed.push(Failure {
            name: name.clone(),
            error,
        });
    }
}

/// [`index_parallel`] with children reading documents through `read`.
///
/// # Errors
///
/// As for [`index_parallel`].
///
/// # Panics
///
/// If there are more than `u32::MAX` documents.
pub fn index_parallel_with(
    docs: impl Into<Rc<[Document]>>,
    options: &Options,
    read: Reader,
    observe: impl FnMut(&Event<'_>, &Progress),
) -> pprocess_exchange::Result<Indexed> {
    let started = Instant::now();
    let docs: Rc<[Document]> = docs.into();
    assert!(
        u32::try_from(docs.len()).is_ok(),
        "too many documents to index"
    );
    let mut index = Index::new();
    let ids: Vec<FileId> = docs
        .iter()
        .map(|doc| index.add_file_name(doc.name.clone()))
        .collect();
    let mut merge = Merge {
        docs: &docs,
        ids,
        settled: vec![false; docs.len()],
        done: 0,
        index,
        failed: Vec::new(),
        lossy: Vec::new(),
        binary: 0,
        observe,
    };

    let slice = options.slice.max(1);
    let mut pending: VecDeque<Range<usize>> = (0..docs.len())
        .step_by(slice)
        .map(|first| first..(first + slice).min(docs.len()))
        .collect();
    let mut queue = Queue::<Report>::new()?
        .limit(options.window.max(1))
        .continuous(true);
    let mut workers = Workers {
        docs: Rc::clone(&docs),
        delay: options.delay,
        reuse: options.reuse,
        read,
        current: HashMap::new(),
        started: 0,
    };
    // A child per slice: all are submitted now, and the exchange starts
    // each when the window has room. Reused workers: one per place in the
    // window, each with its first slice.
    let initial = if options.reuse {
        options.window.max(1)
    } else {
        usize::MAX
    };
    while workers.current.len() < initial {
        let Some(range) = pending.pop_front() else {
            break;
        };
        workers.start(&mut queue, range)?;
    }

    loop {
        let Some(message) = queue.next_message()? else {
            // Every worker has ended. Only workers that ended without
            // saying so (which ours do not) can leave slices behind.
            match pending.pop_front() {
                Some(range) => {
                    workers.start(&mut queue, range)?;
                    continue;
                }
                None => break,
            }
        };
        let Some(range) = workers.current.get(&message.index).cloned() else {
            continue;
        };
        match message.result {
            // A child only reports its own files.
            Ok(Report::Parsed {
                file,
                lossy,
                binary,
                words,
            }) if range.contains(&(file as usize)) => {
                merge.parsed(file as usize, lossy, binary, &words);
            }
            Ok(Report::Failed { file, error }) if range.contains(&(file as usize)) => {
                merge.failed(file as usize, error);
            }
            Ok(Report::SliceDone) => {
                let next = pending.pop_front();
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "slices are of the documents, at most u32::MAX (checked on entry)"
                )]
                let assignment: Assignment = next.as_ref().map(|r| (r.start as u32, r.end as u32));
                let sent = queue
                    .channel_mut(message.channel)
                    .map(|ch| ch.send(&assignment));
                match (next, sent) {
                    (Some(next), Some(Ok(()))) => {
                        workers.current.insert(message.index, next);
                    }
                    (next, _) => {
                        // Stopped, or gone: its exit or death is news of
                        // its own; the slice waits for another worker.
                        workers.current.insert(message.index, 0..0);
                        if let Some(next) = next {
                            pending.push_front(next);
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                // The child is gone: what it has not reported is lost.
                for file in range {
                    merge.failed(file, e.to_string());
                }
                workers.current.insert(message.index, 0..0);
                if options.reuse {
                    if let Some(range) = pending.pop_front() {
                        workers.start(&mut queue, range)?;
                    }
                }
            }
        }
    }
    // A child that ended cleanly has reported every file; this is a guard.
    for file in 0..docs.len() {
        merge.failed(file, "its child ended without reporting it".to_owned());
    }
    Ok(Indexed {
        index: merge.index,
        failed: merge.failed,
        lossy: merge.lossy,
        binary: merge.binary,
        children: workers.started,
        elapsed: started.elapsed(),
    })
}

/// Starts children and remembers which slice each works on.
struct Workers {
    docs: Rc<[Document]>,
    delay: Option<Duration>,
    reuse: bool,
    read: Reader,
    /// The slice each child (by the exchange's index of its work) is
    /// working on; empty once it has none.
    current: HashMap<usize, Range<usize>>,
    /// Children started.
    started: usize,
}

impl Workers {
    /// Starts a child (or queues it, if the window is full) on `range`.
    fn start(
        &mut self,
        queue: &mut Queue<Report>,
        range: Range<usize>,
    ) -> pprocess_exchange::Result<()> {
        let (docs, delay, reuse, read) = (Rc::clone(&self.docs), self.delay, self.reuse, self.read);
        let first = range.clone();
        let work =
            queue.start(move |ch: &mut Channel| work(ch, &docs, first, delay, read, reuse))?;
        self.current.insert(work.index(), range);
        self.started += 1;
        Ok(())
    }
}

/// A child's work: parses the documents of `range` and sends a report for
/// each as soon as it is done, sleeping `delay` after each. A reused worker
/// then asks for the next slice, until told to stop.
fn work(
    ch: &mut Channel,
    docs: &[Document],
    mut range: Range<usize>,
    delay: Option<Duration>,
    read: Reader,
    reuse: bool,
) -> pprocess_exchange::Result<()> {
    loop {
        for file in range {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "file indexes the documents, at most u32::MAX (checked by the parent)"
            )]
            let report = Report::parse(file as u32, &docs[file], read);
            ch.send(&report)?;
            if let Some(delay) = delay {
                thread::sleep(delay);
            }
        }
        if !reuse {
            return Ok(());
        }
        ch.send(&Report::SliceDone)?;
        match ch.receive::<Assignment>()? {
            Some((start, end)) => range = start as usize..end as usize,
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
