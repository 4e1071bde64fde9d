//! The admin REST API for the `wx_*` resources. Each resource describes
//! itself once (a [`Resource`] impl in `resources.rs`); the list / add / edit /
//! del plumbing here serves all of them the same way.

pub mod dashboard;
mod resources;
pub mod routes;

use std::future::Future;
use std::str::FromStr;

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ColumnType, DatabaseTransaction,
    EntityTrait, IdenStatic, IntoActiveModel, Iterable,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::auth::CurrentAdmin;
use crate::error::{AppError, FieldErrors};
use crate::ids::parse_id;
use crate::state::AppState;

/// Fields the server sets; ignored when a client sends them.
pub(crate) const SERVER_FIELDS: [&str; 3] = ["id", "created_at", "updated_at"];
pub(crate) const MASK_PREFIX: &str = "****";

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

    /// Field-level checks of a row about to be written (none by default:
    /// read-only resources).
    fn validate(_model: &Self::Model, _errors: &mut FieldErrors) {}

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
pub(crate) fn column<E: EntityTrait>(name: &str) -> Option<E::Column> {
    E::Column::from_str(name).ok()
}

pub(crate) fn has_account<R: Resource>() -> bool {
    column::<R::Entity>("account_id").is_some()
}

/// The id of the account a row belongs to (its own id for accounts).
pub(crate) fn account_of<R: Resource>(row: &Value) -> Option<i64> {
    if has_account::<R>() {
        row.get("account_id").and_then(parse_id)
    } else {
        row.get("id").and_then(parse_id)
    }
}

pub(crate) fn id_column<R: Resource>() -> <R::Entity as EntityTrait>::Column {
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

/// Moves the configuration epoch with the change (same transaction), so
/// other instances drop their cached accounts and rules when it commits.
pub(crate) async fn announce_change<R: Resource>(
    txn: &impl sea_orm::ConnectionTrait,
) -> Result<(), crate::error::AppError> {
    if R::AFFECTS_CALLBACK {
        crate::db::epoch::bump(txn, crate::db::epoch::CONFIG).await?;
    }
    Ok(())
}

/// Drops the callback's cached copy of the account a written row belongs to.
pub(crate) fn refresh_callback<R: Resource>(state: &crate::state::AppState, row: &Value) {
    if R::AFFECTS_CALLBACK {
        if let Some(account_id) = account_of::<R>(row) {
            state.callback_accounts.invalidate(account_id);
        }
    }
}
