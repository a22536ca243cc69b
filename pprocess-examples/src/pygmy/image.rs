//! The picture being rendered, and its PNG file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// An RGB picture, 8 bits per component, filled a row at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
    rows_set: usize,
}

impl Image {
    /// A black `width` × `height` picture.
    #[must_use]
    pub fn new(width: usize, height: usize) -> Image {
        Image {
            width,
            height,
            rgb: vec![0; width * height * 3],
            rows_set: 0,
        }
    }

    /// Its width in pixels.
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Its height in pixels.
    #[must_use]
    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixels, row after row, three bytes (red, green, blue) each.
    #[must_use]
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// How many rows [`Image::set_row`] has filled.
    #[must_use]
    pub fn rows_set(&self) -> usize {
        self.rows_set
    }

    /// Puts row `y` in place: `width * 3` bytes.
    ///
    /// # Errors
    ///
    /// A message naming the row if `y` is out of range or `rgb` has the
    /// wrong length.
    pub fn set_row(&mut self, y: usize, rgb: &[u8]) -> Result<(), String> {
        let len = self.width * 3;
        if y >= self.height {
            return Err(format!(
                "row {y} is outside an image of height {}",
                self.height
            ));
        }
        if rgb.len() != len {
            return Err(format!("row {y} has {} bytes, expected {len}", rgb.len()));
        }
        self.rgb[y * len..(y + 1) * len].copy_from_slice(rgb);
        self.rows_set += 1;
        Ok(())
    }

    /// Encodes the picture as a PNG (RGB, 8 bits, no metadata) into `out`.
    /// The same pixels always give the same bytes.
    ///
    /// # Errors
    ///
    /// What the encoder or `out` reports.
    pub fn write_png(&self, out: impl Write) -> io::Result<()> {
        let (w, h) = (dimension(self.width)?, dimension(self.height)?);
        let mut encoder = png::Encoder::new(out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(io::Error::other)?;
        writer
            .write_image_data(&self.rgb)
            .map_err(io::Error::other)?;
        writer.finish().map_err(io::Error::other)
    }

    /// Writes the picture to a PNG file at `path`.
    ///
    /// # Errors
    ///
    /// A message naming the file if it cannot be created or written.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let fail = |e: io::Error| format!("cannot write {}: {e}", path.display());
        let mut out = BufWriter::new(File::create(path).map_err(fail)?);
        self.write_png(&mut out).map_err(fail)?;
        out.flush().map_err(fail)
    }
}

/// A side length as PNG stores it.
fn dimension(n: usize) -> io::Result<u32> {
    u32::try_from(n)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| io::Error::other(format!("an image side of {n} pixels cannot be a png")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_must_fit() {
        let mut im = Image::new(2, 2);
        assert!(im.set_row(0, &[1, 2, 3, 4, 5, 6]).is_ok());
        assert_eq!(&im.rgb()[..6], &[1, 2, 3, 4, 5, 6]);
        assert_eq!(im.rows_set(), 1);
        assert_eq!(
            im.set_row(2, &[0; 6]).unwrap_err(),
            "row 2 is outside an image of height 2"
        );
        assert_eq!(
            im.set_row(1, &[0; 5]).unwrap_err(),
            "row 1 has 5 bytes, expected 6"
        );
        assert_eq!(im.rows_set(), 1);
    }

    #[test]
    fn png_starts_with_the_signature_and_is_deterministic() {
        let mut im = Image::new(3, 1);
        im.set_row(0, &[255, 0, 0, 0, 255, 0, 0, 0, 255]).unwrap();
        let mut a = Vec::new();
        im.write_png(&mut a).unwrap();
        let mut b = Vec::new();
        im.write_png(&mut b).unwrap();
        assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(a, b);
        // The header says 3 × 1, 8-bit RGB (colour type 2).
        assert_eq!(&a[12..16], b"IHDR");
        assert_eq!(&a[16..24], &[0, 0, 0, 3, 0, 0, 0, 1]);
        assert_eq!(&a[24..26], &[8, 2]);
    }

    #[test]
    fn an_empty_image_is_not_a_png() {
        let err = Image::new(0, 5).write_png(Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), "an image side of 0 pixels cannot be a png");
    }
}
