//! Reading a file's words in bounded memory.
//!
//! A file is read in chunks of [`CHUNK`] bytes into one reused buffer and
//! tokenized as it comes, so a file of any size takes the same memory (plus
//! its longest word). The words are exactly those of
//! [`iter_words`](super::iter_words) over the file's text decoded lossily
//! ([`String::from_utf8_lossy`]): invalid UTF-8 becomes U+FFFD there, a
//! character that is neither a separator nor a word character, and here
//! each invalid byte is treated as such a character (how many replacement
//! characters a sequence gives does not change the words).
//!
//! A file whose first [`BINARY_PREFIX`] bytes hold a NUL byte is binary, as
//! grep and ripgrep decide, and gives no words.
//!
//! ```
//! use pprocess_examples::indexer::scan::{Scanner, Outcome};
//! let mut scanner = Scanner::new();
//! let mut words = Vec::new();
//! let outcome = scanner
//!     .scan(&b"The cat's (hat)\n caf\xc3\xa9 x\xffy"[..], |w| words.push(w.to_owned()))
//!     .unwrap();
//! assert_eq!(words, ["The", "cat", "hat", "café", "x"]);
//! assert_eq!(outcome, Outcome::Text { bytes: 26, words: 5, lossy: true });
//! assert_eq!(scanner.scan(&b"ELF\0..."[..], |_| {}).unwrap(), Outcome::Binary);
//! ```

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::tokenize::{is_separator, is_word_char};

/// Opens `path` for reading, without blocking if it turned into a FIFO
/// since the walk saw it.
///
/// # Errors
///
/// The error of `open(2)` or `fcntl(2)`, as for [`File::open`].
pub fn open_file(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// Bytes read at a time.
pub const CHUNK: usize = 256 * 1024;

/// A NUL byte among a file's first this many bytes makes it binary.
pub const BINARY_PREFIX: usize = 8 * 1024;

/// What scanning a file found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The file is text; its words were given.
    Text {
        /// The file's size in bytes.
        bytes: u64,
        /// The words given (with repetitions).
        words: u64,
        /// Whether the file holds invalid UTF-8.
        lossy: bool,
    },
    /// The file is binary (a NUL byte in its first [`BINARY_PREFIX`]
    /// bytes); no word was given.
    Binary,
}

/// Whether `bytes` (a file's beginning) make the file binary.
#[must_use]
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_PREFIX)].contains(&0)
}

/// ASCII byte classes.
const OTHER: u8 = 0;
const WORD: u8 = 1;
const SEPARATOR: u8 = 2;

/// The class of each ASCII byte (bytes from 128 are not looked up).
const CLASS: [u8; 128] = {
    let mut class = [OTHER; 128];
    let mut b = 0;
    while b < 128 {
        #[allow(clippy::cast_possible_truncation, reason = "b < 128")]
        let c = b as u8;
        class[b] = if c.is_ascii_alphanumeric() {
            WORD
        } else if matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x1c..=0x1f) {
            SEPARATOR
        } else {
            OTHER
        };
        b += 1;
    }
    class
};

/// One decoded unit of text at some position.
enum Unit {
    /// A valid character and its length in bytes.
    Char(char, usize),
    /// A byte that does not begin a valid character.
    Invalid,
    /// The buffer ends inside what may be a character.
    Incomplete,
}

/// Decodes the non-ASCII unit at the start of `bytes` (not empty).
fn decode(bytes: &[u8]) -> Unit {
    let len = match bytes[0] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return Unit::Invalid,
    };
    if bytes.len() < len {
        // Only a valid prefix is worth waiting for.
        return match std::str::from_utf8(bytes) {
            Err(e) if e.error_len().is_none() => Unit::Incomplete,
            _ => Unit::Invalid,
        };
    }
    match std::str::from_utf8(&bytes[..len]) {
        Ok(s) => Unit::Char(s.chars().next().expect("one character"), len),
        Err(_) => Unit::Invalid,
    }
}

/// Where the tokenizer is between two calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Looking for the first word character of a token.
    Before,
    /// A token's word has ended: skipping to the next separator.
    After,
}

/// The streaming tokenizer: the words of text given in pieces.
#[derive(Debug, Clone)]
struct Tokenizer {
    state: State,
    lossy: bool,
}

impl Tokenizer {
    fn new() -> Self {
        Tokenizer {
            state: State::Before,
            lossy: false,
        }
    }

