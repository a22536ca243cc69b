//! The codec trait: serde values in, bytes out, and back.

use serde::{Deserialize, Serialize};

use crate::Result;

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
