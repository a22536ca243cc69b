//! Which ranks are free, shared between the threads that start workers
//! ([`RankSpawner`], called by `Builder::start_fn`) and the bridge thread
//! that owns MPI. No MPI here: the bridge is told what to do through
//! [`Command`]s and woken by a `mio::Waker`.

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use pprocess_core::{Error, Result, Transport};
use pprocess_transport::Spawner;

use crate::wire::FUNC_LEN;

/// What the bridge is asked to do.
#[derive(Debug)]
pub(crate) enum Command {
    /// Relay between `end` and `rank` for the function `func`.
    Open {
        rank: usize,
        func: [u8; FUNC_LEN],
        end: Box<dyn Transport>,
        max_frame: usize,
    },
    /// Answer the outstanding ranks, tell every rank to stop, and end.
    Stop,
}

#[derive(Debug, Default)]
struct State {
    /// Ranks that hold no session.
    free: Vec<usize>,
    /// No rank but 0: every worker runs on the bridge thread (rank 0).
    local: bool,
    commands: Vec<Command>,
    /// Ranks whose caller has gone but that still compute its task: they
    /// will be free without anyone's help.
    closing: usize,
    /// Requests for the bridge to look for callers that have gone, and how
    /// many it answered.
    asked: u64,
    answered: u64,
    /// The bridge has ended.
    gone: bool,
}

