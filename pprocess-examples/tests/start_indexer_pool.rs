//! The indexers as a library: the pool and pprocess's shape against the
//! sequential index for every option, and what happens when workers fail
//! or are killed.

mod start_indexer_util;

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use pprocess_examples::indexer::parallel::{
    Document, Event, Options, Progress, documents, index_parallel, index_parallel_with,
};
use pprocess_examples::indexer::pool::{self, Files, Pool, PoolOptions, open_file};
use pprocess_examples::indexer::{WalkOptions, index_sequential, list_files};
use start_indexer_util::{PATTERNS, make_corpus, reference};

/// Tests that fork, or look at this process's children, take turns.
static FORK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    FORK.lock().unwrap_or_else(|e| e.into_inner())
}

/// This process's children, sorted.
fn children() -> Vec<i32> {
    let mut found = Vec::new();
    for task in fs::read_dir("/proc/self/task").unwrap().flatten() {
        if let Ok(list) = fs::read_to_string(task.path().join("children")) {
            found.extend(list.split_whitespace().map(|p| p.parse::<i32>().unwrap()));
        }
    }
    found.sort_unstable();
    found
}

/// The pool's workers, sorted.
fn workers(pool: &Pool) -> Vec<i32> {
    let mut pids = pool.workers();
    pids.sort_unstable();
    pids
}

/// The paths not named among the `lost` files.
fn kept(paths: &[std::path::PathBuf], lost: &[(String, String)]) -> Vec<std::path::PathBuf> {
    paths
        .iter()
        .filter(|p| {
            !lost
                .iter()
                .any(|(name, _)| *name == p.display().to_string())
        })
        .cloned()
        .collect()
}

/// Every lost file says that worker `victim` was killed by `SIGKILL`.
fn assert_killed_by_9(lost: &[(String, String)], victim: i32) {
    for (_, error) in lost {
        assert!(
            error.contains(&format!("worker {victim} killed by signal 9")),
            "{error}"
        );
    }
}

#[test]
fn the_pool_equals_the_sequential_index_for_every_option() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_corpus(root, false);
    for i in 0..40 {
        fs::write(
            root.join(format!("many-{i:02}.txt")),
            format!("many{i} alpha"),
        )
        .unwrap();
    }
    let walks = [
        WalkOptions::default(),
        WalkOptions {
            hidden: true,
            no_ignore: true,
            max_depth: None,
        },
        WalkOptions {
            max_depth: Some(2),
            ..WalkOptions::default()
        },
    ];
    for walk in walks {
        let (paths, sequential) = reference(root, &walk);
        // Each count of workers, batch size and walk threads, in a few
        // combinations.
        for (workers, batch, walk_threads) in [(1, 1, 1), (2, 3, 2), (3, 32, 1), (2, 1, 3)] {
            {
                {
                    let options = PoolOptions {
                        workers,
                        batch,
                        delay: None,
                        walk_threads,
                    };
                    for files in [
                        Files::Walk {
                            dir: root.to_owned(),
                            options: walk,
                        },
                        Files::List(paths.clone()),
                    ] {
                        let (mut pool, summary) = Pool::index(files, &options, |_| {}).unwrap();
                        assert_eq!(pool.workers().len(), workers);
                        assert!(summary.failed.is_empty(), "{:?}", summary.failed);
                        assert_eq!(summary.files, paths.len() - 1, "{options:?}");
                        assert_eq!(summary.binary, 1);
                        assert_eq!(summary.lossy, 1);
                        assert_eq!(summary.entries, sequential.entries() as u64);
                        for pattern in PATTERNS {
                            assert_eq!(
                                pool.search(pattern).unwrap(),
                                sequential.search(pattern),
                                "{pattern:?} with {options:?}, {walk:?}"
                            );
                        }
                        assert_eq!(
                            pool.measure("").unwrap().0,
                            sequential.words(),
                            "{options:?}"
                        );
                        drop(pool);
                        assert_eq!(children(), [0; 0], "workers left behind");
                    }
                }
            }
        }
    }
}

