//! Materials on WeChat: temporary and permanent media uploaded (and kept
//! here too), news drafts, counts, deletion. The files are checked before
//! WeChat is called (see [`super::files`]).

use std::collections::BTreeSet;

use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::{json, Value};

use super::files::{media_part, store_locally, Upload};
use crate::entity::{accounts, materials};
use crate::error::AppError;
use crate::ids::IdGenerator;
use crate::wxapi::WxApi;
use crate::wxapi::{Body, Part};
use sea_orm::DatabaseConnection;
use std::path::Path;

/// The title and introduction WeChat wants with a permanent video.
#[derive(Default)]
pub struct VideoInfo {
    pub title: String,
    pub introduction: String,
}

/// Temporary media live three days on WeChat.
const TEMPORARY_LIFETIME: chrono::Duration = chrono::Duration::days(3);

async fn save_row(
    db: &DatabaseConnection,
    row: materials::Model,
) -> Result<materials::Model, AppError> {
    Ok(row.into_active_model().reset_all().insert(db).await?)
}

fn new_row(
    ids: &IdGenerator,
    account_id: i64,
    upload: &Upload,
    local_path: String,
) -> Result<materials::Model, AppError> {
    let now = crate::db::now();
    Ok(materials::Model {
        id: ids.next_id()?,
        account_id,
        media_type: upload.media_type.clone(),
        name: upload.name.clone(),
        local_path,
        file_size: upload.bytes.len() as i64,
        width: upload.width,
        height: upload.height,
        sync_status: 1,
        created_at: now,
        updated_at: now,
        ..Default::default()
    })
}

/// Uploads temporary media (kept three days by WeChat) and records it.
pub async fn upload_temporary(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    wxapi: &WxApi,
    data_dir: &Path,
    account: &accounts::Model,
    upload: &Upload,
) -> Result<materials::Model, AppError> {
    let answer = wxapi
        .call(
            account,
            Method::POST,
            "/cgi-bin/media/upload",
            &[("type", upload.media_type.clone())],
            Body::Multipart(vec![media_part(upload)]),
        )
        .await?;
    let local_path = store_locally(data_dir, upload).await?;
    let mut row = new_row(ids, account.id, upload, local_path)?;
    row.media_id = answer["media_id"]
        .as_str()
        .or(answer["thumb_media_id"].as_str())
        .unwrap_or_default()
        .to_string();
    row.is_permanent = 0;
    let created = answer["created_at"]
        .as_i64()
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .unwrap_or_else(chrono::Utc::now);
    row.expires_at = Some(created + TEMPORARY_LIFETIME);
    save_row(db, row).await
}

/// Uploads permanent media and records it; a video needs a title.
pub async fn upload_permanent(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    wxapi: &WxApi,
    data_dir: &Path,
    account: &accounts::Model,
    upload: &Upload,
    video: VideoInfo,
) -> Result<materials::Model, AppError> {
    let mut parts = vec![media_part(upload)];
    if upload.media_type == "video" {
        if video.title.trim().is_empty() {
            return Err(AppError::field("title", "a video needs a title"));
        }
        parts.push(Part {
            name: "description".into(),
            file_name: None,
            content_type: None,
            bytes: json!({ "title": video.title, "introduction": video.introduction })
                .to_string()
                .into_bytes(),
        });
    }
    let answer = wxapi
        .call(
            account,
            Method::POST,
            "/cgi-bin/material/add_material",
            &[("type", upload.media_type.clone())],
            Body::Multipart(parts),
        )
        .await?;
    let local_path = store_locally(data_dir, upload).await?;
    let mut row = new_row(ids, account.id, upload, local_path)?;
    row.media_id = answer["media_id"].as_str().unwrap_or_default().to_string();
    row.url = answer["url"].as_str().unwrap_or_default().to_string();
    row.is_permanent = 1;
    row.title = video.title;
    row.introduction = video.introduction;
    save_row(db, row).await
}