    /// Gives every word of `buf` that ends inside it (all of them when
    /// `eof`); returns how many bytes were used up. The rest (a word or a
    /// character cut by the end of the buffer) must be given again, with
    /// what follows it.
    fn feed(&mut self, buf: &[u8], eof: bool, emit: &mut impl FnMut(&str)) -> usize {
        let n = buf.len();
        // The valid beginning of the buffer (all of it, for most text), as
        // text once, so that a word in it is a slice without a check.
        let valid = match std::str::from_utf8(buf) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&buf[..e.valid_up_to()]).expect("valid up to here"),
        };
        let word = |start: usize, end: usize| -> &str {
            match valid.get(start..end) {
                Some(word) => word,
                None => as_str(&buf[start..end]),
            }
        };
        let mut i = 0;
        loop {
            if self.state == State::After {
                // Skip to the end of the token.
                loop {
                    if i == n {
                        return n;
                    }
                    let b = buf[i];
                    if b < 128 {
                        i += 1;
                        if CLASS[b as usize] == SEPARATOR {
                            break;
                        }
                        continue;
                    }
                    match decode(&buf[i..]) {
                        Unit::Char(c, len) => {
                            i += len;
                            if is_separator(c) {
                                break;
                            }
                        }
                        Unit::Invalid => {
                            self.lossy = true;
                            i += 1;
                        }
                        Unit::Incomplete if eof => {
                            self.lossy = true;
                            return n;
                        }
                        Unit::Incomplete => return i,
                    }
                }
                self.state = State::Before;
            }
            // Before: find the next word character.
            loop {
                if i == n {
                    return n;
                }
                let b = buf[i];
                if b < 128 {
                    if CLASS[b as usize] == WORD {
                        break;
                    }
                    i += 1;
                    continue;
                }
                match decode(&buf[i..]) {
                    Unit::Char(c, len) => {
                        if is_word_char(c) {
                            break;
                        }
                        i += len;
                    }
                    Unit::Invalid => {
                        self.lossy = true;
                        i += 1;
                    }
                    Unit::Incomplete if eof => {
                        self.lossy = true;
                        return n;
                    }
                    Unit::Incomplete => return i,
                }
            }
            // A word begins at `start`.
            let start = i;
            loop {
                if i == n {
                    if eof {
                        emit(word(start, n));
                        return n;
                    }
                    return start;
                }
                let b = buf[i];
                if b < 128 {
                    match CLASS[b as usize] {
                        WORD => {
                            i += 1;
                            continue;
                        }
                        class => {
                            emit(word(start, i));
                            i += 1;
                            if class == OTHER {
                                self.state = State::After;
                            }
                            break;
                        }
                    }
                }
                match decode(&buf[i..]) {
                    Unit::Char(c, len) if is_word_char(c) => i += len,
                    Unit::Char(c, len) => {
                        emit(word(start, i));
                        i += len;
                        if !is_separator(c) {
                            self.state = State::After;
                        }
                        break;
                    }
                    Unit::Invalid => {
                        self.lossy = true;
                        emit(word(start, i));
                        i += 1;
                        self.state = State::After;
                        break;
                    }
                    Unit::Incomplete if eof => {
                        self.lossy = true;
                        emit(word(start, i));
                        return n;
                    }
                    Unit::Incomplete => return start,
                }
            }
        }
    }
}

/// The text of a word found by the tokenizer, which only ever spans valid
/// characters.
fn as_str(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("a word is valid UTF-8")
}

/// Scans files (or any reader) for words with one reused buffer.
#[derive(Debug, Default)]
pub struct Scanner {
    buf: Vec<u8>,
}

impl Scanner {
    /// A scanner with no buffer yet (it is allocated at the first scan).
    #[must_use]
    pub fn new() -> Self {
        Scanner::default()
    }

    /// Reads `reader` to its end in chunks and gives each of its words to
    /// `emit`, unless it is binary. Memory stays at [`CHUNK`] bytes plus the
    /// longest word.
    ///
    /// # Errors
    ///
    /// The first read error (other than `Interrupted`). Words given before
    /// it are not taken back.
    pub fn scan(
        &mut self,
        mut reader: impl Read,
        mut emit: impl FnMut(&str),
    ) -> io::Result<Outcome> {
        if self.buf.len() < CHUNK {
            self.buf.resize(CHUNK, 0);
        }
        let mut tokenizer = Tokenizer::new();
        let mut filled = 0;
        let mut total = 0u64;
        let mut words = 0u64;
        let mut first = true;
        let mut count = |word: &str| {
            words += 1;
            emit(word);
        };
        loop {
            if filled == self.buf.len() {
                // A word longer than the buffer: make room for it.
                let len = self.buf.len();
                self.buf.resize(len * 2, 0);
            }
            let read = read_some(&mut reader, &mut self.buf[filled..])?;
            filled += read;
            total += read as u64;
            let eof = read == 0;
            if first {
                // Decide binary on the whole prefix, before any word.
                if filled < BINARY_PREFIX && !eof {
                    continue;
                }
                first = false;
                if is_binary(&self.buf[..filled]) {
                    return Ok(Outcome::Binary);
                }
            }
            let used = tokenizer.feed(&self.buf[..filled], eof, &mut count);
            if eof {
                break;
            }
            self.buf.copy_within(used..filled, 0);
            filled -= used;
        }
        if self.buf.len() > CHUNK {
            self.buf.truncate(CHUNK);
            self.buf.shrink_to_fit();
        }
        Ok(Outcome::Text {
            bytes: total,
            words,
            lossy: tokenizer.lossy,
        })
    }
}

/// One `read`, retried when interrupted.
fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests;
