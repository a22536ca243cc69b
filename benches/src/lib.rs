//! Shared helpers of the benchmarks: the raw socketpair + `fork` baseline
//! (the physical limit every channel number is compared with), CPU pinning,
//! the CPU-bound task of the peers, and the sizes of quick and full runs.
//!
//! This is the only place in the benchmarks with `unsafe`: `fork` and
//! `_exit` for the raw baseline.
#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::time::{Duration, Instant};

pub mod indexer;

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, setsockopt, socketpair, sockopt};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

/// Whether the run is a quick one (`PPROCESS_BENCH_QUICK=1`, set by
/// `benches/compare.sh --quick`): a few sizes are then smaller, and say so
/// in their names.
#[must_use]
pub fn quick() -> bool {
    std::env::var_os("PPROCESS_BENCH_QUICK").is_some_and(|v| v != "0")
}

/// An environment variable as a number, or `default`.
#[must_use]
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The socket buffer size of the bulk (1 MiB frame) cases, for the library
/// and the raw baseline alike.
pub const BULK_SOCKET_BUFFER: usize = 4 << 20;

/// Frames are prefixed with their length, as little-endian `u32`.
pub const RAW_PREFIX: usize = 4;

/// The raw baseline: a socketpair, a length prefix, `fork`, `_exit`,
/// `waitpid`. No serde, no registry, no frame kinds.
pub mod raw {
    use super::*;

    /// A connected `AF_UNIX` stream socketpair (close-on-exec), with both
    /// buffers set to `buffer` bytes if given.
    ///
    /// # Errors
    ///
    /// Any error of `socketpair(2)` or `setsockopt(2)`.
    pub fn socketpair_files(buffer: Option<usize>) -> io::Result<(File, File)> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        if let Some(size) = buffer {
            for fd in [&a, &b] {
                setsockopt(fd, sockopt::SndBuf, &size)?;
                setsockopt(fd, sockopt::RcvBuf, &size)?;
            }
        }
        Ok((File::from(a), File::from(b)))
    }

    /// Forks; the child runs `f` and ends with `_exit` and its return value
    /// (101 if it panicked), never returning into the caller. Returns the
    /// child's pid in the parent.
    ///
    /// Call it only while the process has one thread.
    ///
    /// # Errors
    ///
    /// Any error of `fork(2)`.
    pub fn fork_child<F: FnOnce() -> i32>(f: F) -> io::Result<Pid> {
        let _ = io::stdout().flush();
        let _ = io::stderr().flush();
        // SAFETY: the benchmarks call this from their only thread (criterion
        // measures on the main thread and no bench that forks this way starts
        // others), so no lock can be held by a thread that vanishes in the
        // child; the child never returns into the caller (it `_exit`s below).
        let pid = unsafe { libc::fork() };
        match pid {
            -1 => Err(io::Error::last_os_error()),
            0 => {
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
                exit_now(code)
            }
            pid => Ok(Pid::from_raw(pid)),
        }
    }

    /// Ends the calling process at once: no destructors, no `atexit`.
    pub fn exit_now(code: i32) -> ! {
        // SAFETY: `_exit` is async-signal-safe, takes any status and never
        // returns, so no Rust state can be observed afterwards.
        unsafe { libc::_exit(code) }
    }

    /// Waits for `pid` and returns its exit code (or `128 + signal`).
    ///
    /// # Errors
    ///
    /// Any error of `waitpid(2)`.
    pub fn wait(pid: Pid) -> io::Result<i32> {
        loop {
            match waitpid(pid, None) {
                Ok(WaitStatus::Exited(_, code)) => return Ok(code),
                Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
                Ok(_) => continue,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A frame as the raw baseline sends it: a 4-byte length, then the
    /// payload.
    ///
    /// # Panics
    ///
    /// If the payload is 4 GiB or more.
    #[must_use]
    pub fn frame(payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(RAW_PREFIX + payload.len());
        let len = u32::try_from(payload.len()).expect("payloads are below 4 GiB");
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(payload);
        v
    }

    /// Reads length-prefixed frames through a 64 KiB buffer (one `read`
    /// per 64 KiB of small frames; large payloads are read straight into
    /// the reused payload buffer), from a socket or any other byte stream
    /// (the shared-memory ring's raw baseline).
    #[derive(Debug)]
    pub struct FrameReader<S = File> {
        inner: BufReader<S>,
        payload: Vec<u8>,
    }

    impl<S: Read> FrameReader<S> {
        /// Wraps a socket (or another byte stream).
        #[must_use]
        pub fn new(file: S) -> Self {
            FrameReader {
                inner: BufReader::with_capacity(64 * 1024, file),
                payload: Vec::new(),
            }
        }

        /// Reads the next frame and returns its payload.
        ///
        /// # Errors
        ///
        /// Any read error; `UnexpectedEof` if the peer hung up.
        pub fn next_frame(&mut self) -> io::Result<&[u8]> {
            let mut prefix = [0; RAW_PREFIX];
            self.inner.read_exact(&mut prefix)?;
            let len = u32::from_le_bytes(prefix) as usize;
            self.payload.resize(len, 0);
            self.inner.read_exact(&mut self.payload)?;
            Ok(&self.payload)
        }

        /// The socket, to write replies to.
        pub fn get_mut(&mut self) -> &mut S {
            self.inner.get_mut()
        }
    }
}

/// CPU pinning, for round trips measured on one CPU or across two.
pub mod pin {
    use super::*;

    /// The CPUs this process may run on.
    ///
    /// # Errors
    ///
    /// Any error of `sched_getaffinity(2)`.
    pub fn current() -> io::Result<CpuSet> {
        Ok(sched_getaffinity(Pid::from_raw(0))?)
    }

    /// The indices of the CPUs in `set`.
    #[must_use]
    pub fn cpus(set: &CpuSet) -> Vec<usize> {
        (0..CpuSet::count())
            .filter(|&i| set.is_set(i).unwrap_or(false))
            .collect()
    }

    /// Pins the calling process (and children it forks later) to one CPU.
    ///
    /// # Errors
    ///
    /// Any error of `sched_setaffinity(2)`.
    pub fn to_cpu(cpu: usize) -> io::Result<()> {
        let mut set = CpuSet::new();
        set.set(cpu)?;
        set_all(&set)
    }

    /// Sets the calling process's CPU set.
    ///
    /// # Errors
    ///
    /// Any error of `sched_setaffinity(2)`.
    pub fn set_all(set: &CpuSet) -> io::Result<()> {
        Ok(sched_setaffinity(Pid::from_raw(0), set)?)
    }

    /// How the two processes of a round trip are placed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Placement {
        /// Both on the first CPU.
        OneCpu,
        /// The parent on the first CPU, the child on the second.
        TwoCpus,
    }

    impl Placement {
        /// A short name for benchmark ids.
        #[must_use]
        pub fn name(self) -> &'static str {
            match self {
                Placement::OneCpu => "1cpu",
                Placement::TwoCpus => "2cpu",
            }
        }

        /// The placements this machine allows.
        #[must_use]
        pub fn available() -> Vec<Placement> {
            let n = current().map(|s| cpus(&s).len()).unwrap_or(1);
            if n >= 2 {
                vec![Placement::OneCpu, Placement::TwoCpus]
            } else {
                vec![Placement::OneCpu]
            }
        }
    }

    /// Runs `f` with the parent pinned as `placement` says, restoring the
    /// CPU set afterwards. `f` gets the CPU the child must pin itself to
    /// (`None`: it inherits the parent's).
    ///
    /// # Errors
    ///
    /// Any error of the affinity calls.
    pub fn with_placement<T>(
        placement: Placement,
        f: impl FnOnce(Option<usize>) -> T,
    ) -> io::Result<T> {
        let saved = current()?;
        let all = cpus(&saved);
        to_cpu(all[0])?;
        let child_cpu = match placement {
            Placement::OneCpu => None,
            Placement::TwoCpus => all.get(1).copied(),
        };
        let out = f(child_cpu);
        set_all(&saved)?;
        Ok(out)
    }
}

