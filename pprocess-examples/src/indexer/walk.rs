//! Finding the files to index, the way ripgrep finds files to search: with
//! its walker, the `ignore` crate.
//!
//! A walk is recursive; hidden files and directories (names beginning with
//! `.`) are skipped unless [`WalkOptions::hidden`], and `.git` directories
//! always are; `.gitignore`, `.ignore` and `.git/info/exclude` rules are
//! respected (in any directory, inside a git repository or not) unless
//! [`WalkOptions::no_ignore`]. Regular files are listed, and symbolic links
//! to regular files; symbolic links to directories are not followed (so a
//! walk cannot loop). Everything else that cannot be indexed is a
//! [`Problem`]: a directory that cannot be read, a dangling symbolic link,
//! a FIFO, a socket or a device (opening a FIFO would block for ever).
//!
//! [`list_files`] walks in the calling thread and sorts what it found;
//! [`walk_parallel`] walks with several threads and sends each finding as
//! soon as it is made, in no particular order.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

use ignore::{DirEntry, WalkBuilder, WalkState};

/// Which files a walk finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WalkOptions {
    /// Include hidden files and directories (`.git` stays skipped).
    pub hidden: bool,
    /// Do not respect `.gitignore`, `.ignore` and git's exclude files.
    pub no_ignore: bool,
    /// Descend at most this many directories (`Some(1)`: the directory's
    /// own files only).
    pub max_depth: Option<usize>,
}

/// Something found that cannot be indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What it is, as a path (or what the walker said when it has none).
    pub path: String,
    /// Why it cannot be indexed.
    pub error: String,
}

/// One finding of a walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A file to index.
    File(PathBuf),
    /// Something that cannot be indexed.
    Problem(Problem),
}

fn builder(dir: &Path, options: &WalkOptions) -> WalkBuilder {
    let mut builder = WalkBuilder::new(dir);
    builder
        .hidden(!options.hidden)
        .ignore(!options.no_ignore)
        .git_ignore(!options.no_ignore)
        .git_exclude(!options.no_ignore)
        .git_global(false)
        .parents(!options.no_ignore)
        .require_git(false)
        .follow_links(false)
        .max_depth(options.max_depth)
        .filter_entry(|entry| entry.file_name() != ".git");
    builder
}

/// What a walker's result is for the indexer; `None` for what is neither a
/// file nor a problem (directories, links to directories).
fn classify(result: Result<DirEntry, ignore::Error>) -> Option<Found> {
    let entry = match result {
        Ok(entry) => entry,
        Err(e) => return Some(Found::Problem(walk_problem(&e))),
    };
    let kind = entry.file_type()?;
    if kind.is_file() {
        return Some(Found::File(entry.into_path()));
    }
    if kind.is_dir() {
        return None;
    }
    let path = entry.path();
    let problem = |error: String| {
        Some(Found::Problem(Problem {
            path: path.display().to_string(),
            error,
        }))
    };
    if kind.is_symlink() {
        return match fs::metadata(path) {
            Ok(m) if m.is_file() => Some(Found::File(entry.into_path())),
            Ok(m) if m.is_dir() => None,
            Ok(m) => problem(format!(
                "symbolic link to {}, not a regular file",
                kind_name(m.file_type())
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                problem("dangling symbolic link".to_owned())
            }
            Err(e) => problem(format!("cannot follow symbolic link: {e}")),
        };
    }
    problem(format!("{}, not a regular file", kind_name(kind)))
}

/// A walker error as a problem, with its path when it has one.
fn walk_problem(e: &ignore::Error) -> Problem {
    fn find(e: &ignore::Error) -> Option<(&Path, &ignore::Error)> {
        match e {
            ignore::Error::WithPath { path, err } => Some((path, err)),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                find(err)
            }
            _ => None,
        }
    }
    match find(e) {
        Some((path, err)) => Problem {
            path: path.display().to_string(),
            error: err.to_string(),
        },
        None => Problem {
            path: "(walk)".to_owned(),
            error: e.to_string(),
        },
    }
}

