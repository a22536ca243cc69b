//! Embeds the project's documentation as the default corpus of
//! `start_indexer`: every `*.md` file of `../docs` and `../README.md` that
//! exists when the crate is built.
//!
//! Writes `$OUT_DIR/embedded_docs.rs`, a sorted list of
//! `(name, include_str!(path))` pairs with names relative to the workspace
//! root (`README.md`, `docs/tutorial.md`, ...). The files are included with
//! `include_str!`, so editing one rebuilds the crate; adding or removing one
//! reruns this script.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.parent().expect("the crate is in a workspace");
    let docs = root.join("docs");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", docs.display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("README.md").display()
    );

    let mut found: Vec<(String, PathBuf)> = Vec::new();
    if let Ok(entries) = fs::read_dir(&docs) {
        for entry in entries.flatten() {
            let path = entry.path();
            let is_md = path.extension().is_some_and(|e| e == "md");
            if is_md && path.is_file() {
                if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                    found.push((format!("docs/{name}"), path.clone()));
                }
            }
        }
    }
    let readme = root.join("README.md");
    if readme.is_file() {
        found.push(("README.md".to_owned(), readme));
    }
    found.sort();

    let mut out = String::from(
        "/// The embedded documents: names relative to the workspace root, and texts.\n\
         pub static EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for (name, path) in &found {
        let path = absolute(path);
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo")).join("embedded_docs.rs");
    // Rewrite only on change, so the crate is not rebuilt for nothing.
    if fs::read_to_string(&dest).ok().as_deref() != Some(out.as_str()) {
        fs::write(&dest, out).expect("cannot write embedded_docs.rs");
    }
}

/// `path` made absolute without resolving links.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
