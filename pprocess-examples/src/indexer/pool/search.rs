//! Searching the pool: the pattern goes to every shard, and their streams
//! of matches are merged by word as they are read.

use std::io;

use super::super::{FileId, Match};
use super::worker::{Reply, Request, Words, from_bytes};
use super::{Pool, ShardHandle};

/// One shard's stream of answers to a search: the chunk being merged.
struct Stream {
    /// The shard's place in [`Pool::shards`].
    shard: usize,
    /// The chunk's words (where each ends in `text`), and how many files
    /// each has.
    text: String,
    ends: Vec<u32>,
    counts: Vec<u32>,
    /// The chunk's files, one word's after the other's.
    files: Vec<FileId>,
    /// The next word of the chunk, and where its files begin.
    next: usize,
    at: usize,
    /// Whether the last chunk has been received.
    last: bool,
    /// Whether a chunk has been received: a shard that answers one chunk
    /// per request is asked for each after the first.
    started: bool,
}

/// Why a shard's stream stopped: its worker is gone.
fn gone(shard: &ShardHandle, e: &pprocess_exchange::Error) -> io::Error {
    io::Error::other(format!(
        "worker {} is gone ({e}): the words of its {} files are no longer searched",
        shard.pid, shard.files
    ))
}

/// Merges two sorted lists into `out` (cleared first), without a branch
/// on the comparison (the two shards' files interleave at random, so a
/// branch would be mispredicted half the time).
fn merge_two(left: &[FileId], right: &[FileId], out: &mut Vec<FileId>) {
    out.clear();
    out.resize(left.len() + right.len(), 0);
    let (mut l, mut r) = (0, 0);
    for slot in out.iter_mut() {
        // Past its end a list reads as the greatest value: the other
        // list's (equal or greater) value is taken, and when both are the
        // greatest value, the one written is right either way.
        let from_left = left.get(l).copied().unwrap_or(FileId::MAX);
        let from_right = right.get(r).copied().unwrap_or(FileId::MAX);
        let take_left = from_left <= from_right;
        *slot = if take_left { from_left } else { from_right };
        l += usize::from(take_left);
        r += usize::from(!take_left);
    }
}

/// A shard that answered what it should not have.
fn bad(shard: &ShardHandle, what: &str) -> io::Error {
    gone(shard, &pprocess_exchange::Error::Protocol(what.to_owned()))
}

impl Stream {
    /// The word at the head of the stream, if any.
    fn head(&self) -> Option<&str> {
        let end = *self.ends.get(self.next)? as usize;
        let start = match self.next {
            0 => 0,
            i => self.ends[i - 1] as usize,
        };
        Some(&self.text[start..end])
    }

    /// Where the head word is in `text` (a head must be there).
    fn bounds(&self) -> (usize, usize) {
        let start = match self.next {
            0 => 0,
            i => self.ends[i - 1] as usize,
        };
        (start, self.ends[self.next] as usize)
    }

    /// Takes the head word: where its files are in `files`.
    fn pop(&mut self) -> std::ops::Range<usize> {
        let n = self.counts.get(self.next).map_or(0, |&n| n as usize);
        let files = self.at..self.at + n;
        self.next += 1;
        self.at += n;
        files
    }

    /// Makes sure a word is at the head unless the stream is over. With
    /// `pull` (workers that answer one chunk per request), each chunk after
    /// the first is asked for.
    fn fill(&mut self, shards: &mut [ShardHandle], pull: bool, words_only: bool) -> io::Result<()> {
        while self.next == self.ends.len() && !self.last {
            let shard = &mut shards[self.shard];
            if pull && self.started {
                shard
                    .channel
                    .send(&Request::More)
                    .map_err(|e| gone(shard, &e))?;
            }
            self.started = true;
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
                    self.take(words)
                        .ok_or_else(|| bad(shard, "a chunk of bad words"))?;
                    if self.counts.len() != self.ends.len() || total != self.files.len() as u64 {
                        return Err(bad(shard, "a chunk of matches whose counts do not add up"));
                    }
                    self.last = last;
                }
                Ok(Reply::Words { words, last }) if words_only => {
                    self.counts.clear();
                    self.files.clear();
                    self.take(words)
                        .ok_or_else(|| bad(shard, "a chunk of bad words"))?;
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

    /// Takes a chunk's words; `None` if they do not hold together.
    fn take(&mut self, words: Words) -> Option<()> {
        self.ends.clear();
        from_bytes(&words.ends, &mut self.ends);
        self.text = words.text;
        let mut start = 0;
        for &end in &self.ends {
            let end = end as usize;
            if end < start || !self.text.is_char_boundary(end) || end > self.text.len() {
                self.ends.clear();
                return None;
            }
            start = end;
        }
        Some(())
    }

    /// Drops the chunk.
    fn clear(&mut self) {
        self.ends.clear();
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
                text: String::new(),
                ends: Vec::new(),
                counts: Vec::new(),
                files: Vec::new(),
                next: 0,
                at: 0,
                last: false,
                started: false,
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
        let (mut files, mut spare): (Vec<FileId>, Vec<FileId>) = (Vec::new(), Vec::new());
        let mut least = String::new();
        let result = (|| {
            loop {
                for stream in &mut streams {
                    stream
                        .fill(&mut self.shards, self.pull, words_only)
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
                    let (start, end) = stream.bounds();
                    let files = stream.pop();
                    f(&stream.text[start..end], &stream.files[files]).map_err(Stop::Caller)?;
                    continue;
                }
                least.clear();
                least.push_str(streams[first].head().expect("a head"));
                files.clear();
                let mut runs = 0;
                for stream in &mut streams {
                    if stream.head() == Some(least.as_str()) {
                        let range = stream.pop();
                        let next = &stream.files[range];
                        if runs == 1 {
                            // Two runs, the usual case: merge them.
                            std::mem::swap(&mut files, &mut spare);
                            merge_two(&spare, next, &mut files);
                        } else {
                            files.extend_from_slice(next);
                        }
                        runs += 1;
                    }
                }
                if runs > 2 {
                    // Each shard's files are sorted and no file is in two
                    // shards: the stable sort finds the runs and merges
                    // them.
                    files.sort();
                }
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
                if stream
                    .fill(&mut self.shards, self.pull, words_only)
                    .is_err()
                {
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
        let all = std::mem::take(&mut self.names);
        let result = self.merge(pattern, false, |word, files| {
            names.clear();
            names.extend(files.iter().map(|&place| all[place as usize].as_str()));
            f(word, &names)
        });
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
        self.names.get(place as usize).map(String::as_str)
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

#[cfg(test)]
mod tests {
    use super::merge_two;

    #[test]
    fn merge_two_interleaves_and_keeps_the_greatest_value() {
        let mut out = vec![7];
        merge_two(&[1, 4, 9], &[2, 3, 10, 11], &mut out);
        assert_eq!(out, [1, 2, 3, 4, 9, 10, 11]);
        merge_two(&[], &[5, u32::MAX], &mut out);
        assert_eq!(out, [5, u32::MAX]);
        merge_two(&[0, u32::MAX], &[u32::MAX - 1], &mut out);
        assert_eq!(out, [0, u32::MAX - 1, u32::MAX]);
        merge_two(&[], &[], &mut out);
        assert!(out.is_empty());
    }
}
