//! Admin endpoints that push the menu to WeChat or pull it back. (The menu's
//! rows themselves are the `wxmenus` resource of the admin API.)

use axum::extract::State;
use axum::routing::{get, post};
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use super::service;
use crate::audit;
use crate::auth::{account_in_body, account_in_query, CurrentAdmin};
use crate::error::{ok, ApiResult};
use crate::http::openapi::{Api, Operation};
use crate::http::{JsonBody, Query};
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
    .route(
        op(
            "/wechat/wxmenus/check_menu",
            "Read the menu on WeChat and record it as live, keeping the draft: {account_id}",
        ),
        post(check_menu),
    )
    .route(
        Operation::new(
            HttpMethod::Get,
            "/wechat/wxmenus/live",
            "menus",
            "What is live on WeChat as last published, read or deleted, beside the stored draft",
        )
        .query("account_id", "the account"),
        get(live),
    )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountQuery {
    account_id: String,
}

async fn live(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(query): Query<AccountQuery>,
) -> ApiResult {
    let account = account_in_query(&state.db, &admin, &query.account_id).await?;
    Ok(ok(service::live(&state.db, &account).await?))
}

async fn check_menu(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state.db, &admin, body).await?;
    let live = service::check_on_wechat(
        &state.db,
        &state.ids,
        &state.wxapi,
        &account,
        &admin.username,
    )
    .await?;
    Ok(ok(live))
}

async fn pull_menu(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state.db, &admin, body).await?;
    let published = service::publish(
        &state.db,
        &state.ids,
        &state.wxapi,
        &account,
        &admin.username,
    )
    .await?;
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
    let stored = service::pull_from_wechat(
        &state.db,
        &state.ids,
        &state.wxapi,
        &account,
        &admin.username,
    )
    .await?;
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
    service::delete_on_wechat(
        &state.db,
        &state.ids,
        &state.wxapi,
        &account,
        &admin.username,
    )
    .await?;
    let change = audit::Change::action("delete_remote_menu", "menu", account.id, json!({}));
    audit::record_action(&state, &admin, change).await;
    Ok(ok(json!({ "deleted": true })))
}
