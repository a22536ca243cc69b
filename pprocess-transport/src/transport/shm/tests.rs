//! Unit tests of `shm.rs`: the ring alone, without a channel.

use super::*;

#[test]
fn corrupt_head_is_an_error_not_a_wild_copy() {
    let (mut a, mut b) = SharedMemory::with_capacity(4096).unwrap();
    a.write_all(b"abc").unwrap();
    // A head far past the tail: more pending than the ring holds.
    b.in_u64(HEAD).store(1 << 40, Ordering::Release);
    let mut buf = [0; 8];
    let err = b.read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("ring corrupt"), "{err}");
}

#[test]
fn wraps_round_the_end_of_the_ring() {
    let (mut a, mut b) = SharedMemory::with_capacity(4096).unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let mut got = Vec::new();
    let mut sent = 0;
    let mut buf = [0u8; 1000];
    while got.len() < data.len() {
        match a.write(&data[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
        match b.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, data);
}

#[test]
fn full_ring_would_block_then_peer_drop_is_broken_pipe() {
    let (mut a, b) = SharedMemory::with_capacity(4096).unwrap();
    a.set_nonblocking(true).unwrap();
    assert_eq!(a.write(&[7; 5000]).unwrap(), 4096);
    assert_eq!(
        a.write(&[7; 10]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    drop(b);
    assert_eq!(
        a.write(&[7; 10]).unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
}

#[test]
fn vectored_write_commits_the_slices_in_order() {
    let (mut a, mut b) = SharedMemory::with_capacity(4096).unwrap();
    let head = [1u8, 2, 3];
    let body = vec![9u8; 5000];
    let n = a
        .write_vectored(&[io::IoSlice::new(&head), io::IoSlice::new(&body)])
        .unwrap();
    assert_eq!(n, 4096, "as much as the ring holds");
    let mut got = vec![0; 4096];
    b.read_exact(&mut got).unwrap();
    assert_eq!(&got[..3], &head);
    assert!(got[3..].iter().all(|&x| x == 9));
}

#[test]
fn close_write_is_end_of_file_after_the_data() {
    let (mut a, mut b) = SharedMemory::with_capacity(4096).unwrap();
    a.write_all(b"last").unwrap();
    a.close_write().unwrap();
    let mut got = Vec::new();
    b.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"last");
    assert!(a.write(b"x").is_err());
}
