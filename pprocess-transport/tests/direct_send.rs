//! `send` writes large pieces of a value (byte strings, long strings) from
//! the value's memory with `writev`: frames mixing them with small pieces
//! and with queued messages arrive whole and in order over every codec and
//! transport; a value too large for the frame limit is refused before a
//! byte is written; a value that encodes differently the second time (the
//! large-message path encodes twice) is an `Encode` error for the sender
//! and leaves the stream in step.

mod util;

use std::cell::Cell;

#[cfg(feature = "json")]
use pprocess_transport::Json;
use pprocess_transport::{Builder, Codec, Error, ExitStatus, MessagePack, TransportKind};
use serde::{Deserialize, Serialize, Serializer};
use serde_bytes::ByteBuf;

use util::PATIENCE;

/// Small fields around large ones: the frame is written in several pieces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Mixed {
    id: u32,
    bytes: ByteBuf,
    tag: String,
    text: String,
    more: ByteBuf,
}

fn mixed(id: u32) -> Mixed {
    let n = id as usize;
    Mixed {
        id,
        bytes: ByteBuf::from(util::pseudo_random_bytes((1 << 20) + n, u64::from(id))),
        tag: format!("tag-{id}"),
        text: "é".repeat(50_000 + n),
        more: ByteBuf::from(util::pseudo_random_bytes(100 + n, 7)),
    }
}

/// A forked child queues small messages, then sends large mixed ones and a
/// 300 KiB string, interleaved; the parent gets every one, in order. Large
/// values also go the other way while the child is sending (both sides
/// write large frames at once: neither may deadlock).
fn large_pieces_arrive_whole_and_in_order<C: Codec>(kind: TransportKind) {
    let mut ch = Builder::<C>::new()
        .transport(kind)
        .start(|ch| -> pprocess_transport::Result<()> {
            for id in 0..4 {
                ch.feed(&format!("small-{id}"))?;
                ch.send(&mixed(id))?;
                ch.send(&"z".repeat(300 << 10))?;
            }
            let echoed: Vec<u8> = ch.receive::<ByteBuf>()?.into_vec();
            ch.send(&(echoed == util::pseudo_random_bytes(3 << 20, 5)))
        })
        .expect("start");
    ch.send(&ByteBuf::from(util::pseudo_random_bytes(3 << 20, 5)))
        .expect("send 3 MiB to the child");
    for id in 0..4 {
        assert_eq!(
            ch.receive_timeout::<String>(PATIENCE).unwrap(),
            format!("small-{id}")
        );
        assert!(ch.receive_timeout::<Mixed>(PATIENCE).unwrap() == mixed(id));
        assert_eq!(
            ch.receive_timeout::<String>(PATIENCE).unwrap(),
            "z".repeat(300 << 10)
        );
    }
    assert!(
        ch.receive_timeout::<bool>(PATIENCE).unwrap(),
        "3 MiB differ"
    );
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
}

/// Over the frame limit: refused before anything is written, the channel
/// goes on (what was queued before is still sent, in order).
fn too_large_is_refused_before_writing<C: Codec>(kind: TransportKind) {
    let (mut a, mut b) = Builder::<C>::new().transport(kind).channel_pair().unwrap();
    a.set_max_frame_size(1 << 20);
    a.feed(&1u32).unwrap();
    let big = "x".repeat(2 << 20);
    assert!(matches!(a.send(&big), Err(Error::FrameTooLarge { .. })));
    a.send(&2u32).unwrap();
    assert_eq!(b.receive_timeout::<u32>(PATIENCE).unwrap(), 1);
    assert_eq!(b.receive_timeout::<u32>(PATIENCE).unwrap(), 2);
    assert!(matches!(b.try_receive::<u32>(), Ok(None)));
}

/// A string that comes out longer each time it is serialised.
struct Growing {
    calls: Cell<usize>,
}

impl Serialize for Growing {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.calls.get();
        self.calls.set(n + 1);
        s.serialize_str(&"g".repeat(100_000 + 10_000 * n))
    }
}

/// The large-message path encodes twice; a value that changes between the
/// two is the sender's `Encode` error, the receiver's undecodable message
/// (cut to the first length), and the next message arrives intact.
fn a_value_that_changes_is_an_encode_error<C: Codec>(kind: TransportKind) {
    let (mut a, mut b) = Builder::<C>::new().transport(kind).channel_pair().unwrap();
    let growing = Growing {
        calls: Cell::new(0),
    };
    let reader = std::thread::spawn(move || {
        let first = b.receive_timeout::<String>(PATIENCE);
        let second = b.receive_timeout::<u32>(PATIENCE);
        (first, second)
    });
    match a.send(&growing) {
        Err(Error::Encode { message, .. }) => {
            assert!(message.contains("differently"), "{message}");
        }
        other => panic!("a changing value was sent: {other:?}"),
    }
    assert_eq!(growing.calls.get(), 2);
    a.send(&42u32).unwrap();
    let (first, second) = reader.join().unwrap();
    assert!(matches!(first, Err(Error::Decode { .. })), "{first:?}");
    assert_eq!(second.unwrap(), 42);
}

/// A codec that keeps `Codec::encode_to`'s default (encode into a `Vec`,
/// write that): the large-message path still sends correct frames.
struct DefaultEncodeTo;

impl Codec for DefaultEncodeTo {
    const NAME: &'static str = "default-encode-to";

    fn encode<T: Serialize + ?Sized>(
        value: &T,
        out: &mut Vec<u8>,
    ) -> pprocess_transport::Result<()> {
        MessagePack::encode(value, out)
    }

    fn decode<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> pprocess_transport::Result<T> {
        MessagePack::decode(bytes)
    }
}

macro_rules! direct_suite {
    ($($module:ident: $codec:ty, $kind:expr;)*) => {$(
        mod $module {
            use super::*;

            #[test]
            fn large_pieces_arrive_whole_and_in_order() {
                super::large_pieces_arrive_whole_and_in_order::<$codec>($kind);
            }

            #[test]
            fn too_large_is_refused_before_writing() {
                super::too_large_is_refused_before_writing::<$codec>($kind);
            }

            #[test]
            fn a_value_that_changes_is_an_encode_error() {
                super::a_value_that_changes_is_an_encode_error::<$codec>($kind);
            }
        }
    )*};
}

direct_suite! {
    msgpack_socketpair: MessagePack, TransportKind::SocketPair;
    msgpack_pipe: MessagePack, TransportKind::Pipe;
    default_encode_to_socketpair: DefaultEncodeTo, TransportKind::SocketPair;
}

#[cfg(feature = "json")]
direct_suite! {
    json_socketpair: Json, TransportKind::SocketPair;
    json_pipe: Json, TransportKind::Pipe;
}
