//! Downloads the pictures of image messages before WeChat's URLs expire (a
//! background job the callback enqueues). Only allowlisted hosts are fetched,
//! and private or loopback addresses only when the allowlist names them.

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
use crate::outbound::{read_capped, with_causes, Allowlist, ReadError};
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

/// Fetches `url` into the data dir under a content-addressed name; returns
/// the path relative to the data dir.
pub async fn download(url: &str, allowlist: &[String], data_dir: &Path) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("bad URL: {e}"))?;
    let allowlist = Allowlist::new(allowlist, "the media allowlist (WXMP_MEDIA_HOSTS)");
    allowlist.check_url(&parsed)?;
    let response = allowlist
        .client()?
        .get(parsed)
        .timeout(Duration::from_secs(30))
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
    let bytes = read_capped(response, MAX_IMAGE_BYTES)
        .await
        .map_err(|e| match e {
            ReadError::TooLarge => format!("the image is larger than {MAX_IMAGE_BYTES} bytes"),
            ReadError::Failed(why) => format!("download failed: {why}"),
        })?;
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