/// The ranks' bookkeeping.
pub(crate) struct Pool {
    state: Mutex<State>,
    changed: Condvar,
    wake: Box<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A pool over ranks `1..size` (over rank 0 alone, without limit, when
    /// `size` is 1); `wake` wakes the bridge.
    pub(crate) fn new(size: usize, wake: impl Fn() + Send + Sync + 'static) -> Pool {
        let state = State {
            free: (1..size).rev().collect(),
            local: size < 2,
            ..State::default()
        };
        Pool {
            state: Mutex::new(state),
            changed: Condvar::new(),
            wake: Box::new(wake),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed
            .wait(guard)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives a free rank `end` for `func`.
    ///
    /// With no rank free, asks the bridge which callers have gone: their
    /// ranks will free themselves once their task is done, so it waits for
    /// them. With every rank held by a caller that is still there, it is
    /// `EAGAIN`, which an exchange reads as "wait for one of your own
    /// workers to end".
    fn open(&self, func: [u8; FUNC_LEN], end: Box<dyn Transport>, max_frame: usize) -> Result<()> {
        let mut st = self.lock();
        loop {
            if st.gone {
                return Err(Error::Fork(io::Error::other(
                    "the mpi bridge has ended: the cluster was dropped",
                )));
            }
            let rank = if st.local { Some(0) } else { st.free.pop() };
            if let Some(rank) = rank {
                st.commands.push(Command::Open {
                    rank,
                    func,
                    end,
                    max_frame,
                });
                drop(st);
                (self.wake)();
                return Ok(());
            }
            st.asked += 1;
            let ticket = st.asked;
            (self.wake)();
            while st.answered < ticket && !st.gone {
                st = self.wait(st);
            }
            while st.free.is_empty() && st.closing > 0 && !st.gone {
                st = self.wait(st);
            }
            if st.free.is_empty() && !st.gone {
                return Err(Error::Fork(io::Error::from_raw_os_error(nix::libc::EAGAIN)));
            }
        }
    }

    /// The bridge's side: the commands since last time, and whether a
    /// spawner waits to know which callers have gone (answer with
    /// [`Pool::answered`] after reading every session).
    pub(crate) fn take(&self) -> (Vec<Command>, Option<u64>) {
        let mut st = self.lock();
        let asked = (st.asked > st.answered).then_some(st.asked);
        (std::mem::take(&mut st.commands), asked)
    }

    /// The bridge read every session up to request `ticket`; `closing`
    /// ranks still compute for callers that have gone.
    pub(crate) fn answered(&self, ticket: u64, closing: usize) {
        let mut st = self.lock();
        st.answered = st.answered.max(ticket);
        st.closing = closing;
        drop(st);
        self.changed.notify_all();
    }

    /// `rank` holds no session any more; `closing` as for
    /// [`Pool::answered`].
    pub(crate) fn release(&self, rank: usize, closing: usize) {
        let mut st = self.lock();
        if !st.local {
            st.free.push(rank);
        }
        st.closing = closing;
        drop(st);
        self.changed.notify_all();
    }

    /// Asks the bridge to stop.
    pub(crate) fn stop(&self) {
        self.lock().commands.push(Command::Stop);
        (self.wake)();
    }

    /// The bridge has ended: later spawns fail, waiting ones wake.
    pub(crate) fn close(&self) {
        self.lock().gone = true;
        self.changed.notify_all();
    }
}

/// The [`Spawner`] of a cluster's builder: each worker is a session
/// between a free rank and the caller's channel.
#[derive(Debug, Clone)]
pub(crate) struct RankSpawner(pub(crate) Arc<Pool>);

impl Spawner for RankSpawner {
    fn spawn(&self, func: [u8; 24], end: Box<dyn Transport>, max_frame: usize) -> Result<()> {
        self.0.open(func, end, max_frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn pool(size: usize) -> (Arc<Pool>, Arc<AtomicUsize>) {
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = Arc::clone(&wakes);
        let pool = Pool::new(size, move || {
            w.fetch_add(1, Ordering::SeqCst);
        });
        (Arc::new(pool), wakes)
    }

    fn end() -> Box<dyn Transport> {
        Box::new(pprocess_transport::SocketPair::pair().unwrap().0)
    }

    fn opened(pool: &Pool) -> Vec<usize> {
        pool.take()
            .0
            .into_iter()
            .filter_map(|c| match c {
                Command::Open { rank, .. } => Some(rank),
                Command::Stop => None,
            })
            .collect()
    }

    /// Plays the bridge: answers every request for callers that have gone.
    fn answer_in_background(pool: &Arc<Pool>, closing: usize, then_free: Option<usize>) {
        let pool = Arc::clone(pool);
        std::thread::spawn(move || {
            loop {
                if let (_, Some(ticket)) = pool.take() {
                    pool.answered(ticket, closing);
                    if let Some(rank) = then_free {
                        pool.release(rank, 0);
                    }
                    return;
                }
                std::thread::yield_now();
            }
        });
    }

    #[test]
    fn each_rank_is_given_once_and_all_held_is_eagain() {
        let (pool, wakes) = pool(3);
        pool.open([0; 24], end(), 100).unwrap();
        pool.open([0; 24], end(), 100).unwrap();
        let mut ranks = opened(&pool);
        ranks.sort_unstable();
        assert_eq!(ranks, [1, 2]);
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
        answer_in_background(&pool, 0, None);
        let e = pool.open([0; 24], end(), 100).unwrap_err();
        assert!(pprocess_transport::is_temporary(&e), "{e}");
        pool.release(2, 0);
        pool.open([0; 24], end(), 100).unwrap();
        assert_eq!(opened(&pool), [2]);
    }

    #[test]
    fn a_rank_whose_caller_has_gone_is_waited_for() {
        let (pool, _) = pool(2);
        pool.open([0; 24], end(), 100).unwrap();
        assert_eq!(opened(&pool), [1]);
        // The bridge finds rank 1's caller gone, and frees it later.
        answer_in_background(&pool, 1, Some(1));
        pool.open([0; 24], end(), 100).unwrap();
        assert_eq!(opened(&pool), [1]);
    }

    #[test]
    fn one_rank_runs_every_worker_itself_and_a_closed_pool_refuses() {
        let (pool, _) = pool(1);
        for _ in 0..3 {
            pool.open([0; 24], end(), 100).unwrap();
        }
        assert_eq!(opened(&pool), [0, 0, 0]);
        pool.close();
        let e = pool.open([0; 24], end(), 100).unwrap_err();
        assert!(!pprocess_transport::is_temporary(&e));
        assert!(
            std::error::Error::source(&e)
                .unwrap()
                .to_string()
                .contains("cluster was dropped")
        );
    }
}
