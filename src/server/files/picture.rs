//! Pictures: read within limits (a small file can claim a huge canvas, a
//! "decompression bomb"), turned upright, stored again without their
//! metadata (a phone photo's EXIF holds where it was taken), and shrunk to
//! a thumbnail. Runs on a blocking thread: see `Files::picture`.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// Longest side read, in pixels.
pub const MAX_SIDE: u32 = 10_000;
/// Most pixels read (24 megapixels: a phone camera's photo). Each copy
/// made while turning and re-encoding it is at most 4 bytes a pixel.
pub const MAX_PIXELS: u64 = 24_000_000;
/// Most memory one picture's decoding may take.
const MAX_ALLOC: u64 = 256 * 1024 * 1024;
/// A thumbnail fits in this square.
pub const THUMB_SIDE: u32 = 480;

/// A picture made ready to keep.
pub struct Picture {
    /// The bytes to store: the original re-encoded without metadata (an
    /// animated GIF, which carries no photo metadata, is kept as it came).
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// A JPEG (or PNG, when it has transparency) at most [`THUMB_SIDE`] a side.
    pub thumb: Vec<u8>,
}

/// Why a picture was not kept.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error(
        "the picture is {0} × {1} pixels; the most accepted is {MAX_SIDE} pixels a side and {megapixels} megapixels",
        megapixels = MAX_PIXELS / 1_000_000
    )]
    TooLarge(u32, u32),
    #[error("the picture could not be read ({0}); it may be damaged")]
    Unreadable(String),
}

/// Reads `bytes` (of `mime`, one of `kind::IMAGES`) and makes it ready.
pub fn prepare(bytes: &[u8], mime: &str) -> Result<Picture, PictureError> {
    let format = match mime {
        "image/png" => ImageFormat::Png,
        "image/jpeg" => ImageFormat::Jpeg,
        "image/gif" => ImageFormat::Gif,
        _ => ImageFormat::WebP,
    };
    let unreadable = |err: image::ImageError| PictureError::Unreadable(err.to_string());
    // The header first: a canvas too large is refused before any decoding.
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(unreadable)?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PictureError::TooLarge(width, height));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let too_large = |err: image::ImageError| match err {
        image::ImageError::Limits(_) => PictureError::TooLarge(width, height),
        other => PictureError::Unreadable(other.to_string()),
    };
    let mut decoder = reader.into_decoder().map_err(too_large)?;
    let orientation = decoder.orientation().map_err(unreadable)?;
    let decoded = DynamicImage::from_decoder(decoder).map_err(too_large)?;
    // 8 bits a channel before any copy (a 16-bit PNG would double each).
    let mut picture = if decoded.color().has_alpha() {
        DynamicImage::ImageRgba8(decoded.into_rgba8())
    } else {
        DynamicImage::ImageRgb8(decoded.into_rgb8())
    };
    picture.apply_orientation(orientation);
    let bytes = match format {
        ImageFormat::Gif => bytes.to_vec(),
        ImageFormat::Jpeg => encode_jpeg(&picture, 90)?,
        _ => encode(&picture, ImageFormat::Png)?,
    };
    let small = picture.thumbnail(THUMB_SIDE, THUMB_SIDE);
    let thumb = if small.color().has_alpha() {
        encode(&small, ImageFormat::Png)?
    } else {
        encode_jpeg(&small, 80)?
    };
    Ok(Picture {
        bytes,
        width: picture.width(),
        height: picture.height(),
        thumb,
    })
}

/// The content type of what [`prepare`] stores for a picture of `mime`.
pub fn stored_type(mime: &'static str) -> &'static str {
    match mime {
        "image/webp" => "image/png",
        other => other,
    }
}

/// The thumbnail's content type, from its first bytes.
pub fn thumb_type(thumb: &[u8]) -> &'static str {
    if thumb.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

fn encode(picture: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, PictureError> {
    let mut out = Cursor::new(Vec::new());
    picture
        .write_to(&mut out, format)
        .map_err(|err| PictureError::Unreadable(err.to_string()))?;
    Ok(out.into_inner())
}

fn encode_jpeg(picture: &DynamicImage, quality: u8) -> Result<Vec<u8>, PictureError> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    // JPEG has no transparency: only a picture with it is copied without.
    let written = match picture {
        DynamicImage::ImageRgb8(_) => picture.write_with_encoder(encoder),
        other => DynamicImage::ImageRgb8(other.to_rgb8()).write_with_encoder(encoder),
    };
    written.map_err(|err| PictureError::Unreadable(err.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = DynamicImage::new_rgb8(width, height);
        encode(&picture, ImageFormat::Png).unwrap()
    }

    #[test]
    fn a_picture_gets_a_thumbnail_with_its_aspect_ratio() {
        let picture = prepare(&png(1200, 600), "image/png").unwrap();
        assert_eq!((picture.width, picture.height), (1200, 600));
        let thumb = image::load_from_memory(&picture.thumb).unwrap();
        assert_eq!(
            (thumb.width(), thumb.height()),
            (THUMB_SIDE, THUMB_SIDE / 2)
        );
        assert_eq!(thumb_type(&picture.thumb), "image/jpeg");
    }

    #[test]
    fn a_huge_canvas_is_refused_before_it_is_decoded() {
        let err = prepare(&png(20_000, 1), "image/png").err().unwrap();
        assert!(matches!(err, PictureError::TooLarge(20_000, 1)), "{err}");
    }

    #[test]
    fn rubbish_with_a_picture_signature_is_unreadable() {
        let mut bytes = png(10, 10);
        bytes.truncate(40);
        assert!(matches!(
            prepare(&bytes, "image/png"),
            Err(PictureError::Unreadable(_))
        ));
    }
}
