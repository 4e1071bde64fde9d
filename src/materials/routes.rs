//! Admin endpoints for materials: upload a file, temporary and permanent
//! media, news drafts, counts, sync and deletion on WeChat (multipart forms
//! read here; the work is in [`super::service`] and [`super::sync`]).

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;

use crate::audit;
use crate::auth::CurrentAdmin;
use crate::auth::{account_for, account_in_body};
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Api, Operation};
use crate::http::{multipart_field_error, parse_json_body, JsonBody, Multipart};
use crate::state::AppState;

use super::files::{check_file, store_locally, Upload};
use super::{service, sync};

/// Largest upload accepted (WeChat's largest limit, 10 MB, plus form overhead).
const MAX_UPLOAD: usize = 11 * 1024 * 1024;

pub fn register(api: Api) -> Api {
    use HttpMethod::Post;
    let limit = || DefaultBodyLimit::max(MAX_UPLOAD);
    let op = |path: &str, summary: &str| Operation::new(Post, path, "materials", summary);
    // Everything here but upload_file calls WeChat.
    let wechat = |path: &str, summary: &str| op(path, summary).calls_upstream();
    let media = [("account_id", false), ("media_type", false), ("file", true)];
    api.route(
        op("/wechat/wxmaterials/upload_file", "Store a file on this server (multipart: file; media_type?) for preview")
            .multipart_body(&[("media_type", false), ("file", true)]),
        post(upload_file).layer(limit()),
    )
    .route(
        wechat(
            "/wechat/wxmaterials/upload_temp_media",
            "Upload temporary media (3 days) to WeChat (multipart: account_id, media_type, file)",
        )
        .multipart_body(&media),
        post(upload_temp_media).layer(limit()),
    )
    .route(
        wechat(
            "/wechat/wxmaterials/upload_permanent_media",
            "Upload permanent media to WeChat (multipart: account_id, media_type, file; video: title, introduction)",
        )
        .multipart_body(&[media[0], media[1], media[2], ("title", false), ("introduction", false)]),
        post(upload_permanent_media).layer(limit()),
    )
    .route(
        wechat("/wechat/wxmaterials/upload_news", "Create a news draft: {account_id, articles: [{title, thumb_media_id, content, …}]}")
            .json_body(),
        post(upload_news),
    )
    .route(
        wechat(
            "/wechat/wxmaterials/upload_article_image",
            "Upload an image for an article's body (WeChat media/uploadimg; multipart: account_id, file: jpg/png under 1 MB) → {url}",
        )
        .multipart_body(&[("account_id", false), ("file", true)]),
        post(upload_article_image).layer(limit()),
    )
    .route(
        wechat("/wechat/wxmaterials/material_count", "Counts of permanent materials on WeChat: {account_id}").json_body(),
        post(material_count),
    )
    .route(
        wechat("/wechat/wxmaterials/sync_materials", "Sync every permanent material from WeChat: {account_id}").json_body(),
        post(sync_materials),
    )
    .route(
        wechat("/wechat/wxmaterials/delete_remote_media", "Delete a permanent material on WeChat: {account_id, media_id}")
            .json_body(),
        post(delete_remote_media),
    )
}

/// The fields of a multipart form: text fields and one file.
struct Form {
    fields: std::collections::HashMap<String, String>,
    file: Option<(String, Vec<u8>)>,
}

