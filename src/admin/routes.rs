//! The admin API's generic list / add / edit / del handlers, served the same
//! way for every [`Resource`], and their registration with the OpenAPI
//! document.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::{delete, get, post, put};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ColumnType, Condition, EntityTrait, IntoActiveModel, Order,
    PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod;

use super::resources::{
    Accounts, AutoReplies, Materials, Menus, Messages, PayNotifications, PayOrders, PayRefunds,
    TemplateLogs, Templates, Users,
};
use super::{
    account_of, announce_change, column, columns, has_account, id_column, present,
    refresh_callback, Resource, MASK_PREFIX, SERVER_FIELDS,
};
use crate::audit;
use crate::auth::CurrentAdmin;
use crate::db::now;
use crate::entity::accounts;
use crate::error::{ok, ApiResult, AppError, FieldErrors};
use crate::http::listing::{time_bounds, Page};
use crate::http::openapi::{Api, Body, Operation};
use crate::http::{parse_json_body, JsonBody, Query};
use crate::ids::parse_id;
use crate::state::AppState;

/// Every resource's routes.
pub fn register(api: Api) -> Api {
    api.crud::<Accounts>("/wechat/wxaccounts", "accounts")
        .crud::<AutoReplies>("/wechat/wxautoreplies", "auto replies")
        .crud::<Materials>("/wechat/wxmaterials", "materials")
        .crud::<Menus>("/wechat/wxmenus", "menus")
        .crud::<Messages>("/wechat/wxmessages", "messages")
        .crud::<Users>("/wechat/wxusers", "fans")
        .crud::<Templates>("/wechat/wxtemplates", "templates")
        .list::<TemplateLogs>("/wechat/wxtemplates/logs", "templates")
        .list::<PayOrders>("/wechat/wxpay/orders", "pay")
        .list::<PayRefunds>("/wechat/wxpay/refunds", "pay")
        .list::<PayNotifications>("/wechat/wxpay/notifications", "pay")
}

/// Routes and documentation of a resource.
trait ResourceRoutes: Sized {
    fn list<R: Resource>(self, path: &str, tag: &str) -> Self;
    fn crud<R: Resource>(self, base: &str, tag: &str) -> Self;
}

fn list_params<R: Resource>() -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("page", "page number, from 1".to_string()),
        ("page_size", "rows per page, 1–100 (default 20)".to_string()),
    ];
    for name in R::FILTERS {
        params.push((name, format!("only rows whose {name} equals this")));
    }
    if super::columns::<R>()
        .iter()
        .any(|(c, _, _)| c == "account_id")
    {
        params.push(("account_id", "only rows of this account".to_string()));
    }
    if !R::SEARCH.is_empty() {
        params.push(("keyword", format!("substring of {}", R::SEARCH.join(", "))));
    }
    params.push((
        "start",
        "created at or after (RFC 3339, YYYY-MM-DD or unix seconds)".into(),
    ));
    params.push(("end", "created at or before".into()));
    params
}

