//! Downloads the pictures of image messages before WeChat's URLs expire, and
//! serves them to signed-in admins. Only allowlisted hosts are fetched, and
//! private or loopback addresses only when the allowlist names them.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::CurrentAdmin;
use crate::entity::messages;
use crate::error::AppError;
use crate::state::AppState;

/// Larger pictures are refused (WeChat's own image limit is 10 MB).
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
pub const MEDIA_DIR: &str = "media";

pub async fn download_image_job(state: &AppState, payload: &Value) -> Result<(), String> {
    let message_id = payload
        .get("message_id")
        .and_then(crate::ids::parse_id)
        .ok_or("payload has no message_id")?;
    let url = payload
        .get("url")
        .and_then(Value::as_str)
        .ok_or("payload has no url")?;
    let local_path = download(url, &state.config.media_hosts, &state.config.data_dir).await?;
    messages::Entity::update_many()
        .col_expr(messages::Column::LocalPath, Expr::value(local_path.clone()))
        .filter(messages::Column::Id.eq(message_id))
        .exec(&state.db)
        .await
        .map_err(|e| format!("database: {e}"))?;
    tracing::info!(message_id, %local_path, "image downloaded");
    Ok(())
}

fn host_allowed(host: &str, allowlist: &[String]) -> bool {
    allowlist
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(host))
}

/// Addresses that must not be reached on behalf of a message's URL.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64) // 100.64.0.0/10
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link local
                || v6.to_ipv4_mapped().is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

/// Fetches `url` into the data dir under a content-addressed name; returns
/// the path relative to the data dir.
pub async fn download(url: &str, allowlist: &[String], data_dir: &Path) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("bad URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("scheme {} is not fetched", parsed.scheme()));
    }
    let host = parsed
        .host_str()
        .ok_or("URL has no host")?
        .trim_matches(['[', ']'])
        .to_string();
    if !host_allowed(&host, allowlist) {
        return Err(format!(
            "host {host} is not on the media allowlist (WXMP_MEDIA_HOSTS)"
        ));
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let address = addresses
        .iter()
        .find(|a| !is_internal(a.ip()) || host_allowed(&a.ip().to_string(), allowlist))
        .copied()
        .ok_or_else(|| format!("{host} resolves only to private or loopback addresses"))?;

    let redirect_allowlist = allowlist.to_vec();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .resolve(&host, address)
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            let allowed = attempt
                .url()
                .host_str()
                .is_some_and(|h| host_allowed(h, &redirect_allowlist));
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if allowed {
                attempt.follow()
            } else {
                let target = attempt.url().to_string();
                attempt.error(format!("redirect to {target} is off the media allowlist"))
            }
        }))
        .build()
        .map_err(|e| e.to_string())?;
    let mut response = client
        .get(parsed)
        .send()
        .await
        .map_err(|e| format!("fetch failed: {}", with_causes(&e)))?;
    if !response.status().is_success() {
        return Err(format!("the image host answered {}", response.status()));
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let extension = image_extension(&content_type)
        .ok_or_else(|| format!("content type {content_type:?} is not an image"))?;
    if response
        .content_length()
        .is_some_and(|n| n as usize > MAX_IMAGE_BYTES)
    {
        return Err(format!("the image is larger than {MAX_IMAGE_BYTES} bytes"));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("download failed: {e}"))?
    {
        if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
            return Err(format!("the image is larger than {MAX_IMAGE_BYTES} bytes"));
        }
        bytes.extend_from_slice(&chunk);
    }
    let digest = crate::wechat::signature::hex(&Sha256::digest(&bytes));
    let relative = format!("{MEDIA_DIR}/{}/{digest}.{extension}", &digest[..2]);
    let target = data_dir.join(&relative);
    if !target.exists() {
        write_atomically(&target, &bytes)
            .await
            .map_err(|e| format!("cannot save {}: {e}", target.display()))?;
    }
    Ok(relative)
}

/// An error with its chain of causes, which is where reqwest puts the reason.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

fn image_extension(content_type: &str) -> Option<&'static str> {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    Some(match mime {
        "image/jpeg" | "image/jpg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/bmp" => "bmp",
        _ if mime.starts_with("image/") => "img",
        _ => return None,
    })
}

async fn write_atomically(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let temporary = target.with_extension(format!("tmp{}", rand::random::<u32>()));
    tokio::fs::write(&temporary, bytes).await?;
    tokio::fs::rename(&temporary, target).await
}

fn content_type_of(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "mp3" => "audio/mpeg",
        "amr" => "audio/amr",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// Folders of the data dir whose files admins may fetch.
pub const SERVED_DIRS: [&str; 2] = [MEDIA_DIR, "uploads"];

/// A stored `local_path`, checked to stay inside a served folder.
fn safe_file_path(data_dir: &Path, requested: &str) -> Option<PathBuf> {
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

/// `GET /wechat/files/{*local_path}`: a downloaded or uploaded file, for admins.
pub async fn serve_file(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    UrlPath(requested): UrlPath<String>,
) -> Result<Response, AppError> {
    let path = safe_file_path(&state.config.data_dir, &requested)
        .ok_or_else(|| AppError::BadRequest("not a stored file path".into()))?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| AppError::NotFound(format!("file {requested} not found")))?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type_of(&path)),
            // Content-addressed: a name never changes its bytes.
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable",
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["183.3.226.35", "2400:da00::1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

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

    #[tokio::test]
    async fn hosts_off_the_allowlist_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let allow = vec!["mmbiz.qpic.cn".to_string()];
        let error = download("http://127.0.0.1:9/x.jpg", &allow, dir.path())
            .await
            .unwrap_err();
        assert!(error.contains("allowlist"), "{error}");
        let error = download("file:///etc/passwd", &allow, dir.path())
            .await
            .unwrap_err();
        assert!(error.contains("scheme"), "{error}");
    }
}
