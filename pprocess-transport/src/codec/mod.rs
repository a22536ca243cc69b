//! The codecs: MessagePack (default) and JSON.

#[cfg(feature = "json")]
mod json;
mod msgpack;

#[cfg(feature = "json")]
pub use json::Json;
pub use msgpack::MessagePack;