fn schema_name<R: Resource>() -> String {
    R::NOUN
        .split(' ')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

impl ResourceRoutes for Api {
    /// `GET {path}`: the paginated, filtered list of a resource.
    fn list<R: Resource>(self, path: &str, tag: &str) -> Self {
        let schema = schema_name::<R>();
        let api = self.schema(schema, columns::<R>());
        api.route(
            Operation {
                query: list_params::<R>(),
                ..Operation::new(
                    HttpMethod::Get,
                    path,
                    tag,
                    &format!("List {}s, newest first", R::NOUN),
                )
            },
            get(list_rows::<R>),
        )
    }

    /// `{base}/list|add|edit|del` for a resource.
    fn crud<R: Resource>(self, base: &str, tag: &str) -> Self {
        // `list` adds the schema component that add and edit refer to.
        let schema = schema_name::<R>();
        let op = |method, verb: &str, summary: String, query, body| Operation {
            query,
            body,
            ..Operation::new(method, &format!("{base}/{verb}"), tag, &summary)
        };
        let noun = R::NOUN;
        self.list::<R>(&format!("{base}/list"), tag)
            .route(
                op(
                    HttpMethod::Post,
                    "add",
                    format!("Add a {noun}"),
                    vec![],
                    Some(Body::Json(Some(schema.clone()))),
                ),
                post(add::<R>),
            )
            .route(
                op(
                    HttpMethod::Put,
                    "edit",
                    format!("Edit a {noun}: `id` plus the fields to change"),
                    vec![],
                    Some(Body::Json(Some(schema))),
                ),
                put(edit::<R>),
            )
            .route(
                // 409 while other rows still refer to one of them.
                op(
                    HttpMethod::Delete,
                    "del",
                    format!("Delete {noun}s by id"),
                    vec![("id", "one id or a comma-separated list".into())],
                    None,
                )
                .may_fail_with(&[409]),
                delete(del::<R>),
            )
    }
}

/// Turns a query value into a database value of the column's type.
fn typed_value(
    column_type: &ColumnType,
    param: &str,
    raw: &str,
) -> Result<sea_orm::Value, AppError> {
    let raw = raw.trim();
    let number = |raw: &str| {
        raw.parse::<i64>()
            .map_err(|_| AppError::BadRequest(format!("{param}={raw:?} is not a whole number")))
    };
    if crate::ids::wechat_id::COLUMNS.contains(&param) {
        return crate::ids::wechat_id::parse(raw)
            .map(Into::into)
            .ok_or_else(|| {
                AppError::BadRequest(format!("{param}={raw:?} is not an unsigned 64-bit number"))
            });
    }
    Ok(match column_type {
        ColumnType::BigInteger
        | ColumnType::Integer
        | ColumnType::SmallInteger
        | ColumnType::TinyInteger => number(raw)?.into(),
        _ => raw.to_string().into(),
    })
}

async fn list_rows<R: Resource>(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult {
    crate::http::listing::refuse_nul(&params)?;
    let Page { page, page_size } = Page::from_params(&params)?;

    let mut condition = Condition::all();
    for name in R::FILTERS
        .iter()
        .chain(has_account::<R>().then_some(&"account_id"))
    {
        if let Some(raw) = params.get(*name).filter(|v| !v.trim().is_empty()) {
            let col = column::<R::Entity>(name)
                .ok_or_else(|| AppError::internal(format!("no column {name}")))?;
            let value = typed_value(col.def().get_column_type(), name, raw)?;
            condition = condition.add(col.eq(value));
        }
    }
    if let Some(keyword) = params
        .get("keyword")
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
    {
        let mut any = Condition::any();
        for name in R::SEARCH {
            if let Some(col) = column::<R::Entity>(name) {
                any = any.add(crate::db::contains_text(col, keyword));
            }
        }
        condition = condition.add(any);
    }
    if let Some(time_col) = column::<R::Entity>("created_at") {
        let [start, end] = time_bounds(&params)?;
        if let Some(start) = start {
            condition = condition.add(time_col.gte(start));
        }
        if let Some(end) = end {
            condition = condition.add(time_col.lte(end));
        }
    }
    if !viewer.is_admin() {
        let scope = if has_account::<R>() {
            "account_id"
        } else {
            "id"
        };
        let col =
            column::<R::Entity>(scope).ok_or_else(|| AppError::internal("no scope column"))?;
        condition = condition.add(col.is_in(viewer.account_ids.clone()));
    }

    let mut query = R::Entity::find().filter(condition);
    for (name, ascending) in R::ORDER {
        let col = column::<R::Entity>(name)
            .ok_or_else(|| AppError::internal(format!("no column {name}")))?;
        query = query.order_by(col, if *ascending { Order::Asc } else { Order::Desc });
    }
    let paginator = query.paginate(&state.db, page_size);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page - 1).await?;
    let list = rows
        .iter()
        .map(|row| present::<R>(row, &viewer))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ok(
        json!({ "list": list, "total": total, "page": page, "page_size": page_size }),
    ))
}

