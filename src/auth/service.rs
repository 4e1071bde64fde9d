//! Admins as stored: creating one, setting a password, and how an admin is
//! shown (never with its password hash).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};
use serde_json::{json, Value};

use super::{account_ids_of, hash_password};
use crate::entity::admins;
use crate::error::AppError;
use crate::ids::IdGenerator;

pub fn admin_json(admin: &admins::Model) -> Value {
    json!({
        "id": admin.id.to_string(),
        "username": admin.username,
        "role": admin.role,
        "account_ids": account_ids_of(admin).iter().map(i64::to_string).collect::<Vec<_>>(),
        "status": admin.status,
        "last_login_at": admin.last_login_at,
        "created_at": admin.created_at,
        "updated_at": admin.updated_at,
    })
}

/// Stores a new password hash, which signs out older tokens.
pub async fn set_password(
    db: &impl ConnectionTrait,
    admin: admins::Model,
    password: &str,
) -> Result<admins::Model, AppError> {
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(AppError::internal)??;
    let mut active = admin.into_active_model();
    active.password_hash = Set(hash);
    active.updated_at = Set(chrono::Utc::now());
    Ok(active.update(db).await?)
}

pub fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Creates an admin; a taken user name is a 409.
pub async fn create_admin(
    db: &impl ConnectionTrait,
    ids: &IdGenerator,
    username: &str,
    password: &str,
    role: &str,
    account_ids: Vec<i64>,
) -> Result<admins::Model, AppError> {
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(AppError::internal)??;
    let now = chrono::Utc::now();
    let model = admins::ActiveModel {
        id: Set(ids.next_id()?),
        username: Set(username.to_string()),
        password_hash: Set(hash),
        role: Set(role.to_string()),
        account_ids: Set(Some(json!(account_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()))),
        status: Set(1),
        last_login_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    admins::Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => AppError::Conflict(format!("user name {username:?} is taken")),
            other => other,
        })?;
    admins::Entity::find()
        .filter(admins::Column::Username.eq(username))
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("admin vanished after insert"))
}
