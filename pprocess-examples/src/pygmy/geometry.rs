//! Vectors, line segments and the two kinds of object PyGmy draws: spheres
//! and planes (pprocess's `ppygmy.py`: `vec`, `line`, `sphere`, `plane`).

use std::ops::{Add, Div, Mul, Neg, Sub};

/// A point, direction or colour (`x`, `y`, `z` = red, green, blue).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Vec3 {
    /// The first component (red for a colour).
    pub x: f64,
    /// The second component (green for a colour).
    pub y: f64,
    /// The third component (blue for a colour).
    pub z: f64,
}

/// A [`Vec3`] from its components.
#[must_use]
pub const fn vec3(x: f64, y: f64, z: f64) -> Vec3 {
    Vec3 { x, y, z }
}

impl Vec3 {
    /// The origin, and black.
    pub const ZERO: Vec3 = vec3(0.0, 0.0, 0.0);

    /// The dot product.
    #[must_use]
    pub fn dot(self, other: Vec3) -> f64 {
        self.x * other.x + self.y * other.y + self.z * other.z
    }

    /// The sum of the squares of the components.
    #[must_use]
    pub fn sq(self) -> f64 {
        self.x * self.x + self.y * self.y + self.z * self.z
    }

    /// The distance to `other`.
    #[must_use]
    pub fn dist(self, other: Vec3) -> f64 {
        (other - self).sq().sqrt()
    }

    /// The length.
    #[must_use]
    pub fn mag(self) -> f64 {
        self.sq().sqrt()
    }

    /// This vector scaled to length 1; the zero vector stays zero.
    #[must_use]
    pub fn normalized(self) -> Vec3 {
        let mag = self.mag();
        if mag == 0.0 { self } else { self / mag }
    }

    /// This direction mirrored about a surface with unit `normal`.
    #[must_use]
    pub fn reflect(self, normal: Vec3) -> Vec3 {
        self - normal * (self.dot(normal) * 2.0)
    }
}

impl Add for Vec3 {
    type Output = Vec3;
    fn add(self, o: Vec3) -> Vec3 {
        vec3(self.x + o.x, self.y + o.y, self.z + o.z)
    }
}

impl Sub for Vec3 {
    type Output = Vec3;
    fn sub(self, o: Vec3) -> Vec3 {
        vec3(self.x - o.x, self.y - o.y, self.z - o.z)
    }
}

impl Mul<f64> for Vec3 {
    type Output = Vec3;
    fn mul(self, k: f64) -> Vec3 {
        vec3(self.x * k, self.y * k, self.z * k)
    }
}

impl Div<f64> for Vec3 {
    type Output = Vec3;
    fn div(self, k: f64) -> Vec3 {
        vec3(self.x / k, self.y / k, self.z / k)
    }
}

impl Neg for Vec3 {
    type Output = Vec3;
    fn neg(self) -> Vec3 {
        vec3(-self.x, -self.y, -self.z)
    }
}

/// A line segment from `start` to `end`: a ray of finite length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Where the segment starts.
    pub start: Vec3,
    /// Where it ends.
    pub end: Vec3,
}

impl Line {
    /// The segment from `start` to `end`.
    #[must_use]
    pub fn new(start: Vec3, end: Vec3) -> Line {
        Line { start, end }
    }

    /// The segment as a vector: `end - start`.
    #[must_use]
    pub fn vec(self) -> Vec3 {
        self.end - self.start
    }
}

/// Where a segment meets an object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// The point met.
    pub position: Vec3,
    /// The object's surface normal there.
    pub normal: Vec3,
}

/// A shape that segments can hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// A sphere around `centre`.
    Sphere {
        /// Its centre.
        centre: Vec3,
        /// Its radius.
        radius: f64,
    },
    /// The points `p` with `normal · p + dist = 0`.
    Plane {
        /// Its (unit) normal.
        normal: Vec3,
        /// Its offset from the origin along `-normal`.
        dist: f64,
    },
}

