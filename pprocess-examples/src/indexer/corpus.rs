//! The deterministic text corpus of the indexer's benchmarks, as written by
//! the `make_corpus` program.
//!
//! [`write_corpus`] writes `DIR/doc-00000.txt`... of roughly `bytes / files`
//! bytes each (never more), made of pseudo-words with a Zipf-like frequency,
//! some punctuation and lines of about 70 characters. The same arguments
//! always give byte-identical files.
//!
//! ```
//! use pprocess_examples::indexer::corpus::{CorpusOptions, write_corpus};
//! let dir = tempfile::tempdir()?;
//! let options = CorpusOptions { files: 3, bytes: 3_000, seed: 1 };
//! let written = write_corpus(dir.path(), &options)?;
//! assert_eq!(written.files, 3);
//! assert!(written.bytes <= 3_000);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Number of distinct pseudo-words.
const VOCABULARY: usize = 50_000;
/// Wanted line length.
const LINE: usize = 70;
/// Letters substituted now and then to get non-ASCII words.
const ACCENTED: [char; 8] = ['é', 'ü', 'ß', 'ö', 'à', 'ñ', 'ç', 'ø'];
const VOWELS: &[u8] = b"aeiou";
const CONSONANTS: &[u8] = b"bcdfghjklmnprstvwyzqx";

/// SplitMix64's output function: a good 64-bit mixer.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The SplitMix64 generator.
struct Rng(u64);

impl Rng {
    /// Generator number `stream` of `seed`: streams are independent.
    fn new(seed: u64, stream: u64) -> Self {
        Rng(mix64(
            mix64(seed) ^ mix64(stream.wrapping_add(0x632B_E59B_D9B4_E019)),
        ))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform index into a slice of length `n`.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the result is below n, a usize"
    )]
    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// True with probability `percent`%.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A pseudo-word of 2 to 12 characters.
fn pseudo_word(rng: &mut Rng) -> String {
    let len = 2 + rng.index(6) + rng.index(5) + rng.index(2);
    let mut chars: Vec<char> = Vec::with_capacity(len);
    let mut vowel = rng.chance(40);
    for _ in 0..len {
        let set = if vowel { VOWELS } else { CONSONANTS };
        // Skew towards the start of each set: more common letters.
        let at = rng.index(set.len()).min(rng.index(set.len()));
        chars.push(char::from(set[at]));
        vowel = if vowel {
            rng.chance(25)
        } else {
            rng.chance(70)
        };
    }
    if rng.chance(3) {
        let at = rng.index(len);
        chars[at] = ACCENTED[rng.index(ACCENTED.len())];
    }
    if rng.chance(4) {
        let digits = 1 + rng.index(2);
        for c in chars.iter_mut().rev().take(digits) {
            *c = char::from(b"0123456789"[rng.index(10)]);
        }
    }
    if rng.chance(10) {
        chars[0] = chars[0].to_ascii_uppercase();
    }
    chars.into_iter().collect()
}

/// The vocabulary, shortest words first (so the most frequent words are
/// short), and the cumulative Zipf–Mandelbrot weights of its ranks.
struct Vocabulary {
    /// The words in rank order, concatenated (contiguous, for the cache).
    text: String,
    /// `bounds[r]..bounds[r + 1]` is the word of rank `r` in `text`.
    bounds: Vec<u32>,
    /// Cumulative weights: `cumulative[r]` is the sum of the weights of
    /// ranks `0..=r`.
    cumulative: Vec<u64>,
    /// `guide[b]` is the first rank a draw whose top `GUIDE_BITS` bits are
    /// `b` can give, so each draw searches only a few ranks.
    guide: Vec<u32>,
}

/// Bits of the guide table of [`Vocabulary::draw`].
const GUIDE_BITS: u32 = 12;

impl Vocabulary {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed, 0);
        let mut seen = HashSet::with_capacity(VOCABULARY);
        let mut words = Vec::with_capacity(VOCABULARY);
        while words.len() < VOCABULARY {
            let word = pseudo_word(&mut rng);
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        words.sort_by_key(|w| w.chars().count());
        let text: String = words.concat();
        let mut bounds = Vec::with_capacity(VOCABULARY + 1);
        bounds.push(0);
        let mut end = 0;
        for word in &words {
            end += word.len();
            bounds.push(u32::try_from(end).expect("vocabulary fits u32"));
        }
        // Weight of rank r is 2^40 / (r + 3), in integers so the result does
        // not depend on floating point.
        let mut total = 0u64;
        let cumulative: Vec<u64> = (0..VOCABULARY as u64)
            .map(|rank| {
                total += (1u64 << 40) / (rank + 3);
                total
            })
            .collect();
        let guide = (0..=1u64 << GUIDE_BITS)
            .map(|bucket| {
                let low = (u128::from(bucket) * u128::from(total)) >> GUIDE_BITS;
                let rank = cumulative.partition_point(|&c| u128::from(c) <= low);
                u32::try_from(rank.min(VOCABULARY - 1)).expect("vocabulary fits u32")
            })
            .collect();
        Self {
            text,
            bounds,
            cumulative,
            guide,
        }
    }

    /// A word drawn by frequency: the first rank whose cumulative weight
    /// exceeds a uniform draw in `0..total`.
    fn draw(&self, rng: &mut Rng) -> &str {
        let total = *self.cumulative.last().expect("vocabulary is not empty");
        let u = rng.next_u64();
        // Uniform in 0..total, and monotonic in `u`, so the top bits of `u`
        // bound the rank between two guide entries.
        let x = ((u128::from(u) * u128::from(total)) >> 64) as u64;
        let bucket = (u >> (64 - GUIDE_BITS)) as usize;
        let (low, high) = (self.guide[bucket] as usize, self.guide[bucket + 1] as usize);
        let rank = low + self.cumulative[low..=high].partition_point(|&c| c <= x);
        &self.text[self.bounds[rank] as usize..self.bounds[rank + 1] as usize]
    }
}

