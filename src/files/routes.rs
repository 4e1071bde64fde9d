//! `GET /wechat/files/{*local_path}`: a downloaded or uploaded file, for admins.
//! (The document writes the path `/wechat/files/{local_path}`: OpenAPI has
//! no wildcard, so the parameter says it may contain slashes.)

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::path::HttpMethod;

use super::{content_type, resolve_served_file, safe_file_path};
use crate::auth::CurrentAdmin;
use crate::error::AppError;
use crate::http::openapi::{Answers, Api, Operation};
use crate::http::Path as UrlPath;
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    api.route(
        Operation::new(
            HttpMethod::Get,
            "/wechat/files/{*local_path}",
            "files",
            "A stored file (downloaded image, upload) by its local_path, e.g. media/ab/abcd….jpg",
        )
        .answers(Answers::Content(&[
            "image/*",
            "audio/*",
            "video/*",
            "application/octet-stream",
        ])),
        get(serve_file),
    )
}

/// `GET /wechat/files/{*local_path}`: a downloaded or uploaded file, for admins.
async fn serve_file(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    UrlPath(requested): UrlPath<String>,
) -> Result<Response, AppError> {
    safe_file_path(&state.config.data_dir, &requested)
        .ok_or_else(|| AppError::BadRequest("not a stored file path".into()))?;
    let path = resolve_served_file(&state.config.data_dir, &requested)
        .await
        .ok_or_else(|| AppError::NotFound(format!("file {requested} not found")))?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| AppError::NotFound(format!("file {requested} not found")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                content_type(path.extension().and_then(|e| e.to_str()).unwrap_or("")),
            ),
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
