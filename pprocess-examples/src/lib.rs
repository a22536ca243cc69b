//! Shared code of the example programs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bottles;
pub mod grid;
pub mod indexer;
pub mod pygmy;
