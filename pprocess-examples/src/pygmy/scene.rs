//! The scene of pprocess's `examples/PyGmy/scene.py`: a ring of ten small
//! balls around a big one, over a spotted floor, lit by a green parallel
//! light and a blue point light.

use super::geometry::{Shape, vec3};
use super::world::{Light, Object, Shader, World};

/// pprocess's scene, seen through a `width` × `height` camera (pprocess
/// renders it at 300 × 200).
#[must_use]
pub fn pprocess_scene(width: usize, height: usize) -> World {
    let mut w = World::new(width, height);
    let balls = 10;
    let offset = vec3(0.0, -5.0, 55.0);
    let ring = 12.0;
    #[expect(
        clippy::approx_constant,
        reason = "scene.py uses 3.141 for pi; so does this, for the same ring"
    )]
    let per_ball = (2.0 * 3.141) / f64::from(balls);
    for i in 0..balls {
        let angle = 0.3 + per_ball * f64::from(i);
        w.objects.push(Object {
            shape: Shape::Sphere {
                centre: vec3(angle.sin() * ring, 0.0, angle.cos() * ring) + offset,
                radius: 2.0,
            },
            shader: Shader::Everything,
        });
    }
    w.objects.push(Object {
        shape: Shape::Sphere {
            centre: vec3(3.0, 3.0, 0.0) + offset,
            radius: 5.0,
        },
        shader: Shader::Everything,
    });
    w.objects.push(Object {
        shape: Shape::Plane {
            normal: vec3(0.0, 1.0, 0.0),
            dist: 7.0,
        },
        shader: Shader::Spot,
    });
    w.lights.push(Light::Parallel {
        direction: vec3(1.0, 1.0, -1.0).normalized(),
        colour: vec3(0.3, 0.9, 0.1),
    });
    w.lights.push(Light::Point {
        position: vec3(5.0, 100.0, -5.0),
        colour: vec3(0.5, 0.5, 1.0),
    });
    w
}
