//! `/wechat/plugins/*`: list, reload, switch per account, and dry runs.

use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;

use super::dry_request::DryRunRequest;
use super::dry_run;
use crate::auth::CurrentAdmin;
use crate::entity::accounts;
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Api, Operation};
use crate::http::{parse_json_body, JsonBody, Query};
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    use HttpMethod::{Get, Post};
    api.route(
        Operation::new(Get, "/wechat/plugins/list", "plugins", "Every plugin: status, errors with positions, counters"),
        get(list),
    )
    .route(
        Operation::new(
            Get,
            "/wechat/plugins/ahead_of_rules",
            "plugins",
            "The plugins that run for an account before its keyword rules: ?account_id=",
        )
        .query("account_id", "the account")
        // An account_id that names no account is a field error.
        .may_fail_with(&[422]),
        get(ahead_of_rules),
    )
    .route(Operation::new(Post, "/wechat/plugins/reload", "plugins", "Rescan the plugins directory now"), post(reload))
    .route(
        Operation::new(Post, "/wechat/plugins/enable", "plugins", "Switch a plugin on for an account: {plugin, account_id}")
            .json_body(),
        post(enable),
    )
    .route(
        Operation::new(Post, "/wechat/plugins/disable", "plugins", "Switch a plugin off for an account: {plugin, account_id}")
            .json_body(),
        post(disable),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/plugins/test",
            "plugins",
            "Dry run: {account_id, plugin?, openid | from?, text | event (+ event_key) | image | voice | xml, time?, state?} \
             or a conversation {…, messages: [{text | …, time?}, …]} → the reply, logs and state writes of each; stores nothing",
        )
        .json_schema::<DryRunRequest>(),
        post(test),
    )
}

async fn list(State(state): State<AppState>, _admin: CurrentAdmin) -> ApiResult {
    let mut infos = state.plugins.infos();
    // Calls and errors as counted in the database: since the counting began,
    // across restarts and instances, dry runs left out.
    if let Some(counters) = &state.plugins.runtime().counters {
        let totals = counters.totals(None, None).await?;
        for info in &mut infos {
            let counts = totals.get(&info.name).copied().unwrap_or_default();
            info.calls = counts.calls.max(0) as u64;
            info.errors = counts.errors.max(0) as u64;
            info.mean_run_ms = if counts.calls > 0 {
                counts.micros as f64 / counts.calls as f64 / 1000.0
            } else {
                0.0
            };
        }
    }
    if let Some(switches) = &state.plugins.runtime().switches {
        for info in &mut infos {
            for (enabled, into) in [
                (false, &mut info.disabled_accounts),
                (true, &mut info.enabled_accounts),
            ] {
                *into = switches
                    .switched_accounts(&info.name, enabled)
                    .await?
                    .into_iter()
                    .map(|id| id.to_string())
                    .collect();
            }
        }
    }
    // What every live instance runs, so a file deployed to only some of
    // them shows (`same_everywhere: false`).
    let mut versions = crate::cluster::instance::plugin_versions(&state).await?;
    let list: Vec<Value> = infos
        .iter()
        .map(|info| {
            let instances = versions.remove(&info.name).unwrap_or_default();
            let same = instances
                .iter()
                .all(|i| i["source_hash"].as_str() == info.source_hash.as_deref());
            let mut row = serde_json::to_value(info).unwrap_or_default();
            row["instances"] = json!(instances);
            row["same_everywhere"] = json!(same);
            row
        })
        .collect();
    Ok(ok(
        json!({ "list": list, "total": list.len(), "dir": state.plugins.dir().display().to_string() }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountQuery {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
}

async fn ahead_of_rules(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(query): Query<AccountQuery>,
) -> ApiResult {
    admin.require_account(query.account_id)?;
    let account = find_account(&state, query.account_id).await?;
    let list = state.plugins.ahead_of_rules(&account).await;
    Ok(ok(json!({
        "list": list,
        "keyword_priority": crate::callback::chain::KEYWORD_PRIORITY,
    })))
}

async fn reload(State(state): State<AppState>, admin: CurrentAdmin) -> ApiResult {
    admin.require_admin()?;
    let report = state.plugins.rescan().await;
    // The other instances see the new versions now, not at the next heartbeat.
    crate::cluster::instance::renew(&state).await;
    let change = crate::audit::Change {
        action: "reload",
        resource: "plugin",
        resource_id: None,
        account_id: None,
        changes: serde_json::to_value(&report).unwrap_or_default(),
    };
    crate::audit::record_action(&state, &admin, change).await;
    Ok(ok(report))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Switch {
    plugin: String,
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
}

async fn switch(state: AppState, admin: CurrentAdmin, body: Value, enabled: bool) -> ApiResult {
    let request: Switch = parse_json_body(body)?;
    admin.require_account(request.account_id)?;
    if state.plugins.get(&request.plugin).is_none() {
        return Err(AppError::field(
            "plugin",
            format!("no loaded plugin named {:?}", request.plugin),
        ));
    }
    find_account(&state, request.account_id).await?;
    let switches = state
        .plugins
        .runtime()
        .switches
        .as_ref()
        .ok_or_else(|| AppError::internal("no switch store"))?;
    switches
        .set(&state.ids, &request.plugin, request.account_id, enabled)
        .await
        .map_err(AppError::internal)?;
    let action = if enabled { "enable" } else { "disable" };
    let change = crate::audit::Change::action(action, "plugin", request.account_id, json!({}))
        .on(&request.plugin);
    crate::audit::record_action(&state, &admin, change).await;
    Ok(ok(
        json!({ "plugin": request.plugin, "account_id": request.account_id.to_string(), "enabled": enabled }),
    ))
}

async fn enable(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    switch(state, admin, body, true).await
}

async fn disable(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    switch(state, admin, body, false).await
}

async fn find_account(state: &AppState, id: i64) -> Result<accounts::Model, AppError> {
    use sea_orm::EntityTrait;
    accounts::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::field("account_id", format!("no account with id {id}")))
}

/// `POST /wechat/plugins/test`: checks the request, then runs it; stores nothing.
async fn test(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: DryRunRequest = parse_json_body(body)?;
    admin.require_account(request.account_id)?;
    let account = find_account(&state, request.account_id).await?;
    if let Some(name) = &request.plugin {
        if state.plugins.get(name).is_none() {
            return Err(AppError::field(
                "plugin",
                format!("no loaded plugin named {name:?}"),
            ));
        }
    }
    let plan = request.plan(&account, |name| state.plugins.get(name).is_some())?;
    Ok(ok(dry_run::run_plan(&state, &account, plan).await?))
}