async fn read_form(Multipart(mut multipart): Multipart) -> Result<Form, AppError> {
    let mut form = Form {
        fields: Default::default(),
        file: None,
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_field_error(None, e))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" || name == "media" {
            let file_name = field.file_name().unwrap_or("upload").to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| multipart_field_error(Some(&name), e))?;
            form.file = Some((file_name, bytes.to_vec()));
        } else {
            let text = field
                .text()
                .await
                .map_err(|e| multipart_field_error(Some(&name), e))?;
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

/// What the audit trail records of an uploaded file.
fn upload_summary(upload: &Upload) -> Value {
    json!({ "name": upload.name, "media_type": upload.media_type, "file_size": upload.bytes.len() })
}

async fn upload_file(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    multipart: Multipart,
) -> ApiResult {
    let mut form = read_form(multipart).await?;
    let upload = form.upload("image")?;
    let local_path = store_locally(&state.config.data_dir, &upload).await?;
    let change = audit::Change {
        action: "upload_file",
        resource: "file",
        resource_id: Some(local_path.clone()),
        account_id: None,
        changes: upload_summary(&upload),
    };
    audit::record_action(&state, &admin, change).await;
    Ok(ok(json!({
        "name": upload.name, "media_type": upload.media_type, "file_size": upload.bytes.len(),
        "width": upload.width, "height": upload.height,
        "local_path": local_path, "preview_url": format!("/wechat/files/{local_path}"),
    })))
}

async fn upload_temp_media(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    multipart: Multipart,
) -> ApiResult {
    let mut form = read_form(multipart).await?;
    let account = account_for(&state.db, &admin, form.account_id()?).await?;
    let upload = form.upload("image")?;
    let uploaded = service::upload_temporary(
        &state.db,
        &state.ids,
        &state.wxapi,
        &state.config.data_dir,
        &account,
        &upload,
    )
    .await?;
    let change = audit::Change::action(
        "upload_temp_media",
        "material",
        account.id,
        upload_summary(&upload),
    );
    audit::record_action(&state, &admin, change).await;
    Ok(ok(uploaded))
}

async fn upload_permanent_media(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    multipart: Multipart,
) -> ApiResult {
    let mut form = read_form(multipart).await?;
    let account = account_for(&state.db, &admin, form.account_id()?).await?;
    let (title, introduction) = (form.text("title"), form.text("introduction"));
    let upload = form.upload("image")?;
    let video = service::VideoInfo {
        title,
        introduction,
    };
    let row = service::upload_permanent(
        &state.db,
        &state.ids,
        &state.wxapi,
        &state.config.data_dir,
        &account,
        &upload,
        video,
    )
    .await?;
    let change = audit::Change::action(
        "upload_permanent_media",
        "material",
        account.id,
        upload_summary(&upload),
    );
    audit::record_action(&state, &admin, change).await;
    Ok(ok(row))
}

async fn upload_article_image(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    multipart: Multipart,
) -> ApiResult {
    let mut form = read_form(multipart).await?;
    let account = account_for(&state.db, &admin, form.account_id()?).await?;
    form.fields.insert("media_type".into(), "image".into());
    let upload = form.upload("image")?;
    let url = service::upload_article_image(&state.wxapi, &account, &upload).await?;
    let change = audit::Change::action(
        "upload_article_image",
        "material",
        account.id,
        upload_summary(&upload),
    );
    audit::record_action(&state, &admin, change).await;
    Ok(ok(json!({ "url": url })))
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
    let account = account_for(&state.db, &admin, request.account_id).await?;
    let titles: Vec<Value> = request
        .articles
        .iter()
        .map(|a| a.get("title").cloned().unwrap_or_default())
        .collect();
    let draft = service::create_news_draft(
        &state.db,
        &state.ids,
        &state.wxapi,
        &account,
        request.articles,
    )
    .await?;
    let change = audit::Change::action(
        "upload_news",
        "material",
        account.id,
        json!({ "titles": titles }),
    );
    audit::record_action(&state, &admin, change).await;
    Ok(ok(draft))
}

async fn material_count(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state.db, &admin, body).await?;
    Ok(ok(service::counts_on_wechat(&state.wxapi, &account).await?))
}

async fn sync_materials(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state.db, &admin, body).await?;
    let synced = sync::sync_from_wechat(&state.db, &state.ids, &state.wxapi, &account).await?;
    let change = audit::Change::action("sync_materials", "material", account.id, synced.clone());
    audit::record_action(&state, &admin, change).await;
    Ok(ok(synced))
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
    let account = account_for(&state.db, &admin, request.account_id).await?;
    if request.media_id.trim().is_empty() {
        return Err(AppError::field("media_id", "is required"));
    }
    let marked =
        service::delete_on_wechat(&state.db, &state.wxapi, &account, &request.media_id).await?;
    let change = audit::Change::action(
        "delete_remote_media",
        "material",
        account.id,
        json!({ "rows_marked": marked }),
    )
    .on(&request.media_id);
    audit::record_action(&state, &admin, change).await;
    Ok(ok(json!({ "deleted": true, "rows_marked": marked })))
}
