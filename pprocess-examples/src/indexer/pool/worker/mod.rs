//! The messages between the parent and its workers, and what a worker
//! does.
//!
//! A worker reads the files of each [`Request::Files`] batch into its
//! [`ShardBuilder`](super::super::shard::ShardBuilder) and answers [`Reply::Done`]; at [`Request::Finish`] it
//! renumbers its files by their names' sorted order and sorts its shard
//! ([`Reply::Finished`]); then it answers each
//! [`Request::Search`] with a stream of [`Reply::Matches`] (or
//! [`Reply::Words`]) chunks, the last one marked, until the parent hangs
//! up. A forked worker streams the chunks; a worker started by a builder
//! (on an MPI rank) answers each request with one reply, so it sends a
//! search's later chunks one [`Request::More`] at a time.

use std::fs::File;
use std::io;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use super::super::FileId;

/// Where the files of a [`Request::Files`] batch are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Inputs {
    /// Files, by the bytes of their paths, each followed by a NUL byte (a
    /// path holds none).
    Paths(ByteBuf),
    /// Documents of the embedded corpus (see
    /// [`embedded`](super::super::embedded)): each file's identifier is the
    /// document's position.
    Embedded,
}

/// What the parent asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Index these files: `count` of them, with the identifiers from
    /// `first` on (a batch is a run of identifiers, so it travels as one
    /// buffer of paths, not a value per file).
    Files {
        /// The batch's number, repeated in [`Reply::Done`].
        batch: u32,
        /// The first file's identifier.
        first: FileId,
        /// How many files.
        count: u32,
        /// Where they are.
        inputs: Inputs,
    },
    /// No more files: sort the shard, with each file identifier `id`
    /// renumbered `ranks[id]`.
    Finish {
        /// Each file's place among the names in sorted order, by
        /// identifier, as 32-bit little-endian integers (see
        /// [`to_bytes`]).
        ranks: ByteBuf,
    },
    /// Every word beginning with `pattern`.
    Search {
        /// The prefix.
        pattern: String,
        /// Words without their files (to count them).
        words_only: bool,
    },
    /// The next chunk of the search under way: sent to a worker started
    /// by a builder (see [`on_rank`](super::remote::on_rank)), which
    /// answers one chunk per request. A forked worker sends every chunk
    /// unasked.
    More,
    /// The first request to a worker started by a builder: start a new
    /// shard (the process may have served another pool before), sleeping
    /// `delay` after each file. Answered by [`Reply::Opened`].
    Open {
        /// The time to sleep after each file.
        delay: Option<Duration>,
    },
    /// The last request to a worker started by a builder: let the shard go
    /// (its process lives on). Answered by [`Reply::Closed`].
    Close,
}

/// Something a file gave besides words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Note {
    /// Binary: skipped.
    Binary,
    /// Holds invalid UTF-8 (replaced).
    Lossy,
    /// Could not be read; why.
    Failed(String),
}

/// What a worker answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// A batch is indexed.
    Done {
        /// Its number.
        batch: u32,
        /// Bytes read.
        bytes: u64,
        /// Words read (with repetitions).
        words: u64,
        /// The files with something to say.
        notes: Vec<(FileId, Note)>,
    },
    /// A new shard is started ([`Request::Open`]).
    Opened {
        /// The worker's pid, on its own host.
        pid: pprocess_exchange::Pid,
    },
    /// The shard is gone ([`Request::Close`]).
    Closed,
    /// The shard is sorted.
    Finished {
        /// Its distinct words.
        words: u64,
        /// Its (word, file) entries.
        entries: u64,
    },
    /// Some matches of a search, in word order.
    Matches {
        /// The words.
        words: Words,
        /// How many files each word has, as 32-bit little-endian integers.
        counts: ByteBuf,
        /// The files of every word, one word's after the other's, each
        /// word's sorted: their places among the names in sorted order, as
        /// 32-bit little-endian integers.
        files: ByteBuf,
        /// Whether this is the search's last chunk.
        last: bool,
    },
    /// Some words of a `words_only` search, in order.
    Words {
        /// The words.
        words: Words,
        /// Whether this is the search's last chunk.
        last: bool,
    },
}

/// Words one after the other in one string (one allocation for a chunk of
/// words, not one per word).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Words {
    /// The words, concatenated.
    pub text: String,
    /// Where each word ends in `text`, as 32-bit little-endian integers.
    pub ends: ByteBuf,
}

impl Words {
    /// Appends `word`.
    ///
    /// # Panics
    ///
    /// If the text grows past 4 GiB.
    pub fn push(&mut self, word: &str) {
        self.text.push_str(word);
        let end = u32::try_from(self.text.len()).expect("a chunk of words under 4 GiB");
        self.ends.extend_from_slice(&end.to_le_bytes());
    }
}

/// `values` as 32-bit little-endian integers, appended to `out`.
pub fn to_bytes(values: &[u32], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + values.len() * 4, 0);
    for (bytes, v) in out[start..].chunks_exact_mut(4).zip(values) {
        bytes.copy_from_slice(&v.to_le_bytes());
    }
}

/// The 32-bit little-endian integers of `bytes` (a trailing partial one is
/// ignored), appended to `out`.
pub fn from_bytes(bytes: &[u8], out: &mut Vec<u32>) {
    let start = out.len();
    out.resize(start + bytes.len() / 4, 0);
    for (v, b) in out[start..].iter_mut().zip(bytes.chunks_exact(4)) {
        *v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
}

/// How a worker reads a file; tests swap it to make files fail.
pub type Opener = fn(&Path) -> io::Result<File>;

mod state;

pub(in crate::indexer::pool) use state::{State, work};
