//! `fork` and `_exit`.

use std::io;

use pprocess_core::Pid;

/// Which side of a `fork` we are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForkResult {
    /// The parent; the child's pid.
    Parent(Pid),
    /// The child.
    Child,
}

/// Forks the calling process.
///
/// Callers must, in the child, run only code that is sound in a process
/// whose other threads have vanished, and must end the child with
/// [`exit_now`] rather than returning into code that expects to be the
/// parent. `process::fork_locked` is the one caller and follows both rules.
pub(crate) fn fork() -> io::Result<ForkResult> {
    // SAFETY: `fork` itself has no preconditions; the hazards it creates
    // (locks held by vanished threads, code running twice) are the caller's
    // to manage, as documented above and in `process::fork_locked`, which
    // holds the library's only lock across the call and ends children with
    // `_exit`.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(ForkResult::Child),
        pid => Ok(ForkResult::Parent(pid)),
    }
}

/// Ends the calling process at once with `code`: no destructors, no
/// `atexit` handlers, no flushing of Rust's buffered stdio (flush first).
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` is async-signal-safe and takes any status; it never
    // returns, so no Rust invariant can be observed broken afterwards.
    unsafe { libc::_exit(code) }
}
