//! Without MPI (no feature, or not started by a launcher), the same calls
//! run on forked workers of this machine.

use pprocess_mpi::{Error, init, launched_by_mpi};
use pprocess_transport::{ExitStatus, start};

fn square(x: u64) -> u64 {
    x * x
}

fn odd_panics(x: u64) -> u64 {
    assert!(x % 2 == 0, "{x} is odd");
    x
}

#[test]
fn without_a_launcher_work_runs_on_forked_workers_in_order() {
    assert!(!launched_by_mpi());
    let cluster = init().unwrap();
    assert!(!cluster.is_mpi());
    // The harness has threads: no fork server, the process forks itself.
    assert!(!cluster.has_fork_server());
    assert!(cluster.workers() >= 1);
    let got = cluster.pmap(square, 0..3000u64).unwrap();
    assert_eq!(got, (0..3000).map(|x| x * x).collect::<Vec<_>>());
}

#[test]
fn pmap_reports_the_first_failing_item_and_map_each_call() {
    let cluster = init().unwrap();
    match cluster.pmap(odd_panics, [0u64, 2, 5, 6, 7]) {
        Err(Error::Remote { message, .. }) => assert_eq!(message, "item 2 panicked: 5 is odd"),
        other => panic!("{other:?}"),
    }
    let results = cluster.map(odd_panics, [4u64, 5]).unwrap();
    assert_eq!(*results[0].as_ref().unwrap(), 4);
    match &results[1] {
        Err(Error::Remote { message, .. }) => assert_eq!(message, "5 is odd"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn init_in_a_process_with_one_thread_uses_a_fork_server() {
    // A child forked from the harness has one thread, as `main` has.
    let mut ch = start(|ch| {
        let cluster = init().map_err(|e| e.to_string())?;
        let squares = cluster.pmap(square, 0..100u64).map_err(|e| e.to_string())?;
        ch.send(&(cluster.has_fork_server(), squares[99]))
            .map_err(|e| e.to_string())
    })
    .unwrap();
    let got: (bool, u64) = ch
        .receive_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    assert_eq!(got, (true, 99 * 99));
    assert_eq!(ch.close().unwrap(), Some(ExitStatus::Exited(0)));
}

#[test]
fn the_builder_without_a_launcher_forks_for_queue_and_pmap_fn() {
    use pprocess_exchange::{Queue, pmap_fn};
    let cluster = init().unwrap();
    let mut queue = Queue::<u64>::with_builder(cluster.builder())
        .unwrap()
        .limit(cluster.workers())
        .reuse(true);
    let calc = queue.manage_fn(square);
    for x in 0..20u64 {
        calc.call(&mut queue, x).unwrap();
    }
    let mut got: Vec<u64> = queue.map(Result::unwrap).collect();
    got.sort_unstable();
    assert_eq!(got, (0..20u64).map(square).collect::<Vec<_>>());
    let got = pmap_fn(&cluster.builder(), square, 0..500u64, cluster.workers()).unwrap();
    assert_eq!(got, (0..500u64).map(square).collect::<Vec<_>>());
}
