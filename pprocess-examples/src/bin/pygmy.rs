//! The PyGmy raytracer: renders pprocess's scene (`examples/PyGmy`) to a
//! PNG, row by row, sequentially or in parallel, and prints the time taken.
//!
//! Ports pprocess's `scene.py`, `scene_pmap.py`, `scene_queue.py` and
//! `scene_reuse.py` (over `ppygmy*.py`) as one program: `--mode seq`,
//! `pmap`, `queue` or `reuse`. Every mode and `--limit` writes the same
//! image.
//!
//! `cargo run --release -p pprocess-examples --bin pygmy -- --mode pmap --limit 2`
//!
//! Built with the feature `mpi` and started by `mpirun` (or `srun`), the
//! ranks other than 0 render the rows (one worker per rank; `--limit` then
//! applies to nothing), and the picture is the same:
//!
//! ```sh
//! cargo build --release -p pprocess-examples --features mpi --bin pygmy
//! mpirun -np 4 target/release/pygmy --mode queue
//! ```

use std::process::ExitCode;

use clap::Parser;
use pprocess_examples::pygmy::{Options, run};

fn main() -> ExitCode {
    // Under mpirun, only rank 0 goes on from here; the others serve.
    #[cfg(feature = "mpi")]
    if pprocess_mpi::launched_by_mpi() {
        let cluster = match pprocess_mpi::init() {
            Ok(cluster) => cluster,
            Err(e) => {
                eprintln!("pygmy: cannot start the mpi cluster: {e}");
                return ExitCode::FAILURE;
            }
        };
        return report(pprocess_examples::pygmy::run_on(
            &Options::parse(),
            &cluster,
        ));
    }
    report(run(&Options::parse()))
}

fn report(outcome: Result<(), String>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pygmy: {e}");
            ExitCode::FAILURE
        }
    }
}
