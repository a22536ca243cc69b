//! Work over MPI ranks: rank 0 runs the program and hands out tasks; every
//! other rank serves them until rank 0 ends.
//!
//! One thread owns MPI: the thread that called `init` (the main thread).
//! Neither side ever forks. Rank 0 sends a rank its next task only after
//! that rank has answered the previous one, so two large messages never
//! wait on each other (MPI's rendezvous sends would deadlock otherwise).

use std::time::Duration;

use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, Destination, Root, Source};
use pprocess_core::{Error, Pid, Result};
use pprocess_transport::{MessagePack, ProgramKey, RemoteFn};

use crate::wire;

/// Empty probes before a waiting rank starts to sleep between probes.
const SPINS: u32 = 64;

/// The longest sleep between probes of a waiting rank.
const MAX_NAP: Duration = Duration::from_millis(1);

/// Rank 0's view of the job.
pub(crate) struct Ranks {
    world: SimpleCommunicator,
    // Dropped last: finalizes MPI.
    _universe: Universe,
}

impl std::fmt::Debug for Ranks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranks")
            .field("size", &self.world.size())
            .finish_non_exhaustive()
    }
}

/// Waits for a message (tag `tag`, or any) from `source` (or any rank),
/// probing without blocking and napping between probes, so that a rank
/// that waits does not take a core from ranks that compute.
fn wait_message(
    world: &SimpleCommunicator,
    tag: Option<i32>,
) -> (Vec<u8>, mpi::point_to_point::Status) {
    let mut empty = 0u32;
    let mut nap = Duration::from_micros(20);
    loop {
        let any = world.any_process();
        let probed = match tag {
            Some(t) => any.immediate_matched_probe_with_tag(t),
            None => any.immediate_matched_probe(),
        };
        if let Some(matched) = probed {
            return mpi::point_to_point::MatchedReceiveVec::matched_receive_vec(matched);
        }
        empty += 1;
        if empty > SPINS {
            std::thread::sleep(nap);
            nap = (nap * 2).min(MAX_NAP);
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Initialises MPI. On rank 0, returns its view of the job; on the other
/// ranks, serves tasks until rank 0 ends, then ends the process.
pub(crate) fn init() -> Result<Ranks> {
    let Some((universe, _threading)) = mpi::initialize_with_threading(mpi::Threading::Funneled)
    else {
        return Err(Error::Protocol("MPI is already initialized".into()));
    };
    let world = universe.world();
    let rank = world.rank();
    let root = world.process_at_rank(0);
    let mine = wire::exe_fingerprint()?;
    let mut hello = [0u8; wire::HELLO_LEN];
    if rank == 0 {
        hello = wire::hello(ProgramKey::current().to_bytes(), mine);
    }
    root.broadcast_into(&mut hello[..]);
    if rank == 0 {
        return Ok(Ranks {
            world,
            _universe: universe,
        });
    }
    let (key, theirs) = wire::read_hello(&hello);
    if theirs != mine {
        eprintln!(
            "pprocess-mpi: rank {rank} runs another executable than rank 0 (fingerprint {mine:#x}, not {theirs:#x})"
        );
        world.abort(2);
    }
    if let Err(e) = ProgramKey::adopt(key) {
        eprintln!("pprocess-mpi: rank {rank}: {e}");
        world.abort(2);
    }
    serve(&world);
    drop(world);
    drop(universe);
    // A rank other than 0 is a program of its own, started by the launcher
    // (not a forked child): once MPI is finalised it ends as a program does.
    std::process::exit(0)
}

/// This process's pid (this crate does not depend on nix for `getpid`).
#[allow(
    clippy::cast_possible_wrap,
    reason = "pids are below pid_max, at most 2^22 on Linux, so they fit in an i32"
)]
fn this_pid() -> Pid {
    std::process::id() as Pid
}

/// Rank `r` as MPI numbers it.
fn rank(r: usize) -> i32 {
    i32::try_from(r).expect("a rank is below the world's size, which is an i32")
}

/// A worker rank's loop: run each task, answer rank 0, until told to stop.
fn serve(world: &SimpleCommunicator) {
    let pid = this_pid();
    let zero = world.process_at_rank(0);
    let mut out = Vec::new();
    loop {
        let (bytes, status) = wait_message(world, None);
        match status.tag() {
            wire::STOP => return,
            wire::TASK => {}
            other => {
                eprintln!(
                    "pprocess-mpi: rank {}: unexpected message tag {other}",
                    world.rank()
                );
                world.abort(3);
            }
        }
        out.clear();
        let reply = match wire::split_task(&bytes)
            .and_then(|(func, args)| Ok((RemoteFn::<MessagePack>::from_bytes(func)?, args)))
        {
            Ok((func, args)) => match func.invoke(args, &mut out) {
                Ok(()) => wire::reply(Ok(&out)),
                Err(failure) => wire::reply(Err((&failure, pid))),
            },
            Err(e) => {
                let failure = pprocess_transport::Failure {
                    panicked: false,
                    message: e.to_string(),
                };
                wire::reply(Err((&failure, pid)))
            }
        };
        zero.send_with_tag(&reply[..], wire::REPLY);
    }
}

impl Ranks {
    /// Ranks in the job, rank 0 included.
    pub(crate) fn size(&self) -> usize {
        self.world.size() as usize
    }

    /// Runs each task (a remote function and its encoded arguments) on the
    /// worker ranks, and returns each one's encoded result, in task order.
    /// With no worker rank, rank 0 runs them itself.
    pub(crate) fn run(
        &self,
        func: RemoteFn<MessagePack>,
        tasks: Vec<Vec<u8>>,
    ) -> Vec<Result<Vec<u8>>> {
        let n = tasks.len();
        let mut results: Vec<Option<Result<Vec<u8>>>> = (0..n).map(|_| None).collect();
        if self.size() < 2 {
            let pid = this_pid();
            for (slot, args) in results.iter_mut().zip(&tasks) {
                let mut out = Vec::new();
                *slot = Some(match func.invoke(args, &mut out) {
                    Ok(()) => Ok(out),
                    Err(f) => Err(Error::Remote {
                        pid,
                        kind: if f.panicked {
                            pprocess_core::RemoteKind::Panic
                        } else {
                            pprocess_core::RemoteKind::Error
                        },
                        message: f.message,
                        source: None,
                    }),
                });
            }
            return results.into_iter().flatten().collect();
        }
        let wire_func = func.to_bytes();
        let mut next = tasks.into_iter().enumerate();
        // Which task each rank holds (one at a time: see the module docs).
        let mut held: Vec<Option<usize>> = vec![None; self.size()];
        for (r, slot) in held.iter_mut().enumerate().skip(1) {
            if let Some((i, args)) = next.next() {
                self.world
                    .process_at_rank(rank(r))
                    .send_with_tag(&wire::task(&wire_func, &args)[..], wire::TASK);
                *slot = Some(i);
            }
        }
        let mut outstanding = held.iter().flatten().count();
        while outstanding > 0 {
            let (bytes, status) = wait_message(&self.world, Some(wire::REPLY));
            let r = status.source_rank() as usize;
            let Some(i) = held.get_mut(r).and_then(Option::take) else {
                continue;
            };
            outstanding -= 1;
            results[i] = Some(wire::read_reply(&bytes).map(<[u8]>::to_vec));
            if let Some((j, args)) = next.next() {
                self.world
                    .process_at_rank(rank(r))
                    .send_with_tag(&wire::task(&wire_func, &args)[..], wire::TASK);
                held[r] = Some(j);
                outstanding += 1;
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::Protocol("no reply for a task".into()))))
            .collect()
    }
}

impl Drop for Ranks {
    fn drop(&mut self) {
        for r in 1..self.world.size() {
            self.world
                .process_at_rank(r)
                .send_with_tag(&[0u8; 0][..], wire::STOP);
        }
    }
}
