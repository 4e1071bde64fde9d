//! Admin endpoint that shows one background job: status, attempts,
//! progress and last error.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use sea_orm::EntityTrait;
use utoipa::openapi::path::HttpMethod;

use crate::auth::CurrentAdmin;
use crate::entity::jobs;
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Api, Operation};
use crate::http::Query;
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    api.route(
        Operation::new(
            HttpMethod::Get,
            "/wechat/jobs/get",
            "jobs",
            "A background job: status, attempts, progress, last error",
        )
        .query("id", "the job's id"),
        get(job),
    )
}

async fn job(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let id: i64 = query
        .get("id")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| AppError::BadRequest("query parameter id is required".into()))?;
    let job = jobs::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("job {id} not found")))?;
    if let Some(account_id) = job
        .payload
        .as_ref()
        .and_then(|p| p.get("account_id"))
        .and_then(crate::ids::parse_id)
    {
        admin.require_account(account_id)?;
    } else {
        admin.require_admin()?;
    }
    Ok(ok(job))
}
