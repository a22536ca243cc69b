//! Rank 0's bridge: the thread that owns MPI relays between each worker's
//! end of its channel (a [`Session`], over the builder's transport) and the
//! rank that serves it, so that the caller's end is an
//! ordinary channel an `Exchange` waits on with mio.
//!
//! The loop: take the pool's commands (new sessions, stop), receive the
//! ranks' replies (a non-blocking probe), read what callers sent, send
//! each idle rank its next task, write replies out, free the ranks of
//! sessions that ended. It spins for [`SPIN`] after the last event; then,
//! while no rank holds a task, it blocks in `epoll_wait` (a caller's write
//! or the pool's waker wakes it), and while one does, it sleeps between
//! polls of MPI, from 20 µs up to [`MAX_NAP`].

use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, Destination, Source};
use pprocess_core::Transport;

use crate::pool::{Command, Pool};
use crate::relay::Session;
use crate::wire;

/// How long a waiting rank (and the bridge) polls without sleeping after its last message.
pub(crate) const SPIN: Duration = Duration::from_micros(200);

/// The token of the pool's waker.
pub(crate) const WAKER: Token = Token(usize::MAX);

/// The longest sleep between polls of MPI while a rank holds a task.
const MAX_NAP: Duration = Duration::from_micros(250);

/// A session and the rank it holds (none once it is done with it and only
/// writes what is left).
struct Live {
    session: Session,
    rank: Option<usize>,
    watched: Watched,
}

/// A session's descriptors and what to wait for on each: one socket, or
/// (pipes, shared memory) a read side and a write side, the latter
/// readable when there is room if the transport says so (a
/// shared-memory doorbell).
type Watched = Vec<(RawFd, Interest)>;

fn watch(end: &dyn Transport) -> Watched {
    let read = end.read_fd().as_raw_fd();
    let write = end.write_fd().as_raw_fd();
    let room = if end.room_is_readable() {
        Interest::READABLE
    } else {
        Interest::WRITABLE
    };
    if read == write {
        vec![(read, Interest::READABLE | room)]
    } else {
        vec![(read, Interest::READABLE), (write, room)]
    }
}

/// Registers a session's descriptors: slot `s` owns tokens `2s` and
/// `2s + 1`.
fn register(registry: &Registry, watched: &Watched, slot: usize) -> std::io::Result<()> {
    for (i, &(fd, interest)) in watched.iter().enumerate() {
        registry.register(&mut SourceFd(&fd), Token(2 * slot + i), interest)?;
    }
    Ok(())
}

fn deregister(registry: &Registry, watched: &Watched) {
    for (fd, _) in watched {
        let _ = registry.deregister(&mut SourceFd(fd));
    }
}

/// Runs the bridge until the pool asks it to stop; then tells every rank
/// to stop.
pub(crate) fn run(world: &SimpleCommunicator, pool: &Pool, mut poll: Poll) {
    let size = usize::try_from(world.size()).unwrap_or(1);
    let pid = wire::this_pid();
    let mut slots: Vec<Option<Live>> = Vec::new();
    let mut by_rank: Vec<Option<usize>> = vec![None; size];
    let mut events = Events::with_capacity(256);
    let mut stopping = false;
    let mut last_event = Instant::now();
    let mut nap = Duration::from_micros(20);
    loop {
        let mut progress = false;
        let (commands, ticket) = pool.take();
        for command in commands {
            match command {
                Command::Open {
                    rank,
                    func,
                    end,
                    max_frame,
                } => {
                    progress = true;
                    let Ok(session) = Session::new(end, func, max_frame) else {
                        pool.release(rank, closing(&slots));
                        continue;
                    };
                    let slot = slots.iter().position(Option::is_none).unwrap_or_else(|| {
                        slots.push(None);
                        slots.len() - 1
                    });
                    let watched = watch(session.end());
                    if register(poll.registry(), &watched, slot).is_err() {
                        deregister(poll.registry(), &watched);
                        pool.release(rank, closing(&slots));
                        continue;
                    }
                    if rank != 0 {
                        by_rank[rank] = Some(slot);
                    }
                    let mut live = Live {
                        session,
                        rank: Some(rank),
                        watched,
                    };
                    // The caller may have written before it was registered.
                    live.session.read();
                    slots[slot] = Some(live);
                }
                Command::Stop => stopping = true,
            }
        }
        if ticket.is_some() {
            for live in slots.iter_mut().flatten() {
                live.session.read();
            }
        }
        while let Some(matched) = world
            .any_process()
            .immediate_matched_probe_with_tag(wire::REPLY)
        {
            let (reply, status) =
                mpi::point_to_point::MatchedReceiveVec::matched_receive_vec(matched);
            progress = true;
            let rank = usize::try_from(status.source_rank()).unwrap_or(0);
            if let Some(Some(live)) = by_rank
                .get(rank)
                .copied()
                .flatten()
                .and_then(|slot| slots.get_mut(slot))
            {
                live.session.reply(reply);
            }
        }
        for slot in 0..slots.len() {
            let Some(live) = slots[slot].as_mut() else {
                continue;
            };
            if let Some(rank) = live.rank {
                while let Some(task) = live.session.next_task() {
                    progress = true;
                    if rank == 0 {
                        // A job of one rank: rank 0 works itself.
                        live.session.reply(wire::answer(&task, pid));
                    } else {
                        world
                            .process_at_rank(i32::try_from(rank).unwrap_or(0))
                            .send_with_tag(&task[..], wire::TASK);
                    }
                    live.session.recycle(task);
                }
            }
            live.session.flush();
            if live.session.is_done_with_rank() {
                if let Some(rank) = live.rank.take() {
                    if rank != 0 {
                        by_rank[rank] = None;
                    }
                    let closing = closing(&slots);
                    pool.release(rank, closing);
                }
            }
            if let Some(live) = slots[slot].as_ref() {
                if live.session.is_finished() {
                    deregister(poll.registry(), &live.watched);
                    slots[slot] = None;
                }
            }
        }
        if let Some(ticket) = ticket {
            pool.answered(ticket, closing(&slots));
        }
        let inflight = slots.iter().flatten().any(|l| l.session.is_inflight());
        if stopping && !inflight {
            for r in 1..world.size() {
                world
                    .process_at_rank(r)
                    .send_with_tag(&[0u8; 0][..], wire::STOP);
            }
            return;
        }
        if progress {
            last_event = Instant::now();
            nap = Duration::from_micros(20);
        }
        // Spinning a while after the last event saves a thread wake-up
        // (several microseconds) on each message of a busy exchange.
        let timeout = if progress {
            Some(Duration::ZERO)
        } else if last_event.elapsed() < SPIN {
            // Let a thread that waits for this core (the caller, woken by
            // a reply) run first.
            std::thread::yield_now();
            Some(Duration::ZERO)
        } else if !inflight && !stopping {
            None
        } else {
            std::thread::sleep(nap);
            nap = (nap * 2).min(MAX_NAP);
            Some(Duration::ZERO)
        };
        if poll.poll(&mut events, timeout).is_err() {
            continue;
        }
        for event in &events {
            if event.token() == WAKER {
                continue;
            }
            if let Some(Some(live)) = slots.get_mut(event.token().0 / 2) {
                progress = true;
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    live.session.read();
                }
            }
        }
        if progress {
            last_event = Instant::now();
        }
    }
}

/// Ranks that still compute a task for a caller that has gone.
fn closing(slots: &[Option<Live>]) -> usize {
    slots
        .iter()
        .flatten()
        .filter(|l| l.rank.is_some() && l.session.is_gone() && l.session.is_inflight())
        .count()
}
