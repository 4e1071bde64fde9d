//! Materials: files kept locally, temporary and permanent media on WeChat,
//! news drafts, counts, sync and deletion. Sizes and types are checked
//! before WeChat is called.

use std::collections::BTreeSet;

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::routing::post;
use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, TransactionTrait,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use utoipa::openapi::path::HttpMethod;

use super::routes::{account_for, account_in_body};
use super::{Body, Part};
use crate::api::{Api, Operation};
use crate::auth::CurrentAdmin;
use crate::entity::materials;
use crate::error::{ok, ApiResult, AppError};
use crate::http::{parse_json_body, JsonBody};
use crate::state::AppState;

/// Largest upload accepted (WeChat's largest limit, 10 MB, plus form overhead).
const MAX_UPLOAD: usize = 11 * 1024 * 1024;
pub const UPLOADS_DIR: &str = "uploads";
/// Temporary media live three days on WeChat.
const TEMPORARY_LIFETIME: chrono::Duration = chrono::Duration::days(3);

pub fn register(api: Api) -> Api {
    use HttpMethod::Post;
    let limit = || DefaultBodyLimit::max(MAX_UPLOAD);
    let form =
        |path: &str, summary: &str| Operation::new(Post, path, "materials", summary).json_body();
    api.route(
        form("/wechat/wxmaterials/upload_file", "Store a file on this server (multipart: file; media_type?) for preview"),
        post(upload_file).layer(limit()),
    )
    .route(
        form(
            "/wechat/wxmaterials/upload_temp_media",
            "Upload temporary media (3 days) to WeChat (multipart: account_id, media_type, file)",
        ),
        post(upload_temp_media).layer(limit()),
    )
    .route(
        form(
            "/wechat/wxmaterials/upload_permanent_media",
            "Upload permanent media to WeChat (multipart: account_id, media_type, file; video: title, introduction)",
        ),
        post(upload_permanent_media).layer(limit()),
    )
    .route(
        form("/wechat/wxmaterials/upload_news", "Create a news draft: {account_id, articles: [{title, thumb_media_id, content, …}]}"),
        post(upload_news),
    )
    .route(form("/wechat/wxmaterials/material_count", "Counts of permanent materials on WeChat: {account_id}"), post(material_count))
    .route(
        form("/wechat/wxmaterials/sync_materials", "Sync every permanent material from WeChat: {account_id}"),
        post(sync_materials),
    )
    .route(
        form("/wechat/wxmaterials/delete_remote_media", "Delete a permanent material on WeChat: {account_id, media_id}"),
        post(delete_remote_media),
    )
}

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

fn check_file(media_type: &str, name: &str, bytes: Vec<u8>) -> Result<Upload, AppError> {
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
async fn store_locally(state: &AppState, upload: &Upload) -> Result<String, AppError> {
    let digest = crate::wechat::signature::hex(&Sha256::digest(&upload.bytes));
    let relative = format!(
        "{UPLOADS_DIR}/{}/{digest}.{}",
        &digest[..2],
        upload.extension
    );
    let target = state.config.data_dir.join(&relative);
    if !target.exists() {
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(AppError::internal)?;
        }
        let temporary = target.with_extension(format!("tmp{}", rand::random::<u32>()));
        tokio::fs::write(&temporary, &upload.bytes)
            .await
            .map_err(AppError::internal)?;
        tokio::fs::rename(&temporary, &target)
            .await
            .map_err(AppError::internal)?;
    }
    Ok(relative)
}

/// The fields of a multipart form: text fields and one file.
struct Form {
    fields: std::collections::HashMap<String, String>,
    file: Option<(String, Vec<u8>)>,
}

async fn read_form(mut multipart: Multipart) -> Result<Form, AppError> {
    let mut form = Form {
        fields: Default::default(),
        file: None,
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| crate::http::body_error(e.status(), e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" || name == "media" {
            let file_name = field.file_name().unwrap_or("upload").to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| crate::http::body_error(e.status(), e.body_text()))?;
            form.file = Some((file_name, bytes.to_vec()));
        } else {
            let text = field
                .text()
                .await
                .map_err(|e| AppError::BadRequest(format!("field {name}: {e}")))?;
            form.fields.insert(name, text);
        }
    }
    Ok(form)
}

impl Form {
    fn text(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }

    fn account_id(&self) -> Result<i64, AppError> {
        self.text("account_id")
            .trim()
            .parse()
            .map_err(|_| AppError::field("account_id", "is required (an id)"))
    }

    fn upload(&mut self, default_type: &str) -> Result<Upload, AppError> {
        let media_type = Some(self.text("media_type"))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| default_type.into());
        let (name, bytes) = self
            .file
            .take()
            .ok_or_else(|| AppError::field("file", "is required"))?;
        check_file(&media_type, &name, bytes)
    }
}

