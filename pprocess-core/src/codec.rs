//! The codec trait: serde values in, bytes out, and back.

use std::io;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Turns serde values into frame payloads and back.
///
/// A codec is a type parameter of a channel, so the same test body can run
/// over every codec. Implementations are zero-sized marker types; they must
/// report failures as [`Error::Encode`](crate::Error::Encode) and
/// [`Error::Decode`](crate::Error::Decode) naming the Rust type (use
/// [`std::any::type_name`]), and must never panic on any input.
///
/// # Examples
///
/// See the crate-level example for a complete (if useless) codec.
pub trait Codec: Send + Sync + 'static {
    /// A short name for messages and benchmark labels (`"msgpack"`, `"json"`).
    const NAME: &'static str;

    /// Appends the encoding of `value` to `out`.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`](crate::Error::Encode) if the value cannot be
    /// represented by this codec.
    fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<()>;

    /// Writes the encoding of `value` to `out` piece by piece: the same
    /// bytes as [`Codec::encode`], called twice with the same value by a
    /// channel that sends a large message (once to measure it, once to
    /// write it), so it must encode a value the same way each time.
    ///
    /// A channel's blocking `send` hands large pieces (64 KiB and more)
    /// straight to the kernel from where they lie: a codec that writes a
    /// byte string's or a string's bytes with one `write` from the value's
    /// own memory (`rmp-serde` and `serde_json` do) sends large payloads
    /// without copying them first. The default encodes into a `Vec` with
    /// [`Codec::encode`] and writes that, which is correct for any codec
    /// but copies (and a large message is then encoded twice).
    ///
    /// # Errors
    ///
    /// [`Error::Encode`](crate::Error::Encode) if the value cannot be
    /// represented by this codec or `out` fails.
    fn encode_to<T: Serialize + ?Sized, W: io::Write>(value: &T, out: &mut W) -> Result<()> {
        let mut bytes = Vec::new();
        Self::encode(value, &mut bytes)?;
        out.write_all(&bytes).map_err(|e| Error::Encode {
            type_name: std::any::type_name::<T>(),
            message: e.to_string(),
        })
    }

    /// Decodes a whole payload as a `T`, which may borrow from `bytes`
    /// (`&str`, `&[u8]` through `serde_bytes`, structs of them) where the
    /// format allows it; owned types (`DeserializeOwned`) always work.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`](crate::Error::Decode) naming `T` if the bytes are
    /// not a valid encoding of a `T` (including a string the format could
    /// only hand out by copying, decoded into a borrowed `&str`).
    fn decode<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T>;
}
