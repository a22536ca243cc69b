//! How the pool's workers are started: forked with a closure, or by a
//! builder (see [`remote`]).

use std::collections::{HashMap, VecDeque};

use pprocess_exchange::{Channel, ChannelId, Exchange};

use super::PoolOptions;
use super::feed::Worker;
use super::remote;
use super::worker::{self, Opener, Reply};

/// Starts a worker as `launch` says and records it.
pub(super) fn start_worker(
    ex: &mut Exchange<Reply>,
    workers: &mut HashMap<ChannelId, Worker>,
    options: &PoolOptions,
    launch: &Launch<'_>,
) -> pprocess_exchange::Result<ChannelId> {
    let delay = options.delay;
    let (channel, pid) = match *launch {
        Launch::Fork(open) => {
            let channel =
                pprocess_exchange::start(move |ch: &mut Channel| worker::work(ch, delay, open))?;
            let pid = channel.pid().expect("a started child has a pid");
            (channel, pid)
        }
        Launch::Builder(builder) => remote::start(builder, delay)?,
    };
    let id = ex.add(channel)?;
    workers.insert(
        id,
        Worker {
            pid,
            in_flight: VecDeque::new(),
            done: Vec::new(),
            files: 0,
        },
    );
    Ok(id)
}

/// How workers are started.
#[derive(Clone, Copy)]
pub(super) enum Launch<'a> {
    /// Forked with a closure, opening files with this.
    Fork(Opener),
    /// Started by this builder's `start_fn` (see [`remote`]).
    Builder(&'a pprocess_exchange::Builder<pprocess_exchange::MessagePack>),
}
