//! `/wechat/plugins/state/*`: a plugin's state for admins — list it a page
//! at a time, export it as a JSON or CSV download, delete a key (audited).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use sea_orm::TransactionTrait;
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use super::state_admin::{self, StateFilter};
use crate::auth::CurrentAdmin;
use crate::error::{ok, ApiResult, AppError};
use crate::http::listing::{refuse_nul, Page};
use crate::http::openapi::{Answers, Api, Operation};
use crate::http::Query;
use crate::state::AppState;

/// The query parameters list and export share.
fn filtered(operation: Operation) -> Operation {
    operation
        .query("plugin", "the plugin (loaded, or with state left)")
        .query("account_id", "only values of this account")
        .query(
            "scope",
            "account (account-wide values) or fan (values per fan)",
        )
        .query("openid", "only this fan's values")
        .query("key_prefix", "only keys that start with this")
        // A bad plugin, account_id or scope is a field error.
        .may_fail_with(&[422])
}

pub fn register(api: Api) -> Api {
    use HttpMethod::{Delete, Get};
    api.route(
        filtered(Operation::new(
            Get,
            "/wechat/plugins/state/list",
            "plugins",
            "A plugin's live state values (expired ones left out), by account, fan and key (admins only)",
        ))
        .query("page", "page number, from 1")
        .query("page_size", "rows per page, 1–100 (default 20)"),
        get(list),
    )
    .route(
        filtered(Operation::new(
            Get,
            "/wechat/plugins/state/export",
            "plugins",
            "Download a plugin's live state values as JSON or CSV (admins only)",
        ))
        .query("format", "json (default) or csv")
        .answers(Answers::Content(&["application/json", "text/csv"])),
        get(export),
    )
    .route(
        Operation::new(
            Delete,
            "/wechat/plugins/state/del",
            "plugins",
            "Delete one state value: ?plugin=&account_id=&openid=(empty for account-wide)&key= (admins only)",
        )
        .query("plugin", "the plugin")
        .query("account_id", "the account")
        .query("openid", "the fan; empty or left out for an account-wide value")
        .query("key", "the key")
        .may_fail_with(&[422]),
        delete(delete_value),
    )
}

async fn list(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult {
    admin.require_admin()?;
    refuse_nul(&params)?;
    let page = Page::from_params(&params)?;
    let filter = StateFilter::from_params(&state, &params).await?;
    let (rows, total) = state_admin::list(&state.db, &filter, page).await?;
    let list: Vec<_> = rows.iter().map(state_admin::row_json).collect();
    Ok(ok(json!({
        "list": list,
        "total": total,
        "page": page.page,
        "page_size": page.page_size,
    })))
}

async fn export(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    admin.require_admin()?;
    refuse_nul(&params)?;
    let csv = match params.get("format").map(|f| f.trim()) {
        None | Some("") | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(AppError::field(
                "format",
                format!("format={other:?}: give json or csv"),
            ))
        }
    };
    let filter = StateFilter::from_params(&state, &params).await?;
    let rows = state_admin::export(&state.db, &filter).await?;
    // The name is the plugin's, which the filter found: no quotes or slashes
    // reach the header from outside.
    let safe_name: String = filter
        .plugin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let (content_type, extension, body) = if csv {
        ("text/csv; charset=utf-8", "csv", state_admin::to_csv(&rows))
    } else {
        let list: Vec<_> = rows.iter().map(state_admin::row_json).collect();
        let body = serde_json::to_string_pretty(&list).map_err(AppError::internal)?;
        ("application/json", "json", body)
    };
    let disposition = format!("attachment; filename=\"{safe_name}-state.{extension}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

async fn delete_value(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult {
    admin.require_admin()?;
    refuse_nul(&params)?;
    let given = |name: &str| params.get(name).map(|v| v.trim()).unwrap_or_default();
    let plugin = given("plugin");
    if plugin.is_empty() {
        return Err(AppError::field(
            "plugin",
            "give the plugin whose value to delete",
        ));
    }
    state_admin::known_plugin(&state, plugin).await?;
    let raw_account = given("account_id");
    let account_id: i64 = raw_account.parse().map_err(|_| {
        AppError::field(
            "account_id",
            format!("account_id={raw_account:?} is not an id"),
        )
    })?;
    let key = given("key");
    super::call::check_key(key).map_err(|reason| AppError::field("key", reason))?;
    let openid = given("openid");
    let txn = state.db.begin().await?;
    let deleted = state_admin::delete(&txn, plugin, account_id, openid, key).await?;
    if let Some(row) = &deleted {
        let change = crate::audit::Change {
            action: "delete_state",
            resource: "plugin",
            resource_id: Some(plugin.to_string()),
            account_id: Some(account_id),
            changes: crate::audit::deleted(&state_admin::row_json(row), &[]),
        };
        crate::audit::record(&txn, &state.ids, &admin, change).await?;
    }
    txn.commit().await?;
    Ok(ok(json!({ "deleted": u64::from(deleted.is_some()) })))
}
