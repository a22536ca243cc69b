//! A child's panic never waits for a lock its parent's other threads held
//! at the fork: the library's panic hook (installed by the first fork)
//! writes a child's panic itself, without the hooks and locks of the
//! parent.
//!
//! One test in its own binary (so its own process): it sets a panic hook
//! before the first fork, as a program would at the top of `main`.

mod util;

use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::thread;

use pprocess_transport::{Channel, Error, ExitStatus, start};

use util::PATIENCE;

/// What the program's own panic hook locks (a logger, say).
static LOG: Mutex<()> = Mutex::new(());

#[test]
fn a_child_panics_while_another_thread_holds_the_panic_hooks_lock() {
    let (in_hook, inside) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    let in_hook = Mutex::new(in_hook);
    // The program's hook: takes the log's lock; the thread named "stuck"
    // stays inside it, holding the lock, until the test lets it go.
    std::panic::set_hook(Box::new(move |_| {
        let _log = LOG.lock().unwrap_or_else(PoisonError::into_inner);
        if thread::current().name() == Some("stuck") {
            let _ = in_hook
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .send(());
            let _ = released
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .recv_timeout(PATIENCE * 3);
        }
    }));

    // The first fork installs the library's hook around the program's.
    let mut first = start(|ch: &mut Channel| ch.send(&1u8)).unwrap();
    assert_eq!(first.receive_timeout::<u8>(PATIENCE).unwrap(), 1);
    assert_eq!(first.close().unwrap(), Some(ExitStatus::Exited(0)));

    let stuck = thread::Builder::new()
        .name("stuck".into())
        .spawn(|| panic!("the parent's own panic"))
        .unwrap();
    inside
        .recv_timeout(PATIENCE)
        .expect("the thread entered the hook");

    // Forked now, the child inherits the log's lock, held for ever. Its
    // panic must still reach the parent.
    let mut ch = start(|_: &mut Channel| -> () { panic!("the child's panic") }).unwrap();
    let got = ch.receive_timeout::<u8>(PATIENCE);
    if !matches!(got, Err(Error::Remote { .. })) {
        let _ = ch.kill();
    }
    let status = ch.close();
    // Let the thread go before any assertion: a failing assertion panics,
    // and this thread's hook takes the log's lock too.
    release.send(()).unwrap();
    assert!(stuck.join().is_err());

    match got {
        Err(Error::Remote { message, .. }) => assert_eq!(message, "the child's panic"),
        other => panic!("the child's panic did not arrive: {other:?}"),
    }
    assert_eq!(status.unwrap(), Some(ExitStatus::Exited(101)));
}