/// The writable fields of a request body: server-managed fields dropped,
/// and secrets sent back masked (unchanged) left out.
fn writable_fields<R: Resource>(body: Value) -> Map<String, Value> {
    let Value::Object(mut fields) = body else {
        return Map::new();
    };
    for name in SERVER_FIELDS.iter().chain(R::READ_ONLY) {
        fields.remove(*name);
    }
    for name in R::SECRETS {
        if matches!(fields.get(*name), Some(Value::String(s)) if s.starts_with(MASK_PREFIX)) {
            fields.remove(*name);
        }
    }
    fields
}

/// Builds, validates and checks access to the row `fields` describe.
async fn checked_model<R: Resource>(
    state: &AppState,
    viewer: &CurrentAdmin,
    fields: Map<String, Value>,
) -> Result<R::Model, AppError> {
    let row = Value::Object(fields);
    if let Some(account_id) = account_of::<R>(&row) {
        if has_account::<R>() {
            viewer.require_account(account_id)?;
        }
    }
    let model: R::Model = parse_json_body(row.clone())?;
    let mut errors = FieldErrors::new();
    R::validate(&model, &mut errors);
    if has_account::<R>() && !errors.contains_key("account_id") {
        match account_of::<R>(&row) {
            Some(id)
                if accounts::Entity::find_by_id(id)
                    .one(&state.db)
                    .await?
                    .is_some() => {}
            Some(id) => {
                errors.insert("account_id".into(), format!("no account with id {id}"));
            }
            None => {
                errors.insert("account_id".into(), "is required".into());
            }
        }
    }
    if errors.is_empty() {
        R::validate_in_db(state, &model, &mut errors).await?;
    }
    if errors.is_empty() {
        Ok(model)
    } else {
        Err(AppError::Validation(errors))
    }
}

fn conflict_message<R: Resource>(error: AppError) -> AppError {
    match error {
        AppError::Conflict(detail) => AppError::Conflict(format!(
            "{} conflicts with an existing row: {detail}",
            R::NOUN
        )),
        other => other,
    }
}

async fn add<R: Resource>(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    if !has_account::<R>() {
        viewer.require_admin()?;
    }
    let mut fields = match R::defaults() {
        Value::Object(defaults) => defaults,
        _ => Map::new(),
    };
    fields.extend(writable_fields::<R>(body));
    let created = now();
    fields.insert("id".into(), json!(state.ids.next_id()?.to_string()));
    fields.insert("created_at".into(), json!(created));
    fields.insert("updated_at".into(), json!(created));
    let model = checked_model::<R>(&state, &viewer, fields).await?;
    let active = model.clone().into_active_model().reset_all();
    let row = serde_json::to_value(&model).map_err(AppError::internal)?;
    let txn = state.db.begin().await?;
    R::Entity::insert(active)
        .exec_without_returning(&txn)
        .await
        .map_err(|e| conflict_message::<R>(e.into()))?;
    let change = audit::Change {
        action: "create",
        resource: R::NOUN,
        resource_id: Some(id_of(&row)),
        account_id: account_of::<R>(&row),
        changes: audit::created(&row, R::SECRETS),
    };
    audit::record(&txn, &state.ids, &viewer, change).await?;
    announce_change::<R>(&txn).await?;
    txn.commit().await?;
    refresh_callback::<R>(&state, &row);
    tracing::info!(admin = %viewer.username, resource = R::NOUN, "added");
    Ok(ok(present::<R>(&model, &viewer)?))
}

/// A row's id as the audit trail names it.
fn id_of(row: &Value) -> String {
    row.get("id")
        .and_then(parse_id)
        .unwrap_or_default()
        .to_string()
}