/// The CPU-bound task of the peers (`anchor_common.py`'s `cpu_task`):
/// xorshift64 with a modular accumulate, `iters` rounds.
#[must_use]
pub fn cpu_task(seed: u64, iters: u64) -> u64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut acc: u64 = 0;
    for _ in 0..iters {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc = acc.wrapping_add(x % 1_000_003);
    }
    acc
}

/// Finds the number of `cpu_task` rounds that take about `target` on this
/// machine (median of a few timed runs).
#[must_use]
#[allow(
    clippy::cast_possible_truncation,
    reason = "a positive count of iterations, saturated by `as`"
)]
pub fn calibrate_cpu_iters(target: Duration) -> u64 {
    let probe = 200_000u64;
    let mut times: Vec<Duration> = (0..7)
        .map(|i| {
            let t = Instant::now();
            std::hint::black_box(cpu_task(std::hint::black_box(i), probe));
            t.elapsed()
        })
        .collect();
    times.sort();
    let per_iter = times[times.len() / 2].as_secs_f64() / probe as f64;
    ((target.as_secs_f64() / per_iter) as u64).max(1)
}

/// A 64-byte (or any size) payload of one repeated byte.
#[must_use]
pub fn payload(len: usize) -> Vec<u8> {
    vec![0xab; len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_task_matches_the_python_peer() {
        // Values of anchor_common.cpu_task(seed, iters) in CPython.
        assert_eq!(cpu_task(3, 1000), 512_769_674);
        assert_eq!(cpu_task(0, 9800), 4_897_556_356);
        assert_eq!(cpu_task(199, 17), 9_817_088);
    }
}