#[test]
fn pprocess_shape_equals_the_sequential_index() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    make_corpus(dir.path(), false);
    let (paths, sequential) = list_files(dir.path(), &WalkOptions::default());
    assert!(sequential.is_empty());
    let sequential = index_sequential(&paths);
    for (window, slice, reuse) in [
        (1, 1, false),
        (3, 2, false),
        (16, 100, false),
        (1, 1, true),
        (2, 3, true),
        (16, 1, true),
    ] {
        let options = Options {
            window,
            slice,
            delay: Some(Duration::from_millis(1)),
            reuse,
        };
        let indexed = index_parallel(documents(paths.clone()), &options, |_, _| {}).unwrap();
        assert_eq!(indexed.index.files(), sequential.files());
        assert_eq!(indexed.index.search(""), sequential.search(""));
        assert_eq!(indexed.index.entries(), sequential.entries());
        assert!(indexed.failed.is_empty());
        assert_eq!(indexed.binary, 1);
        assert_eq!(
            indexed.lossy,
            [dir.path().join("latin1.txt").display().to_string()]
        );
    }
}

/// Opens files, but fails for one named `unreadable.txt` and makes the
/// read of one named `eio.txt` fail halfway.
fn failing_open(path: &Path) -> io::Result<File> {
    match path.file_name().and_then(|n| n.to_str()) {
        Some("unreadable.txt") => Err(io::Error::from_raw_os_error(13)),
        Some("eio.txt") => File::open("/proc/self/mem"),
        _ => open_file(path),
    }
}

#[test]
fn unreadable_files_are_reported_once_and_leave_no_words() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("good.txt"), "alpha beta").unwrap();
    fs::write(root.join("unreadable.txt"), "secret alpha").unwrap();
    fs::write(root.join("eio.txt"), "eio").unwrap();
    let files = Files::Walk {
        dir: root.to_owned(),
        options: WalkOptions::default(),
    };
    let mut events = Vec::new();
    let (mut pool, summary) =
        Pool::index_with(files, &PoolOptions::default(), failing_open, |event| {
            if let pool::Event::Failed { name, error } = event {
                events.push((name.to_owned(), error.to_owned()));
            }
        })
        .unwrap();
    events.sort();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].0.ends_with("eio.txt") && events[0].1.contains("Input/output"));
    assert!(events[1].0.ends_with("unreadable.txt") && events[1].1.contains("Permission"));
    assert_eq!(summary.failed.len(), 2);
    assert_eq!(summary.files, 1);
    let found = pool.search("").unwrap();
    let words: Vec<&str> = found.iter().map(|m| m.word.as_str()).collect();
    assert_eq!(words, ["alpha", "beta"]);
    assert_eq!(
        found[0].files,
        [root.join("good.txt").display().to_string()]
    );
}

