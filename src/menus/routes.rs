//! Admin endpoints that push the menu to WeChat or pull it back. (The menu's
//! rows themselves are the `wxmenus` resource of the admin API.)

use axum::extract::State;
use axum::routing::post;
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use super::service;
use crate::audit;
use crate::auth::{account_in_body, CurrentAdmin};
use crate::error::{ok, ApiResult};
use crate::http::openapi::{Api, Operation};
use crate::http::JsonBody;
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    let op = |path: &str, summary: &str| {
        Operation::new(HttpMethod::Post, path, "menus", summary)
            .json_body()
            .calls_upstream()
    };
    api.route(
        op(
            "/wechat/wxmenus/pull_menu",
            "Publish the stored menu to WeChat: {account_id}",
        ),
        post(pull_menu),
    )
    .route(
        op(
            "/wechat/wxmenus/sync_menu",
            "Replace the stored menu with WeChat's: {account_id}",
        ),
        post(sync_menu),
    )
    .route(
        op(
            "/wechat/wxmenus/delete_remote_menu",
            "Delete the menu on WeChat: {account_id}",
        ),
        post(delete_remote_menu),
    )
}

async fn pull_menu(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state.db, &admin, body).await?;
    let published = service::publish(&state.db, &state.wxapi, &account).await?;
    tracing::info!(admin = %admin.username, app_id = %account.app_id, "menu published");
    let change = audit::Change::action("publish_menu", "menu", account.id, published.clone());
    audit::record_action(&state, &admin, change).await;
    Ok(ok(published))
}

async fn sync_menu(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state.db, &admin, body).await?;
    let stored = service::pull_from_wechat(&state.db, &state.ids, &state.wxapi, &account).await?;
    let change = audit::Change::action(
        "replace_menu_from_wechat",
        "menu",
        account.id,
        json!({ "stored": stored }),
    );
    audit::record_action(&state, &admin, change).await;
    Ok(ok(json!({ "stored": stored })))
}

async fn delete_remote_menu(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state.db, &admin, body).await?;
    service::delete_on_wechat(&state.wxapi, &account).await?;
    let change = audit::Change::action("delete_remote_menu", "menu", account.id, json!({}));
    audit::record_action(&state, &admin, change).await;
    Ok(ok(json!({ "deleted": true })))
}
