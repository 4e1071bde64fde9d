//! `/wechat/plugins/settings`: the settings a plugin declares, with one
//! account's values (GET), and setting them (PUT, admins only, audited).
//! Values are checked against the declared types: a wrong one is a 422
//! naming `values.<setting>`, and nothing is saved.

use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod;

use super::settings::{self, Setting};
use crate::auth::{account_for, CurrentAdmin};
use crate::error::{ok, ApiResult, AppError, FieldErrors};
use crate::http::openapi::{Api, Operation};
use crate::http::{parse_json_body, JsonBody, Query};
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    use HttpMethod::{Get, Put};
    api.route(
        Operation::new(
            Get,
            "/wechat/plugins/settings",
            "plugins",
            "A plugin's declared settings with one account's values: ?plugin=&account_id=",
        )
        .query("plugin", "the loaded plugin")
        .query("account_id", "the account")
        .may_fail_with(&[422]),
        get(show).put(update),
    )
    .documented(
        Operation::new(
            Put,
            "/wechat/plugins/settings",
            "plugins",
            "Set an account's values of a plugin's settings: {plugin, account_id, values: {name: value | null}} \
             (null: back to the default; admins only)",
        )
        .json_body()
        .may_fail_with(&[422]),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Which {
    plugin: String,
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Update {
    plugin: String,
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    values: Map<String, Value>,
}

/// The loaded plugin's declared settings.
fn declared(state: &AppState, plugin: &str) -> Result<Vec<Setting>, AppError> {
    state
        .plugins
        .get(plugin)
        .map(|p| p.script.declaration.settings.clone())
        .ok_or_else(|| AppError::field("plugin", format!("no loaded plugin named {plugin:?}")))
}

/// The answer of both routes: each setting with the account's value.
async fn view(state: &AppState, plugin: &str, account_id: i64, declared: &[Setting]) -> ApiResult {
    let stored = settings::stored(&state.db, plugin, account_id).await?;
    let values = settings::effective(declared, &stored);
    let list: Vec<Value> = declared
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "type": s.kind,
                "default": s.default,
                "description": s.description,
                "value": values[&s.name],
                // Whether the account has its own value (else the default shows).
                "is_set": stored.get(&s.name).is_some_and(|v| settings::check(&s.kind, v).is_ok()),
            })
        })
        .collect();
    Ok(ok(json!({
        "plugin": plugin,
        "account_id": account_id.to_string(),
        "settings": list,
        "values": values,
    })))
}

async fn show(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(which): Query<Which>,
) -> ApiResult {
    let declared = declared(&state, &which.plugin)?;
    account_for(&state.db, &admin, which.account_id).await?;
    view(&state, &which.plugin, which.account_id, &declared).await
}

async fn update(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    admin.require_admin()?;
    let request: Update = parse_json_body(body)?;
    let declared = declared(&state, &request.plugin)?;
    account_for(&state.db, &admin, request.account_id).await?;
    let mut problems = FieldErrors::new();
    let mut checked = Vec::with_capacity(request.values.len());
    for (name, value) in &request.values {
        let field = format!("values.{name}");
        let Some(setting) = declared.iter().find(|s| &s.name == name) else {
            let names: Vec<&str> = declared.iter().map(|s| s.name.as_str()).collect();
            let known = if names.is_empty() {
                "it declares none".to_string()
            } else {
                format!("its settings are {}", names.join(", "))
            };
            problems.insert(
                field,
                format!("{:?} has no setting {name:?}; {known}", request.plugin),
            );
            continue;
        };
        if value.is_null() {
            checked.push((name.clone(), None));
            continue;
        }
        match settings::check(&setting.kind, value) {
            Ok(value) => checked.push((name.clone(), Some(value))),
            Err(why) => {
                problems.insert(field, format!("{name} ({}) {why}", setting.kind));
            }
        }
    }
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    settings::save(
        &state.db,
        &state.ids,
        &request.plugin,
        request.account_id,
        checked,
    )
    .await?;
    let change = crate::audit::Change::action(
        "update_settings",
        "plugin",
        request.account_id,
        Value::Object(request.values.clone()),
    )
    .on(&request.plugin);
    crate::audit::record_action(&state, &admin, change).await;
    view(&state, &request.plugin, request.account_id, &declared).await
}