async fn find_row<R: Resource>(state: &AppState, id: i64) -> Result<R::Model, AppError> {
    R::Entity::find()
        .filter(id_column::<R>().eq(id))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("{} {id} not found", R::NOUN)))
}

async fn edit<R: Resource>(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    if !has_account::<R>() {
        viewer.require_admin()?;
    }
    let id = match body.get("id") {
        None | Some(Value::Null) => return Err(AppError::field("id", "is required")),
        Some(raw) => parse_id(raw).ok_or_else(|| AppError::field("id", "is not an id"))?,
    };
    let existing = find_row::<R>(&state, id).await?;
    let existing_json = serde_json::to_value(&existing).map_err(AppError::internal)?;
    if let Some(account_id) = account_of::<R>(&existing_json) {
        viewer.require_account(account_id)?;
    }
    let existing_json_for_refresh = existing_json.clone();
    let Value::Object(mut fields) = existing_json else {
        return Err(AppError::internal("row is not an object"));
    };
    fields.extend(writable_fields::<R>(body));
    fields.insert("updated_at".into(), json!(now()));
    let model = checked_model::<R>(&state, &viewer, fields).await?;
    let active = model.clone().into_active_model().reset_all();
    let row = serde_json::to_value(&model).map_err(AppError::internal)?;
    let txn = state.db.begin().await?;
    R::Entity::update(active)
        .exec(&txn)
        .await
        .map_err(|e| conflict_message::<R>(e.into()))?;
    let change = audit::Change {
        action: "update",
        resource: R::NOUN,
        resource_id: Some(id.to_string()),
        account_id: account_of::<R>(&row),
        changes: audit::updated(&existing_json_for_refresh, &row, R::SECRETS),
    };
    audit::record(&txn, &state.ids, &viewer, change).await?;
    announce_change::<R>(&txn).await?;
    txn.commit().await?;
    refresh_callback::<R>(&state, &existing_json_for_refresh);
    refresh_callback::<R>(&state, &row);
    tracing::info!(admin = %viewer.username, resource = R::NOUN, id, "edited");
    Ok(ok(present::<R>(&model, &viewer)?))
}

async fn del<R: Resource>(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult {
    if !has_account::<R>() {
        viewer.require_admin()?;
    }
    let raw = params
        .get("id")
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            AppError::BadRequest(
                "query parameter id is required (one id or a comma-separated list)".into(),
            )
        })?;
    let ids = raw
        .split(',')
        .map(|part| {
            part.trim()
                .parse::<i64>()
                .map_err(|_| AppError::BadRequest(format!("id {part:?} is not an id")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rows = R::Entity::find()
        .filter(id_column::<R>().is_in(ids.clone()))
        .all(&state.db)
        .await?;
    let rows = rows
        .iter()
        .map(|row| serde_json::to_value(row).map_err(AppError::internal))
        .collect::<Result<Vec<_>, _>>()?;
    for row in &rows {
        if let Some(account_id) = account_of::<R>(row) {
            viewer.require_account(account_id)?;
        }
    }
    if rows.is_empty() {
        return Ok(ok(json!({ "deleted": 0 })));
    }
    let txn = state.db.begin().await?;
    R::before_delete(&txn, &ids).await?;
    let result = R::Entity::delete_many()
        .filter(id_column::<R>().is_in(ids))
        .exec(&txn)
        .await?;
    for row in &rows {
        let change = audit::Change {
            action: "delete",
            resource: R::NOUN,
            resource_id: Some(id_of(row)),
            account_id: account_of::<R>(row),
            changes: audit::deleted(row, R::SECRETS),
        };
        audit::record(&txn, &state.ids, &viewer, change).await?;
    }
    announce_change::<R>(&txn).await?;
    txn.commit().await?;
    for row in &rows {
        refresh_callback::<R>(&state, row);
    }
    tracing::info!(admin = %viewer.username, resource = R::NOUN, deleted = result.rows_affected, "deleted");
    Ok(ok(json!({ "deleted": result.rows_affected })))
}