/// Creates a news draft of 1 to 8 articles, each with a permanent thumb image
/// of this account, and records it.
pub async fn create_news_draft(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    wxapi: &WxApi,
    account: &accounts::Model,
    articles: Vec<Value>,
) -> Result<materials::Model, AppError> {
    if articles.is_empty() || articles.len() > 8 {
        return Err(AppError::field("articles", "must be 1 to 8 articles"));
    }
    let permanent_images: BTreeSet<String> = materials::Entity::find()
        .filter(materials::Column::AccountId.eq(account.id))
        .filter(materials::Column::IsPermanent.eq(1))
        .filter(materials::Column::MediaType.is_in(["image", "thumb"]))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.media_id)
        .collect();
    // Every article's every problem at once, named `articles.<i>.<field>`.
    let mut errors = crate::error::FieldErrors::new();
    for (n, article) in articles.iter().enumerate() {
        if let Some((field, reason)) = article_problem(article, &permanent_images) {
            errors.insert(format!("articles.{n}.{field}"), reason);
        }
        for (field, reason) in article_field_problems(article) {
            errors
                .entry(format!("articles.{n}.{field}"))
                .or_insert(reason);
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let answer = wxapi
        .call(
            account,
            Method::POST,
            "/cgi-bin/draft/add",
            &[],
            Body::Json(json!({ "articles": articles })),
        )
        .await?;
    let now = crate::db::now();
    let row = materials::Model {
        id: ids.next_id()?,
        account_id: account.id,
        media_type: "news".into(),
        media_id: answer["media_id"].as_str().unwrap_or_default().into(),
        name: articles[0]["title"].as_str().unwrap_or_default().into(),
        title: articles[0]["title"].as_str().unwrap_or_default().into(),
        news_items: Some(Value::Array(articles)),
        is_permanent: 1,
        sync_status: 1,
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    save_row(db, row).await
}

/// The limits of a draft article's text fields (characters), as WeChat's
/// draft API documents them: title, author, digest; the body is under
/// 20 000 characters and 1 MB.
const TEXT_LIMITS: &[(&str, usize)] = &[("title", 64), ("author", 16), ("digest", 120)];
const CONTENT_MAX_CHARS: usize = 20_000;
const CONTENT_MAX_BYTES: usize = 1024 * 1024;

/// The cover's problem: missing, or not a permanent image of the account.
fn article_problem(article: &Value, images: &BTreeSet<String>) -> Option<(&'static str, String)> {
    let thumb = article["thumb_media_id"].as_str().unwrap_or_default();
    if thumb.trim().is_empty() {
        return Some(("thumb_media_id", "is required".into()));
    }
    if !images.contains(thumb) {
        return Some((
            "thumb_media_id",
            "must be a permanent image of this account (upload_permanent_media)".into(),
        ));
    }
    None
}

/// Problems of the text fields: required, too long, not a URL, unsafe HTML.
fn article_field_problems(article: &Value) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if !article.is_object() {
        out.push(("title", "is required".to_string()));
        return out;
    }
    for field in ["title", "content"] {
        if article[field].as_str().is_none_or(|v| v.trim().is_empty()) {
            out.push((field, "is required".to_string()));
        }
    }
    for (field, max) in TEXT_LIMITS {
        let value = &article[*field];
        if !value.is_null() && !value.is_string() {
            out.push((*field, "must be a string".to_string()));
        } else if value.as_str().is_some_and(|v| v.chars().count() > *max) {
            out.push((*field, format!("must be at most {max} characters")));
        }
    }
    let content = article["content"].as_str().unwrap_or_default();
    if content.chars().count() >= CONTENT_MAX_CHARS {
        out.push((
            "content",
            format!("must be at most {} characters", CONTENT_MAX_CHARS - 1),
        ));
    } else if content.len() >= CONTENT_MAX_BYTES {
        out.push((
            "content",
            format!(
                "must be at most {} bytes (UTF-8), is {}",
                CONTENT_MAX_BYTES - 1,
                content.len()
            ),
        ));
    } else if let Some(part) = super::html::unsafe_part(content) {
        out.push((
            "content",
            format!("must not contain scripts or event handlers: {part}"),
        ));
    }
    let source = article["content_source_url"]
        .as_str()
        .unwrap_or_default()
        .trim();
    let is_web = source.starts_with("http://") || source.starts_with("https://");
    if !source.is_empty() && !is_web {
        out.push((
            "content_source_url",
            "must be an http:// or https:// URL".to_string(),
        ));
    }
    for field in ["need_open_comment", "only_fans_can_comment"] {
        let value = &article[field];
        if !value.is_null() && !matches!(value.as_u64(), Some(0 | 1)) {
            out.push((field, "must be one of 0, 1".to_string()));
        }
    }
    out
}

/// Uploads an image for use inside an article's body (WeChat's
/// `media/uploadimg`: jpg or png under 1 MB); nothing is stored here, the
/// URL WeChat gives is returned for the body's `<img src>`.
pub async fn upload_article_image(
    wxapi: &WxApi,
    account: &accounts::Model,
    upload: &Upload,
) -> Result<String, AppError> {
    if !matches!(upload.extension, "jpg" | "png") {
        return Err(AppError::field("file", "must be a jpg or png image"));
    }
    if upload.bytes.len() >= 1024 * 1024 {
        return Err(AppError::field(
            "file",
            format!(
                "article images are under 1024 KB; this is {} KB",
                upload.bytes.len() / 1024
            ),
        ));
    }
    let answer = wxapi
        .call(
            account,
            Method::POST,
            "/cgi-bin/media/uploadimg",
            &[],
            Body::Multipart(vec![media_part(upload)]),
        )
        .await?;
    answer["url"]
        .as_str()
        .filter(|url| !url.is_empty())
        .map(str::to_string)
        .ok_or_else(|| AppError::internal("WeChat's uploadimg answered without a url"))
}

/// WeChat's counts of the account's permanent materials.
pub async fn counts_on_wechat(wxapi: &WxApi, account: &accounts::Model) -> Result<Value, AppError> {
    let counts = wxapi
        .call(
            account,
            Method::GET,
            "/cgi-bin/material/get_materialcount",
            &[],
            Body::Empty,
        )
        .await?;
    Ok(json!({
        "voice_count": counts["voice_count"], "video_count": counts["video_count"],
        "image_count": counts["image_count"], "news_count": counts["news_count"],
    }))
}

/// Deletes a permanent material on WeChat; the rows here are kept, marked
/// gone (sync_status 2). Returns how many rows were marked.
pub async fn delete_on_wechat(
    db: &DatabaseConnection,
    wxapi: &WxApi,
    account: &accounts::Model,
    media_id: &str,
) -> Result<u64, AppError> {
    wxapi
        .call(
            account,
            Method::POST,
            "/cgi-bin/material/del_material",
            &[],
            Body::Json(json!({ "media_id": media_id })),
        )
        .await?;
    let marked = materials::Entity::update_many()
        .col_expr(materials::Column::SyncStatus, Expr::value(2i16))
        .col_expr(materials::Column::UpdatedAt, Expr::value(crate::db::now()))
        .filter(materials::Column::AccountId.eq(account.id))
        .filter(materials::Column::MediaId.eq(media_id))
        .exec(db)
        .await?;
    Ok(marked.rows_affected)
}
