//! Hostile and broken byte streams: oversized length prefixes, garbage
//! payloads, a codec mismatch, unknown kinds, and end of file inside and
//! between frames. A raw `SocketPair` end plays the peer.
//!
//! No test here allocates much, so that the RSS check of the oversized
//! prefix test is not disturbed by its neighbours.

mod util;

use std::time::Instant;

use pprocess_core::{DEFAULT_MAX_FRAME, FrameKind, HEADER_LEN, RemoteError};
#[cfg(feature = "json")]
use pprocess_transport::Json;
use pprocess_transport::{Channel, Codec, Error, MessagePack, SocketPair};
use serde::{Deserialize, Serialize};

use util::PATIENCE;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MyStruct {
    name: String,
    values: Vec<u32>,
    inner: Option<Box<MyStruct>>,
}

fn my_struct() -> MyStruct {
    MyStruct {
        name: "outer".into(),
        values: vec![1, 2, 3],
        inner: Some(Box::new(MyStruct {
            name: "inner".into(),
            values: vec![],
            inner: None,
        })),
    }
}

/// A raw end for writing hostile bytes, and a channel on the other end.
fn raw_and_channel<C: Codec>() -> (SocketPair, Channel<C>) {
    let (raw, end) = SocketPair::pair().unwrap();
    (raw, Channel::new(Box::new(end)))
}

#[test]
fn u32_max_length_prefix_is_frame_too_large_without_allocating() {
    let (mut raw, mut ch) = raw_and_channel::<MessagePack>();
    let rss_before = util::rss_bytes();
    let mut header = u32::MAX.to_le_bytes().to_vec();
    header.push(FrameKind::Data as u8);
    util::write_raw(&mut raw, &header);
    let err = ch.receive_timeout::<Vec<u8>>(PATIENCE).unwrap_err();
    let grown = util::rss_bytes().saturating_sub(rss_before);
    assert!(
        matches!(err, Error::FrameTooLarge { len: 4_294_967_295, max } if max == DEFAULT_MAX_FRAME as u64),
        "{err:?}"
    );
    assert!(grown < 100 << 20, "RSS grew by {grown} bytes");
    // The stream is out of sync now: the channel refuses to go on.
    let again = ch.try_receive::<Vec<u8>>().unwrap_err();
    assert!(matches!(again, Error::Protocol(_)), "{again:?}");
}

