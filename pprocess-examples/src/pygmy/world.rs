//! Lights, shaders and the camera: how PyGmy colours a pixel (pprocess's
//! `ppygmy.py`: `light`, `shader`, `world.render_row`; the two shaders of
//! `scene.py`).
//!
//! The rules are PyGmy's own, quirks included: a surface is lit by every
//! light whose segment to it meets no other object; a reflected ray adds
//! the colour of *every* object it meets, not only the nearest; occlusion
//! is the share of ten short random rays that meet another object.

use super::geometry::{Hit, Line, Shape, Vec3};
use super::rng::PixelRng;

/// How an object's surface is coloured (`scene.py`'s shader classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shader {
    /// `everythingshader`: half lights, half reflection, darkened by
    /// occlusion.
    Everything,
    /// `spotshader`: lights halved where `sin x + cos z > 0.5` (the spots),
    /// occlusion on the lit part, plus half the reflection.
    Spot,
}

/// Something in the scene: a shape and how to colour it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Object {
    /// Its geometry.
    pub shape: Shape,
    /// Its surface.
    pub shader: Shader,
}

/// A light source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Light {
    /// Light from far away, along a unit `direction` (towards the light).
    Parallel {
        /// Towards the light, of length 1.
        direction: Vec3,
        /// Its colour.
        colour: Vec3,
    },
    /// Light from a point.
    Point {
        /// Where it is.
        position: Vec3,
        /// Its colour.
        colour: Vec3,
    },
}

/// Occlusion rays per shaded point (`doocclusion(10, ...)`).
const OCCLUSION_SAMPLES: u32 = 10;

/// Reflections followed from a pixel's first hit (`"depth": 2`).
const DEPTH: u32 = 2;

/// What a shader knows about the point it colours (PyGmy's `shaderinfo`).
#[derive(Debug, Clone, Copy)]
struct ShadeAt {
    /// The ray that arrived.
    ray: Line,
    /// Reflections still allowed.
    depth: u32,
    /// The object hit (an index into the world's objects).
    object: usize,
    /// Where, and its normal there.
    hit: Hit,
}

/// A scene and its camera: PyGmy's `world`.
#[derive(Debug, Clone, PartialEq)]
pub struct World {
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// What is in the scene.
    pub objects: Vec<Object>,
    /// What lights it.
    pub lights: Vec<Light>,
}

/// How far primary rays reach.
const BACKPLANE: f64 = 2000.0;

/// The distance from the eye to the image plane.
const IMAGE_PLANE: f64 = 5.0;

impl World {
    /// An empty scene seen through a `width` × `height` perspective camera.
    #[must_use]
    pub fn new(width: usize, height: usize) -> World {
        World {
            width,
            height,
            objects: Vec::new(),
            lights: Vec::new(),
        }
    }

    /// Renders row `sy` (0 at the top): `width` pixels as RGB bytes.
    #[must_use]
    pub fn render_row(&self, sy: usize) -> Vec<u8> {
        let aspect = self.width as f64 / self.height as f64;
        let mut row = Vec::with_capacity(self.width * 3);
        for sx in 0..self.width {
            let mut rng = PixelRng::new(sx, sy);
            let x = 2.0 * (0.5 - sx as f64 / self.width as f64) * aspect;
            let y = 2.0 * (0.5 - sy as f64 / self.height as f64);
            let ray = Line::new(
                Vec3::ZERO,
                super::geometry::vec3(x, y, IMAGE_PLANE) * BACKPLANE,
            );
            let mut colour = Vec3::ZERO;
            let mut depth = BACKPLANE;
            // As in PyGmy, every hit nearer than the ones before is shaded,
            // and the last of them (the nearest) gives the colour.
            for (i, object) in self.objects.iter().enumerate() {
                if let Some(hit) = object.shape.intersect(ray) {
                    if hit.position.z < depth && hit.position.z > 0.0 {
                        depth = hit.position.z;
                        let at = ShadeAt {
                            ray,
                            depth: DEPTH,
                            object: i,
                            hit,
                        };
                        colour = self.shade(&at, &mut rng);
                    }
                }
            }
            row.extend([to_byte(colour.x), to_byte(colour.y), to_byte(colour.z)]);
        }
        row
    }

    /// The colour of a point, by its object's shader.
    fn shade(&self, at: &ShadeAt, rng: &mut PixelRng) -> Vec3 {
        let lit = self.lights(at);
        match self.objects[at.object].shader {
            Shader::Everything => {
                let reflected = self.reflected(at, rng);
                let colour = lit * 0.5 + reflected * 0.5;
                colour * self.occlusion(at, rng)
            }
            Shader::Spot => {
                let p = at.hit.position;
                let lit = if p.x.sin() + p.z.cos() > 0.5 {
                    lit / 2.0
                } else {
                    lit
                };
                let reflected = self.reflected(at, rng);
                reflected * 0.5 + lit * 0.5 * self.occlusion(at, rng)
            }
        }
    }

    /// The sum of the lights that reach the point (PyGmy's `shader.shade`).
    fn lights(&self, at: &ShadeAt) -> Vec3 {
        let p = at.hit.position;
        let mut colour = Vec3::ZERO;
        for light in &self.lights {
            colour = colour
                + match *light {
                    Light::Parallel { direction, colour } => {
                        if self.blocked(at.object, Line::new(p, p + direction * 1000.0)) {
                            Vec3::ZERO
                        } else {
                            colour * direction.dot(at.hit.normal)
                        }
                    }
                    Light::Point { position, colour } => {
                        if self.blocked(at.object, Line::new(p, position)) {
                            Vec3::ZERO
                        } else {
                            let towards = -(p - position).normalized();
                            colour * towards.dot(at.hit.normal)
                        }
                    }
                };
        }
        colour
    }

