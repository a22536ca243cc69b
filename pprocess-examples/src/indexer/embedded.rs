//! The default corpus of `start_indexer`: this project's documentation,
//! embedded in the program when it is built.
//!
//! The build script includes every `*.md` file of the workspace's `docs/`
//! directory and its `README.md`, those that exist at build time. Names are
//! relative to the workspace root (`README.md`, `docs/tutorial.md`, ...)
//! and sorted.
//!
//! ```
//! use pprocess_examples::indexer::embedded;
//! assert!(embedded::EMBEDDED.iter().any(|(name, _)| *name == "docs/tutorial.md"));
//! assert_eq!(embedded::documents().len(), embedded::EMBEDDED.len());
//! ```

use super::parallel::Document;

include!(concat!(env!("OUT_DIR"), "/embedded_docs.rs"));

/// The embedded documents, to index from memory.
#[must_use]
pub fn documents() -> Vec<Document> {
    EMBEDDED
        .iter()
        .map(|&(name, text)| Document::text(name, text))
        .collect()
}
