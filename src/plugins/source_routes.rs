//! `/wechat/plugins/source`, `/check`, `/run_tests`, `/create` and `/delete`:
//! the editor's routes
//! (admins only). Reading answers a plugin file's text; saving compile-checks
//! the new text as the loader would, refuses it with the error's line and
//! column (422, the file untouched), else writes it atomically and rescans;
//! running the tests runs the plugin's test file against the saved plugin.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use super::engine::ScriptError;
use super::source::{self, MAX_SOURCE_BYTES};
use crate::auth::CurrentAdmin;
use crate::error::{ok, AppError};
use crate::http::openapi::{Api, Operation};
use crate::http::{parse_json_body, JsonBody, Query};
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    use HttpMethod::{Get, Post, Put};
    api.route(
        Operation::new(
            Get,
            "/wechat/plugins/source",
            "plugins",
            "A plugin file's text: ?name= (the plugin's name) → {name, file, source, max_bytes}; admins only",
        )
        .query("name", "the plugin")
        .may_fail_with(&[404, 422]),
        get(show).put(save),
    )
    .documented(
        Operation::new(
            Put,
            "/wechat/plugins/source",
            "plugins",
            "Save a plugin file: {name, source}; checked as the loader checks it (422 with \
             data.script_error {line, column, message, snippet} when it does not compile, \
             nothing written), written atomically, rescanned → the plugin's new status; admins only",
        )
        .json_body()
        .may_fail_with(&[404, 413, 422]),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/plugins/check",
            "plugins",
            "Compile-check a source without saving: {source, name?} (name: check it as that plugin's file) \
             → {ok: true} or 422 with data.script_error; admins only",
        )
        .json_body()
        .may_fail_with(&[404, 413, 422]),
        post(check),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/plugins/run_tests",
            "plugins",
            "Run a plugin's test file (name.test.toml next to it) against the plugin as saved: {name} \
             → {test_file, cases: [{file, name, passed, failures}], passed, failed}; nothing is stored; admins only",
        )
        .json_body()
        .may_fail_with(&[404, 422]),
        post(run_tests),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/plugins/create",
            "plugins",
            "Create a single-file plugin: {name, source?} (source: a starter that is off for every \
             account until switched on); checked as the loader checks it (422 with data.script_error), \
             refused when the name is taken, rescanned → the plugin; admins only",
        )
        .json_body()
        .may_fail_with(&[413, 422]),
        post(create),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/plugins/delete",
            "plugins",
            "Delete a single-file plugin's file: {name}; its test file and state stay; a folder plugin \
             is refused (422); rescanned; admins only",
        )
        .json_body()
        .may_fail_with(&[404, 422]),
        post(delete),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    name: String,
    #[serde(default)]
    source: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> Result<Response, AppError> {
    admin.require_admin()?;
    let request: Create = parse_json_body(body)?;
    let text = request
        .source
        .unwrap_or_else(|| source::starter(&request.name));
    source::check_size(&text)?;
    let file = source::new_file(&state.plugins, &request.name)?;
    if let Err(error) = source::compile_check(&state.plugins, Some(&file), text.clone()).await {
        return Ok(does_not_compile(error));
    }
    source::create(&file, &text)?;
    let changes = json!({ "file": file.file, "bytes": text.len() });
    let report = rescan_and_audit(&state, &admin, "create", &request.name, changes).await;
    Ok(ok(json!({
        "name": request.name,
        "file": file.file,
        "plugin": source::status_of(&state.plugins, &file),
        "reload": report,
    }))
    .into_response())
}

