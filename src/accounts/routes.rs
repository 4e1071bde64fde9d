//! `POST /wechat/wxaccounts/archive`, `/restore` and `/purge` (admins only).

use axum::extract::State;
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use super::service;
use crate::auth::CurrentAdmin;
use crate::entity::accounts;
use crate::error::{ok, ApiResult};
use crate::http::openapi::{Api, Operation};
use crate::http::{parse_json_body, JsonBody};
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    let op = |path: &str, summary: &str| {
        Operation::new(HttpMethod::Post, path, "accounts", summary).json_body()
    };
    api.route(
        op(
            "/wechat/wxaccounts/archive",
            "Archive an account (admins): disabled and hidden from pickers, its data kept: {id}",
        ),
        post(archive),
    )
    .route(
        op(
            "/wechat/wxaccounts/restore",
            "Restore an archived account (admins): enabled and listed again: {id}",
        ),
        post(restore),
    )
    .route(
        op(
            "/wechat/wxaccounts/purge",
            "Delete an account and all its messages, fans, rules, menus, materials, templates and payments (admins): {id, confirm_name} where confirm_name is the account's name",
        ),
        post(purge),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Target {
    #[serde(with = "crate::ids::json_id")]
    id: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Purge {
    #[serde(with = "crate::ids::json_id")]
    id: i64,
    confirm_name: String,
}

fn archive_state(account: &accounts::Model) -> serde_json::Value {
    json!({
        "id": account.id.to_string(),
        "status": account.status,
        "archived_at": account.archived_at,
    })
}

async fn archive(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let target: Target = parse_json_body(body)?;
    let account = service::set_archived(&state, &admin, target.id, true).await?;
    Ok(ok(archive_state(&account)))
}

async fn restore(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let target: Target = parse_json_body(body)?;
    let account = service::set_archived(&state, &admin, target.id, false).await?;
    Ok(ok(archive_state(&account)))
}

async fn purge(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: Purge = parse_json_body(body)?;
    Ok(ok(service::purge(
        &state,
        &admin,
        request.id,
        &request.confirm_name,
    )
    .await?))
}
