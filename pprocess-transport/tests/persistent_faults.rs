//! Background processes under faults: a peer that sends while the
//! background process waits for acknowledgements, addresses at the length
//! limit, and receivers killed mid-stream (delivery is exactly once).

mod util;

use std::time::{Duration, Instant};

use pprocess_transport::{ExitStatus, MAX_ADDRESS_LEN, Pid, connect, start_persistent};

use util::PATIENCE;
use util::persistent::{TempDir, finish, serial};

/// CPU time (user + system) of a process, from `/proc/<pid>/stat`.
fn cpu_time(pid: Pid) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) (utime, stime), 0-based 11 and 12 here.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // /proc counts in USER_HZ, 100 per second on Linux.
    Duration::from_millis(ticks * 10)
}

/// A peer sends a message while the background process, its window full,
/// waits for acknowledgements: the message is kept for its receive, and
/// the process waits without spinning.
#[test]
fn a_message_while_acknowledgements_are_awaited_is_kept_not_spun_on() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("spin.socket");
    let mut bg = start_persistent(&address, |ch| {
        for i in 0..100u32 {
            ch.send(&i)?;
        }
        let echo: u32 = ch.receive()?;
        ch.send(&(echo + 1000))
    })
    .expect("start");
    let mut peer = connect(&address).expect("connect");
    peer.send(&7u32).expect("send");
    // Acknowledge nothing for a while: the background process has sent its
    // window (64) and waits for us.
    let before = cpu_time(bg.pid());
    std::thread::sleep(Duration::from_millis(500));
    let spent = cpu_time(bg.pid())
        .checked_sub(before)
        .expect("cpu time does not go back");
    assert!(
        spent < Duration::from_millis(200),
        "busy for {spent:?} of 500 ms"
    );
    let got: Vec<u32> = (0..101)
        .map(|_| peer.receive_timeout(PATIENCE).expect("message"))
        .collect();
    assert!(got[..100].iter().copied().eq(0..100));
    assert_eq!(got[100], 1007);
    drop(peer);
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
}

/// Every address `check_address` accepts binds, the longest included.
#[test]
fn an_address_of_the_longest_length_binds() {
    let _serial = serial();
    let dir = TempDir::new();
    let base = dir.path().as_os_str().len() + 1;
    assert!(base < MAX_ADDRESS_LEN, "temporary directory too deep");
    let address = dir.join("a".repeat(MAX_ADDRESS_LEN - base));
    assert_eq!(address.as_os_str().len(), MAX_ADDRESS_LEN);
    let mut bg = start_persistent(&address, |ch| ch.send(&1u8)).expect("start");
    let mut peer = connect(&address).expect("connect");
    assert_eq!(peer.receive_timeout::<u8>(PATIENCE).expect("message"), 1);
    drop(peer);
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
}

/// Receivers killed at arbitrary points of a stream: across all of them
/// and a last receiver, every message arrives exactly once and in order
/// (a value is acknowledged before it is handed out, so a receiver that
/// dies either had it and said so, or never had it).
#[test]
fn receivers_killed_mid_stream_get_every_message_exactly_once() {
    let _serial = serial();
    let dir = TempDir::new();
    let address = dir.join("once.socket");
    let mut bg = start_persistent(&address, |ch| {
        for i in 0..2_000u32 {
            ch.send(&i)?;
        }
        Ok::<(), pprocess_transport::Error>(())
    })
    .expect("start");
    let mut got = Vec::new();
    let deadline = Instant::now() + PATIENCE * 3;
    for round in 0..5u32 {
        // A receiver in a child process reports each value, then is killed.
        let addr = address.clone();
        let take = 100 + 37 * round as usize;
        let mut rx = pprocess_transport::start(move |up| {
            let mut peer = connect(&addr)?;
            for _ in 0..take {
                let v: u32 = peer.receive()?;
                up.send(&v)?;
            }
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
            Ok::<(), pprocess_transport::Error>(())
        })
        .expect("receiver");
        loop {
            match rx.receive_timeout::<u32>(PATIENCE) {
                Ok(v) => got.push(v),
                Err(e) if e.is_closed() => break,
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(
            rx.close().expect("reap"),
            Some(ExitStatus::Signaled(
                nix::sys::signal::Signal::SIGKILL as i32
            ))
        );
        assert!(Instant::now() < deadline);
    }
    let mut last = connect(&address).expect("connect");
    loop {
        match last.receive_timeout::<u32>(PATIENCE) {
            Ok(v) => got.push(v),
            Err(e) if e.is_closed() => break,
            Err(e) => panic!("last receiver: {e}"),
        }
    }
    drop(last);
    assert!(
        got.iter().copied().eq(0..2_000),
        "{} values, first gap at {:?}",
        got.len(),
        got.iter()
            .enumerate()
            .find(|&(i, &v)| u32::try_from(i) != Ok(v))
    );
    assert_eq!(finish(&mut bg), ExitStatus::Exited(0));
}
