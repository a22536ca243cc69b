use pprocess_core::{Codec, Error, Result};
use serde::{Deserialize, Serialize};

/// JSON via `serde_json`: readable on the wire, for debugging and for
/// peers in other languages.
///
/// # Examples
///
/// ```
/// use pprocess_core::Codec;
/// use pprocess_transport::Json;
///
/// let mut buf = Vec::new();
/// Json::encode(&vec![1, 2], &mut buf)?;
/// assert_eq!(buf, b"[1,2]");
/// # Ok::<(), pprocess_core::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Json;

impl Codec for Json {
    const NAME: &'static str = "json";

    fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<()> {
        serde_json::to_writer(out, value).map_err(|e| Error::Encode {
            type_name: std::any::type_name::<T>(),
            message: e.to_string(),
        })
    }

    fn encode_to<T: Serialize + ?Sized, W: std::io::Write>(value: &T, out: &mut W) -> Result<()> {
        // `serde_json` writes a string's unescaped runs with one
        // `write_all` each: long ones go out without a copy.
        serde_json::to_writer(out, value).map_err(|e| Error::Encode {
            type_name: std::any::type_name::<T>(),
            message: e.to_string(),
        })
    }

    fn decode<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T> {
        serde_json::from_slice(bytes).map_err(|e| Error::Decode {
            expected: std::any::type_name::<T>(),
            message: e.to_string(),
        })
    }
}
