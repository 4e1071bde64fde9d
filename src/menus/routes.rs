//! Admin endpoints of the menu: the editor's whole tree with the replies of
//! its click buttons, read and saved at once; and pushing the menu to WeChat
//! or pulling it back. (The rows one by one are also the `wxmenus` resource
//! of the admin API.)

use axum::extract::State;
use axum::routing::{get, post};
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use super::{service, tree};
use crate::audit;
use crate::auth::{account_for, account_in_body, account_in_query, CurrentAdmin};
use crate::error::{ok, ApiResult};
use crate::http::openapi::{Api, Operation};
use crate::http::{parse_json_body, JsonBody, Query};
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
    .route(
        Operation::new(
            HttpMethod::Get,
            "/wechat/wxmenus/tree",
            "menus",
            "The stored menu as a tree, in order, with the reply of each click button (the exact keyword rule of its key)",
        )
        .query("account_id", "the account")
        .may_fail_with(&[422]),
        get(read_tree),
    )
    .route(
        Operation::new(
            HttpMethod::Post,
            "/wechat/wxmenus/save_tree",
            "menus",
            "Replace the stored menu with {account_id, buttons: [{id?, menu_name, menu_type, …, reply?, sub_button}]}; \
             a click button's reply is saved as the exact keyword rule of its key, in the same transaction",
        )
        .json_body(),
        post(save_tree),
    )
}

async fn read_tree(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(query): Query<AccountQuery>,
) -> ApiResult {
    let account = account_in_query(&state.db, &admin, &query.account_id).await?;
    Ok(ok(tree::read(&state.db, account.id).await?))
}

async fn save_tree(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: tree::TreeRequest = parse_json_body(body)?;
    let account = account_for(&state.db, &admin, request.account_id).await?;
    let saved = tree::save(&state.db, &state.ids, &admin, account.id, request.buttons).await?;
    if saved.rules_changed {
        // The next click is answered by the new reply, without a restart.
        state.callback_accounts.invalidate(account.id);
    }
    tracing::info!(admin = %admin.username, app_id = %account.app_id, buttons = saved.buttons, "menu saved");
    Ok(ok(tree::read(&state.db, account.id).await?))
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
