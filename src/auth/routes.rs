//! `/auth/login` and `/auth/me`: signing in and who am I. (Changing a
//! password and managing admins are changes: see `admins`.)

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::routing::{get, post};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use super::service::admin_json;
use super::{dummy_hash, verify_password, CurrentAdmin};
use crate::entity::admins;
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Api, Operation};
use crate::http::{parse_json_body, JsonBody};
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    use HttpMethod::{Get, Post};
    api.route(
        Operation::new(
            Post,
            "/auth/login",
            "auth",
            "Sign in: {username, password} → {token, expires_at}",
        )
        .public()
        .json_body()
        .may_fail_with(&[429]),
        post(login),
    )
    .route(
        Operation::new(Get, "/auth/me", "auth", "The signed-in admin"),
        get(me),
    )
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: LoginRequest = parse_json_body(body)?;
    let address = crate::http::client_address(peer.ip(), &state.config.trusted_proxies, &headers);
    if let Err(retry_after) = state
        .login_throttle
        .begin_attempt(address, &request.username)
    {
        return Err(AppError::TooManyRequests {
            message: format!("too many failed sign-ins; try again in {retry_after} s"),
            retry_after,
        });
    }
    let found = admins::Entity::find()
        .filter(admins::Column::Username.eq(request.username.as_str()))
        .one(&state.db)
        .await?;
    let hash = found
        .as_ref()
        .map(|a| a.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let password = request.password.clone();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(AppError::internal)?;
    let admin = match found {
        Some(admin) if matches && admin.status == 1 => admin,
        _ => {
            tracing::warn!(username = %request.username, %address, "failed sign-in");
            return Err(AppError::Unauthorized("wrong user name or password".into()));
        }
    };
    state
        .login_throttle
        .record_success(address, &request.username);
    let (token, expires_at) = state.jwt.issue(&admin)?;
    // last_login_at is bookkeeping, not an edit: updated_at stays.
    let mut active = admin.clone().into_active_model();
    active.last_login_at = Set(Some(chrono::Utc::now()));
    let admin = active.update(&state.db).await?;
    Ok(ok(json!({
        "token": token,
        "token_type": "Bearer",
        "expires_at": chrono::DateTime::from_timestamp(expires_at, 0),
        "admin": admin_json(&admin),
    })))
}

async fn me(State(state): State<AppState>, current: CurrentAdmin) -> ApiResult {
    let admin = admins::Entity::find_by_id(current.id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound("admin not found".into()))?;
    Ok(ok(admin_json(&admin)))
}
