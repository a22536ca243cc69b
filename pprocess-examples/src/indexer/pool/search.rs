//! Searching the pool: the pattern goes to every shard, and their streams
//! of matches are merged by word as they are read.

use std::io;

use super::super::{FileId, Match};
use super::worker::{Reply, Request, from_bytes};
use super::{Pool, ShardHandle};

/// One shard's stream of answers to a search: the chunk being merged.
struct Stream {
    /// The shard's place in [`Pool::shards`].
    shard: usize,
    /// The chunk's words, and how many files each has.
    words: Vec<String>,
    counts: Vec<u32>,
    /// The chunk's files, one word's after the other's.
    files: Vec<FileId>,
    /// The next word of the chunk, and where its files begin.
    next: usize,
    at: usize,
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

/// A shard that answered what it should not have.
fn bad(shard: &ShardHandle, what: &str) -> io::Error {
    gone(shard, &pprocess_exchange::Error::Protocol(what.to_owned()))
}

impl Stream {
    /// The word at the head of the stream, if any.
    fn head(&self) -> Option<&str> {
        self.words.get(self.next).map(String::as_str)
    }

    /// Takes the head word's files.
    fn pop(&mut self) -> &[FileId] {
        let n = self.counts.get(self.next).map_or(0, |&n| n as usize);
        let files = &self.files[self.at..self.at + n];
        self.next += 1;
        self.at += n;
        files
    }

    /// Makes sure a word is at the head unless the stream is over.
    fn fill(&mut self, shards: &mut [ShardHandle], words_only: bool) -> io::Result<()> {
        while self.next == self.words.len() && !self.last {
            let shard = &mut shards[self.shard];
            match shard.channel.receive::<Reply>() {
                Ok(Reply::Matches {
                    words,
                    counts,
                    files,
                    last,
                }) if !words_only => {
                    self.counts.clear();
                    from_bytes(&counts, &mut self.counts);
                    self.files.clear();
                    from_bytes(&files, &mut self.files);
                    let total: u64 = self.counts.iter().map(|&n| u64::from(n)).sum();
                    if self.counts.len() != words.len() || total != self.files.len() as u64 {
                        return Err(bad(shard, "a chunk of matches whose counts do not add up"));
                    }
                    self.words = words;
                    self.last = last;
                }
                Ok(Reply::Words { words, last }) if words_only => {
                    self.counts.clear();
                    self.files.clear();
                    self.words = words;
                    self.last = last;
                }
                Ok(other) => return Err(bad(shard, &format!("unexpected {other:?}"))),
                Err(e) => return Err(gone(shard, &e)),
            }
            self.next = 0;
            self.at = 0;
        }
        Ok(())
    }

    /// Drops the chunk.
    fn clear(&mut self) {
        self.words.clear();
        self.next = 0;
        self.at = 0;
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
                words: Vec::new(),
                counts: Vec::new(),
                files: Vec::new(),
                next: 0,
                at: 0,
                last: false,
            })
            .collect())
    }

    /// Forgets shard `i` (its worker is gone) and reaps its worker.
    fn drop_shard(&mut self, i: usize) {
        let shard = self.shards.remove(i);
        let _ = shard.channel.close();
    }

    /// Merges the shards' streams, calling `f` with each word and its
    /// files: their places in the order of the names, sorted.
    fn merge(
        &mut self,
        pattern: &str,
        words_only: bool,
        mut f: impl FnMut(&str, &[FileId]) -> io::Result<()>,
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
        let mut least = String::new();
        let result = (|| {
            loop {
                for stream in &mut streams {
                    stream
                        .fill(&mut self.shards, words_only)
                        .map_err(Stop::Shard)?;
                }
                // The least word at the head of a stream, and how many
                // streams have it.
                let mut holders = 0;
                let mut head: Option<(usize, &str)> = None;
                for (i, stream) in streams.iter().enumerate() {
                    let Some(word) = stream.head() else { continue };
                    match head {
                        Some((_, least)) if word > least => {}
                        Some((_, least)) if word == least => holders += 1,
                        _ => {
                            head = Some((i, word));
                            holders = 1;
                        }
                    }
                }
                let Some((first, _)) = head else {
                    return Ok(());
                };
                if holders == 1 {
                    // Most words are in one shard: its files as they came.
                    let stream = &mut streams[first];
                    let word = std::mem::take(&mut stream.words[stream.next]);
                    let result = f(&word, stream.pop());
                    stream.words[stream.next - 1] = word;
                    result.map_err(Stop::Caller)?;
                    continue;
                }
                least.clear();
                least.push_str(streams[first].head().expect("a head"));
                files.clear();
                for stream in &mut streams {
                    if stream.head() == Some(least.as_str()) {
                        files.extend_from_slice(stream.pop());
                    }
                }
                // Each shard's files are sorted and no file is in two
                // shards: merging the runs is enough (the stable sort
                // finds them).
                files.sort();
                f(&least, &files).map_err(Stop::Caller)?;
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
                stream.clear();
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
        let (order, all) = (
            std::mem::take(&mut self.order),
            std::mem::take(&mut self.names),
        );
        let result = self.merge(pattern, false, |word, files| {
            names.clear();
            names.extend(
                files
                    .iter()
                    .map(|&place| all[order[place as usize] as usize].as_str()),
            );
            f(word, &names)
        });
        self.order = order;
        self.names = all;
        result
    }

    /// [`Pool::for_each_match`] without the names: `f` gets each word's
    /// files as their places in the order of the names, sorted (see
    /// [`Pool::name_at`]). This is the search itself; the names are only
    /// looked up to be printed.
    ///
    /// # Errors
    ///
    /// As for [`Pool::for_each_match`].
    pub fn for_each_match_placed(
        &mut self,
        pattern: &str,
        f: impl FnMut(&str, &[FileId]) -> io::Result<()>,
    ) -> io::Result<()> {
        self.merge(pattern, false, f)
    }

    /// The name of the file at `place` in the order of the names (see
    /// [`Pool::for_each_match_placed`]), if there is one.
    #[must_use]
    pub fn name_at(&self, place: FileId) -> Option<&str> {
        let id = *self.order.get(place as usize)?;
        self.names.get(id as usize).map(String::as_str)
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
