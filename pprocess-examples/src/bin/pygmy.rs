//! The PyGmy raytracer: renders pprocess's scene (`examples/PyGmy`) to a
//! PNG, row by row, sequentially or in parallel, and prints the time taken.
//!
//! Ports pprocess's `scene.py`, `scene_pmap.py`, `scene_queue.py` and
//! `scene_reuse.py` (over `ppygmy*.py`) as one program: `--mode seq`,
//! `pmap`, `queue` or `reuse`. Every mode and `--limit` writes the same
//! image.
//!
//! `cargo run --release -p pprocess-examples --bin pygmy -- --mode pmap --limit 2`

use std::process::ExitCode;

use clap::Parser;
use pprocess_examples::pygmy::{Options, run};

fn main() -> ExitCode {
    match run(&Options::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pygmy: {e}");
            ExitCode::FAILURE
        }
    }
}
