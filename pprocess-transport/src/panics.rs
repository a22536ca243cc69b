//! Panics in forked children.
//!
//! A child forked from a process with other threads inherits every lock
//! those threads held at that moment, for ever. The panic path is full of
//! them: the standard library's default hook takes a lock that serialises
//! panic output and backtraces, and a program's own hook may take a logger's
//! or a file's. A child that panicked while another thread of its parent was
//! printing a panic of its own would wait for ever in the hook, before its
//! panic could be caught and reported to the parent.
//!
//! So the first fork installs a hook of this library's, which keeps the hook
//! it replaces: in the parent (and any process not forked by this library)
//! it calls that hook; in a child forked by this library it writes the panic
//! (thread, place, message; no backtrace) straight to descriptor 2, taking
//! no lock, and the panic then reaches the parent as an
//! [`Error::Remote`](pprocess_core::Error::Remote) as always.
//!
//! A hook set after the first fork replaces this one, and children then run
//! it, with its hazards.

use std::io;
use std::panic::{self, PanicHookInfo};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set in a child right after the fork.
static IN_CHILD: AtomicBool = AtomicBool::new(false);

static INSTALL: Once = Once::new();

/// Installs the hook, once per process, before the first fork. Skipped by
/// a thread that is panicking (setting a hook then would panic); a later
/// fork installs it.
pub(crate) fn install_hook() {
    if INSTALL.is_completed() || std::thread::panicking() {
        return;
    }
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_CHILD.load(Ordering::Relaxed) {
                print_unlocked(info);
            } else {
                previous(info);
            }
        }));
    });
}

/// Marks this process as a child forked by the library.
pub(crate) fn entered_child() {
    IN_CHILD.store(true, Ordering::Relaxed);
}

/// Writes `thread '<name>' panicked at <place>:\n<message>` to descriptor
/// 2 with plain `write(2)` calls: no `Stderr` lock, no backtrace lock.
fn print_unlocked(info: &PanicHookInfo<'_>) {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let text = format!(
        "thread '{name}' in child process {} {info}\n",
        std::process::id()
    );
    let mut bytes = text.as_bytes();
    while !bytes.is_empty() {
        match nix::unistd::write(io::stderr(), bytes) {
            Ok(0) => return,
            Ok(n) => bytes = &bytes[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}