/// Fills `token` with the next token: a word, sometimes with punctuation or
/// joined to another word.
fn next_token(vocabulary: &Vocabulary, rng: &mut Rng, token: &mut String) {
    token.clear();
    let word = vocabulary.draw(rng);
    match rng.below(100) {
        0..7 => {
            token.push_str(word);
            token.push(',');
        }
        7..12 => {
            token.push_str(word);
            token.push('.');
        }
        12..14 => {
            token.push('(');
            token.push_str(word);
            token.push(')');
        }
        14..16 => {
            token.push_str(word);
            token.push_str(if rng.chance(50) { "'s" } else { "'t" });
        }
        16 => {
            token.push('"');
            token.push_str(word);
            token.push('"');
        }
        17 => {
            token.push_str(word);
            token.push(if rng.chance(50) { ';' } else { ':' });
        }
        18 => {
            token.push_str(word);
            token.push('-');
            token.push_str(vocabulary.draw(rng));
        }
        19 => {
            token.push_str(word);
            token.push_str(if rng.chance(50) { "!" } else { "?" });
        }
        _ => token.push_str(word),
    }
}

/// Writes one file of at most `target` bytes (exactly 0 when `target` is 0,
/// otherwise ending with a newline); returns its size.
fn write_file(path: &Path, target: u64, vocabulary: &Vocabulary, rng: &mut Rng) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 16, File::create(path)?);
    let mut written = 0u64;
    let mut line = 0usize;
    let mut token = String::new();
    if target > 0 {
        loop {
            next_token(vocabulary, rng, &mut token);
            let newline = line > 0 && line + 1 + token.len() > LINE;
            let separator = u64::from(line > 0);
            // Room for the token, its separator and the final newline.
            if written + separator + token.len() as u64 + 1 > target {
                break;
            }
            if newline {
                out.write_all(b"\n")?;
                line = 0;
            } else if line > 0 {
                out.write_all(b" ")?;
                line += 1;
            }
            out.write_all(token.as_bytes())?;
            line += token.len();
            written += separator + token.len() as u64;
        }
        out.write_all(b"\n")?;
        written += 1;
    }
    out.flush()?;
    Ok(written)
}

/// What to write: the number of files, their total size and the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorpusOptions {
    /// Number of files (at least 1).
    pub files: u32,
    /// Total size in bytes, shared out evenly between the files.
    pub bytes: u64,
    /// Seed of the pseudo-random generator.
    pub seed: u64,
}

impl Default for CorpusOptions {
    /// 2000 files, 200 MB, seed 1: the corpus of the published benchmarks.
    fn default() -> Self {
        CorpusOptions {
            files: 2000,
            bytes: 200_000_000,
            seed: 1,
        }
    }
}

/// What [`write_corpus`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Number of files.
    pub files: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// The name of file number `i` of a corpus: `doc-00000.txt`, ...
#[must_use]
pub fn corpus_file_name(i: u64) -> String {
    format!("doc-{i:05}.txt")
}

/// Writes the corpus described by `options` into `dir` (created if
/// missing); other files in `dir` are left alone.
///
/// # Errors
///
/// [`io::ErrorKind::InvalidInput`] if `options.files` is 0; otherwise the
/// first failure to create `dir` or write a file, its message naming the
/// path.
pub fn write_corpus(dir: &Path, options: &CorpusOptions) -> io::Result<Written> {
    if options.files == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a corpus needs at least one file",
        ));
    }
    fs::create_dir_all(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display())))?;
    let vocabulary = Vocabulary::new(options.seed);
    let files = u64::from(options.files);
    let (share, extra) = (options.bytes / files, options.bytes % files);
    let mut total = 0;
    for i in 0..files {
        let path = dir.join(corpus_file_name(i));
        let target = share + u64::from(i < extra);
        let mut rng = Rng::new(options.seed, i + 1);
        total += write_file(&path, target, &vocabulary, &mut rng).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
        })?;
    }
    Ok(Written {
        files,
        bytes: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_files_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let options = CorpusOptions {
            files: 0,
            ..CorpusOptions::default()
        };
        let err = write_corpus(dir.path(), &options).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn empty_files_when_no_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let options = CorpusOptions {
            files: 2,
            bytes: 0,
            seed: 3,
        };
        let written = write_corpus(dir.path(), &options).unwrap();
        assert_eq!(written, Written { files: 2, bytes: 0 });
        assert_eq!(fs::read(dir.path().join("doc-00001.txt")).unwrap(), b"");
    }
}