    /// Whether `l` meets an object other than `object`.
    fn blocked(&self, object: usize, l: Line) -> bool {
        self.objects
            .iter()
            .enumerate()
            .any(|(i, o)| i != object && o.shape.intersect(l).is_some())
    }

    /// The colour that a mirror reflection brings (`getreflected`).
    fn reflected(&self, at: &ShadeAt, rng: &mut PixelRng) -> Vec3 {
        let mut colour = Vec3::ZERO;
        if at.depth == 0 {
            return colour;
        }
        let p = at.hit.position;
        let ray = Line::new(p, p + at.ray.vec().reflect(at.hit.normal));
        for (i, object) in self.objects.iter().enumerate() {
            if i == at.object {
                continue;
            }
            if let Some(hit) = object.shape.intersect(ray) {
                let next = ShadeAt {
                    ray,
                    depth: at.depth - 1,
                    object: i,
                    hit,
                };
                colour = colour + self.shade(&next, rng);
            }
        }
        colour
    }

    /// One minus the share of short random rays from the point that meet
    /// another object (`doocclusion`).
    fn occlusion(&self, at: &ShadeAt, rng: &mut PixelRng) -> f64 {
        let p = at.hit.position;
        let mut occluded = 0;
        for _ in 0..OCCLUSION_SAMPLES {
            let x = rng.randrange(-100, 100);
            let y = rng.randrange(-100, 100);
            let z = rng.randrange(-100, 100);
            let ray = super::geometry::vec3(x, y, z).normalized() * 2.5;
            if self.blocked(at.object, Line::new(p, p + ray)) {
                occluded += 1;
            }
        }
        1.0 - f64::from(occluded) / f64::from(OCCLUSION_SAMPLES)
    }
}

/// A colour component (1.0 is full) as a byte, as PIL stores PyGmy's
/// `col.x * 255`: truncated towards zero, then clipped to 0..=255.
#[must_use]
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped to 0..=255 first; truncation towards zero is PyGmy's"
)]
pub fn to_byte(component: f64) -> u8 {
    // `as` truncates towards zero and saturates (NaN becomes 0).
    (component * 255.0).clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::super::geometry::vec3;
    use super::*;

    #[test]
    fn colour_components_are_truncated_and_clipped() {
        assert_eq!(to_byte(0.0), 0);
        assert_eq!(to_byte(1.0), 255);
        assert_eq!(to_byte(0.5), 127);
        assert_eq!(to_byte(-0.3), 0);
        assert_eq!(to_byte(7.0), 255);
        assert_eq!(to_byte(f64::NAN), 0);
    }

    /// One sphere in front of the camera, lit from behind the camera.
    fn one_ball(shader: Shader) -> World {
        let mut w = World::new(30, 20);
        w.objects.push(Object {
            shape: Shape::Sphere {
                centre: vec3(0.0, 0.0, 50.0),
                radius: 10.0,
            },
            shader,
        });
        w.lights.push(Light::Parallel {
            direction: vec3(0.0, 0.0, -1.0),
            colour: vec3(1.0, 0.5, 0.25),
        });
        w
    }

    #[test]
    fn a_lone_ball_lit_from_the_front_is_brightest_in_the_middle() {
        let w = one_ball(Shader::Everything);
        let row = w.render_row(10);
        // Nothing occludes, nothing is reflected: half the light, scaled by
        // the cosine of the angle to the normal, facing the camera.
        let (r, g, b) = (row[15 * 3], row[15 * 3 + 1], row[15 * 3 + 2]);
        assert!(r > 120 && r <= 127, "{r}");
        assert!(g > 60 && g <= 63, "{g}");
        assert!(b > 28 && b <= 31, "{b}");
        // The corner misses the ball: black.
        assert_eq!(&row[..3], &[0, 0, 0]);
        let edge = row[5 * 3];
        assert!(edge < r, "the edge {edge} is darker than the middle {r}");
    }

    #[test]
    fn an_object_between_point_and_light_casts_a_shadow() {
        let mut w = one_ball(Shader::Everything);
        // A big sphere behind the camera, between the ball and the light.
        w.objects.push(Object {
            shape: Shape::Sphere {
                centre: vec3(0.0, 0.0, -600.0),
                radius: 400.0,
            },
            shader: Shader::Everything,
        });
        let row = w.render_row(10);
        assert_eq!(&row[15 * 3..15 * 3 + 3], &[0, 0, 0]);
    }

    #[test]
    fn rows_are_the_same_whenever_they_are_rendered() {
        let w = super::super::scene::pprocess_scene(60, 40);
        let first: Vec<Vec<u8>> = (0..40).map(|y| w.render_row(y)).collect();
        let backwards: Vec<Vec<u8>> = (0..40).rev().map(|y| w.render_row(y)).collect();
        for (y, row) in first.iter().enumerate() {
            assert_eq!(row, &backwards[39 - y], "row {y}");
            assert_eq!(row.len(), 60 * 3);
        }
    }
}
