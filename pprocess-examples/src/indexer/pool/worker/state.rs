//! What a worker does with each request: its shard while indexing, then
//! the answers to searches.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::thread;
use std::time::Duration;

use pprocess_exchange::Channel;
use serde_bytes::ByteBuf;

use super::super::super::FileId;
use super::super::super::embedded::EMBEDDED;
use super::super::super::scan::{Outcome, Scanner};
use super::super::super::shard::{Shard, ShardBuilder};
use super::{Inputs, Note, Opener, Reply, Request, Words, from_bytes, to_bytes};

/// Entries (words plus files) per [`Reply::Matches`] chunk, at most
/// (unless one word has more files).
const CHUNK_ITEMS: usize = 16 * 1024;

/// The identifiers of a batch of `count` files from `first`.
///
/// # Errors
///
/// [`Error::Protocol`](pprocess_exchange::Error::Protocol) if they run past
/// the last identifier.
fn batch_ids(first: FileId, count: u32) -> pprocess_exchange::Result<std::ops::Range<FileId>> {
    match first.checked_add(count) {
        Some(end) => Ok(first..end),
        None => Err(pprocess_exchange::Error::Protocol(format!(
            "a batch of {count} files from {first} runs past the last identifier"
        ))),
    }
}

/// A worker's whole life, in a forked child. Returns when the parent hangs
/// up.
///
/// A search's chunks are sent one after the other without waiting (the
/// parent reads them as it merges); [`on_rank`](super::super::remote::on_rank)
/// sends each only when asked ([`Request::More`]).
///
/// # Errors
///
/// A channel error other than the parent's hang-up, or a request out of
/// turn.
pub(in crate::indexer::pool) fn work(
    ch: &mut Channel,
    delay: Option<Duration>,
    open: Opener,
) -> pprocess_exchange::Result<()> {
    let mut state = State::new(delay, open);
    loop {
        let request = match ch.receive::<Request>() {
            Ok(request) => request,
            Err(e) if e.is_closed() => {
                // The parent is done with the shard, and this process ends
                // now: its memory goes with it. Freeing the shard's words
                // one by one would only delay the end the parent waits for
                // (about 70 ms of a 0.47 s run on `/usr/share/doc`).
                std::mem::forget(state);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let mut reply = state.handle(request)?;
        while !reply.is_last_chunk() {
            ch.send(&reply)?;
            reply = state.more()?;
        }
        ch.send(&reply)?;
    }
}

/// Where a worker is in its life.
enum Phase {
    /// Reading batches into its shard.
    Indexing {
        builder: ShardBuilder,
        failed: Vec<FileId>,
        max_file: Option<FileId>,
    },
    /// Its shard is sorted; it answers searches.
    Searching {
        shard: Shard,
        /// The search under way: the rest of its words.
        search: Option<Search>,
    },
}

/// The words of a search not sent yet.
struct Search {
    next: usize,
    end: usize,
    words_only: bool,
}

/// A worker: its shard, and how it reads files. Each request gets one
/// reply; a search's later chunks come from [`State::more`].
pub(in crate::indexer::pool) struct State {
    phase: Phase,
    scanner: Scanner,
    delay: Option<Duration>,
    open: Opener,
}

/// A protocol error.
fn out_of_turn(what: String) -> pprocess_exchange::Error {
    pprocess_exchange::Error::Protocol(what)
}

impl State {
    /// A worker with an empty shard.
    pub(in crate::indexer::pool) fn new(delay: Option<Duration>, open: Opener) -> State {
        State {
            phase: Phase::Indexing {
                builder: ShardBuilder::new(),
                failed: Vec::new(),
                max_file: None,
            },
            scanner: Scanner::new(),
            delay,
            open,
        }
    }

    /// Answers `request`.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`](pprocess_exchange::Error::Protocol) for a
    /// request out of turn or a malformed batch.
    pub(in crate::indexer::pool) fn handle(
        &mut self,
        request: Request,
    ) -> pprocess_exchange::Result<Reply> {
        match request {
            Request::Files {
                batch,
                first,
                count,
                inputs,
            } => self.files(batch, first, count, &inputs),
            Request::Finish { ranks } => self.finish(&ranks),
            Request::Search {
                pattern,
                words_only,
            } => {
                let Phase::Searching { shard, search } = &mut self.phase else {
                    return Err(out_of_turn("search before the index is finished".into()));
                };
                let range = shard.range(&pattern);
                *search = Some(Search {
                    next: range.start,
                    end: range.end,
                    words_only,
                });
                self.more()
            }
            Request::More => self.more(),
            Request::Open { .. } => Err(out_of_turn("open sent to a worker already open".into())),
            Request::Close => Err(out_of_turn("close sent to a forked worker".into())),
        }
    }

    /// Reads a batch into the shard.
    fn files(
        &mut self,
        batch: u32,
        first: FileId,
        count: u32,
        inputs: &Inputs,
    ) -> pprocess_exchange::Result<Reply> {
        let Phase::Indexing {
            builder,
            failed,
            max_file,
        } = &mut self.phase
        else {
            return Err(out_of_turn(format!(
                "batch {batch} after the index is finished"
            )));
        };
        let (mut bytes, mut words) = (0, 0);
        let mut notes = Vec::new();
        let ids = batch_ids(first, count)?;
        if count > 0 {
            *max_file = (*max_file).max(Some(ids.end - 1));
        }
        let mut paths = match inputs {
            Inputs::Paths(paths) => {
                let paths = paths.strip_suffix(&[0]).unwrap_or(paths);
                let listed = if paths.is_empty() {
                    0
                } else {
                    paths.split(|&b| b == 0).count()
                };
                if listed != count as usize {
                    return Err(out_of_turn(format!(
                        "batch {batch} names {listed} paths for {count} files"
                    )));
                }
                Some(paths.split(|&b| b == 0))
            }
            Inputs::Embedded => None,
        };
        for id in ids {
            let outcome = match paths.as_mut() {
                Some(paths) => {
                    // As many paths as files: counted above.
                    let path = paths.next().unwrap_or_default();
                    let path = Path::new(std::ffi::OsStr::from_bytes(path));
                    (self.open)(path)
                        .and_then(|file| self.scanner.scan(file, |word| builder.add(word, id)))
                }
                None => match EMBEDDED.get(id as usize) {
                    Some((_, text)) => self
                        .scanner
                        .scan(text.as_bytes(), |word| builder.add(word, id)),
                    None => Err(io::Error::other("no such embedded document")),
                },
            };
            match outcome {
                Ok(Outcome::Text {
                    bytes: b,
                    words: w,
                    lossy,
                }) => {
                    bytes += b;
                    words += w;
                    if lossy {
                        notes.push((id, Note::Lossy));
                    }
                }
                Ok(Outcome::Binary) => notes.push((id, Note::Binary)),
                Err(e) => {
                    failed.push(id);
                    notes.push((id, Note::Failed(e.to_string())));
                }
            }
            if let Some(delay) = self.delay {
                thread::sleep(delay);
            }
        }
        Ok(Reply::Done {
            batch,
            bytes,
            words,
            notes,
        })
    }

    /// Sorts the shard, with its files renumbered by `ranks`.
    fn finish(&mut self, ranks: &[u8]) -> pprocess_exchange::Result<Reply> {
        let Phase::Indexing {
            builder,
            failed,
            max_file,
        } = &mut self.phase
        else {
            return Err(out_of_turn("finish after the index is finished".into()));
        };
        let mut map = Vec::new();
        from_bytes(ranks, &mut map);
        if let Some(file) = max_file.filter(|&f| f as usize >= map.len()) {
            return Err(out_of_turn(format!(
                "no rank for file {file} (ranks of {} files)",
                map.len()
            )));
        }
        let shard = std::mem::take(builder).finish_mapped(failed, Some(&map));
        let reply = Reply::Finished {
            words: shard.words() as u64,
            entries: shard.entries(),
        };
        self.phase = Phase::Searching {
            shard,
            search: None,
        };
        Ok(reply)
    }

    /// The next chunk of the search under way.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`](pprocess_exchange::Error::Protocol) if no
    /// search is under way.
    pub(in crate::indexer::pool) fn more(&mut self) -> pprocess_exchange::Result<Reply> {
        let Phase::Searching { shard, search } = &mut self.phase else {
            return Err(out_of_turn("more before the index is finished".into()));
        };
        let Some(Search {
            next,
            end,
            words_only,
        }) = search
        else {
            return Err(out_of_turn("more with no search under way".into()));
        };
        let (start, words_only) = (*next, *words_only);
        let mut items = 0;
        while *next < *end && (items < CHUNK_ITEMS || *next == start) {
            items += if words_only {
                1
            } else {
                1 + shard.count(*next)
            };
            *next += 1;
        }
        let last = *next == *end;
        let mut words = Words::default();
        let mut counts = Vec::new();
        let mut files = Vec::new();
        for (word, ids) in shard.slice(start..*next) {
            words.push(word);
            if !words_only {
                let n = u32::try_from(ids.len()).expect("fewer than 2^32 files");
                counts.extend_from_slice(&n.to_le_bytes());
                to_bytes(ids, &mut files);
            }
        }
        if last {
            *search = None;
        }
        Ok(if words_only {
            Reply::Words { words, last }
        } else {
            Reply::Matches {
                words,
                counts: ByteBuf::from(counts),
                files: ByteBuf::from(files),
                last,
            }
        })
    }
}

impl Reply {
    /// Whether nothing follows this reply: it is not a search chunk with
    /// more to come.
    fn is_last_chunk(&self) -> bool {
        match self {
            Reply::Matches { last, .. } | Reply::Words { last, .. } => *last,
            _ => true,
        }
    }
}
