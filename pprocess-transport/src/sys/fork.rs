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

/// In a freshly forked child: asks the kernel to `SIGKILL` this process
/// when the thread that forked it ends (`PR_SET_PDEATHSIG`), and ends at
/// once if the parent `parent` is already gone (it may have died between
/// the fork and the `prctl`).
///
/// Linux sends the signal when the forking *thread* exits, not the whole
/// process: callers document that children must be forked from a thread
/// that outlives them.
pub(crate) fn die_with_parent(parent: Pid) {
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    if nix::unistd::getppid().as_raw() != parent {
        exit_now(137);
    }
}

/// A `pidfd` for `pid` (Linux 5.3 and later): readable once the process
/// has ended, so an end can be waited for with `poll(2)` and a timeout.
pub(crate) fn pidfd_open(pid: Pid) -> io::Result<std::os::fd::OwnedFd> {
    // SAFETY: `pidfd_open(2)` takes a pid and flags (0) and returns a new
    // descriptor or -1; it reads no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = std::os::fd::RawFd::try_from(fd).map_err(io::Error::other)?;
    Ok(super::own_fd(fd))
}

/// Forks the calling process like [`fork`], except that the new process is
/// a child of the caller's *parent* (Linux's `clone(CLONE_PARENT)`): the
/// fork server makes its workers this way, so that they are children of
/// the program that asked for them, which waits for them, reaps them and
/// gets their `SIGCHLD`, exactly as for a child it forked itself.
///
/// Only the fork server calls it, and only while it has a single thread:
/// the raw system call skips the C library's `fork` bookkeeping (its
/// `atfork` handlers, which reset locks that other threads could hold, and
/// the thread's cached id in the thread control block), which has nothing
/// to do in a process with one thread that holds no lock. The child must
/// end with [`exit_now`].
pub(crate) fn fork_sibling() -> io::Result<ForkResult> {
    let flags = (libc::CLONE_PARENT | libc::SIGCHLD) as libc::c_ulong;
    // SAFETY: `clone` with no new stack and no `CLONE_VM` duplicates the
    // process like `fork`: the child gets a copy of the address space,
    // running on its copy of this stack. The remaining arguments (parent
    // and child tid pointers, TLS) are unused without the flags that read
    // them, so zeros are valid in any order the architecture uses. The
    // hazards of skipping glibc's `fork` wrapper are the caller's, as
    // documented above: the fork server has one thread and holds no lock.
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(ForkResult::Child),
        #[allow(
            clippy::cast_possible_truncation,
            reason = "clone(2) returns a pid_t, widened to a long by syscall(2)"
        )]
        pid => Ok(ForkResult::Parent(pid as Pid)),
    }
}
