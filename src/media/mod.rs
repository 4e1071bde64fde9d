//! Downloads the pictures of image messages before WeChat's URLs expire (a
//! background job the callback enqueues). Only allowlisted hosts are fetched,
//! and private or loopback addresses only when the allowlist names them.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use axum::http::header;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::entity::{jobs, messages};
use crate::files::{write_atomically, MEDIA_DIR};
use crate::jobs::{Job, JobError, JobFuture};
use crate::state::AppState;

/// Larger pictures are refused (WeChat's own image limit is 10 MB).
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// The job: `{message_id, url}` → the message's `local_path`.
pub struct DownloadImage;

impl Job for DownloadImage {
    const NAME: &'static str = "download_image";

    fn run<'a>(state: &'a AppState, job: &'a jobs::Model) -> JobFuture<'a> {
        Box::pin(download_image(
            state,
            job.payload.clone().unwrap_or(Value::Null),
        ))
    }
}

async fn download_image(state: &AppState, payload: Value) -> Result<(), JobError> {
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
        .await?;
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
