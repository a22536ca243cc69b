//! The `Send` and `Sync` of every public type, as the crate docs state
//! them (the "Threads" table in `src/lib.rs`). A type that gains or loses
//! either fails here, so the table stays true.

use std::marker::PhantomData;

use pprocess_exchange::*;

/// `Probe::<T>::new().send()` is `true` if `T: Send`: the inherent method
/// applies only then, and the trait's method (false) otherwise. The same
/// for `sync()`.
struct Probe<T: ?Sized>(PhantomData<T>);

impl<T: ?Sized> Probe<T> {
    fn new() -> Self {
        Probe(PhantomData)
    }
}

trait NotSend {
    fn send(&self) -> bool {
        false
    }
}

trait NotSync {
    fn sync(&self) -> bool {
        false
    }
}

impl<T: ?Sized> NotSend for Probe<T> {}
impl<T: ?Sized> NotSync for Probe<T> {}

#[allow(
    clippy::unused_self,
    reason = "the probe is called on a value so that method resolution picks it"
)]
impl<T: ?Sized + Send> Probe<T> {
    fn send(&self) -> bool {
        true
    }
}

#[allow(
    clippy::unused_self,
    reason = "the probe is called on a value so that method resolution picks it"
)]
impl<T: ?Sized + Sync> Probe<T> {
    fn sync(&self) -> bool {
        true
    }
}

macro_rules! facts {
    ($($ty:ty => $send:expr, $sync:expr;)*) => {{
        let mut wrong = Vec::new();
        $(
            let got = (Probe::<$ty>::new().send(), Probe::<$ty>::new().sync());
            if got != ($send, $sync) {
                wrong.push(format!("{}: Send {} Sync {}", stringify!($ty), got.0, got.1));
            }
        )*
        wrong
    }};
}

#[test]
fn probe_tells_send_and_sync_apart() {
    assert_eq!(
        facts! {
            u8 => true, true;
            std::rc::Rc<u8> => false, false;
            std::cell::Cell<u8> => true, false;
            std::sync::MutexGuard<'static, u8> => false, true;
        },
        Vec::<String>::new()
    );
}

#[test]
fn every_public_type_is_send_and_sync_as_documented() {
    let wrong = facts! {
        Exchange<u32> => false, false;
        Map<u32> => false, false;
        Queue<u32> => false, false;
        PersistentQueue<u32> => false, false;
        MapStore<u32> => true, true;
        Inbox<u32> => true, true;
        Message<u32> => true, true;
        ChannelId => true, true;
        PmapIter<u32> => false, false;
        Managed<u32, fn(u32) -> u32> => false, false;
        Reusable<u32, fn(u32) -> u32> => false, false;
        PersistentCallable<u32, fn(u32) -> u32> => false, false;
        PersistentExchange<u32> => false, false;
        ManagedFn<u32, u32, MessagePack> => true, true;
        Reply<'static> => true, false;
        Created => true, false;
        Channel => true, false;
        TypedChannel<u32, u32> => true, false;
        TypedIter<'static, u32, u32> => true, false;
        JoinHandle<u32> => true, false;
        Builder => true, true;
        Fork => true, false;
        Child => true, true;
        Background => true, true;
        BackgroundCallable<fn(u32) -> u32> => true, true;
        PersistentChannel => true, false;
        PersistentFork => true, false;
        TransportKind => true, true;
        SocketPair => true, true;
        Pipe => true, true;
        SharedMemory => true, false;
        UnixSocket => true, true;
        MessagePack => true, true;
        Json => true, true;
        Error => true, true;
        ExitStatus => true, true;
        RemoteKind => true, true;
        RemoteCause => true, true;
        ChildFailure => true, true;
    };
    assert!(
        wrong.is_empty(),
        "the docs' table is wrong for:\n{}",
        wrong.join("\n")
    );
}
