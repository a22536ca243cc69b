//! Shared-memory channels leave nothing behind: after many start, receive
//! and close cycles (and pairs made and dropped in this process) no
//! descriptor, no mapping of a ring and no zombie is left.
//!
//! It counts across the whole process, so it has its own test binary with
//! one test: nothing else runs in it meanwhile.

mod util;

use pprocess_transport::{Builder, ExitStatus, MessagePack, Pid, TransportKind};

/// Mappings of shared-memory rings in this process (`/proc/self/maps`).
fn ring_mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .expect("read /proc/self/maps")
        .lines()
        .filter(|l| l.contains("pprocess-shm"))
        .count()
}

fn cycle(builder: &Builder<MessagePack>, i: u32) {
    let mut ch = builder.start(move |ch| ch.send(&i)).unwrap();
    assert_eq!(ch.receive_timeout::<u32>(util::PATIENCE).unwrap(), i);
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
    let (mut a, mut b) = builder.channel_pair().unwrap();
    a.send(&i).unwrap();
    assert_eq!(b.receive_timeout::<u32>(util::PATIENCE).unwrap(), i);
}

#[test]
fn two_hundred_shared_memory_cycles_leave_no_fd_mapping_or_zombie() {
    let builder = Builder::new().transport(TransportKind::SharedMemory);
    cycle(&builder, u32::MAX);
    let fds_before = util::open_fds();
    assert_eq!(ring_mappings(), 0, "a ring is mapped before the count");

    for i in 0..200 {
        cycle(&builder, i);
    }

    assert_eq!(ring_mappings(), 0, "rings left mapped");
    assert_eq!(util::zombie_children(), Vec::<Pid>::new(), "zombies left");
    assert_eq!(util::children(), Vec::new(), "children left");
    let fds_after = util::open_fds();
    assert!(
        fds_after.len() <= fds_before.len(),
        "descriptors leaked:\nbefore {fds_before:?}\nafter  {fds_after:?}"
    );
}
