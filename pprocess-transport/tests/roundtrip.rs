//! One suite of channel tests, run over every codec × transport: serde
//! values of many shapes (up to a 16 MiB payload crossing a fork),
//! `try_receive`, `receive_timeout`, a partial frame across a timeout, and
//! batching with `feed` + `flush`.

mod util;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Write;
use std::time::{Duration, Instant};

use pprocess_core::FrameKind;
#[cfg(feature = "json")]
use pprocess_transport::Json;
use pprocess_transport::{
    Builder, Channel, Codec, Error, ExitStatus, MessagePack, SharedMemory, TransportKind,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use util::PATIENCE;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i64,
    y: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    label: String,
    points: Vec<Point>,
    tags: BTreeMap<String, u32>,
    note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Outer {
    id: u64,
    signed: i64,
    ratio: f64,
    flag: bool,
    pair: (i8, char),
    inner: Inner,
    children: Vec<Inner>,
    shape: Shape,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Empty,
    Circle(f64),
    Rect { w: u32, h: u32 },
    Path(Vec<Point>),
    Labelled(String, Box<Shape>),
}

fn sample_inner(label: &str, n: i64) -> Inner {
    Inner {
        label: label.to_string(),
        points: (0..n).map(|i| Point { x: i, y: -i * 3 }).collect(),
        tags: (0..n)
            .map(|i| {
                (
                    format!("tag-{i}"),
                    u32::try_from(i * 7).expect("small samples"),
                )
            })
            .collect(),
        note: (n % 2 == 0).then(|| format!("even {n}")),
    }
}

fn sample_outer() -> Outer {
    Outer {
        id: u64::MAX,
        signed: i64::MIN,
        ratio: -1234.5,
        flag: true,
        pair: (-128, 'ß'),
        inner: sample_inner("outer", 4),
        children: vec![
            sample_inner("a", 0),
            sample_inner("b", 1),
            sample_inner("ç", 3),
        ],
        shape: Shape::Labelled(
            "nested".into(),
            Box::new(Shape::Path(vec![Point { x: 1, y: 2 }])),
        ),
    }
}

fn unicode_strings() -> Vec<String> {
    vec![
        String::new(),
        "plain ascii".into(),
        "Grüße, 世界! Привет, мир. مرحبا".into(),
        "emoji 🦀🧵 and a ZWJ family 👩‍👩‍👧".into(),
        "combining e\u{301} and NUL \u{0} inside".into(),
        "quotes \" and \\ backslash\n\ttabs".into(),
        "\u{10FFFF}\u{FEFF}".into(),
    ]
}

/// Sends `value` from `a` to `b`, then the received copy back from `b` to
/// `a`; both copies must equal `value`.
fn echo<C: Codec, T>(a: &mut Channel<C>, b: &mut Channel<C>, value: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    a.send(value).expect("send a→b");
    let there: T = b.receive_timeout(PATIENCE).expect("receive at b");
    assert_eq!(&there, value, "a→b over {}", C::NAME);
    b.send(&there).expect("send b→a");
    let back: T = a.receive_timeout(PATIENCE).expect("receive at a");
    assert_eq!(&back, value, "b→a over {}", C::NAME);
}

/// The suite body for small values: both ends in this process.
fn serde_values_round_trip<C: Codec>(kind: TransportKind) {
    let (mut a, mut b) = Builder::<C>::new()
        .transport(kind)
        .channel_pair()
        .expect("channel pair");
    echo(&mut a, &mut b, &sample_outer());
    for shape in [
        Shape::Empty,
        Shape::Circle(0.5),
        Shape::Rect { w: 3, h: u32::MAX },
        Shape::Path(vec![]),
        Shape::Labelled("x".into(), Box::new(Shape::Empty)),
    ] {
        echo(&mut a, &mut b, &shape);
    }
    echo(&mut a, &mut b, &Some(sample_inner("some", 2)));
    echo(&mut a, &mut b, &None::<Inner>);
    echo(&mut a, &mut b, &vec![Some(1u8), None, Some(3)]);
    for s in unicode_strings() {
        echo(&mut a, &mut b, &s);
    }
    echo(&mut a, &mut b, &unicode_strings());
    echo(&mut a, &mut b, &());
    echo(&mut a, &mut b, &(1u16, "two".to_string(), [3i32; 3]));
    echo(
        &mut a,
        &mut b,
        &ByteBuf::from(util::pseudo_random_bytes(1000, 9)),
    );
}

/// The suite body for a 16 MiB payload: a forked child (which has the
/// data in memory already, by fork) sends it as a `Vec<u8>`; the parent
/// sends what it got back as a `ByteBuf`, and the child reports whether
/// that matches its own copy. Reader and writer are separate processes, so
/// neither waits on an unread socket buffer.
///
/// Each direction is crossed once: in a debug build, encoding 16 Mi
/// elements one by one (a `Vec<u8>` in both codecs, and a `ByteBuf` in
/// JSON) takes seconds per pass.
fn sixteen_mib_round_trips_through_forked_child<C: Codec>(kind: TransportKind) {
    let big = util::pseudo_random_bytes(16 << 20, 42);
    let mut ch = Builder::<C>::new()
        .transport(kind)
        .start(|ch| -> pprocess_transport::Result<()> {
            ch.send(&big)?;
            let back: ByteBuf = ch.receive()?;
            ch.send(&(back.as_slice() == big.as_slice()))
        })
        .expect("start");
    let as_vec: Vec<u8> = ch.receive_timeout(PATIENCE * 6).expect("Vec<u8>");
    assert!(as_vec == big, "Vec<u8> of {} bytes differs", as_vec.len());
    ch.send(&ByteBuf::from(as_vec)).expect("send ByteBuf back");
    assert!(
        ch.receive_timeout::<bool>(PATIENCE * 6).expect("verdict"),
        "the child got different bytes back"
    );
    assert!(ch.receive_timeout::<u8>(PATIENCE).unwrap_err().is_closed());
    assert_eq!(ch.close().expect("close"), Some(ExitStatus::Exited(0)));
}

/// `try_receive` is `Ok(None)` with nothing sent, `Some` after a send (on
/// a watchdog thread: a `try_receive` that blocks fails the test).
fn try_receive_is_none_until_sent<C: Codec>(kind: TransportKind) {
    let (mut a, mut b) = Builder::<C>::new().transport(kind).channel_pair().unwrap();
    util::within(PATIENCE, move || {
        assert_eq!(b.try_receive::<String>().unwrap(), None);
        a.send("hello").unwrap();
        assert_eq!(b.try_receive::<String>().unwrap().as_deref(), Some("hello"));
        assert_eq!(b.try_receive::<String>().unwrap(), None);
    });
}

/// `receive_timeout` with nothing sent returns `Timeout` after about the
/// timeout, not at once and not much later.
fn receive_timeout_times_out_on_time<C: Codec>(kind: TransportKind) {
    let (_a, mut b) = Builder::<C>::new().transport(kind).channel_pair().unwrap();
    let timeout = Duration::from_millis(200);
    let started = Instant::now();
    let err = b.receive_timeout::<u32>(timeout).unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, Error::Timeout(t) if t == timeout), "{err:?}");
    assert!(
        took >= timeout,
        "returned after {took:?}, before {timeout:?}"
    );
    assert!(took < timeout + Duration::from_secs(2), "took {took:?}");
}

