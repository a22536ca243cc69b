//! Unit tests of `scan.rs`.

use super::*;
use crate::indexer::iter_words;

/// A reader that gives at most `step` bytes per read.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn scanned(data: &[u8], step: usize) -> (Vec<String>, Outcome) {
    let mut words = Vec::new();
    let outcome = Scanner::new()
        .scan(Trickle { data, step }, |w| words.push(w.to_owned()))
        .unwrap();
    (words, outcome)
}

fn expected(data: &[u8]) -> Vec<String> {
    iter_words(&String::from_utf8_lossy(data))
        .map(str::to_owned)
        .collect()
}

#[test]
fn same_words_as_the_lossy_text_whatever_the_pieces() {
    let samples: &[&[u8]] = &[
        b"",
        b"plain words, and (punctuation)!",
        "café naïve «Straße» 日本語 ٣٤ x٣٤y a\u{a0}b\u{3000}c\u{85}d".as_bytes(),
        b"caf\xe9 cr\xe8me \xff\xfe alpha \xe2\x82 x \xf0\x9f\x98 y\xf0\x9f\x98\x80z",
        b"ab\xe2\x80\x8bcd e\xe2\x80\xa8f trailing\xc3",
        b"\xc3",
        b"word\xc3\xa9",
        b"a\x1cb\x1fc snake_case --x2y! e-mail",
        b"\xed\xa0\x80surrogate \xc0\xafoverlong \xf4\x90\x80\x80big",
    ];
    for data in samples {
        let want = expected(data);
        for step in [1, 2, 3, 5, 7, 64, 1 << 20] {
            let (words, outcome) = scanned(data, step);
            assert_eq!(words, want, "{data:?} in pieces of {step}");
            let lossy = String::from_utf8(data.to_vec()).is_err();
            assert_eq!(
                outcome,
                Outcome::Text {
                    bytes: data.len() as u64,
                    words: want.len() as u64,
                    lossy
                },
                "{data:?}"
            );
        }
    }
}

#[test]
#[allow(
    clippy::cast_possible_truncation,
    reason = "pseudo-random values below small bounds"
)]
fn random_bytes_agree_with_the_lossy_text() {
    // Bytes drawn mostly from ASCII letters and separators, with
    // multi-byte characters and stray bytes, in random pieces.
    let alphabet: &[&[u8]] = &[
        b"a",
        b"Z",
        b"7",
        b" ",
        b"\n",
        b"-",
        b"'",
        b".",
        b"\xc3\xa9",
        b"\xe3\x80\x80",
        b"\xc2\xa0",
        b"\xe2\x80\x8b",
        b"\xff",
        b"\xc3",
        b"\xe2\x82",
        b"\xf0\x9f\x98\x80",
        b"\xd9\xa3",
    ];
    let mut seed = 0x1234_5678_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..300 {
        let len = (next() % 200) as usize;
        let mut data = Vec::new();
        for _ in 0..len {
            data.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
        }
        let step = 1 + (next() % 9) as usize;
        assert_eq!(scanned(&data, step).0, expected(&data), "{data:?}");
    }
}

#[test]
fn words_longer_than_a_chunk() {
    let mut data = vec![b'x'; CHUNK * 2 + 17];
    data.extend_from_slice(b" tail");
    let (words, _) = scanned(&data, CHUNK);
    assert_eq!(words.len(), 2);
    assert_eq!(words[0].len(), CHUNK * 2 + 17);
    assert_eq!(words[1], "tail");
}

#[test]
fn binary_is_decided_on_the_first_8_kib() {
    let mut late = vec![b'a'; BINARY_PREFIX];
    late.push(0);
    late.extend_from_slice(b" word");
    // A NUL after the prefix is just another character.
    let (words, outcome) = scanned(&late, 100);
    assert!(matches!(outcome, Outcome::Text { .. }));
    assert_eq!(words.len(), 2);
    let mut early = b"text ".to_vec();
    early.push(0);
    assert_eq!(scanned(&early, 1).1, Outcome::Binary);
    assert!(is_binary(b"\0"));
    assert!(!is_binary(b""));
}

#[test]
fn read_errors_are_returned() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(5))
        }
    }
    let err = Scanner::new().scan(Failing, |_| {}).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5));
}
