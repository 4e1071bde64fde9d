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
        return Err(AppError::field("articles", "1 to 8 articles"));
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
    for (n, article) in articles.iter().enumerate() {
        for field in ["title", "content", "thumb_media_id"] {
            if article[field].as_str().is_none_or(|v| v.trim().is_empty()) {
                return Err(AppError::field(
                    &format!("articles[{n}].{field}"),
                    "is required",
                ));
            }
        }
        let thumb = article["thumb_media_id"].as_str().unwrap_or_default();
        if !permanent_images.contains(thumb) {
            return Err(AppError::field(
                &format!("articles[{n}].thumb_media_id"),
                "must be a permanent image of this account (upload_permanent_media)",
            ));
        }
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