/// A name for a kind of file that is not regular.
fn kind_name(kind: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// The files of `dir` to index, sorted by path, and the problems met, in
/// the order met; each path is `dir` joined with the names leading to the
/// file.
#[must_use]
pub fn list_files(dir: &Path, options: &WalkOptions) -> (Vec<PathBuf>, Vec<Problem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for result in builder(dir, options).build() {
        match classify(result) {
            Some(Found::File(path)) => files.push(path),
            Some(Found::Problem(problem)) => problems.push(problem),
            None => {}
        }
    }
    files.sort();
    (files, problems)
}

/// Findings a walk thread sends at once, at most.
pub const WALK_BATCH: usize = 64;

/// A walk thread's findings not yet sent; the rest is sent when the thread
/// is done.
struct Batcher<T> {
    found: Vec<T>,
    to: SyncSender<Vec<T>>,
}

impl<T> Batcher<T> {
    /// Sends what is held; false if the receiver is gone.
    fn flush(&mut self) -> bool {
        let found = std::mem::replace(&mut self.found, Vec::with_capacity(WALK_BATCH));
        self.to.send(found).is_ok()
    }
}

impl<T> Drop for Batcher<T> {
    fn drop(&mut self) {
        if !self.found.is_empty() {
            self.flush();
        }
    }
}

/// Walks `dir` with `threads` threads (at least 1) and sends the findings
/// to `found` as they are made, each made ready by `prepare` in the walk
/// thread that found it, up to [`WALK_BATCH`] at a time (each thread's
/// batch, in no particular order: one send per batch, not per file, keeps
/// the threads from waking the receiver at every file). Returns when the
/// walk is over, or when `found`'s receiver is gone.
pub fn walk_parallel<T: Send>(
    dir: &Path,
    options: &WalkOptions,
    threads: usize,
    found: SyncSender<Vec<T>>,
    prepare: fn(Found) -> T,
) {
    builder(dir, options)
        .threads(threads.max(1))
        .build_parallel()
        .run(|| {
            let mut batcher = Batcher {
                found: Vec::with_capacity(WALK_BATCH),
                to: found.clone(),
            };
            Box::new(move |result| {
                if let Some(finding) = classify(result) {
                    batcher.found.push(prepare(finding));
                    if batcher.found.len() >= WALK_BATCH && !batcher.flush() {
                        return WalkState::Quit;
                    }
                }
                WalkState::Continue
            })
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::sync_channel;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in [
            "a.txt",
            "sub/b.txt",
            "sub/deeper/c.txt",
            ".hidden.txt",
            ".hidden-dir/d.txt",
            ".git/config",
            "ignored.log",
            "sub/also.log",
            "kept/keep.txt",
        ] {
            let path = root.join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, name).unwrap();
        }
        fs::write(root.join(".gitignore"), "*.log\n").unwrap();
        dir
    }

    fn relative(root: &Path, files: &[PathBuf]) -> Vec<String> {
        files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn recursive_skipping_hidden_and_ignored_files() {
        let dir = tree();
        let root = dir.path();
        let (files, problems) = list_files(root, &WalkOptions::default());
        assert_eq!(
            relative(root, &files),
            ["a.txt", "kept/keep.txt", "sub/b.txt", "sub/deeper/c.txt"]
        );
        assert!(problems.is_empty());

        let all = WalkOptions {
            hidden: true,
            no_ignore: true,
            max_depth: None,
        };
        let (files, _) = list_files(root, &all);
        assert_eq!(
            relative(root, &files),
            [
                ".gitignore",
                ".hidden-dir/d.txt",
                ".hidden.txt",
                "a.txt",
                "ignored.log",
                "kept/keep.txt",
                "sub/also.log",
                "sub/b.txt",
                "sub/deeper/c.txt",
            ]
        );
        let shallow = WalkOptions {
            max_depth: Some(1),
            ..WalkOptions::default()
        };
        assert_eq!(relative(root, &list_files(root, &shallow).0), ["a.txt"]);
    }

    #[test]
    fn links_fifos_and_dangling_links() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("real.txt"), "x").unwrap();
        fs::create_dir(root.join("sub")).unwrap();
        fs::write(root.join("sub/inner.txt"), "y").unwrap();
        symlink(root.join("real.txt"), root.join("link.txt")).unwrap();
        symlink(root.join("missing"), root.join("broken")).unwrap();
        symlink(root, root.join("sub/loop")).unwrap();
        nix_mkfifo(&root.join("fifo"));
        let (files, mut problems) = list_files(root, &WalkOptions::default());
        assert_eq!(
            relative(root, &files),
            ["link.txt", "real.txt", "sub/inner.txt"]
        );
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(
            problems,
            [
                Problem {
                    path: root.join("broken").display().to_string(),
                    error: "dangling symbolic link".to_owned(),
                },
                Problem {
                    path: root.join("fifo").display().to_string(),
                    error: "a FIFO, not a regular file".to_owned(),
                },
            ]
        );
    }

    /// Makes a FIFO with the `mkfifo` program (no unsafe code here).
    fn nix_mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    }

    #[test]
    fn parallel_walk_finds_the_same() {
        let dir = tree();
        let root = dir.path();
        // More files than a batch holds.
        for i in 0..WALK_BATCH + 5 {
            fs::write(root.join(format!("many-{i}.txt")), "x").unwrap();
        }
        for threads in [1, 3] {
            let (tx, rx) = sync_channel(2);
            let walker = {
                let root = root.to_path_buf();
                std::thread::spawn(move || {
                    walk_parallel(&root, &WalkOptions::default(), threads, tx, |f| f)
                })
            };
            let mut files: Vec<PathBuf> = rx
                .iter()
                .flatten()
                .map(|f| match f {
                    Found::File(path) => path,
                    Found::Problem(p) => panic!("{p:?}"),
                })
                .collect();
            walker.join().unwrap();
            files.sort();
            assert_eq!(files, list_files(root, &WalkOptions::default()).0);
        }
    }

    #[test]
    fn missing_directory_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let (files, problems) = list_files(&dir.path().join("missing"), &WalkOptions::default());
        assert!(files.is_empty());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].path.ends_with("missing"), "{problems:?}");
    }
}
