//! Helpers of the background-process tests: temporary directories for
//! addresses, waiting with deadlines, and message ranges.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use pprocess_transport::{Background, Channel, Error, ExitStatus, PersistentChannel, Pid};

use super::{PATIENCE, wait_deadline};

/// One test at a time: they count this process's children.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fresh directory under the system's temporary directory, removed with
/// everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        use std::os::unix::fs::DirBuilderExt;
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "pp-persistent-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        // A leftover of an earlier run with the same pid goes first.
        let _ = fs::remove_dir_all(&path);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .expect("create a temporary directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }

    /// The names of what is in the directory, sorted.
    pub fn entries(&self) -> Vec<String> {
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

/// Polls `condition` every millisecond until it holds or `timeout` passes;
/// says whether it held.
pub fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits (in a background process) until `path` exists: the test's signal
/// to go on. Fails the background function if it never comes.
pub fn wait_for_file(path: &Path) -> pprocess_transport::Result<()> {
    if eventually(PATIENCE, || path.exists()) {
        Ok(())
    } else {
        Err(Error::Protocol(format!(
            "{} never appeared",
            path.display()
        )))
    }
}

/// Waits for a background process to end, killing it (and failing the
/// test) if it has not ended within [`PATIENCE`].
#[track_caller]
pub fn finish(bg: &mut Background) -> ExitStatus {
    match wait_deadline(|| bg.try_wait(), PATIENCE) {
        Some(status) => status,
        None => {
            let _ = bg.kill();
            let _ = bg.wait();
            panic!("background process {} did not end", bg.pid());
        }
    }
}

/// Receives `u32`s until the background process hangs up.
pub fn receive_all(ch: &mut Channel) -> Vec<u32> {
    let mut got = Vec::new();
    loop {
        match ch.receive_timeout::<u32>(PATIENCE) {
            Ok(v) => got.push(v),
            Err(e) if e.is_closed() => return got,
            Err(e) => panic!("after {} messages: {e}", got.len()),
        }
    }
}

/// Sends `range` one message at a time.
pub fn send_range(
    ch: &mut PersistentChannel,
    range: std::ops::RangeInclusive<u32>,
) -> pprocess_transport::Result<()> {
    for i in range {
        ch.send(&i)?;
    }
    Ok(())
}

#[track_caller]
pub fn assert_address_error(
    result: pprocess_transport::Result<impl std::fmt::Debug>,
    needle: &str,
) {
    match result {
        Err(e @ Error::Address { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains(needle),
                "{text:?} does not mention {needle:?}"
            );
        }
        other => panic!("expected an address error mentioning {needle:?}, got {other:?}"),
    }
}

/// `/proc/PID/stat`'s state letter and parent, or `None` once it is gone.
pub fn state_and_parent(pid: Pid) -> Option<(char, Pid)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}
