//! Work over MPI ranks: rank 0 runs the program and relays its workers'
//! channels to the other ranks, which serve tasks until rank 0 ends.
//!
//! One thread owns MPI in every rank: the thread `init` starts, which
//! calls `MPI_Init_thread` (`MPI_THREAD_FUNNELED`: only it calls MPI). On
//! rank 0 it is the bridge ([`crate::bridge`]); on the other ranks it
//! serves, and the main thread waits for it and ends the process. Neither
//! side ever forks.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, Destination, Root, Source};
use pprocess_core::{Error, Result};
use pprocess_transport::ProgramKey;

use crate::bridge::{self, SPIN};
use crate::pool::{Pool, RankSpawner};
use crate::{sys, wire};

/// Stack of the thread that owns MPI, where the other ranks run the work
/// (as large as a main thread's usual 8 MiB, and then some).
const STACK: usize = 16 << 20;

/// The longest sleep between polls of a waiting rank.
const MAX_NAP: Duration = Duration::from_millis(1);

/// Rank 0's view of the job: the pool of ranks and the bridge thread.
#[derive(Debug)]
pub(crate) struct Ranks {
    size: usize,
    pool: Arc<Pool>,
    thread: Option<JoinHandle<()>>,
}

/// Waits for a message (tag `tag`, or any) from any rank, polling without
/// blocking and napping between polls once `SPIN` has passed, so that a
/// rank that waits does not take a core from ranks that compute.
fn wait_message(
    world: &SimpleCommunicator,
    tag: Option<i32>,
) -> (Vec<u8>, mpi::point_to_point::Status) {
    let start = Instant::now();
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
        if start.elapsed() > SPIN {
            std::thread::sleep(nap);
            nap = (nap * 2).min(MAX_NAP);
        } else {
            // On a host with more ranks than cores, the rank that holds
            // the core it waits on gets it first.
            std::thread::yield_now();
        }
    }
}

/// What the MPI thread tells `init` once MPI is up.
enum Role {
    /// Rank 0 of a job of `size` ranks, and its pool of ranks.
    Root { size: usize, pool: Arc<Pool> },
    /// Another rank: it serves; `init` waits for the thread and ends.
    Worker,
}

/// Initialises MPI on a thread of its own. On rank 0, returns its view of
/// the job; on the other ranks, serves tasks until rank 0 ends, then ends
/// the process.
pub(crate) fn init() -> Result<Ranks> {
    let poll = mio::Poll::new()?;
    let waker = Arc::new(mio::Waker::new(poll.registry(), bridge::WAKER)?);
    let (tell, told) = mpsc::channel::<Result<Role>>();
    let thread = std::thread::Builder::new()
        .name("pprocess-mpi".into())
        .stack_size(STACK)
        .spawn(move || mpi_thread(poll, waker, &tell))?;
    let role = told.recv().unwrap_or_else(|_| {
        Err(Error::Protocol(
            "the mpi thread ended before it said which rank this is".into(),
        ))
    });
    match role {
        Ok(Role::Root { size, pool }) => Ok(Ranks {
            size,
            pool,
            thread: Some(thread),
        }),
        Ok(Role::Worker) => {
            // A rank other than 0 is a program of its own, started by the
            // launcher (not a forked child): once its MPI thread has
            // served and finalised MPI, it ends as a program does.
            let _ = thread.join();
            std::process::exit(0)
        }
        Err(e) => {
            let _ = thread.join();
            Err(e)
        }
    }
}

/// The thread that owns MPI.
fn mpi_thread(poll: mio::Poll, waker: Arc<mio::Waker>, tell: &mpsc::Sender<Result<Role>>) {
    let Some((universe, _threading)) = mpi::initialize_with_threading(mpi::Threading::Funneled)
    else {
        let _ = tell.send(Err(Error::Protocol("MPI is already initialized".into())));
        return;
    };
    let world = universe.world();
    let rank = world.rank();
    let size = usize::try_from(world.size()).unwrap_or(1);
    let mine = match wire::exe_fingerprint() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("pprocess-mpi: rank {rank}: cannot read its executable: {e}");
            world.abort(2);
        }
    };
    let mut hello = [0u8; wire::HELLO_LEN];
    if rank == 0 {
        hello = wire::hello(ProgramKey::current().to_bytes(), mine);
    }
    world.process_at_rank(0).broadcast_into(&mut hello[..]);
    if rank == 0 {
        let wake = Arc::clone(&waker);
        let pool = Arc::new(Pool::new(size, move || {
            let _ = wake.wake();
        }));
        let _ = tell.send(Ok(Role::Root {
            size,
            pool: Arc::clone(&pool),
        }));
        bridge::run(&world, &pool, poll);
        pool.close();
        return;
    }
    let (key, theirs) = wire::read_hello(&hello);
    if let Err(e) = sys::adopt_rank0_key(key, theirs, mine) {
        eprintln!("pprocess-mpi: rank {rank}: {e}");
        world.abort(2);
    }
    let _ = tell.send(Ok(Role::Worker));
    serve(&world);
}

/// A worker rank's loop: run each task, answer rank 0 with the reply
/// frame, until told to stop.
fn serve(world: &SimpleCommunicator) {
    let pid = wire::this_pid();
    let zero = world.process_at_rank(0);
    loop {
        let (task, status) = wait_message(world, None);
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
        let reply = wire::answer(&task, pid);
        zero.send_with_tag(&reply[..], wire::REPLY);
    }
}

impl Ranks {
    /// Ranks in the job, rank 0 included.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The spawner of the cluster's builders.
    pub(crate) fn spawner(&self) -> RankSpawner {
        RankSpawner(Arc::clone(&self.pool))
    }
}

impl Drop for Ranks {
    fn drop(&mut self) {
        self.pool.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
