//! Background processes started and collected through exchanges:
//! `Exchange::connect`, `PersistentQueue`, `background_queue`, and the
//! persistent managed API (`PersistentExchange::manage_persistent`,
//! `start_persistent`, `create_persistent`).
//!
//! The tests of this binary run one at a time (they count this process's
//! children); every address is in a fresh temporary directory; queues are
//! drained with a deadline, so a lost message fails a test instead of
//! hanging it.

mod util;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pprocess_exchange::{
    Background, Error, ExitStatus, Message, PersistentChannel, PersistentExchange, PersistentFork,
    PersistentQueue, Queue, RemoteKind, background_queue, start_persistent,
};

use util::{PATIENCE, my_children, my_zombies, serial};

/// A fresh directory under the system's temporary directory, removed with
/// everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        use std::os::unix::fs::DirBuilderExt;
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "pp-xpersistent-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .expect("create a temporary directory");
        TempDir(path)
    }

    fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }

    /// The names of what is in the directory, sorted.
    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .expect("read temporary directory")
            .map(|e| {
                e.expect("directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Waits for a background process to end, killing it (and failing the
/// test) if it has not ended within [`PATIENCE`].
#[track_caller]
fn finish(bg: &mut Background) -> ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = bg.try_wait().expect("waitpid") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = bg.kill();
            let _ = bg.wait();
            panic!("background process {} did not end", bg.pid());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every message of `queue` until it is finished, failing the test if that
/// takes longer than [`PATIENCE`].
#[track_caller]
fn drain<R: serde::de::DeserializeOwned>(queue: &mut Queue<R>) -> Vec<Message<R>> {
    let deadline = Instant::now() + PATIENCE;
    let mut got = Vec::new();
    loop {
        while let Some(m) = queue.handler_mut().pop() {
            got.push(m);
        }
        if !queue.unfinished() {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "queue unfinished after {PATIENCE:?} with {} messages",
            got.len()
        );
        queue.store(Some(Duration::from_millis(50))).unwrap();
    }
}

/// The results of [`drain`], which must all be values.
#[track_caller]
fn values<R: serde::de::DeserializeOwned>(queue: &mut Queue<R>) -> Vec<R> {
    drain(queue)
        .into_iter()
        .map(|m| m.result.expect("a value"))
        .collect()
}

/// Waits (in a background process) until `path` exists.
fn wait_for_file(path: &Path) -> pprocess_exchange::Result<()> {
    let deadline = Instant::now() + PATIENCE;
    while !path.exists() {
        if Instant::now() >= deadline {
            return Err(Error::Protocol(format!(
                "{} never appeared",
                path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

fn address(dir: &TempDir, i: usize) -> PathBuf {
    dir.join(format!("task-{i}.socket"))
}

#[test]
fn one_persistent_queue_collects_from_ten_background_processes() {
    let _serial = serial();
    let dir = TempDir::new();
    let mut daemons: Vec<Background> = (0..10)
        .map(|i| {
            start_persistent(address(&dir, i), move |ch: &mut PersistentChannel| {
                for k in 0..10 {
                    ch.send(&(i, k, i * 10 + k))?;
                }
                Ok::<(), Error>(())
            })
            .unwrap()
        })
        .collect();

    let mut queue = PersistentQueue::<(usize, usize, usize)>::new()
        .unwrap()
        .continuous(true);
    for i in 0..10 {
        queue.connect(address(&dir, i)).unwrap();
    }
    let got = values(&mut queue);
    assert_eq!(got.len(), 100);
    // Each background process's messages arrive in the order it sent them.
    for i in 0..10 {
        let mine: Vec<usize> = got
            .iter()
            .filter(|(from, _, _)| *from == i)
            .map(|&(_, k, v)| {
                assert_eq!(v, i * 10 + k);
                k
            })
            .collect();
        assert_eq!(mine, (0..10).collect::<Vec<_>>(), "from {i}");
    }

    for bg in &mut daemons {
        assert_eq!(finish(bg), ExitStatus::Exited(0));
    }
    assert_eq!(my_zombies(), []);
    assert_eq!(my_children(), []);
    assert_eq!(dir.entries(), Vec::<String>::new());
}

/// As pprocess's `simple_persistent_queue`: each background process sends
/// one result; the queue is not continuous.
#[test]
fn one_result_from_each_background_process() {
    let _serial = serial();
    let dir = TempDir::new();
    let mut daemons: Vec<Background> = (0..10)
        .map(|i| {
            start_persistent(address(&dir, i), move |ch: &mut PersistentChannel| {
                ch.send(&(i, vec![i; 3]))
            })
            .unwrap()
        })
        .collect();

    let mut queue = PersistentQueue::<(usize, Vec<usize>)>::new().unwrap();
    for i in 0..10 {
        queue.connect(address(&dir, i)).unwrap();
    }
    let messages = drain(&mut queue);
    let mut got: Vec<(usize, usize, Vec<usize>)> = messages
        .into_iter()
        .map(|m| {
            assert_eq!(
                m.pid, None,
                "a background process is not our child's channel"
            );
            let (i, row) = m.result.unwrap();
            (m.index, i, row)
        })
        .collect();
    got.sort();
    let expected: Vec<(usize, usize, Vec<usize>)> = (0..10).map(|i| (i, i, vec![i; 3])).collect();
    assert_eq!(got, expected, "each result carries its connection's index");

    for bg in &mut daemons {
        assert_eq!(finish(bg), ExitStatus::Exited(0));
    }
    assert_eq!(dir.entries(), Vec::<String>::new());
}

/// `connect` waits for the limit like any other work.
#[test]
fn connect_respects_the_limit() {
    let _serial = serial();
    let dir = TempDir::new();
    let mut daemons: Vec<Background> = (0..10)
        .map(|i| {
            start_persistent(address(&dir, i), move |ch: &mut PersistentChannel| {
                for k in 0..5 {
                    ch.send(&(i * 5 + k))?;
                }
                Ok::<(), Error>(())
            })
            .unwrap()
        })
        .collect();

    let mut queue = PersistentQueue::<usize>::new()
        .unwrap()
        .continuous(true)
        .limit(2);
    for i in 0..10 {
        queue.connect(address(&dir, i)).unwrap();
        assert!(
            queue.active() <= 2,
            "{} channels registered",
            queue.active()
        );
    }
    let mut got = values(&mut queue);
    got.sort();
    assert_eq!(got, (0..50).collect::<Vec<_>>());
    for bg in &mut daemons {
        assert_eq!(finish(bg), ExitStatus::Exited(0));
    }
}

/// A queue may connect before the background processes have anything to
/// send.
#[test]
fn a_queue_connected_early_waits_for_the_results() {
    let _serial = serial();
    let dir = TempDir::new();
    let go = dir.join("go");
    let mut daemons: Vec<Background> = (0..3)
        .map(|i| {
            let go = go.clone();
            start_persistent(address(&dir, i), move |ch: &mut PersistentChannel| {
                wait_for_file(&go)?;
                ch.send(&i)
            })
            .unwrap()
        })
        .collect();

    let mut queue = PersistentQueue::<usize>::new().unwrap();
    for i in 0..3 {
        queue.connect(address(&dir, i)).unwrap();
    }
    queue.store(Some(Duration::from_millis(50))).unwrap();
    assert!(queue.is_empty());
    assert!(queue.unfinished());
    fs::write(&go, b"").unwrap();

    let mut got = values(&mut queue);
    got.sort();
    assert_eq!(got, [0, 1, 2]);
    for bg in &mut daemons {
        assert_eq!(finish(bg), ExitStatus::Exited(0));
    }
}

#[test]
fn background_queue_collects_the_one_result() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let mut bg = start_persistent(&address, |ch: &mut PersistentChannel| {
        ch.send(&(0..100).collect::<Vec<u32>>())
    })
    .unwrap();

    let mut queue = background_queue::<Vec<u32>>(&address).unwrap();
    assert_eq!(values(&mut queue), [(0..100).collect::<Vec<u32>>()]);
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
    assert!(!address.exists());
}

#[test]
fn background_queue_collects_a_stream_in_order() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("task.socket");
    let mut bg = start_persistent(&address, |ch: &mut PersistentChannel| {
        for i in 0..300u32 {
            ch.send(&i)?;
        }
        Ok::<(), Error>(())
    })
    .unwrap();

    let mut queue = background_queue::<u32>(&address).unwrap().continuous(true);
    assert_eq!(values(&mut queue), (0..300).collect::<Vec<_>>());
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
}

#[test]
fn a_panic_in_a_background_process_reaches_the_queue() {
    let _serial = serial();
    let dir = TempDir::new();
    let mut good = start_persistent(address(&dir, 0), |ch: &mut PersistentChannel| {
        ch.send(&1u32)
    })
    .unwrap();
    let mut bad = start_persistent(
        address(&dir, 1),
        |_: &mut PersistentChannel| -> Result<(), Error> { panic!("the background task failed") },
    )
    .unwrap();

    let mut queue = PersistentQueue::<u32>::new().unwrap();
    queue.connect(address(&dir, 0)).unwrap();
    queue.connect(address(&dir, 1)).unwrap();
    let mut values = Vec::new();
    let mut errors = Vec::new();
    for m in drain(&mut queue) {
        match m.result {
            Ok(v) => values.push(v),
            Err(Error::Remote { pid, message, .. }) => errors.push((m.index, pid, message)),
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(values, [1]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let (index, pid, message) = &errors[0];
    assert_eq!((*index, *pid), (1, bad.pid()));
    assert!(
        message.contains("the background task failed"),
        "{message:?}"
    );

    assert_eq!(finish(&mut good), ExitStatus::Exited(0));
    assert_eq!(finish(&mut bad), ExitStatus::Exited(101));
    assert_eq!(dir.entries(), Vec::<String>::new());
}

#[test]
fn connecting_to_nothing_is_an_address_error() {
    let _serial = serial();
    let dir = TempDir::new();
    let mut queue = PersistentQueue::<u32>::new().unwrap();
    match queue.connect(dir.join("nobody.socket")) {
        Err(Error::Address { address, .. }) => assert!(address.ends_with("nobody.socket")),
        other => panic!("expected an address error, got {other:?}"),
    }
    assert!(matches!(
        background_queue::<u32>(dir.join("nobody.socket")),
        Err(Error::Address { .. })
    ));

    // A stale socket (its process was killed) is no better.
    let stale = dir.join("stale.socket");
    let mut bg = start_persistent(&stale, |ch: &mut PersistentChannel| ch.send(&1u32)).unwrap();
    bg.kill().unwrap();
    assert_eq!(finish(&mut bg), ExitStatus::Signaled(9));
    assert!(matches!(queue.connect(&stale), Err(Error::Address { .. })));

    // The queue is still usable.
    assert!(!queue.unfinished());
    assert_eq!(drain(&mut queue).len(), 0);
    assert_eq!(my_children(), []);
}

/// pprocess's `PersistentExchange.manage(address, MakeParallel(f))`: calls
/// started through one exchange, which is then dropped, are collected by
/// another, each result once, and nothing is left behind.
#[test]
fn managed_persistent_calls_are_collected_by_a_later_exchange() {
    let _serial = serial();
    let dir = TempDir::new();
    let exchange = PersistentExchange::<(usize, Vec<usize>)>::new()
        .unwrap()
        .limit(1);
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            exchange.manage_persistent(address(&dir, i), move |n: usize| {
                (i, (0..n).map(|k| i * 100 + k).collect())
            })
        })
        .collect();
    let mut daemons: Vec<Background> = tasks
        .iter()
        .enumerate()
        .map(|(i, task)| task.call(&exchange, i + 1).unwrap())
        .collect();
    drop(exchange);
    // The background processes outlive the exchange that started them.
    assert_eq!(dir.entries().len(), 4);

    let mut exchange = PersistentExchange::<(usize, Vec<usize>)>::new()
        .unwrap()
        .limit(1);
    let mut got = Vec::new();
    for task in &tasks {
        exchange.connect(task.address()).unwrap();
    }
    let deadline = Instant::now() + PATIENCE;
    while exchange.unfinished() {
        assert!(Instant::now() < deadline, "results did not arrive");
        exchange.store(Some(Duration::from_millis(50))).unwrap();
    }
    while let Some(m) = exchange.handler_mut().pop() {
        got.push(m.result.unwrap());
    }
    got.sort();
    let want: Vec<(usize, Vec<usize>)> = (0..4)
        .map(|i| (i, (0..=i).map(|k| i * 100 + k).collect()))
        .collect();
    assert_eq!(got, want);
    for bg in &mut daemons {
        assert_eq!(finish(bg), ExitStatus::Exited(0));
    }
    assert_eq!(my_zombies(), []);
    assert_eq!(my_children(), []);
    assert_eq!(dir.entries(), Vec::<String>::new());
}

/// A managed persistent call that panics reaches the collector as a remote
/// panic; a second call at an address still in use is refused.
#[test]
fn managed_persistent_failures_are_reported() {
    let _serial = serial();
    let dir = TempDir::new();
    let exchange = PersistentExchange::<u32>::new().unwrap();
    let task = exchange.manage_persistent(address(&dir, 0), |n: u32| {
        assert!(n < 10, "{n} is too big");
        n
    });
    let mut bg = task.call(&exchange, 11).unwrap();
    match task.call(&exchange, 1) {
        Err(Error::Address { .. }) => {}
        other => panic!("a second process at a busy address: {other:?}"),
    }

    let mut queue = Queue::<u32>::new().unwrap();
    queue.connect(task.address()).unwrap();
    let got = drain(&mut queue);
    assert_eq!(got.len(), 1);
    match &got[0].result {
        Err(Error::Remote { kind, message, .. }) => {
            assert_eq!(*kind, RemoteKind::Panic);
            assert!(message.contains("11 is too big"), "{message}");
        }
        other => panic!("expected a remote panic, got {other:?}"),
    }
    assert_eq!(finish(&mut bg), ExitStatus::Exited(101));
    assert_eq!(my_children(), []);
}

/// `PersistentExchange::start_persistent` and `create_persistent` use the
/// exchange's builder and leave the work for any exchange to collect.
#[test]
fn persistent_exchange_start_and_create() {
    let _serial = serial();
    let dir = TempDir::new();
    let exchange = PersistentExchange::<String>::new().unwrap();
    let mut started = exchange
        .start_persistent(address(&dir, 0), |ch: &mut PersistentChannel| {
            ch.send("started")
        })
        .unwrap();
    let mut created = match exchange.create_persistent(address(&dir, 1)).unwrap() {
        PersistentFork::Parent(bg) => bg,
        PersistentFork::Child(mut ch) => {
            let code = i32::from(ch.send("created").is_err());
            ch.exit(code)
        }
    };
    drop(exchange);

    let mut queue = PersistentQueue::<String>::new().unwrap();
    queue.connect(address(&dir, 0)).unwrap();
    queue.connect(address(&dir, 1)).unwrap();
    let mut got = values(&mut queue);
    got.sort();
    assert_eq!(got, ["created", "started"]);
    assert_eq!(finish(&mut started), ExitStatus::Exited(0));
    assert_eq!(finish(&mut created), ExitStatus::Exited(0));
    assert_eq!(my_children(), []);
    assert_eq!(dir.entries(), Vec::<String>::new());
}
