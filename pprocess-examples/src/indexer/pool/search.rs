//! Searching the pool: the pattern goes to every shard, and their streams
//! of matches are merged by word as they are read.

use std::collections::VecDeque;
use std::io;

use super::super::{FileId, Match};
use super::worker::{Reply, Request};
use super::{Pool, ShardHandle};

/// One shard's stream of answers to a search.
struct Stream {
    /// The shard's place in [`Pool::shards`].
    shard: usize,
    /// Matches received and not yet merged.
    entries: VecDeque<(String, Vec<FileId>)>,
    /// Whether the last chunk has been received.
    last: bool,
}

/// Why a shard's stream stopped: its worker is gone.
fn gone(shard: &ShardHandle, e: &pprocess_exchange::Error) -> io::Error {
    io::Error::other(format!(
        "worker {} is gone ({e}): the words of its {} files are no longer searched",
        shard.pid, shard.files
    ))
}

impl Stream {
    /// Makes sure a match is buffered unless the stream is over.
    fn fill(&mut self, shards: &mut [ShardHandle], words_only: bool) -> io::Result<()> {
        while self.entries.is_empty() && !self.last {
            let shard = &mut shards[self.shard];
            match shard.channel.receive::<Reply>() {
                Ok(Reply::Matches { entries, last }) if !words_only => {
                    self.entries.extend(entries);
                    self.last = last;
                }
                Ok(Reply::Words { words, last }) if words_only => {
                    self.entries
                        .extend(words.into_iter().map(|w| (w, Vec::new())));
                    self.last = last;
                }
                Ok(other) => {
                    let e = pprocess_exchange::Error::Protocol(format!("unexpected {other:?}"));
                    return Err(gone(shard, &e));
                }
                Err(e) => return Err(gone(shard, &e)),
            }
        }
        Ok(())
    }
}

impl Pool {
    /// Sends the search to every shard and opens their streams. A shard
    /// that cannot be reached is dropped (and said so).
    fn open(&mut self, pattern: &str, words_only: bool) -> io::Result<Vec<Stream>> {
        let request = Request::Search {
            pattern: pattern.to_owned(),
            words_only,
        };
        let mut failed = None;
        for (i, shard) in self.shards.iter_mut().enumerate() {
            if let Err(e) = shard.channel.send(&request) {
                failed = Some((i, gone(shard, &e)));
                break;
            }
        }
        if let Some((i, e)) = failed {
            self.drop_shard(i);
            return Err(e);
        }
        Ok((0..self.shards.len())
            .map(|shard| Stream {
                shard,
                entries: VecDeque::new(),
                last: false,
            })
            .collect())
    }

    /// Forgets shard `i` (its worker is gone) and reaps its worker.
    fn drop_shard(&mut self, i: usize) {
        let shard = self.shards.remove(i);
        let _ = shard.channel.close();
    }

    /// Merges the shards' streams, calling `f` with each word and the
    /// identifiers of its files (in no order).
    fn merge(
        &mut self,
        pattern: &str,
        words_only: bool,
        mut f: impl FnMut(&str, &mut Vec<FileId>) -> io::Result<()>,
    ) -> io::Result<()> {
        /// Why a merge stopped early.
        enum Stop {
            /// A shard's worker is gone.
            Shard(io::Error),
            /// `f` failed.
            Caller(io::Error),
        }
        let mut streams = self.open(pattern, words_only)?;
        let mut files = Vec::new();
        let result = (|| {
            loop {
                for stream in &mut streams {
                    stream
                        .fill(&mut self.shards, words_only)
                        .map_err(Stop::Shard)?;
                }
                // The least word at the head of a stream.
                let Some(least) = streams
                    .iter()
                    .filter_map(|s| s.entries.front().map(|e| &e.0))
                    .min()
                    .cloned()
                else {
                    return Ok(());
                };
                files.clear();
                for stream in &mut streams {
                    if stream.entries.front().is_some_and(|e| e.0 == least) {
                        let (_, ids) = stream.entries.pop_front().expect("looked at");
                        files.extend_from_slice(&ids);
                    }
                }
                f(&least, &mut files).map_err(Stop::Caller)?;
            }
        })();
        match result {
            Ok(()) => Ok(()),
            Err(Stop::Shard(e) | Stop::Caller(e)) => {
                // Read what the other shards still send, so that the
                // channels are in step for the next search, and drop the
                // shards that are gone.
                self.recover(&mut streams, words_only);
                Err(e)
            }
        }
    }

    /// Reads every stream to its end, dropping shards that are gone.
    fn recover(&mut self, streams: &mut [Stream], words_only: bool) {
        let mut dead = Vec::new();
        for stream in streams.iter_mut() {
            loop {
                stream.entries.clear();
                if stream.last {
                    break;
                }
                if stream.fill(&mut self.shards, words_only).is_err() {
                    dead.push(stream.shard);
                    break;
                }
            }
        }
        dead.sort_unstable();
        for i in dead.into_iter().rev() {
            self.drop_shard(i);
        }
    }

    /// Calls `f` with every word beginning with `pattern`, in order, and the
    /// names of the files containing it, sorted. The empty pattern gives
    /// every word. Memory stays at one chunk per shard, whatever the size
    /// of the answer.
    ///
    /// # Errors
    ///
    /// The first error of `f`; or, if a worker is gone, an error naming it
    /// (its shard is dropped and later searches go without it).
    pub fn for_each_match(
        &mut self,
        pattern: &str,
        mut f: impl FnMut(&str, &[&str]) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut names: Vec<&str> = Vec::new();
        // The borrow of the names is split from the shards'.
        let (rank, all) = (
            std::mem::take(&mut self.rank),
            std::mem::take(&mut self.names),
        );
        let result = self.merge(pattern, false, |word, files| {
            files.sort_unstable_by_key(|&id| rank[id as usize]);
            names.clear();
            names.extend(files.iter().map(|&id| all[id as usize].as_str()));
            f(word, &names)
        });
        self.rank = rank;
        self.names = all;
        result
    }

    /// The number of words beginning with `pattern`, and the length of the
    /// longest in characters.
    ///
    /// # Errors
    ///
    /// As for [`Pool::for_each_match`].
    pub fn measure(&mut self, pattern: &str) -> io::Result<(usize, usize)> {
        let (mut count, mut width) = (0, 0);
        self.merge(pattern, true, |word, _| {
            count += 1;
            width = width.max(word.chars().count());
            Ok(())
        })?;
        Ok((count, width))
    }

    /// Every word beginning with `pattern` with its files, collected (see
    /// [`Pool::for_each_match`], which does not collect).
    ///
    /// # Errors
    ///
    /// As for [`Pool::for_each_match`].
    pub fn search(&mut self, pattern: &str) -> io::Result<Vec<Match>> {
        let mut found = Vec::new();
        self.for_each_match(pattern, |word, files| {
            found.push(Match {
                word: word.to_owned(),
                files: files.iter().map(|f| (*f).to_owned()).collect(),
            });
            Ok(())
        })?;
        Ok(found)
    }
}
