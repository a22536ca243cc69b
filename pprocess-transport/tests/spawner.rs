//! `Builder::spawner`: `start_fn` hands the worker's end to the spawner,
//! over the transport the builder was asked for, and forks nothing.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use pprocess_core::Transport;
use pprocess_core::frame::{FrameKind, HEADER_LEN, decode_header, encode_header};
use pprocess_transport::{Builder, MessagePack, RemoteFn, Spawner, TransportKind};

/// Serves each worker on a thread of this process, and keeps the threads
/// and the number of descriptors of each end it was given.
#[derive(Debug, Default)]
struct OnThreads {
    started: Mutex<Vec<(usize, JoinHandle<usize>)>>,
}

impl Spawner for OnThreads {
    fn spawn(
        &self,
        func: [u8; 24],
        mut end: Box<dyn Transport>,
        _max_frame: usize,
    ) -> pprocess_core::Result<()> {
        let func = RemoteFn::<MessagePack>::from_bytes(&func)?;
        let fds = end.raw_fds().len();
        let thread = std::thread::spawn(move || {
            let mut calls = 0;
            let mut header = [0; HEADER_LEN];
            while end.read_exact(&mut header).is_ok() {
                let (len, kind) = decode_header(&header);
                if kind != FrameKind::Data as u8 {
                    break;
                }
                let mut args = vec![0; usize::try_from(len).unwrap()];
                end.read_exact(&mut args).unwrap();
                let mut out = Vec::new();
                func.invoke(&args, &mut out).unwrap();
                let header = encode_header(FrameKind::Data, out.len()).unwrap();
                end.write_all(&header).unwrap();
                end.write_all(&out).unwrap();
                calls += 1;
            }
            calls
        });
        self.started.lock().unwrap().push((fds, thread));
        Ok(())
    }
}

fn reverse(v: Vec<u8>) -> Vec<u8> {
    v.into_iter().rev().collect()
}

#[test]
fn the_spawner_gets_an_end_of_the_builders_transport_and_serves_on_it() {
    // Descriptors per end: a socket; two pipes; two doorbells.
    for (kind, fds) in [
        (TransportKind::SocketPair, 1),
        (TransportKind::Pipe, 2),
        (TransportKind::SharedMemory, 2),
    ] {
        let spawner = Arc::new(OnThreads::default());
        let builder = Builder::<MessagePack>::new()
            .transport(kind)
            // A small ring (or socket buffer), so the large message below
            // takes turns between the two sides.
            .socket_buffer_size(64 << 10)
            .spawner(spawner.clone());
        let mut ch = builder.start_fn(RemoteFn::new(reverse)).unwrap();
        assert_eq!(ch.pid(), None, "{kind:?}: nothing is forked");
        let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        for v in [vec![1, 2, 3], big, vec![]] {
            ch.send(&v).unwrap();
            let back: Vec<u8> = ch.receive().unwrap();
            assert!(back.iter().rev().eq(v.iter()), "{kind:?}");
        }
        ch.send_end().unwrap();
        drop(ch);
        let (got_fds, thread) = spawner.started.lock().unwrap().pop().unwrap();
        assert_eq!(got_fds, fds, "{kind:?}");
        assert_eq!(
            thread.join().unwrap(),
            3,
            "{kind:?}: the worker saw the end"
        );
    }
}
