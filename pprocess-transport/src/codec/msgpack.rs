use pprocess_core::{Codec, Error, Result};
use serde::{Deserialize, Serialize};

/// MessagePack via `rmp-serde`: compact and fast; the default codec.
///
/// Structs are encoded as maps with field names, so `#[serde(skip)]`,
/// `Option` fields and added fields behave as in JSON.
///
/// # Examples
///
/// ```
/// use pprocess_core::Codec;
/// use pprocess_transport::MessagePack;
///
/// let mut buf = Vec::new();
/// MessagePack::encode(&(1u8, "two"), &mut buf)?;
/// let back: (u8, String) = MessagePack::decode(&buf)?;
/// assert_eq!(back, (1, "two".to_string()));
/// # Ok::<(), pprocess_core::Error>(())
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MessagePack;

impl Codec for MessagePack {
    const NAME: &'static str = "msgpack";

    fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<()> {
        rmp_serde::encode::write_named(out, value).map_err(|e| Error::Encode {
            type_name: std::any::type_name::<T>(),
            message: e.to_string(),
        })
    }

    fn encode_to<T: Serialize + ?Sized, W: std::io::Write>(value: &T, out: &mut W) -> Result<()> {
        // `rmp-serde` writes a byte string's bytes with one `write_all`
        // from the value's memory: a channel sends them without a copy.
        rmp_serde::encode::write_named(out, value).map_err(|e| Error::Encode {
            type_name: std::any::type_name::<T>(),
            message: e.to_string(),
        })
    }

    fn decode<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T> {
        rmp_serde::from_slice(bytes).map_err(|e| Error::Decode {
            expected: std::any::type_name::<T>(),
            message: e.to_string(),
        })
    }
}
