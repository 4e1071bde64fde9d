//! `/auth/password` (change my password) and `/wechat/admins/*` (admin
//! management, admin role only). Every change commits with its audit record.

use axum::extract::State;
use axum::routing::{delete, get, post, put};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;

use crate::audit;
use crate::auth::service::admin_json;
use crate::auth::{
    check_password_strength, create_admin, set_password, valid_username, verify_password,
    CurrentAdmin, ROLE_ADMIN, ROLE_OPERATOR,
};
use crate::entity::{accounts, admins};
use crate::error::{ok, ApiResult, AppError, FieldErrors};
use crate::http::openapi::{Api, Operation};
use crate::http::{parse_json_body, JsonBody, Query};
use crate::ids::parse_id;
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    use HttpMethod::{Delete, Get, Post, Put};
    api.route(
        Operation::new(
            Post,
            "/auth/password",
            "auth",
            "Change my password: {old_password, new_password}",
        )
        .json_body(),
        post(change_own_password),
    )
    .route(
        Operation::new(
            Get,
            "/wechat/admins/list",
            "admins",
            "List admins (admin role)",
        )
        .query("page", "page number, from 1")
        .query("page_size", "rows per page, 1–100"),
        get(list_admins),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/admins/add",
            "admins",
            "Add an admin: {username, password, role: admin|operator, account_ids}",
        )
        .json_body(),
        post(add_admin),
    )
    .route(
        Operation::new(
            Put,
            "/wechat/admins/edit",
            "admins",
            "Edit an admin: {id, password?, role?, account_ids?, status?}",
        )
        .json_body(),
        put(edit_admin),
    )
    .route(
        Operation::new(Delete, "/wechat/admins/del", "admins", "Delete an admin")
            .query("id", "the admin's id")
            .may_fail_with(&[409]),
        delete(delete_admin),
    )
}

/// How the trail shows a password change: that it happened, nothing more.
fn password_changed() -> Value {
    json!({ "password": { "from": "****", "to": "****" } })
}

#[derive(Deserialize)]
struct PasswordChange {
    old_password: String,
    new_password: String,
}

async fn change_own_password(
    State(state): State<AppState>,
    current: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: PasswordChange = parse_json_body(body)?;
    check_password_strength(&request.new_password)
        .map_err(|reason| AppError::field("new_password", reason))?;
    let admin = admins::Entity::find_by_id(current.id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound("admin not found".into()))?;
    let hash = admin.password_hash.clone();
    let old = request.old_password.clone();
    let matches = tokio::task::spawn_blocking(move || verify_password(&old, &hash))
        .await
        .map_err(AppError::internal)?;
    if !matches {
        return Err(AppError::field(
            "old_password",
            "does not match the current password",
        ));
    }
    let txn = state.db.begin().await?;
    set_password(&txn, admin, &request.new_password).await?;
    let change = audit::Change {
        action: "change_password",
        resource: "admin",
        resource_id: Some(current.id.to_string()),
        account_id: None,
        changes: password_changed(),
    };
    audit::record(&txn, &state.ids, &current, change).await?;
    txn.commit().await?;
    Ok(ok(json!({ "changed": true })))
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<u64>,
    page_size: Option<u64>,
}

async fn list_admins(
    State(state): State<AppState>,
    current: CurrentAdmin,
    Query(query): Query<ListQuery>,
) -> ApiResult {
    current.require_admin()?;
    let page = query.page.unwrap_or(1).max(1);
    let page_size = query.page_size.unwrap_or(20).clamp(1, 100);
    let paginator = admins::Entity::find()
        .order_by_asc(admins::Column::Id)
        .paginate(&state.db, page_size);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page - 1).await?;
    Ok(ok(json!({
        "list": rows.iter().map(admin_json).collect::<Vec<_>>(),
        "total": total, "page": page, "page_size": page_size,
    })))
}

/// Role, account list and status from a request body, checked.
async fn read_admin_fields(
    state: &AppState,
    body: &Value,
    errors: &mut FieldErrors,
) -> Result<(Option<String>, Option<Vec<i64>>, Option<i16>), AppError> {
    let role = match body.get("role") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if r == ROLE_ADMIN || r == ROLE_OPERATOR => Some(r.clone()),
        Some(_) => {
            errors.insert("role".into(), "must be \"admin\" or \"operator\"".into());
            None
        }
    };
    let account_ids = match body.get("account_ids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let ids: Option<Vec<i64>> = items.iter().map(parse_id).collect();
            match ids {
                Some(ids) => {
                    let known = accounts::Entity::find()
                        .filter(accounts::Column::Id.is_in(ids.clone()))
                        .count(&state.db)
                        .await?;
                    if known as usize != ids.len() {
                        errors.insert(
                            "account_ids".into(),
                            "names an account that does not exist".into(),
                        );
                    }
                    Some(ids)
                }
                None => {
                    errors.insert("account_ids".into(), "must be a list of account ids".into());
                    None
                }
            }
        }
        Some(_) => {
            errors.insert("account_ids".into(), "must be a list of account ids".into());
            None
        }
    };
    let status = match body.get("status") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(s @ (0 | 1)) => Some(s as i16),
            _ => {
                errors.insert(
                    "status".into(),
                    "must be 0 (disabled) or 1 (enabled)".into(),
                );
                None
            }
        },
    };
    Ok((role, account_ids, status))
}