/// With a 1 KiB limit, a header announcing 2 KiB fails as soon as the
/// header is in: the reader neither waits for the payload nor makes room
/// for it. (A check after reading the payload would time out here.)
#[test]
fn frame_over_small_limit_fails_on_header_before_payload() {
    let (mut raw, mut ch) = raw_and_channel::<MessagePack>();
    ch.set_max_frame_size(1024);
    util::write_raw(
        &mut raw,
        &pprocess_core::frame::encode_header(FrameKind::Data, 2048).unwrap(),
    );
    let started = Instant::now();
    let err = ch.receive_timeout::<Vec<u8>>(PATIENCE).unwrap_err();
    assert!(
        matches!(
            err,
            Error::FrameTooLarge {
                len: 2048,
                max: 1024
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < PATIENCE / 2,
        "waited {:?}",
        started.elapsed()
    );
}

#[test]
fn frame_at_limit_is_accepted() {
    let (mut raw, mut ch) = raw_and_channel::<MessagePack>();
    ch.set_max_frame_size(1024);
    let encoded = |n: usize| {
        let mut payload = Vec::new();
        MessagePack::encode(serde_bytes::Bytes::new(&vec![7; n]), &mut payload).unwrap();
        payload
    };
    let overhead = encoded(1000).len() - 1000;
    let payload = encoded(1024 - overhead);
    assert_eq!(payload.len(), 1024);
    util::write_raw(&mut raw, &util::frame(FrameKind::Data, &payload));
    let got: serde_bytes::ByteBuf = ch.receive_timeout(PATIENCE).unwrap();
    assert_eq!(got.len(), 1024 - overhead);
}

#[test]
fn sending_over_own_limit_is_frame_too_large_and_sends_nothing() {
    let (a, b) = SocketPair::pair().unwrap();
    let mut peer = Channel::<MessagePack>::new(Box::new(a));
    let mut ch = Channel::<MessagePack>::new(Box::new(b));
    ch.set_max_frame_size(16);
    let err = ch.send(&"x".repeat(100)).unwrap_err();
    assert!(
        matches!(err, Error::FrameTooLarge { max: 16, .. }),
        "{err:?}"
    );
    assert_eq!(ch.pending_output(), 0);
    ch.send("ok").unwrap();
    assert_eq!(peer.receive_timeout::<String>(PATIENCE).unwrap(), "ok");
    assert_eq!(peer.try_receive::<String>().unwrap(), None);
}

/// A valid header around bytes that are not an encoding of the type asked
/// for: `Decode` naming the type, and the next frame is read normally.
fn garbage_payload_is_decode_error_naming_type<C: Codec>(first: u8) {
    let (mut raw, mut ch) = raw_and_channel::<C>();
    let mut garbage = util::pseudo_random_bytes(64, 11);
    garbage[0] = first;
    util::write_raw(&mut raw, &util::frame(FrameKind::Data, &garbage));
    let mut good = Vec::new();
    C::encode(&my_struct(), &mut good).unwrap();
    util::write_raw(&mut raw, &util::frame(FrameKind::Data, &good));

    let err = ch.receive_timeout::<MyStruct>(PATIENCE).unwrap_err();
    match &err {
        Error::Decode { expected, message } => {
            assert!(expected.contains("MyStruct"), "expected = {expected:?}");
            assert!(!message.is_empty());
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(err.to_string().contains("MyStruct"), "{err}");
    assert_eq!(
        ch.receive_timeout::<MyStruct>(PATIENCE).unwrap(),
        my_struct()
    );
}

#[test]
fn garbage_payload_is_decode_error_naming_type_msgpack() {
    // 0xc1 is the one byte MessagePack never uses.
    garbage_payload_is_decode_error_naming_type::<MessagePack>(0xc1);
}

#[cfg(feature = "json")]
#[test]
fn garbage_payload_is_decode_error_naming_type_json() {
    // 0xff starts no JSON value (and no UTF-8 character).
    garbage_payload_is_decode_error_naming_type::<Json>(0xff);
}

/// The peer writes JSON, this end reads MessagePack: each frame fails to
/// decode as `MyStruct`, naming it, and the frame boundaries hold: the next
/// frame is decoded from exactly its own bytes.
#[cfg(feature = "json")]
#[test]
fn codec_mismatch_is_decode_error_and_channel_stays_usable() {
    let (a, b) = SocketPair::pair().unwrap();
    let mut writer = Channel::<Json>::new(Box::new(a));
    let mut reader = Channel::<MessagePack>::new(Box::new(b));
    writer.send(&my_struct()).unwrap();
    writer.send(&my_struct()).unwrap();
    writer.send(&0u8).unwrap();

    for _ in 0..2 {
        let err = reader.receive_timeout::<MyStruct>(PATIENCE).unwrap_err();
        assert!(
            matches!(&err, Error::Decode { expected, .. } if expected.contains("MyStruct")),
            "{err:?}"
        );
    }
    // JSON's `0` is one byte, which MessagePack reads as a small integer.
    let mut json_zero = Vec::new();
    Json::encode(&0u8, &mut json_zero).unwrap();
    let want: u8 = MessagePack::decode(&json_zero).unwrap();
    assert_eq!(reader.receive_timeout::<u8>(PATIENCE).unwrap(), want);

    // And the other way round: MessagePack bytes are no JSON.
    reader.send(&my_struct()).unwrap();
    let err = writer.receive_timeout::<MyStruct>(PATIENCE).unwrap_err();
    assert!(
        matches!(&err, Error::Decode { expected, .. } if expected.contains("MyStruct")),
        "{err:?}"
    );
}

#[test]
fn unknown_kind_is_protocol_error() {
    let (mut raw, mut ch) = raw_and_channel::<MessagePack>();
    let mut header = 0u32.to_le_bytes().to_vec();
    header.push(200);
    util::write_raw(&mut raw, &header);
    let err = ch.receive_timeout::<u8>(PATIENCE).unwrap_err();
    assert!(
        matches!(&err, Error::Protocol(m) if m.contains("200")),
        "{err:?}"
    );
}

#[test]
fn eof_between_frames_is_closed_after_every_frame() {
    let (mut raw, mut ch) = raw_and_channel::<MessagePack>();
    let mut bytes = Vec::new();
    for i in 0..3u8 {
        let mut payload = Vec::new();
        MessagePack::encode(&i, &mut payload).unwrap();
        bytes.extend(util::frame(FrameKind::Data, &payload));
    }
    util::write_raw(&mut raw, &bytes);
    drop(raw);
    for i in 0..3u8 {
        assert_eq!(ch.receive_timeout::<u8>(PATIENCE).unwrap(), i);
    }
    assert!(ch.receive_timeout::<u8>(PATIENCE).unwrap_err().is_closed());
    assert!(ch.is_ended());
    assert!(ch.receive_timeout::<u8>(PATIENCE).unwrap_err().is_closed());
}

#[test]
fn eof_inside_header_is_truncated() {
    let (mut raw, mut ch) = raw_and_channel::<MessagePack>();
    util::write_raw(&mut raw, &[1, 0]);
    drop(raw);
    let err = ch.receive_timeout::<u8>(PATIENCE).unwrap_err();
    assert!(
        matches!(err, Error::Truncated { expected, got: 2 } if expected == HEADER_LEN as u64),
        "{err:?}"
    );
}

#[test]
fn eof_inside_payload_is_truncated_after_whole_frames() {
    let (mut raw, mut ch) = raw_and_channel::<MessagePack>();
    let mut payload = Vec::new();
    MessagePack::encode("whole", &mut payload).unwrap();
    let whole = util::frame(FrameKind::Data, &payload);
    let cut = util::frame(FrameKind::Data, &[0xaa; 100]);
    let sent = HEADER_LEN + 40;
    util::write_raw(&mut raw, &whole);
    util::write_raw(&mut raw, &cut[..sent]);
    drop(raw);
    assert_eq!(ch.receive_timeout::<String>(PATIENCE).unwrap(), "whole");
    let err = ch.receive_timeout::<String>(PATIENCE).unwrap_err();
    assert!(
        matches!(err, Error::Truncated { expected, got } if expected == cut.len() as u64 && got == sent as u64),
        "{err:?}"
    );
}

#[test]
fn remote_error_frame_is_remote_error_whatever_the_codec() {
    for_each_codec_remote_error::<MessagePack>();
    #[cfg(feature = "json")]
    for_each_codec_remote_error::<Json>();
}

fn for_each_codec_remote_error<C: Codec>() {
    let (mut raw, mut ch) = raw_and_channel::<C>();
    let mut payload = Vec::new();
    RemoteError {
        pid: 4242,
        message: "it broke: ü".into(),
    }
    .encode(&mut payload);
    util::write_raw(&mut raw, &util::frame(FrameKind::Error, &payload));
    match ch.receive_timeout::<u8>(PATIENCE).unwrap_err() {
        Error::Remote { pid, message, .. } => {
            assert_eq!(pid, 4242);
            assert_eq!(message, "it broke: ü");
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
}

#[test]
fn end_frame_is_closed_and_later_bytes_are_ignored() {
    let (mut raw, mut ch) = raw_and_channel::<MessagePack>();
    util::write_raw(&mut raw, &util::frame(FrameKind::End, &[]));
    util::write_raw(&mut raw, &util::frame(FrameKind::Data, &[1]));
    assert!(ch.receive_timeout::<u8>(PATIENCE).unwrap_err().is_closed());
    assert!(ch.is_ended());
    // Ended: the receive returns at once, not after its timeout.
    let started = Instant::now();
    assert!(ch.receive_timeout::<u8>(PATIENCE).unwrap_err().is_closed());
    assert!(
        started.elapsed() < PATIENCE / 2,
        "waited {:?}",
        started.elapsed()
    );
}
