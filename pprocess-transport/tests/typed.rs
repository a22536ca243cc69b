//! Typed channels: `start_typed` end to end, `typed_pair` without a fork,
//! the iterator, and the way back to the untyped `Channel`.
//!
//! That the wrong type does not compile is `TypedChannel`'s
//! `compile_fail` doctest. Every forked child is reaped by its test.

mod util;

use std::rc::Rc;

use pprocess_transport::{
    Builder, Error, ExitStatus, Json, MessagePack, RemoteKind, TransportKind, TypedChannel,
    start_typed,
};
use serde::{Deserialize, Serialize};

use util::PATIENCE;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Down {
    Add(u32, u32),
    Shout(String),
    Stop,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Up {
    Sum(u32),
    Text(String),
}

#[test]
fn parent_sends_down_and_receives_up_child_the_mirror() {
    let mut ch = start_typed::<Up, Down, _>(|ch| -> pprocess_transport::Result<()> {
        loop {
            match ch.receive()? {
                Down::Add(a, b) => ch.send(&Up::Sum(a + b))?,
                Down::Shout(s) => ch.send(&Up::Text(s.to_uppercase()))?,
                Down::Stop => return Ok(()),
            }
        }
    })
    .unwrap();
    ch.send(&Down::Add(2, 3)).unwrap();
    assert_eq!(ch.receive_timeout(PATIENCE).unwrap(), Up::Sum(5));
    ch.send(&Down::Shout("hi".into())).unwrap();
    assert_eq!(ch.receive_timeout(PATIENCE).unwrap(), Up::Text("HI".into()));
    ch.send(&Down::Stop).unwrap();
    assert!(ch.receive_timeout(PATIENCE).unwrap_err().is_closed());
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
}

#[test]
fn child_panic_reaches_the_typed_parent_as_remote_panic() {
    let mut ch = start_typed::<u32, u32, ()>(|_| panic!("typed boom")).unwrap();
    let pid = ch.pid().expect("parent end knows the child");
    match ch.receive_timeout(PATIENCE).unwrap_err() {
        Error::Remote {
            pid: from,
            kind: RemoteKind::Panic,
            message,
            ..
        } => {
            assert_eq!(from, pid);
            assert_eq!(message, "typed boom");
        }
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(101)));
}

#[test]
fn child_error_reaches_the_typed_parent_as_remote_error() {
    let mut ch = start_typed::<u32, u32, _>(|ch| -> Result<(), String> {
        ch.send(&1).map_err(|e| e.to_string())?;
        Err("stopped after one".into())
    })
    .unwrap();
    assert_eq!(ch.receive_timeout(PATIENCE).unwrap(), 1);
    let err = ch.receive_timeout(PATIENCE).unwrap_err();
    assert!(
        matches!(&err, Error::Remote { kind: RemoteKind::Error, message, .. } if message == "stopped after one"),
        "{err:?}"
    );
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(1)));
}

#[test]
fn iter_yields_every_message_then_ends_at_the_hang_up() {
    let mut ch = start_typed::<(u8, String), (), _>(|ch| {
        (0..5u8).try_for_each(|i| ch.send(&(i, i.to_string())))
    })
    .unwrap();
    let got: Vec<(u8, String)> = ch.iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(got.len(), 5);
    assert_eq!(got[4], (4, "4".to_string()));
    // Fused: asking again after the end gives nothing, and does not block.
    let mut again = ch.iter();
    assert!(again.next().is_none());
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
}

#[test]
fn typed_pair_works_both_ways_without_a_fork_over_every_transport_and_codec() {
    fn both_ways<C: pprocess_transport::Codec>(kind: TransportKind) {
        let (mut a, mut b) = Builder::<C>::new()
            .transport(kind)
            .typed_pair::<String, Vec<u16>>()
            .unwrap();
        a.send(&"to b".to_string()).unwrap();
        assert_eq!(b.receive().unwrap(), "to b");
        b.send(&vec![1, 2, 3]).unwrap();
        assert_eq!(a.receive().unwrap(), [1, 2, 3]);
        assert_eq!(a.try_receive().unwrap(), None);
        assert_eq!(a.pid(), None);
    }
    for kind in [TransportKind::SocketPair, TransportKind::Pipe] {
        both_ways::<MessagePack>(kind);
        both_ways::<Json>(kind);
    }
}

#[test]
fn iter_goes_on_after_a_message_of_the_wrong_type() {
    let (mut a, mut b) = Builder::<MessagePack>::new()
        .typed_pair::<u32, u32>()
        .unwrap();
    // Past the types, through the untyped channel underneath.
    a.get_mut().send("not a number").unwrap();
    a.send(&7).unwrap();
    drop(a);
    let got: Vec<_> = b.iter().collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        matches!(&got[0], Err(Error::Decode { expected, .. }) if expected.contains("u32")),
        "{got:?}"
    );
    assert_eq!(got[1].as_ref().ok(), Some(&7));
}

#[test]
fn into_inner_and_new_convert_between_typed_and_untyped() {
    let (a, mut b) = Builder::<MessagePack>::new().channel_pair().unwrap();
    let mut typed: TypedChannel<u64, u64> = TypedChannel::new(a);
    typed.send(&9).unwrap();
    assert_eq!(b.receive::<u64>().unwrap(), 9);
    let mut untyped = typed.into_inner();
    untyped.send("anything").unwrap();
    assert_eq!(b.receive::<String>().unwrap(), "anything");
}

#[test]
fn typed_channels_are_send_whatever_they_carry() {
    fn assert_send<T: Send>() {}
    assert_send::<TypedChannel<Rc<u8>, Rc<u8>>>();
    assert_send::<pprocess_transport::JoinHandle<Rc<u8>>>();
}
