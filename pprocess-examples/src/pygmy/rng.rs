//! The seeded generator behind occlusion sampling.
//!
//! PyGmy draws its occlusion rays from Python's global `random`, so its
//! image changes from run to run and with the number of processes. Here
//! every pixel has its own generator, seeded from the pixel's position: a
//! pixel gets the same rays whichever process renders it, and every mode
//! and limit gives the same image.

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny, fast generator whose
/// outputs pass BigCrush; plenty for sampling directions.
#[derive(Debug, Clone)]
pub struct PixelRng {
    state: u64,
}

impl PixelRng {
    /// The generator of pixel `(x, y)`.
    #[must_use]
    pub fn new(x: usize, y: usize) -> PixelRng {
        // Distinct pixels get distinct states; the mixing in `next_u64`
        // makes neighbours' sequences unrelated.
        let seed = ((y as u64) << 32) ^ (x as u64);
        PixelRng {
            state: seed.wrapping_mul(0xD1B5_4A32_D192_ED03),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// An integer in `low..high` (Python's `random.randrange(low, high)`),
    /// as an `f64`. `low < high`.
    pub fn randrange(&mut self, low: i32, high: i32) -> f64 {
        let span = u64::from(high.abs_diff(low));
        // Lemire's multiply-shift: unbiased enough for spans this small.
        let k = ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as i64;
        (i64::from(low) + k) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_pixel_same_sequence_other_pixel_other_sequence() {
        let draw = |x, y| {
            let mut r = PixelRng::new(x, y);
            (0..8).map(|_| r.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(3, 7), draw(3, 7));
        assert_ne!(draw(3, 7), draw(7, 3));
        assert_ne!(draw(0, 0), draw(1, 0));
        assert_ne!(draw(0, 0), draw(0, 1));
    }

    #[test]
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked in range just before"
    )]
    fn randrange_stays_in_range_and_covers_it() {
        let mut r = PixelRng::new(1, 2);
        let mut seen = [false; 200];
        for _ in 0..20_000 {
            let v = r.randrange(-100, 100);
            assert!((-100.0..100.0).contains(&v) && v.fract() == 0.0, "{v}");
            seen[(v + 100.0) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "some values never drawn");
    }
}
