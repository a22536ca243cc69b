//! Helpers shared by the integration tests: raw frames, `/proc` probes for
//! leaked descriptors, zombies and memory, and waiting with a deadline.
//!
//! Each test binary pulls this in with `mod util;` and uses only some of it.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use pprocess_core::frame::encode_header;
use pprocess_core::{ExitStatus, FrameKind, Pid, Result};

pub mod persistent;

/// How long any test waits for something that should take milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Runs `f` on a thread of its own and returns its result, or panics if it
/// has not finished within `timeout`: a test whose code under test blocks
/// for ever fails instead of hanging (the stuck thread is abandoned).
pub fn within<T: Send + 'static>(timeout: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(timeout) {
        Ok(value) => value,
        // The sender was dropped without sending: `f` panicked.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the worker sends before it ends"),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("blocked for more than {timeout:?}")
        }
    }
}

/// `n` pseudo-random bytes (xorshift64*), the same for the same seed.
pub fn pseudo_random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(n);
    out
}

/// A frame as the library writes it: header, then `payload`.
pub fn frame(kind: FrameKind, payload: &[u8]) -> Vec<u8> {
    let mut bytes = encode_header(kind, payload.len())
        .expect("payload fits a frame")
        .to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

/// Writes `bytes` whole to a raw transport end (or anything else).
pub fn write_raw(w: &mut impl Write, bytes: &[u8]) {
    w.write_all(bytes).expect("raw write");
}

/// Waits until `fd` is readable (or hung up); `false` after `timeout`.
pub fn wait_readable(fd: BorrowedFd<'_>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => panic!("poll failed: {e}"),
        }
    }
}

/// Polls `try_wait` (a `Process::try_wait` or `Channel::try_wait`) until
/// the child ends or `timeout` passes. Returns `None` on timeout (the
/// caller decides what that means); never blocks longer than `timeout`
/// plus one short sleep.
pub fn wait_deadline(
    mut try_wait: impl FnMut() -> Result<Option<ExitStatus>>,
    timeout: Duration,
) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = try_wait().expect("waitpid") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// This process's open descriptors, each with what it points to, sorted.
pub fn open_fds() -> Vec<(i32, String)> {
    let mut fds: Vec<(i32, String)> = fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let fd: i32 = entry.file_name().to_str()?.parse().ok()?;
            let target = fs::read_link(entry.path())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "?".into());
            Some((fd, target))
        })
        .collect();
    fds.sort();
    fds
}

/// Parses `/proc/PID/stat`: (state, ppid). The command name may hold
/// spaces and parentheses, so the fields are read after the last `)`.
fn stat_state_and_ppid(stat: &str) -> Option<(char, Pid)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Pids of this process's children, with their state letter (`Z` for a
/// zombie), from `/proc/*/stat`.
pub fn children() -> Vec<(Pid, char)> {
    let me = nix::unistd::getpid().as_raw();
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<Pid>().ok())
        else {
            continue;
        };
        // A process may end between listing and reading: skip it.
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((state, ppid)) = stat_state_and_ppid(&stat) {
            if ppid == me {
                out.push((pid, state));
            }
        }
    }
    out.sort();
    out
}

/// Pids of this process's zombie children.
pub fn zombie_children() -> Vec<Pid> {
    children()
        .into_iter()
        .filter(|&(_, state)| state == 'Z')
        .map(|(pid, _)| pid)
        .collect()
}

/// This process's resident set size in bytes (`VmRSS` of
/// `/proc/self/status`).
pub fn rss_bytes() -> u64 {
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .expect("VmRSS line");
    kib * 1024
}