async fn delete(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> Result<Json<serde_json::Value>, AppError> {
    admin.require_admin()?;
    let request: Which = parse_json_body(body)?;
    let file = source::locate(&state.plugins, &request.name)?;
    let before = source::read(&file).ok();
    source::remove(&file)?;
    let changes = json!({ "file": file.file, "bytes_before": before.as_ref().map(String::len) });
    let report = rescan_and_audit(&state, &admin, "delete", &request.name, changes).await;
    Ok(ok(
        json!({ "name": request.name, "file": file.file, "reload": report }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Which {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Save {
    name: String,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    source: String,
    #[serde(default)]
    name: Option<String>,
}

/// The 422 of a source that does not compile: the field error the UI shows
/// on `source`, and the error itself with its position.
fn does_not_compile(error: ScriptError) -> Response {
    let reason = error.to_string();
    let body = json!({
        "code": 422,
        "msg": format!("validation failed: source: {reason}"),
        "data": {
            "fields": { "source": reason },
            "codes": {},
            "script_error": error,
        },
        "error": { "code": "validation", "params": {} },
    });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

async fn show(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(which): Query<Which>,
) -> Result<Json<serde_json::Value>, AppError> {
    admin.require_admin()?;
    let file = source::locate(&state.plugins, &which.name)?;
    let text = source::read(&file)?;
    Ok(ok(json!({
        "name": which.name,
        "file": file.file,
        "source": text,
        "max_bytes": MAX_SOURCE_BYTES,
    })))
}

async fn save(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> Result<Response, AppError> {
    admin.require_admin()?;
    let request: Save = parse_json_body(body)?;
    source::check_size(&request.source)?;
    let file = source::locate(&state.plugins, &request.name)?;
    if let Err(error) =
        source::compile_check(&state.plugins, Some(&file), request.source.clone()).await
    {
        return Ok(does_not_compile(error));
    }
    let before = source::read(&file).ok();
    source::write_atomically(&file, &request.source)?;
    let changes = json!({
        "file": file.file,
        "bytes_before": before.as_ref().map(String::len),
        "bytes": request.source.len(),
        "changed": before.as_deref() != Some(request.source.as_str()),
    });
    let report = rescan_and_audit(&state, &admin, "update_source", &request.name, changes).await;
    let plugin = source::status_of(&state.plugins, &file);
    Ok(ok(json!({
        "name": plugin.as_ref().map(|p| p.name.clone()).unwrap_or(request.name),
        "file": file.file,
        "plugin": plugin,
        "reload": report,
    }))
    .into_response())
}

async fn check(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> Result<Response, AppError> {
    admin.require_admin()?;
    let request: Check = parse_json_body(body)?;
    source::check_size(&request.source)?;
    let file = match &request.name {
        Some(name) => Some(source::locate(&state.plugins, name)?),
        None => None,
    };
    match source::compile_check(&state.plugins, file.as_ref(), request.source).await {
        Ok(()) => Ok(ok(json!({ "ok": true })).into_response()),
        Err(error) => Ok(does_not_compile(error)),
    }
}

async fn run_tests(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> Result<Json<serde_json::Value>, AppError> {
    admin.require_admin()?;
    let request: Which = parse_json_body(body)?;
    let file = source::locate(&state.plugins, &request.name)?;
    let timeout = std::time::Duration::from_millis(state.config.plugin_timeout_ms);
    let results = super::test_file::run_tests_of(file.plugin_path(), timeout).await;
    let dir = state.plugins.dir().to_path_buf();
    // Paths as the plugins list shows them: relative to the plugins directory.
    let relative = |path: &str| {
        std::path::Path::new(path)
            .strip_prefix(&dir)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.to_string())
    };
    let passed = results.iter().filter(|r| r.failures.is_empty()).count();
    let cases: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            json!({
                "file": relative(&r.file),
                "name": r.name,
                "passed": r.failures.is_empty(),
                "failures": r.failures,
            })
        })
        .collect();
    let base = file
        .file
        .trim_end_matches(".rhai")
        .trim_end_matches("/main");
    Ok(ok(json!({
        "name": request.name,
        "test_file": format!("{base}.test.toml"),
        "passed": passed,
        "failed": results.len() - passed,
        "cases": cases,
    })))
}

/// After a plugin file changed on disk: rescans (the other instances see
/// the change now, not at the next heartbeat) and records who did `action`.
async fn rescan_and_audit(
    state: &AppState,
    admin: &CurrentAdmin,
    action: &'static str,
    name: &str,
    changes: serde_json::Value,
) -> super::registry::ReloadReport {
    let report = state.plugins.rescan().await;
    crate::cluster::instance::renew(state).await;
    let change = crate::audit::Change {
        action,
        resource: "plugin",
        resource_id: Some(name.to_string()),
        account_id: None,
        changes,
    };
    crate::audit::record_action(state, admin, change).await;
    report
}
