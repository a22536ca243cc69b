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

mod cli;
mod geometry;
mod image;
mod mode;
mod rng;
mod scene;
mod world;

pub use cli::{Options, run};
pub use geometry::{Hit, Line, Shape, Vec3, vec3};
pub use image::Image;
pub use mode::{Mode, Progress, render, spread};
pub use rng::PixelRng;
pub use scene::pprocess_scene;
pub use world::{Light, Object, Shader, World, to_byte};