#[test]
fn a_killed_worker_loses_only_its_files_in_flight() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..60 {
        fs::write(root.join(format!("f{i:02}.txt")), format!("word{i} common")).unwrap();
    }
    let (paths, _) = list_files(root, &WalkOptions::default());
    let options = PoolOptions {
        workers: 2,
        batch: 2,
        delay: Some(Duration::from_millis(10)),
        walk_threads: 1,
    };
    let mut killed = None;
    let mut lost = Vec::new();
    let (mut pool, summary) =
        Pool::index(Files::List(paths.clone()), &options, |event| match event {
            pool::Event::Progress(p) if p.done >= 10 && killed.is_none() => {
                let victim = children()[0];
                kill(nix::unistd::Pid::from_raw(victim), Signal::SIGKILL).unwrap();
                killed = Some(victim);
            }
            pool::Event::Failed { name, error } => lost.push((name.to_owned(), error.to_owned())),
            pool::Event::Progress(_) => {}
        })
        .unwrap();
    let victim = killed.expect("a worker was killed");
    // What it was reading: at most its two batches of two files.
    assert!((1..=4).contains(&lost.len()), "{lost:?}");
    assert_killed_by_9(&lost, victim);
    assert_eq!(summary.failed.len(), lost.len());
    assert_eq!(summary.files, paths.len() - lost.len());
    // Everything else is indexed, what the dead worker had read included.
    let kept = kept(&paths, &lost);
    assert_eq!(pool.search("").unwrap(), index_sequential(&kept).search(""));
    // The dead worker is reaped; the survivor is the only child.
    assert_eq!(children(), workers(&pool));
    assert!(!pool.workers().contains(&victim));
    drop(pool);
    assert_eq!(children(), [0; 0]);

    // A worker killed after indexing: its shard is gone, searches say so
    // and go on without it.
    let (mut pool, _) = Pool::index(
        Files::List(paths.clone()),
        &PoolOptions {
            delay: None,
            ..options
        },
        |_| {},
    )
    .unwrap();
    let victim = pool.workers()[0];
    kill(nix::unistd::Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    let err = pool.search("common").unwrap_err();
    assert!(
        err.to_string().contains(&format!("worker {victim}")),
        "{err}"
    );
    let rest = pool.search("common").unwrap();
    assert!(!rest.is_empty() && rest[0].files.len() < paths.len());
    assert_eq!(children(), workers(&pool));
    drop(pool);
    assert_eq!(children(), [0; 0]);
}

#[test]
fn when_every_worker_dies_new_ones_read_again_what_they_had_read() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..40 {
        let sub = root.join(format!("d{}", i % 4));
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join(format!("f{i:02}.txt")), format!("word{i} common")).unwrap();
    }
    let (paths, _) = list_files(root, &WalkOptions::default());
    let options = PoolOptions {
        workers: 1,
        batch: 2,
        delay: Some(Duration::from_millis(10)),
        walk_threads: 2,
    };
    let files = Files::Walk {
        dir: root.to_owned(),
        options: WalkOptions::default(),
    };
    let mut killed = None;
    let mut lost = Vec::new();
    let (mut pool, summary) = Pool::index(files, &options, |event| match event {
        pool::Event::Progress(p) if p.done >= 10 && killed.is_none() => {
            let victim = children()[0];
            kill(nix::unistd::Pid::from_raw(victim), Signal::SIGKILL).unwrap();
            killed = Some(victim);
        }
        pool::Event::Failed { name, error } => lost.push((name.to_owned(), error.to_owned())),
        pool::Event::Progress(_) => {}
    })
    .unwrap();
    let victim = killed.expect("the worker was killed");
    assert_eq!(summary.workers, 2, "a new worker took over");
    // Lost: at most the two batches of two files it was reading.
    assert!((1..=4).contains(&lost.len()), "{lost:?}");
    assert_killed_by_9(&lost, victim);
    assert_eq!(summary.files, paths.len() - lost.len());
    let kept = kept(&paths, &lost);
    // The new worker read again all that the dead one had read.
    assert_eq!(pool.search("").unwrap(), index_sequential(&kept).search(""));
    assert_eq!(pool.names().len(), paths.len());
    assert_eq!(children(), workers(&pool));
    assert!(!pool.workers().contains(&victim));
    drop(pool);
    assert_eq!(children(), [0; 0]);
}

/// Opens documents, but panics on one named `panic`, kills the process on
/// one named `abort`, and fails to open one named `unreadable`.
fn failing_reader(doc: &Document) -> io::Result<Box<dyn Read + '_>> {
    match doc.name.as_str() {
        "panic" => panic!("the parser choked"),
        "abort" => std::process::abort(),
        "unreadable" => Err(io::Error::new(io::ErrorKind::PermissionDenied, "no access")),
        _ => doc.open(),
    }
}

#[test]
fn a_dying_child_loses_only_its_unreported_files() {
    let _guard = lock();
    for reuse in [false, true] {
        dying_children(reuse);
    }
}