/// A frame that has only half arrived when the timeout fires stays
/// buffered: once the rest comes, the next receive returns the value.
fn partial_frame_survives_timeout<C: Codec>(kind: TransportKind) {
    // Raw bytes go in through the sending end's own `Write` (for shared
    // memory its descriptors are doorbells, not the byte stream).
    let (mut a, mut b): (Box<dyn Write>, Channel<C>) = if kind == TransportKind::SharedMemory {
        let (a, b) = SharedMemory::pair().unwrap();
        (Box::new(a), Channel::new(Box::new(b)))
    } else {
        let (a, b) = Builder::<C>::new().transport(kind).channel_pair().unwrap();
        let fd = a.transport().write_fd().try_clone_to_owned().unwrap();
        drop(a);
        (Box::new(std::fs::File::from(fd)), b)
    };
    let value = sample_outer();
    let mut payload = Vec::new();
    C::encode(&value, &mut payload).unwrap();
    let bytes = util::frame(FrameKind::Data, &payload);
    let (first, rest) = bytes.split_at(bytes.len() / 2);
    a.write_all(first).unwrap();
    let err = b
        .receive_timeout::<Outer>(Duration::from_millis(50))
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    a.write_all(rest).unwrap();
    assert_eq!(b.receive_timeout::<Outer>(PATIENCE).unwrap(), value);
}

/// Fed messages stay queued (nothing readable) until `flush`, then all
/// arrive in order; a forked child feeding far more than one batch and
/// than the socket buffer delivers them all in order too.
fn fed_messages_arrive_in_order_after_flush<C: Codec>(kind: TransportKind) {
    let (mut a, mut b) = Builder::<C>::new().transport(kind).channel_pair().unwrap();
    // On a watchdog thread: a `feed` that wrote each message would block
    // this single thread on a full socket buffer.
    util::within(PATIENCE, move || {
        let n = 1000u32;
        for i in 0..n {
            a.feed(&(i, format!("m{i}"))).unwrap();
        }
        assert!(a.pending_output() > 0);
        assert_eq!(
            b.try_receive::<(u32, String)>().unwrap(),
            None,
            "fed data was sent before flush"
        );
        a.flush().unwrap();
        assert_eq!(a.pending_output(), 0);
        for i in 0..n {
            assert_eq!(
                b.receive_timeout::<(u32, String)>(PATIENCE).unwrap(),
                (i, format!("m{i}"))
            );
        }
        assert_eq!(b.try_receive::<(u32, String)>().unwrap(), None);
    });

    let many = 200_000u32;
    let mut ch = Builder::<C>::new()
        .transport(kind)
        .start(|ch| -> pprocess_transport::Result<()> {
            for i in 0..many {
                ch.feed(&i)?;
            }
            ch.flush()
        })
        .unwrap();
    for i in 0..many {
        assert_eq!(ch.receive_timeout::<u32>(PATIENCE).unwrap(), i);
    }
    assert!(ch.receive_timeout::<u32>(PATIENCE).unwrap_err().is_closed());
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
}

