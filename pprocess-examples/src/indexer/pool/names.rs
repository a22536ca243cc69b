//! The parent's table of file names: what the walk finds, named in the
//! walk's threads; each file's identifier; and the sort of the names, in a
//! thread of its own.
//!
//! The parent's main thread hands out every file, so it is the part of the
//! pool that does not grow with the workers: its work per file is kept to
//! a move and a copy. A finding is made ready in the walk thread that made
//! it ([`Finding::of`]: the name is the path's own buffer when the path is
//! UTF-8); a file gets its identifier as soon as the main thread takes it
//! from the walk, so the names are all known once the walk is over, well
//! before the last file is read; then [`Sorting`] sorts them in a thread
//! while the workers read (one comparison sort of the names is the
//! parent's largest single piece of work: about 20 ms for 52,000 names
//! here).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use super::super::FileId;
use super::super::walk::{Found, Problem};
use super::worker;

/// A finding of the walk, made ready in the walk's thread.
#[derive(Debug)]
pub(super) enum Finding {
    /// A file to index.
    File(Pending),
    /// Something that cannot be indexed.
    Problem(Problem),
}

impl Finding {
    pub(super) fn of(found: Found) -> Self {
        match found {
            Found::File(path) => Finding::File(Pending::of(path)),
            Found::Problem(problem) => Finding::Problem(problem),
        }
    }
}

/// A file to name.
#[derive(Debug)]
pub(super) struct Pending {
    /// Its name (see [`file_name_of`](super::super::file_name_of)).
    pub(super) name: String,
    /// The bytes of its path when they are not the name's (a path that is
    /// not UTF-8, whose name replaces what is not).
    pub(super) raw: Option<Vec<u8>>,
}

impl Pending {
    /// The file at `path`, named as
    /// [`file_name_of`](super::super::file_name_of) names it, without
    /// copying a path that is UTF-8.
    pub(super) fn of(path: PathBuf) -> Self {
        match path.into_os_string().into_string() {
            Ok(name) => Pending { name, raw: None },
            Err(path) => {
                let raw = path.into_encoded_bytes();
                Pending {
                    name: String::from_utf8_lossy(&raw).into_owned(),
                    raw: Some(raw),
                }
            }
        }
    }

    /// The bytes of its path.
    pub(super) fn path(&self) -> &[u8] {
        self.raw.as_deref().unwrap_or(self.name.as_bytes())
    }
}

/// Every file's name, by identifier.
#[derive(Debug, Default)]
pub(super) struct Names {
    /// Shared with the sort's thread once every file is named.
    names: Arc<Vec<String>>,
    /// The bytes of the paths that are not their names' (not UTF-8).
    raw: HashMap<FileId, Vec<u8>>,
}

impl Names {
    /// How many files are named.
    pub(super) fn len(&self) -> usize {
        self.names.len()
    }

    /// Names a new file; returns its identifier.
    ///
    /// # Panics
    ///
    /// If the names are being sorted (every file was named), or if there
    /// are more files than [`FileId`] counts.
    pub(super) fn add(&mut self, file: Pending) -> FileId {
        let id = FileId::try_from(self.names.len()).expect("more files than u32 can count");
        Arc::get_mut(&mut self.names)
            .expect("no file is named once the names are sorted")
            .push(file.name);
        if let Some(raw) = file.raw {
            self.raw.insert(id, raw);
        }
        id
    }

    /// File `id`'s name.
    pub(super) fn name(&self, id: FileId) -> &str {
        &self.names[id as usize]
    }

    /// The bytes of file `id`'s path.
    pub(super) fn path(&self, id: FileId) -> &[u8] {
        if !self.raw.is_empty() {
            if let Some(raw) = self.raw.get(&id) {
                return raw;
            }
        }
        self.names[id as usize].as_bytes()
    }