async fn add_admin(
    State(state): State<AppState>,
    current: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    current.require_admin()?;
    let mut errors = FieldErrors::new();
    let username = body
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    if !valid_username(&username) {
        errors.insert(
            "username".into(),
            "1–64 letters, digits, '.', '_' or '-'".into(),
        );
    }
    let password = body
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let Err(reason) = check_password_strength(&password) {
        errors.insert("password".into(), reason);
    }
    let (role, account_ids, status) = read_admin_fields(&state, &body, &mut errors).await?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let txn = state.db.begin().await?;
    let admin = create_admin(
        &txn,
        &state.ids,
        &username,
        &password,
        role.as_deref().unwrap_or(ROLE_OPERATOR),
        account_ids.unwrap_or_default(),
    )
    .await?;
    let admin = match status {
        Some(status) if status != admin.status => {
            let mut active = admin.into_active_model();
            active.status = Set(status);
            active.update(&txn).await?
        }
        _ => admin,
    };
    let mut changes = audit::created(&admin_json(&admin), &[]);
    changes["password"] = json!({ "to": "****" });
    let change = audit::Change {
        action: "create",
        resource: "admin",
        resource_id: Some(admin.id.to_string()),
        account_id: None,
        changes,
    };
    audit::record(&txn, &state.ids, &current, change).await?;
    txn.commit().await?;
    Ok(ok(admin_json(&admin)))
}

async fn edit_admin(
    State(state): State<AppState>,
    current: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    current.require_admin()?;
    let id = body
        .get("id")
        .and_then(parse_id)
        .ok_or_else(|| AppError::field("id", "required: the admin's id"))?;
    let admin = admins::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("admin {id} not found")))?;
    let mut errors = FieldErrors::new();
    let (role, account_ids, status) = read_admin_fields(&state, &body, &mut errors).await?;
    let password = body
        .get("password")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty());
    if let Some(Err(reason)) = password.map(check_password_strength) {
        errors.insert("password".into(), reason);
    }
    if id == current.id && (role.as_deref() == Some(ROLE_OPERATOR) || status == Some(0)) {
        errors.insert(
            "role".into(),
            "you cannot demote or disable yourself".into(),
        );
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let before = admin_json(&admin);
    let txn = state.db.begin().await?;
    let mut admin = admin;
    if let Some(password) = password {
        admin = set_password(&txn, admin, password).await?;
    }
    let mut active = admin.into_active_model();
    if let Some(role) = role {
        active.role = Set(role);
    }
    if let Some(ids) = account_ids {
        active.account_ids = Set(Some(json!(ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>())));
    }
    if let Some(status) = status {
        active.status = Set(status);
    }
    active.updated_at = Set(chrono::Utc::now());
    let admin = active.update(&txn).await?;
    let mut changes = audit::updated(&before, &admin_json(&admin), &[]);
    if password.is_some() {
        changes["password"] = password_changed()["password"].clone();
    }
    let change = audit::Change {
        action: "update",
        resource: "admin",
        resource_id: Some(id.to_string()),
        account_id: None,
        changes,
    };
    audit::record(&txn, &state.ids, &current, change).await?;
    txn.commit().await?;
    Ok(ok(admin_json(&admin)))
}

#[derive(Deserialize)]
struct IdQuery {
    id: String,
}

async fn delete_admin(
    State(state): State<AppState>,
    current: CurrentAdmin,
    Query(query): Query<IdQuery>,
) -> ApiResult {
    current.require_admin()?;
    let id: i64 = query
        .id
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest(format!("id={:?} is not an id", query.id)))?;
    if id == current.id {
        return Err(AppError::Conflict("you cannot delete yourself".into()));
    }
    let Some(admin) = admins::Entity::find_by_id(id).one(&state.db).await? else {
        return Ok(ok(json!({ "deleted": 0 })));
    };
    let txn = state.db.begin().await?;
    let deleted = admins::Entity::delete_by_id(id).exec(&txn).await?;
    let change = audit::Change {
        action: "delete",
        resource: "admin",
        resource_id: Some(id.to_string()),
        account_id: None,
        changes: audit::deleted(&admin_json(&admin), &[]),
    };
    audit::record(&txn, &state.ids, &current, change).await?;
    txn.commit().await?;
    Ok(ok(json!({ "deleted": deleted.rows_affected })))
}
