//! Threads and fork: how many threads this process has, and the warning
//! `start` and `create` give in debug builds when it has more than one.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the warning may still be given (cleared once it has been, or
/// when it is turned off).
static WARN: AtomicBool = AtomicBool::new(true);

/// Turns off (or back on) the warning that debug builds print, once per
/// process, when they fork while the process has more than one thread.
///
/// Forking a multi-threaded process is allowed — it is what a program does
/// that starts workers from a thread pool or an async runtime — but a
/// child may then wait for ever for a lock another thread held at the
/// moment of the fork. In debug builds the first such fork (by
/// [`start`](crate::start), [`create`](crate::create), an exchange, ...)
/// prints to standard error:
///
/// ```text
/// pprocess: warning: process 1234 forks while it has 3 threads: a lock another thread holds stays locked in the child for ever; start a ForkServer at the top of main (pprocess_transport::set_thread_warning(false) silences this)
/// ```
///
/// Release builds never print it, and never read the thread count.
///
/// # Examples
///
/// ```
/// // This program knows its threads hold no lock that children take.
/// pprocess_transport::set_thread_warning(false);
/// ```
pub fn set_thread_warning(enabled: bool) {
    WARN.store(enabled, Ordering::Relaxed);
}

/// In debug builds: prints the warning once if the process has more than
/// one thread. Called before every fork, before any lock is taken.
pub(crate) fn warn_if_threaded() {
    if !cfg!(debug_assertions) || !WARN.load(Ordering::Relaxed) {
        return;
    }
    let Some(n) = thread_count().filter(|&n| n > 1) else {
        return;
    };
    if WARN.swap(false, Ordering::Relaxed) {
        let _ = writeln!(
            io::stderr(),
            "pprocess: warning: process {} forks while it has {n} threads: a lock another \
             thread holds stays locked in the child for ever; start a ForkServer at the top \
             of main (pprocess_transport::set_thread_warning(false) silences this)",
            std::process::id()
        );
    }
}

/// The number of threads of this process (Linux: from `/proc/self/status`),
/// or `None` if it cannot be read. More than one means a forked child may
/// find a lock held for ever; see [`start`](crate::start)'s fork-safety notes.
#[must_use]
pub fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}
