//! The files kept in the data directory (downloaded images under `media/`,
//! uploads under `uploads/`): written atomically under content-addressed
//! names, and served to signed-in admins.

pub mod routes;

use std::path::{Path, PathBuf};

pub const MEDIA_DIR: &str = "media";
pub const UPLOADS_DIR: &str = "uploads";
/// Folders of the data dir whose files admins may fetch.
pub const SERVED_DIRS: [&str; 2] = [MEDIA_DIR, UPLOADS_DIR];

/// Writes through a temporary file and a rename, so a reader never sees half a file.
pub async fn write_atomically(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let temporary = target.with_extension(format!("tmp{}", rand::random::<u32>()));
    tokio::fs::write(&temporary, bytes).await?;
    tokio::fs::rename(&temporary, target).await
}

/// The MIME type of a stored file's extension.
pub fn content_type(extension: &str) -> &'static str {
    match extension {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "mp3" => "audio/mpeg",
        "amr" => "audio/amr",
        "wav" => "audio/wav",
        "wma" => "audio/x-ms-wma",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// A stored `local_path`, checked to stay inside a served folder.
pub fn safe_file_path(data_dir: &Path, requested: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = requested.split('/').collect();
    let clean = parts.iter().all(|part| {
        !part.is_empty()
            && *part != "."
            && *part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
    });
    (clean && parts.len() >= 2 && SERVED_DIRS.contains(&parts[0])).then(|| data_dir.join(requested))
}

/// Where a served `local_path` really is: its name checked by
/// [`safe_file_path`], then links resolved, and refused (`None`) unless the
/// real file is a regular file inside the real served folder. A link planted
/// in the data dir must not serve what it points to.
pub async fn resolve_served_file(data_dir: &Path, requested: &str) -> Option<PathBuf> {
    let path = safe_file_path(data_dir, requested)?;
    let folder = requested.split('/').next()?;
    let root = tokio::fs::canonicalize(data_dir.join(folder)).await.ok()?;
    let real = tokio::fs::canonicalize(&path).await.ok()?;
    let is_file = tokio::fs::metadata(&real).await.ok()?.is_file();
    (is_file && real.starts_with(&root)).then_some(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_stay_inside_served_folders() {
        let dir = Path::new("/data");
        assert!(safe_file_path(dir, "media/ab/abcdef.jpg").is_some());
        assert!(safe_file_path(dir, "jwt_secret").is_none());
        assert!(safe_file_path(dir, "media/../jwt_secret").is_none());
        assert!(safe_file_path(dir, "media//x").is_none());
        assert!(safe_file_path(dir, "media/%2e%2e").is_none());
        assert!(safe_file_path(dir, "wxmp.db").is_none());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn links_out_of_the_served_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let uploads = dir.path().join(UPLOADS_DIR);
        std::fs::create_dir_all(&uploads).unwrap();
        std::fs::write(uploads.join("ok.png"), b"png").unwrap();
        std::fs::write(dir.path().join("jwt_secret"), b"secret").unwrap();
        std::os::unix::fs::symlink("/", uploads.join("root")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("jwt_secret"), uploads.join("s.png")).unwrap();
        std::os::unix::fs::symlink(uploads.join("ok.png"), uploads.join("alias.png")).unwrap();
        let resolve = |p: &'static str| resolve_served_file(dir.path(), p);
        assert!(resolve("uploads/ok.png").await.is_some());
        assert!(
            resolve("uploads/alias.png").await.is_some(),
            "a link inside stays served"
        );
        assert!(resolve("uploads/root/etc/passwd").await.is_none());
        assert!(resolve("uploads/s.png").await.is_none());
        assert!(resolve("uploads/root").await.is_none(), "not a file");
        assert!(resolve("uploads/missing.png").await.is_none());
    }
}