/// A message whose fields borrow from the receiving channel's buffer:
/// `name` always (a string without escapes), `bytes` where the format
/// stores bytes as bytes (MessagePack; JSON writes a list of numbers, which
/// can only be copied).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Borrowed<'a> {
    id: u32,
    name: &'a str,
    #[serde(borrow, with = "serde_bytes")]
    bytes: std::borrow::Cow<'a, [u8]>,
}

/// `receive_borrowed` decodes borrowed fields with no copy (the payload's
/// bytes are those of the read buffer), interleaves with owned receives,
/// and reports the end of the stream and undecodable payloads as
/// `receive` does, from a forked child streaming batched messages.
fn borrowed_receive_reads_in_place<C: Codec>(kind: TransportKind) {
    const MESSAGES: u32 = 5_000;
    let mut ch = Builder::<C>::new()
        .transport(kind)
        .start(|ch| -> pprocess_transport::Result<()> {
            for id in 0..MESSAGES {
                let name = format!("name-{id}");
                let bytes = id.to_le_bytes();
                ch.feed(&Borrowed {
                    id,
                    name: &name,
                    bytes: std::borrow::Cow::Borrowed(&bytes),
                })?;
                if id % 1000 == 999 {
                    ch.feed(&u64::from(id))?;
                }
            }
            ch.feed(&"not a Borrowed")?;
            ch.flush()
        })
        .unwrap();
    for id in 0..MESSAGES {
        let m: Borrowed<'_> = ch.receive_borrowed().unwrap();
        assert_eq!(m.id, id);
        assert_eq!(m.name, format!("name-{id}"));
        assert_eq!(&m.bytes[..], id.to_le_bytes());
        if C::NAME == "msgpack" {
            assert!(matches!(m.bytes, std::borrow::Cow::Borrowed(_)), "copied");
        }
        if id % 1000 == 999 {
            assert_eq!(ch.receive::<u64>().unwrap(), u64::from(id));
        }
    }
    match ch.receive_borrowed::<Borrowed<'_>>() {
        Err(Error::Decode { expected, .. }) => assert!(expected.contains("Borrowed"), "{expected}"),
        other => panic!("a string decoded as a struct: {other:?}"),
    }
    assert!(ch.receive_borrowed::<&str>().unwrap_err().is_closed());
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
}

/// Instantiates the suite for one codec and one transport, as a module of
/// tests named after the suite's functions.
macro_rules! channel_suite {
    ($($module:ident: $codec:ty, $kind:expr;)*) => {$(
        mod $module {
            use super::*;

            #[test]
            fn serde_values_round_trip() {
                super::serde_values_round_trip::<$codec>($kind);
            }

            #[test]
            fn sixteen_mib_round_trips_through_forked_child() {
                super::sixteen_mib_round_trips_through_forked_child::<$codec>($kind);
            }

            #[test]
            fn try_receive_is_none_until_sent() {
                super::try_receive_is_none_until_sent::<$codec>($kind);
            }

            #[test]
            fn receive_timeout_times_out_on_time() {
                super::receive_timeout_times_out_on_time::<$codec>($kind);
            }

            #[test]
            fn partial_frame_survives_timeout() {
                super::partial_frame_survives_timeout::<$codec>($kind);
            }

            #[test]
            fn fed_messages_arrive_in_order_after_flush() {
                super::fed_messages_arrive_in_order_after_flush::<$codec>($kind);
            }

            #[test]
            fn borrowed_receive_reads_in_place() {
                super::borrowed_receive_reads_in_place::<$codec>($kind);
            }
        }
    )*};
}

channel_suite! {
    msgpack_socketpair: MessagePack, TransportKind::SocketPair;
    msgpack_pipe: MessagePack, TransportKind::Pipe;
    msgpack_shared_memory: MessagePack, TransportKind::SharedMemory;
}

#[cfg(feature = "json")]
channel_suite! {
    json_socketpair: Json, TransportKind::SocketPair;
    json_pipe: Json, TransportKind::Pipe;
    json_shared_memory: Json, TransportKind::SharedMemory;
}
