//! Channels made on one thread while another forks: a child forked between
//! the making of a channel's descriptors and their registration would keep
//! them, untracked, until it ends, and the channel's other end would never
//! see end of file. Descriptors are made and registered under the lock
//! that forks hold, so no child ever holds one.
//!
//! Its own binary: it forks hundreds of children, which other tests'
//! counts of children and descriptors must not see.

mod util;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pprocess_transport::{Builder, MessagePack, start};

/// Children the forking thread keeps alive until the end.
const CHILDREN: usize = 300;

#[test]
fn a_channel_made_while_another_thread_forks_is_never_kept_by_a_child() {
    let forked = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let forker = {
        let (forked, stop) = (Arc::clone(&forked), Arc::clone(&stop));
        std::thread::spawn(move || {
            // The children live until the test is over: one that kept a
            // channel's end keeps it open all that time.
            let mut alive = Vec::new();
            while !stop.load(Ordering::Relaxed) && alive.len() < CHILDREN {
                alive.push(
                    start(|ch| {
                        let _ = ch.receive::<u8>();
                    })
                    .unwrap(),
                );
            }
            forked.store(true, Ordering::Relaxed);
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let n = alive.len();
            for ch in alive {
                ch.close().unwrap();
            }
            n
        })
    };
    let mut kept = 0;
    let mut rounds = 0;
    while !forked.load(Ordering::Relaxed) {
        rounds += 1;
        let (a, b) = Builder::<MessagePack>::new().channel_pair().unwrap();
        drop(a);
        // A child forked while `a` was open and registered replaces its
        // copy right after the fork; one that inherited it untracked keeps
        // it open until the test is over.
        if !util::wait_readable(b.read_fd(), util::PATIENCE) {
            kept += 1;
            break;
        }
        drop(b);
    }
    stop.store(true, Ordering::Relaxed);
    let forks = forker.join().unwrap();
    assert_eq!(
        kept, 0,
        "a channel end was kept by a child (round {rounds}, {forks} forks)"
    );
}
