//! PyGmy, "a rubbish raytracer" by Dave Griffiths, as pprocess's
//! `examples/PyGmy` adapts it to many processes: a scene of spheres and a
//! plane, two lights with shadows, mirror reflections and random occlusion
//! sampling, rendered row by row.
//!
//! The `pygmy` program renders pprocess's scene ([`pprocess_scene`]) in
//! one of four [`Mode`]s (sequentially, with `pmap`, with a `Queue`, with
//! reused workers) and writes a PNG. Occlusion rays come from a generator
//! seeded per pixel ([`PixelRng`]), so every mode and every limit gives the
//! same image, byte for byte.
//!
//! With the feature `mpi`, `run_on` and `render_on` render on the
//! ranks of an MPI job instead of forked workers, with the same picture.

mod cli;
mod geometry;
mod image;
mod mode;
#[cfg(feature = "mpi")]
mod ranks;
mod rng;
mod scene;
mod world;

#[cfg(feature = "mpi")]
pub use cli::run_on;
pub use cli::{Options, run};
pub use geometry::{Hit, Line, Shape, Vec3, vec3};
pub use image::Image;
pub use mode::{Mode, Progress, render, spread};
#[cfg(feature = "mpi")]
pub use ranks::{render_on, row_remote};
pub use rng::PixelRng;
pub use scene::pprocess_scene;
pub use world::{Light, Object, Shader, World, to_byte};
