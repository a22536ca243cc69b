//! Workers started by a [`Builder`] instead of forked with a closure: on
//! the ranks of an MPI job (a `pprocess_mpi::Cluster`'s builder), or forked
//! through a builder on one machine.
//!
//! Such a worker is a `fn` item, [`on_rank`], that a process runs once per
//! message it is sent, and nothing but its arguments crosses: no closure's
//! captures. So what a forked worker keeps in its locals lives here in a
//! thread-local worker state, made anew by the [`Request::Open`] that starts
//! every worker (a rank serves one worker at a time, and may serve another
//! pool's after this one's), and each request gets exactly one reply: a
//! search's later chunks are asked for with [`Request::More`]. Files are
//! opened by path on the worker's host ([`open_file`]): under MPI the
//! directory must be on a filesystem every host shares. When the pool is
//! dropped, each such worker is sent [`Request::Close`], which frees its
//! shard (the process lives on: a rank serves the next worker).

use std::cell::RefCell;

use pprocess_exchange::{Builder, Channel, Error, MessagePack, RemoteFn, Result};

use super::worker::{Reply, Request, State};
use crate::indexer::scan::open_file;

thread_local! {
    /// The shard of the worker this process (its thread that runs the
    /// work) serves now.
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// What a worker started by a builder does with each request: the reply.
///
/// # Panics
///
/// On a request out of turn (the first must be [`Request::Open`]) or a
/// malformed batch: the panic is the error the parent receives, and it
/// ends this worker.
#[must_use]
pub fn on_rank(request: Request) -> Reply {
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        if let Request::Open { delay } = request {
            // The last pool's shard, if any, goes now.
            *state = Some(State::new(delay, open_file));
            return Reply::Opened {
                pid: pprocess_exchange::Pid::try_from(std::process::id()).unwrap_or(0),
            };
        }
        if matches!(request, Request::Close) {
            // The shard goes now, before the answer: the pool waits for
            // it, so the memory is free when the pool is gone.
            *state = None;
            return Reply::Closed;
        }
        let Some(worker) = state.as_mut() else {
            panic!("a request before the worker was opened");
        };
        match worker.handle(request) {
            Ok(reply) => reply,
            Err(e) => panic!("{e}"),
        }
    })
}

/// Starts a worker with `builder` and opens it: its channel and its pid.
///
/// # Errors
///
/// What `start_fn` returns, a channel error, or
/// [`Error::Protocol`] if the worker does not answer [`Reply::Opened`].
pub(super) fn start(
    builder: &Builder<MessagePack>,
    delay: Option<std::time::Duration>,
) -> Result<(Channel, pprocess_exchange::Pid)> {
    let mut channel = builder.start_fn(RemoteFn::new(on_rank))?;
    channel.send(&Request::Open { delay })?;
    match channel.receive::<Reply>()? {
        Reply::Opened { pid } => Ok((channel, pid)),
        other => Err(Error::Protocol(format!(
            "a worker answered {other:?} to open"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indexer::pool::worker::{Inputs, to_bytes};

    fn finished(reply: &Reply) -> u64 {
        match reply {
            Reply::Finished { words, .. } => *words,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn open_starts_a_new_shard_and_requests_out_of_turn_panic() {
        let out_of_turn = std::panic::catch_unwind(|| on_rank(Request::More));
        assert!(out_of_turn.is_err(), "a request before open");
        let Reply::Opened { pid } = on_rank(Request::Open { delay: None }) else {
            panic!("open")
        };
        assert_eq!(u32::try_from(pid).unwrap(), std::process::id());
        let files = Request::Files {
            batch: 0,
            first: 0,
            count: 2,
            inputs: Inputs::Embedded,
        };
        assert!(matches!(
            on_rank(files.clone()),
            Reply::Done { batch: 0, .. }
        ));
        let mut ranks = Vec::new();
        to_bytes(&[0, 1], &mut ranks);
        let finish = || Request::Finish {
            ranks: serde_bytes::ByteBuf::from(ranks.clone()),
        };
        let words = finished(&on_rank(finish()));
        assert!(words > 0);
        let search = Request::Search {
            pattern: String::new(),
            words_only: true,
        };
        let Reply::Words { words: found, last } = on_rank(search.clone()) else {
            panic!("words")
        };
        assert!(last, "a two-document answer fits one chunk");
        assert_eq!(found.ends.len() / 4, usize::try_from(words).unwrap());
        let more = std::panic::catch_unwind(|| on_rank(Request::More));
        assert!(more.is_err(), "more after the last chunk");

        // Close lets the shard go: nothing is open any more.
        assert!(matches!(on_rank(Request::Close), Reply::Closed));
        let closed = std::panic::catch_unwind(|| on_rank(search.clone()));
        assert!(closed.is_err(), "a search after close");

        // A new worker in the same process starts from an empty shard.
        let _ = on_rank(Request::Open { delay: None });
        let early = std::panic::catch_unwind(|| on_rank(search.clone()));
        assert!(early.is_err(), "a search before finish");
        let _ = on_rank(Request::Open { delay: None });
        assert_eq!(finished(&on_rank(finish())), 0);
    }

    #[test]
    fn a_batch_naming_too_few_or_too_many_paths_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
        let (a, b) = (a.as_path(), b.as_path());
        std::fs::write(a, "alpha").unwrap();
        std::fs::write(b, "beta").unwrap();
        let paths = |names: &[&std::path::Path]| {
            let mut bytes = Vec::new();
            for name in names {
                bytes.extend_from_slice(name.as_os_str().as_encoded_bytes());
                bytes.push(0);
            }
            Inputs::Paths(serde_bytes::ByteBuf::from(bytes))
        };
        let batch = |count, inputs| Request::Files {
            batch: 7,
            first: 0,
            count,
            inputs,
        };
        let _ = on_rank(Request::Open { delay: None });
        let Reply::Done {
            batch: 7, notes, ..
        } = on_rank(batch(2, paths(&[a, b])))
        else {
            panic!("two paths for two files")
        };
        assert!(notes.is_empty(), "{notes:?}");
        for (count, names) in [(3, &[a, b][..]), (1, &[a, b]), (1, &[])] {
            let refused = std::panic::catch_unwind(|| on_rank(batch(count, paths(names))));
            let message = refused.unwrap_err();
            let message = message.downcast_ref::<String>().unwrap();
            assert!(
                message.contains(&format!(
                    "batch 7 names {} paths for {count} files",
                    names.len()
                )),
                "{message}"
            );
        }
    }
}
