//! The admin REST API for the `wx_*` resources. Each resource describes
//! itself once (a [`Resource`] impl in `resources.rs`); the list / add / edit /
//! del plumbing here serves all of them the same way.

pub mod dashboard;
mod resources;

pub use resources::register_all;

use std::future::Future;
use std::str::FromStr;

use axum::extract::{Query, State};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ColumnType, Condition, DatabaseTransaction,
    EntityTrait, IdenStatic, IntoActiveModel, Iterable, Order, PaginatorTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

use crate::auth::CurrentAdmin;
use crate::entity::accounts;
use crate::error::{ok, ApiResult, AppError, FieldErrors};
use crate::http::{parse_json_body, JsonBody};
use crate::ids::parse_id;
use crate::state::AppState;

/// Fields the server sets; ignored when a client sends them.
const SERVER_FIELDS: [&str; 3] = ["id", "created_at", "updated_at"];
const MASK_PREFIX: &str = "****";

/// One admin resource (a table) and how the API treats its rows.
pub trait Resource: Send + Sync + 'static {
    type Entity: EntityTrait<Model = Self::Model, ActiveModel = Self::ActiveModel>;
    type Model: Serialize
        + DeserializeOwned
        + Default
        + Clone
        + Send
        + Sync
        + IntoActiveModel<Self::ActiveModel>
        + sea_orm::FromQueryResult
        + sea_orm::ModelTrait<Entity = Self::Entity>;
    type ActiveModel: ActiveModelTrait<Entity = Self::Entity> + ActiveModelBehavior + Send + Sync;

    /// Singular noun for messages, e.g. "account".
    const NOUN: &'static str;
    /// Columns whose values are secrets: masked in responses, kept when the
    /// mask is sent back.
    const SECRETS: &'static [&'static str] = &[];
    /// Columns the server manages; ignored in add and edit bodies.
    const READ_ONLY: &'static [&'static str] = &[];
    /// Query parameters that filter by equality on the column of the same name.
    const FILTERS: &'static [&'static str] = &[];
    /// Columns searched (substring) by the `keyword` query parameter.
    const SEARCH: &'static [&'static str] = &[];
    /// Whether the callback reads this table (its cache is refreshed on writes).
    const AFFECTS_CALLBACK: bool = false;
    /// `(column, ascending)` ordering of lists; newest first by default.
    const ORDER: &'static [(&'static str, bool)] = &[("id", false)];

    /// Values a new row starts from, before the request's fields.
    fn defaults() -> Value {
        json!({})
    }

    /// Field-level checks of a row about to be written.
    fn validate(model: &Self::Model, errors: &mut FieldErrors);

    /// Checks that need the database (e.g. a menu's parent). Runs after
    /// [`Resource::validate`] passed.
    fn validate_in_db(
        _state: &AppState,
        _model: &Self::Model,
        _errors: &mut FieldErrors,
    ) -> impl Future<Output = Result<(), AppError>> + Send {
        async { Ok(()) }
    }

    /// Runs in the deleting transaction: refuses deleting rows other rows
    /// still need, or deletes rows that belong to them.
    fn before_delete(
        _db: &DatabaseTransaction,
        _ids: &[i64],
    ) -> impl Future<Output = Result<(), AppError>> + Send {
        async { Ok(()) }
    }
}

/// The column named `name` of entity `E`, if it has one.
fn column<E: EntityTrait>(name: &str) -> Option<E::Column> {
    E::Column::from_str(name).ok()
}

fn has_account<R: Resource>() -> bool {
    column::<R::Entity>("account_id").is_some()
}

/// The id of the account a row belongs to (its own id for accounts).
fn account_of<R: Resource>(row: &Value) -> Option<i64> {
    if has_account::<R>() {
        row.get("account_id").and_then(parse_id)
    } else {
        row.get("id").and_then(parse_id)
    }
}

fn id_column<R: Resource>() -> <R::Entity as EntityTrait>::Column {
    column::<R::Entity>("id").expect("every table has an id column")
}

/// A row as the API shows it to `viewer`: secrets masked (admins see the last
/// four characters; operators see none).
pub fn present<R: Resource>(model: &R::Model, viewer: &CurrentAdmin) -> Result<Value, AppError> {
    let mut value = serde_json::to_value(model).map_err(AppError::internal)?;
    if let Some(object) = value.as_object_mut() {
        for name in R::SECRETS {
            if let Some(Value::String(secret)) = object.get_mut(*name) {
                *secret = mask(secret, viewer.is_admin());
            }
        }
    }
    Ok(value)
}

pub fn mask(secret: &str, show_tail: bool) -> String {
    if secret.is_empty() {
        return String::new();
    }
    let chars: Vec<char> = secret.chars().collect();
    // A PEM's tail is its armour line, which says nothing useful.
    if show_tail && chars.len() > 8 && !secret.contains("-----") {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{MASK_PREFIX}{tail}")
    } else {
        MASK_PREFIX.to_string()
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
    Ok(match column_type {
        ColumnType::BigInteger
        | ColumnType::Integer
        | ColumnType::SmallInteger
        | ColumnType::TinyInteger => number(raw)?.into(),
        _ => raw.to_string().into(),
    })
}

/// `start` / `end` bounds: RFC 3339, `YYYY-MM-DD` (UTC midnight) or unix seconds.
pub fn parse_time(param: &str, raw: &str) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
    let raw = raw.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    if let Some(t) = raw
        .parse::<i64>()
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
    {
        return Ok(t);
    }
    Err(AppError::BadRequest(format!(
        "{param}={raw:?} is not a time (RFC 3339, YYYY-MM-DD or unix seconds)"
    )))
}

