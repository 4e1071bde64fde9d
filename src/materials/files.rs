//! Files admins upload: what WeChat accepts per media type (extensions, size,
//! the format the bytes really are), safe names, and the content-addressed
//! copy kept in the data directory.

use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::wxapi::Part;

use crate::files::UPLOADS_DIR;

/// What WeChat accepts per media type: extensions and the size limit.
pub fn limits(media_type: &str) -> Option<(&'static [&'static str], usize)> {
    Some(match media_type {
        "image" => (&["jpg", "jpeg", "png", "gif", "bmp"], 10 * 1024 * 1024),
        "voice" => (&["mp3", "wma", "wav", "amr"], 2 * 1024 * 1024),
        "video" => (&["mp4"], 10 * 1024 * 1024),
        "thumb" => (&["jpg", "jpeg"], 64 * 1024),
        _ => return None,
    })
}

/// The format the bytes actually are (by their first bytes).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    Some(match bytes {
        [0x89, b'P', b'N', b'G', ..] => "png",
        [0xff, 0xd8, 0xff, ..] => "jpg",
        [b'G', b'I', b'F', b'8', ..] => "gif",
        [b'B', b'M', ..] => "bmp",
        [b'#', b'!', b'A', b'M', b'R', ..] => "amr",
        [b'I', b'D', b'3', ..] => "mp3",
        [0xff, second, ..] if second & 0xe0 == 0xe0 => "mp3",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'A', b'V', b'E', ..] => "wav",
        [0x30, 0x26, 0xb2, 0x75, ..] => "wma",
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => "mp4",
        _ => return None,
    })
}

/// A file from a multipart upload, checked against `media_type`'s rules.
pub struct Upload {
    pub name: String,
    pub extension: &'static str,
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub width: i32,
    pub height: i32,
}

pub fn check_file(media_type: &str, name: &str, bytes: Vec<u8>) -> Result<Upload, AppError> {
    let (extensions, max) = limits(media_type)
        .ok_or_else(|| AppError::field("media_type", "must be image, voice, video or thumb"))?;
    if bytes.is_empty() {
        return Err(AppError::field("file", "is empty"));
    }
    if bytes.len() > max {
        return Err(AppError::field(
            "file",
            format!(
                "{media_type} files are at most {} KB; this is {} KB",
                max / 1024,
                bytes.len() / 1024
            ),
        ));
    }
    let sniffed = sniff(&bytes)
        .filter(|kind| extensions.contains(kind))
        .ok_or_else(|| {
            AppError::field(
                "file",
                format!("{name:?} is not a {} file", extensions.join("/")),
            )
        })?;
    let (width, height) = match imagesize::blob_size(&bytes) {
        Ok(size) if media_type == "image" || media_type == "thumb" => {
            (size.width as i32, size.height as i32)
        }
        _ => (0, 0),
    };
    Ok(Upload {
        name: safe_name(name, sniffed),
        extension: sniffed,
        bytes,
        media_type: media_type.into(),
        width,
        height,
    })
}

/// A display name without path parts or control characters.
fn safe_name(name: &str, extension: &str) -> String {
    let base = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect::<String>();
    if base.trim().is_empty() {
        format!("upload.{extension}")
    } else {
        base
    }
}

/// Stores the bytes under a content-addressed name; returns the local path.
pub async fn store_locally(
    data_dir: &std::path::Path,
    upload: &Upload,
) -> Result<String, AppError> {
    let digest = crate::wechat::signature::hex(&Sha256::digest(&upload.bytes));
    let relative = format!(
        "{UPLOADS_DIR}/{}/{digest}.{}",
        &digest[..2],
        upload.extension
    );
    let target = data_dir.join(&relative);
    if !target.exists() {
        crate::files::write_atomically(&target, &upload.bytes)
            .await
            .map_err(AppError::internal)?;
    }
    Ok(relative)
}

pub fn media_part(upload: &Upload) -> Part {
    Part {
        name: "media".into(),
        file_name: Some(upload.name.clone()),
        content_type: Some(crate::files::content_type(upload.extension).into()),
        bytes: upload.bytes.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_sizes_and_names_are_checked() {
        let png = [&[0x89, b'P', b'N', b'G'][..], &[0u8; 40]].concat();
        assert!(check_file("image", "a.png", png.clone()).is_ok());
        assert!(
            check_file("thumb", "a.png", png.clone()).is_err(),
            "thumbs are JPEG"
        );
        assert!(check_file("voice", "a.png", png.clone()).is_err());
        assert!(check_file(
            "image",
            "a.png",
            vec![0xff, 0xd8, 0xff]
                .into_iter()
                .chain(vec![0; 11 * 1024 * 1024])
                .collect()
        )
        .is_err());
        assert!(check_file("image", "x.exe", b"MZ\x90\x00".to_vec()).is_err());
        assert!(check_file("sticker", "a.png", png.clone()).is_err());
        assert_eq!(
            check_file("image", "../../etc/passwd.png", png)
                .unwrap()
                .name,
            "passwd.png"
        );
    }
}
