//! The Native order's `code_url` as a PNG QR code.

use crate::error::AppError;

/// A QR code as a grayscale PNG: 8 pixels a module, a 4-module quiet zone.
pub fn qr_png(text: &str) -> Result<Vec<u8>, AppError> {
    const SCALE: usize = 8;
    const QUIET: usize = 4;
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| AppError::internal(format!("QR code: {e}")))?;
    let width = code.width();
    let colors = code.to_colors();
    let size = (width + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; size * size];
    for (index, color) in colors.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (index % width + QUIET, index / width + QUIET);
        for y in my * SCALE..(my + 1) * SCALE {
            pixels[y * size + mx * SCALE..y * size + (mx + 1) * SCALE].fill(0);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, size as u32, size as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(AppError::internal)?;
    writer
        .write_image_data(&pixels)
        .map_err(AppError::internal)?;
    writer.finish().map_err(AppError::internal)?;
    Ok(out)
}
