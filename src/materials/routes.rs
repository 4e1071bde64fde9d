//! Admin endpoints for materials: upload a file, temporary and permanent
//! media, news drafts, counts, sync and deletion on WeChat. Sizes and types
//! are checked before WeChat is called.

use std::collections::BTreeSet;

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::routing::post;
use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;

use crate::auth::CurrentAdmin;
use crate::auth::{account_for, account_in_body};
use crate::entity::materials;
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Api, Operation};
use crate::http::{parse_json_body, JsonBody};
use crate::state::AppState;
use crate::wxapi::{Body, Part};

use super::files::{check_file, media_part, store_locally, Upload};

/// Largest upload accepted (WeChat's largest limit, 10 MB, plus form overhead).
const MAX_UPLOAD: usize = 11 * 1024 * 1024;
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
    let now = crate::db::now();
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
    let now = crate::db::now();
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

async fn sync_materials(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state, &admin, body).await?;
    Ok(ok(super::service::sync_from_wechat(&state, &account).await?))
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
        .col_expr(materials::Column::UpdatedAt, Expr::value(crate::db::now()))
        .filter(materials::Column::AccountId.eq(account.id))
        .filter(materials::Column::MediaId.eq(request.media_id.as_str()))
        .exec(&state.db)
        .await?;
    Ok(ok(
        json!({ "deleted": true, "rows_marked": marked.rows_affected }),
    ))
}