impl Shape {
    /// Where `l` first meets the shape between its start and its end, if it
    /// does. As in PyGmy, a segment that only touches a sphere misses it,
    /// and only the nearer of a sphere's two intersections counts.
    #[must_use]
    #[allow(
        clippy::many_single_char_names,
        reason = "the quadratic's terms keep PyGmy's names"
    )]
    pub fn intersect(&self, l: Line) -> Option<Hit> {
        match *self {
            Shape::Sphere { centre, radius } => {
                let d = l.vec();
                let a = d.sq();
                let b = 2.0
                    * (d.x * (l.start.x - centre.x)
                        + d.y * (l.start.y - centre.y)
                        + d.z * (l.start.z - centre.z));
                let c = centre.sq() + l.start.sq() - 2.0 * centre.dot(l.start) - radius * radius;
                let discriminant = b * b - 4.0 * a * c;
                if discriminant <= 0.0 {
                    return None;
                }
                let t = (-b - discriminant.sqrt()) / (2.0 * a);
                if t > 0.0 && t < 1.0 {
                    let position = l.start + d * t;
                    Some(Hit {
                        position,
                        normal: (position - centre).normalized(),
                    })
                } else {
                    None
                }
            }
            Shape::Plane { normal, dist } => {
                let d = l.vec();
                let vd = normal.dot(d);
                if vd == 0.0 {
                    return None;
                }
                let t = -(normal.dot(l.start) + dist) / vd;
                if !(0.0..=1.0).contains(&t) {
                    return None;
                }
                Some(Hit {
                    position: l.start + d * t,
                    normal,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::float_cmp, reason = "exact small values")]
    fn vector_arithmetic() {
        let a = vec3(1.0, 2.0, 3.0);
        let b = vec3(4.0, -5.0, 6.0);
        assert_eq!(a + b, vec3(5.0, -3.0, 9.0));
        assert_eq!(a - b, vec3(-3.0, 7.0, -3.0));
        assert_eq!(a * 2.0, vec3(2.0, 4.0, 6.0));
        assert_eq!(b / 2.0, vec3(2.0, -2.5, 3.0));
        assert_eq!(-a, vec3(-1.0, -2.0, -3.0));
        assert_eq!(a.dot(b), 12.0);
        assert_eq!(vec3(3.0, 4.0, 0.0).mag(), 5.0);
        assert_eq!(vec3(1.0, 1.0, 1.0).dist(vec3(4.0, 5.0, 1.0)), 5.0);
        assert_eq!(vec3(0.0, 0.0, 2.0).normalized(), vec3(0.0, 0.0, 1.0));
        assert_eq!(Vec3::ZERO.normalized(), Vec3::ZERO);
        // A ray going down bounces up off a floor.
        let normal = vec3(0.0, 1.0, 0.0);
        assert_eq!(vec3(1.0, -1.0, 0.0).reflect(normal), vec3(1.0, 1.0, 0.0));
    }

    #[test]
    fn a_segment_through_a_sphere_hits_its_near_side() {
        let s = Shape::Sphere {
            centre: vec3(0.0, 0.0, 10.0),
            radius: 2.0,
        };
        let hit = s
            .intersect(Line::new(Vec3::ZERO, vec3(0.0, 0.0, 20.0)))
            .unwrap();
        assert!((hit.position - vec3(0.0, 0.0, 8.0)).mag() < 1e-12);
        assert!((hit.normal - vec3(0.0, 0.0, -1.0)).mag() < 1e-12);
        // Too short to reach it, pointing away, or passing beside it.
        assert_eq!(
            s.intersect(Line::new(Vec3::ZERO, vec3(0.0, 0.0, 5.0))),
            None
        );
        assert_eq!(
            s.intersect(Line::new(Vec3::ZERO, vec3(0.0, 0.0, -20.0))),
            None
        );
        assert_eq!(
            s.intersect(Line::new(vec3(3.0, 0.0, 0.0), vec3(3.0, 0.0, 20.0))),
            None
        );
        // A zero-length segment meets nothing (and divides by nothing).
        assert_eq!(s.intersect(Line::new(Vec3::ZERO, Vec3::ZERO)), None);
    }

    #[test]
    fn a_segment_crossing_a_plane_hits_it() {
        let floor = Shape::Plane {
            normal: vec3(0.0, 1.0, 0.0),
            dist: 7.0,
        };
        let hit = floor
            .intersect(Line::new(Vec3::ZERO, vec3(0.0, -14.0, 14.0)))
            .unwrap();
        assert_eq!(hit.position, vec3(0.0, -7.0, 7.0));
        assert_eq!(hit.normal, vec3(0.0, 1.0, 0.0));
        // Parallel to it, or stopping short of it.
        assert_eq!(
            floor.intersect(Line::new(Vec3::ZERO, vec3(0.0, 0.0, 9.0))),
            None
        );
        assert_eq!(
            floor.intersect(Line::new(Vec3::ZERO, vec3(0.0, -6.0, 0.0))),
            None
        );
    }
}