fn dying_children(reuse: bool) {
    #[rustfmt::skip]
    let names = [
        "a", "b", "panic", "c",      // slice 0: a, b reported before the panic
        "d", "unreadable", "e", "f", // slice 1: all reported
        "g", "abort", "h", "i",      // slice 2: g reported, then killed
        "j", "k",                    // slice 3
    ];
    let docs: Vec<Document> = names
        .iter()
        .map(|name| Document::text(*name, format!("word{name} common")))
        .collect();
    let mut events = Vec::new();
    let options = Options {
        window: 2,
        slice: 4,
        delay: None,
        reuse,
    };
    let indexed = index_parallel_with(docs, &options, failing_reader, |event, progress| {
        let name = match event {
            Event::Indexed { name, .. } | Event::Failed { name, .. } => name.to_string(),
        };
        events.push((name, *progress));
    })
    .unwrap();

    let mut failed: Vec<&str> = indexed.failed.iter().map(|f| f.name.as_str()).collect();
    failed.sort_unstable();
    assert_eq!(failed, ["abort", "c", "h", "i", "panic", "unreadable"]);
    for f in &indexed.failed {
        match f.name.as_str() {
            "panic" | "c" => assert!(f.error.contains("the parser choked"), "{f:?}"),
            "unreadable" => assert_eq!(f.error, "no access"),
            _ => assert!(f.error.contains("signal"), "{f:?}"),
        }
    }
    let common = indexed.index.search("common");
    assert_eq!(common[0].files, ["a", "b", "d", "e", "f", "g", "j", "k"]);
    assert_eq!(events.len(), names.len());
    for (i, (_, progress)) in events.iter().enumerate() {
        assert_eq!(progress.done, i + 1);
    }
    let last: &Progress = &events.last().unwrap().1;
    assert_eq!(last.entries, indexed.index.entries());
}

/// Workers started by a builder (as on MPI ranks, here forked by the
/// builder) answer one chunk per request: the answers are the same, a
/// search stopped early leaves the next in step, and the pids are theirs.
#[test]
fn workers_started_by_a_builder_give_the_same_answers() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_corpus(root, false);
    // More distinct words than one chunk of an answer holds (16,384
    // entries), so that the whole answer takes several requests.
    let many: Vec<String> = (0..12_000).map(|i| format!("w{i:05}")).collect();
    fs::write(root.join("many.txt"), many.join(" ")).unwrap();
    let walk = WalkOptions::default();
    let (paths, sequential) = reference(root, &walk);
    let builder = pprocess_exchange::Builder::new();
    let options = PoolOptions {
        workers: 2,
        batch: 3,
        delay: None,
        walk_threads: 1,
    };
    let files = Files::Walk {
        dir: root.to_owned(),
        options: walk,
    };
    let (mut pool, summary) = Pool::index_remote(files, &options, &builder, |_| {}).unwrap();
    assert_eq!(workers(&pool), children());
    assert_eq!(pool.workers().len(), 2);
    assert_eq!(summary.files, paths.len() - 1);
    assert_eq!(summary.entries, sequential.entries() as u64);
    for pattern in PATTERNS.iter().copied().chain(["", "w"]) {
        assert_eq!(
            pool.search(pattern).unwrap(),
            sequential.search(pattern),
            "{pattern:?}"
        );
    }
    assert_eq!(pool.measure("").unwrap().0, sequential.words());
    // A search the caller stops at its first word: the rest of every
    // stream is read, so the next search is in step.
    let mut seen = 0;
    let err = pool
        .for_each_match("", |_, _| {
            seen += 1;
            Err(io::Error::other("enough"))
        })
        .unwrap_err();
    assert_eq!((seen, err.to_string().as_str()), (1, "enough"));
    assert_eq!(pool.search("w").unwrap(), sequential.search("w"));
    // A worker killed after indexing is named by the pid it reported.
    let victim = pool.workers()[0];
    kill(nix::unistd::Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    let err = pool.search("w").unwrap_err();
    assert!(
        err.to_string().contains(&format!("worker {victim}")),
        "{err}"
    );
    drop(pool);
    assert_eq!(children(), [0; 0], "workers left behind");
}