/// Now, at the millisecond precision every database keeps.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(3)
}

pub async fn list<R: Resource>(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult {
    let page: u64 = match params.get("page") {
        Some(raw) => raw.parse().ok().filter(|p| *p >= 1).ok_or_else(|| {
            AppError::BadRequest(format!("page={raw:?} must be a whole number from 1"))
        })?,
        None => 1,
    };
    let page_size: u64 = match params.get("page_size") {
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|s| (1..=100).contains(s))
            .ok_or_else(|| {
                AppError::BadRequest(format!("page_size={raw:?} must be from 1 to 100"))
            })?,
        None => 20,
    };

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
                any = any.add(col.contains(keyword));
            }
        }
        condition = condition.add(any);
    }
    if let Some(time_col) = column::<R::Entity>("created_at") {
        if let Some(raw) = params.get("start").filter(|v| !v.is_empty()) {
            condition = condition.add(time_col.gte(parse_time("start", raw)?));
        }
        if let Some(raw) = params.get("end").filter(|v| !v.is_empty()) {
            condition = condition.add(time_col.lte(parse_time("end", raw)?));
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

/// Drops the callback's cached copy of the account a written row belongs to.
fn refresh_callback<R: Resource>(state: &AppState, row: &Value) {
    if R::AFFECTS_CALLBACK {
        if let Some(account_id) = account_of::<R>(row) {
            state.callback_accounts.invalidate(account_id);
        }
    }
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

pub async fn add<R: Resource>(
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
    R::Entity::insert(active)
        .exec_without_returning(&state.db)
        .await
        .map_err(|e| conflict_message::<R>(e.into()))?;
    refresh_callback::<R>(&state, &present::<R>(&model, &viewer)?);
    tracing::info!(admin = %viewer.username, resource = R::NOUN, "added");
    Ok(ok(present::<R>(&model, &viewer)?))
}

async fn find_row<R: Resource>(state: &AppState, id: i64) -> Result<R::Model, AppError> {
    R::Entity::find()
        .filter(id_column::<R>().eq(id))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("{} {id} not found", R::NOUN)))
}

pub async fn edit<R: Resource>(
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
    R::Entity::update(active)
        .exec(&state.db)
        .await
        .map_err(|e| conflict_message::<R>(e.into()))?;
    refresh_callback::<R>(&state, &existing_json_for_refresh);
    refresh_callback::<R>(&state, &present::<R>(&model, &viewer)?);
    tracing::info!(admin = %viewer.username, resource = R::NOUN, id, "edited");
    Ok(ok(present::<R>(&model, &viewer)?))
}

pub async fn del<R: Resource>(
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
    txn.commit().await?;
    for row in &rows {
        refresh_callback::<R>(&state, row);
    }
    tracing::info!(admin = %viewer.username, resource = R::NOUN, deleted = result.rows_affected, "deleted");
    Ok(ok(json!({ "deleted": result.rows_affected })))
}

/// Field checks shared by the resources.
pub mod check {
    use crate::error::FieldErrors;

    pub fn one_of<T: PartialEq + std::fmt::Debug>(
        errors: &mut FieldErrors,
        field: &str,
        value: &T,
        allowed: &[T],
    ) {
        if !allowed.contains(value) {
            errors.insert(field.into(), format!("must be one of {allowed:?}"));
        }
    }

    pub fn required(errors: &mut FieldErrors, field: &str, value: &str) {
        if value.trim().is_empty() {
            errors.insert(field.into(), "is required".into());
        }
    }

    /// Length in bytes, as WeChat counts it.
    pub fn max_bytes(errors: &mut FieldErrors, field: &str, value: &str, max: usize) {
        if value.len() > max {
            errors.insert(
                field.into(),
                format!("must be at most {max} bytes (UTF-8), is {}", value.len()),
            );
        }
    }

    pub fn max_chars(errors: &mut FieldErrors, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            errors.insert(field.into(), format!("must be at most {max} characters"));
        }
    }

    /// Empty, or an http(s) URL.
    pub fn url(errors: &mut FieldErrors, field: &str, value: &str) {
        let is_http = value.starts_with("http://") || value.starts_with("https://");
        if !value.is_empty() && !is_http {
            errors.insert(field.into(), "must be an http:// or https:// URL".into());
        } else {
            max_bytes(errors, field, value, 1024);
        }
    }

    pub fn not_negative(errors: &mut FieldErrors, field: &str, value: i64) {
        if value < 0 {
            errors.insert(field.into(), "must not be negative".into());
        }
    }
}

/// Column names of a resource, for the OpenAPI document.
pub fn columns<R: Resource>() -> Vec<(String, ColumnType, bool)> {
    <R::Entity as EntityTrait>::Column::iter()
        .map(|c| {
            let def = c.def();
            (
                c.as_str().to_string(),
                def.get_column_type().clone(),
                def.is_null(),
            )
        })
        .collect()
}