    /// Starts sorting the names (no file may be named after this).
    pub(super) fn sort(&self) -> Sorting {
        let names = Arc::clone(&self.names);
        match thread::Builder::new()
            .name("sort names".into())
            .spawn(move || sort_names(&names))
        {
            Ok(handle) => Sorting::Running(handle),
            // No thread to be had: sort here.
            Err(_) => Sorting::Done(sort_names(&self.names)),
        }
    }

    /// The names in the order of the identifiers of `order` (the names
    /// must not be being sorted).
    pub(super) fn into_sorted(self, order: &[u32]) -> Vec<String> {
        let names = Arc::try_unwrap(self.names).unwrap_or_else(|shared| (*shared).clone());
        let mut names: Vec<Option<String>> = names.into_iter().map(Some).collect();
        order
            .iter()
            .map(|&id| names[id as usize].take().expect("each identifier once"))
            .collect()
    }
}

/// The sorted order of the names: the identifiers in the order of their
/// names, and each identifier's place in it (as 32-bit little-endian
/// integers, for [`Request::Finish`](worker::Request::Finish)).
pub(super) type Sorted = (Vec<u32>, Vec<u8>);

/// A sort of the names, in a thread or done.
#[derive(Debug)]
pub(super) enum Sorting {
    Running(JoinHandle<Sorted>),
    Done(Sorted),
}

impl Sorting {
    /// Waits for the sort to end (so that its thread is gone).
    pub(super) fn finish(self, names: &Names) -> Sorted {
        match self {
            Sorting::Running(handle) => handle.join().unwrap_or_else(|_| sort_names(&names.names)),
            Sorting::Done(sorted) => sorted,
        }
    }

    /// The same, as a sort that is done.
    pub(super) fn finished(self, names: &Names) -> Sorting {
        Sorting::Done(self.finish(names))
    }
}

/// The identifiers of `names` in the order of the names, and each name's
/// place in that order (by identifier, as 32-bit little-endian integers,
/// for [`Request::Finish`](worker::Request::Finish)).
pub(super) fn sort_names(names: &[String]) -> Sorted {
    let n =
        u32::try_from(names.len()).expect("file identifiers are u32, so names are fewer than 2^32");
    let mut order: Vec<u32> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
    let mut rank = vec![0; names.len()];
    for (place, &id) in (0..n).zip(&order) {
        rank[id as usize] = place;
    }
    let mut bytes = Vec::new();
    worker::to_bytes(&rank, &mut bytes);
    (order, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Names {
        let mut names = Names::default();
        for name in list {
            names.add(Pending {
                name: (*name).to_owned(),
                raw: None,
            });
        }
        names
    }

    #[test]
    fn names_sort_by_their_bytes() {
        let names = names(&["/d/b/z", "/d/a", "/d/b/y", "/d/b"]);
        let (order, ranks) = names.sort().finish(&names);
        assert_eq!(order, [1, 3, 2, 0]);
        let mut places = Vec::new();
        worker::from_bytes(&ranks, &mut places);
        assert_eq!(places, [3, 0, 2, 1]);
        assert_eq!(
            names.into_sorted(&order),
            ["/d/a", "/d/b", "/d/b/y", "/d/b/z"]
        );
    }

    #[test]
    fn a_name_that_is_the_shared_prefix_sorts_first() {
        let names = names(&["/d/ab", "/d/a", "/d/a"]);
        assert_eq!(sort_names(&names.names).0[0..2], [1, 2]);
        let empty = Names::default();
        assert!(sort_names(&empty.names).0.is_empty());
    }

    #[test]
    fn a_path_that_is_not_utf8_keeps_its_bytes() {
        use std::os::unix::ffi::OsStringExt;
        let path = PathBuf::from(std::ffi::OsString::from_vec(b"/d/caf\xe9".to_vec()));
        let mut names = Names::default();
        let id = names.add(Pending::of(path));
        assert_eq!(names.name(id), "/d/caf\u{fffd}");
        assert_eq!(names.path(id), b"/d/caf\xe9");
        let plain = names.add(Pending::of(PathBuf::from("/d/tea")));
        assert_eq!(names.path(plain), b"/d/tea");
    }
}