async fn upload_file(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    multipart: Multipart,
) -> ApiResult {
    let mut form = read_form(multipart).await?;
    let upload = form.upload("image")?;
    let local_path = store_locally(&state, &upload).await?;
    Ok(ok(json!({
        "name": upload.name, "media_type": upload.media_type, "file_size": upload.bytes.len(),
        "width": upload.width, "height": upload.height,
        "local_path": local_path, "preview_url": format!("/wechat/files/{local_path}"),
    })))
}

fn media_part(upload: &Upload) -> Part {
    Part {
        name: "media".into(),
        file_name: Some(upload.name.clone()),
        content_type: Some(mime_of(upload.extension).into()),
        bytes: upload.bytes.clone(),
    }
}

fn mime_of(extension: &str) -> &'static str {
    match extension {
        "jpg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "mp3" => "audio/mpeg",
        "amr" => "audio/amr",
        "wav" => "audio/wav",
        "wma" => "audio/x-ms-wma",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

async fn save_row(state: &AppState, row: materials::Model) -> Result<materials::Model, AppError> {
    Ok(row
        .into_active_model()
        .reset_all()
        .insert(&state.db)
        .await?)
}

fn new_row(
    state: &AppState,
    account_id: i64,
    upload: &Upload,
    local_path: String,
) -> Result<materials::Model, AppError> {
    let now = crate::admin::now();
    Ok(materials::Model {
        id: state.ids.next_id()?,
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

async fn upload_temp_media(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    multipart: Multipart,
) -> ApiResult {
    let mut form = read_form(multipart).await?;
    let account = account_for(&state, &admin, form.account_id()?).await?;
    let upload = form.upload("image")?;
    let answer = state
        .wxapi
        .call(
            &account,
            Method::POST,
            "/cgi-bin/media/upload",
            &[("type", upload.media_type.clone())],
            Body::Multipart(vec![media_part(&upload)]),
        )
        .await?;
    let local_path = store_locally(&state, &upload).await?;
    let mut row = new_row(&state, account.id, &upload, local_path)?;
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
    Ok(ok(save_row(&state, row).await?))
}

async fn upload_permanent_media(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    multipart: Multipart,
) -> ApiResult {
    let mut form = read_form(multipart).await?;
    let account = account_for(&state, &admin, form.account_id()?).await?;
    let (title, introduction) = (form.text("title"), form.text("introduction"));
    let upload = form.upload("image")?;
    let mut parts = vec![media_part(&upload)];
    if upload.media_type == "video" {
        if title.trim().is_empty() {
            return Err(AppError::field("title", "a video needs a title"));
        }
        parts.push(Part {
            name: "description".into(),
            file_name: None,
            content_type: None,
            bytes: json!({ "title": title, "introduction": introduction })
                .to_string()
                .into_bytes(),
        });
    }
    let answer = state
        .wxapi
        .call(
            &account,
            Method::POST,
            "/cgi-bin/material/add_material",
            &[("type", upload.media_type.clone())],
            Body::Multipart(parts),
        )
        .await?;
    let local_path = store_locally(&state, &upload).await?;
    let mut row = new_row(&state, account.id, &upload, local_path)?;
    row.media_id = answer["media_id"].as_str().unwrap_or_default().to_string();
    row.url = answer["url"].as_str().unwrap_or_default().to_string();
    row.is_permanent = 1;
    row.title = title;
    row.introduction = introduction;
    Ok(ok(save_row(&state, row).await?))
}

#[derive(Deserialize)]
struct NewsRequest {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    articles: Vec<Value>,
}

async fn upload_news(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: NewsRequest = parse_json_body(body)?;
    let account = account_for(&state, &admin, request.account_id).await?;
    if request.articles.is_empty() || request.articles.len() > 8 {
        return Err(AppError::field("articles", "1 to 8 articles"));
    }
    let permanent_images: BTreeSet<String> = materials::Entity::find()
        .filter(materials::Column::AccountId.eq(account.id))
        .filter(materials::Column::IsPermanent.eq(1))
        .filter(materials::Column::MediaType.is_in(["image", "thumb"]))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| m.media_id)
        .collect();
    for (n, article) in request.articles.iter().enumerate() {
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
    let answer = state
        .wxapi
        .call(
            &account,
            Method::POST,
            "/cgi-bin/draft/add",
            &[],
            Body::Json(json!({ "articles": request.articles })),
        )
        .await?;
    let now = crate::admin::now();
    let row = materials::Model {
        id: state.ids.next_id()?,
        account_id: account.id,
        media_type: "news".into(),
        media_id: answer["media_id"].as_str().unwrap_or_default().into(),
        name: request.articles[0]["title"]
            .as_str()
            .unwrap_or_default()
            .into(),
        title: request.articles[0]["title"]
            .as_str()
            .unwrap_or_default()
            .into(),
        news_items: Some(Value::Array(request.articles)),
        is_permanent: 1,
        sync_status: 1,
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    Ok(ok(save_row(&state, row).await?))
}

async fn material_count(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state, &admin, body).await?;
    let counts = state
        .wxapi
        .call(
            &account,
            Method::GET,
            "/cgi-bin/material/get_materialcount",
            &[],
            Body::Empty,
        )
        .await?;
    Ok(ok(json!({
        "voice_count": counts["voice_count"], "video_count": counts["video_count"],
        "image_count": counts["image_count"], "news_count": counts["news_count"],
    })))
}

/// Pages of this size are what batchget allows.
const PAGE: i64 = 20;

async fn sync_materials(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state, &admin, body).await?;
    let mut remote = Vec::new();
    for kind in ["image", "voice", "video", "news"] {
        let mut offset = 0;
        loop {
            let page = state
                .wxapi
                .call(
                    &account,
                    Method::POST,
                    "/cgi-bin/material/batchget_material",
                    &[],
                    Body::Json(json!({ "type": kind, "offset": offset, "count": PAGE })),
                )
                .await?;
            let items = page["item"].as_array().cloned().unwrap_or_default();
            let total = page["total_count"].as_i64().unwrap_or(0);
            offset += items.len() as i64;
            remote.extend(items.into_iter().map(|item| (kind, item)));
            if offset >= total || page["item_count"].as_i64().unwrap_or(0) == 0 {
                break;
            }
        }
    }
    let existing: std::collections::HashMap<String, materials::Model> = materials::Entity::find()
        .filter(materials::Column::AccountId.eq(account.id))
        .filter(materials::Column::IsPermanent.eq(1))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| (m.media_id.clone(), m))
        .collect();
    let now = crate::admin::now();
    let (mut added, mut updated, mut gone) = (0, 0, 0);
    let mut seen = BTreeSet::new();
    let txn = state.db.begin().await?;
    for (kind, item) in &remote {
        let media_id = item["media_id"].as_str().unwrap_or_default().to_string();
        if media_id.is_empty() {
            continue;
        }
        seen.insert(media_id.clone());
        let news = item["content"]["news_item"].as_array().cloned();
        let name = item["name"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                news.as_ref()
                    .and_then(|n| n.first())
                    .and_then(|a| a["title"].as_str())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let url = item["url"].as_str().unwrap_or_default().to_string();
        match existing.get(&media_id) {
            Some(old) => {
                let news_items = news.clone().map(Value::Array).or(old.news_items.clone());
                if old.name != name
                    || old.url != url
                    || old.sync_status != 1
                    || old.news_items != news_items
                {
                    let mut row = old.clone().into_active_model();
                    row.name = sea_orm::Set(name);
                    row.url = sea_orm::Set(url);
                    row.news_items = sea_orm::Set(news_items);
                    row.sync_status = sea_orm::Set(1);
                    row.updated_at = sea_orm::Set(now);
                    row.update(&txn).await?;
                    updated += 1;
                }
            }
            None => {
                materials::Model {
                    id: state.ids.next_id()?,
                    account_id: account.id,
                    media_type: kind.to_string(),
                    media_id,
                    title: name.clone(),
                    name,
                    url,
                    news_items: news.map(Value::Array),
                    is_permanent: 1,
                    sync_status: 1,
                    created_at: now,
                    updated_at: now,
                    ..Default::default()
                }
                .into_active_model()
                .reset_all()
                .insert(&txn)
                .await?;
                added += 1;
            }
        }
    }
    // Gone on WeChat: kept here, marked (sync_status 2).
    for (media_id, old) in &existing {
        if !media_id.is_empty() && !seen.contains(media_id) && old.sync_status != 2 {
            materials::Entity::update_many()
                .col_expr(materials::Column::SyncStatus, Expr::value(2i16))
                .col_expr(materials::Column::UpdatedAt, Expr::value(now))
                .filter(materials::Column::Id.eq(old.id))
                .exec(&txn)
                .await?;
            gone += 1;
        }
    }
    txn.commit().await?;
    Ok(ok(
        json!({ "remote": remote.len(), "added": added, "updated": updated, "deleted_on_wechat": gone }),
    ))
}

#[derive(Deserialize)]
struct DeleteRequest {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    media_id: String,
}

async fn delete_remote_media(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: DeleteRequest = parse_json_body(body)?;
    let account = account_for(&state, &admin, request.account_id).await?;
    if request.media_id.trim().is_empty() {
        return Err(AppError::field("media_id", "is required"));
    }
    state
        .wxapi
        .call(
            &account,
            Method::POST,
            "/cgi-bin/material/del_material",
            &[],
            Body::Json(json!({ "media_id": request.media_id })),
        )
        .await?;
    let marked = materials::Entity::update_many()
        .col_expr(materials::Column::SyncStatus, Expr::value(2i16))
        .col_expr(
            materials::Column::UpdatedAt,
            Expr::value(crate::admin::now()),
        )
        .filter(materials::Column::AccountId.eq(account.id))
        .filter(materials::Column::MediaId.eq(request.media_id.as_str()))
        .exec(&state.db)
        .await?;
    Ok(ok(
        json!({ "deleted": true, "rows_marked": marked.rows_affected }),
    ))
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
