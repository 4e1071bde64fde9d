//! Internal notes on a conversation, and who a conversation is assigned to.
//! Notes are for operators only; nothing here reaches the fan.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use serde::Serialize;

use crate::auth::{account_ids_of, CurrentAdmin, ROLE_ADMIN};
use crate::entity::{admins, conversation_notes};
use crate::error::AppError;
use crate::ids::IdGenerator;

/// Longest note, in characters.
pub const NOTE_MAX_CHARS: usize = 1000;

/// Text an operator typed: trimmed, not empty, at most `max` characters.
pub fn checked_text(field: &str, text: &str, max: usize) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::field(field, "is required"));
    }
    if text.chars().count() > max {
        return Err(AppError::field(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(text.to_string())
}

pub async fn list(
    db: &DatabaseConnection,
    account_id: i64,
    openid: &str,
) -> Result<Vec<conversation_notes::Model>, AppError> {
    Ok(conversation_notes::Entity::find()
        .filter(conversation_notes::Column::AccountId.eq(account_id))
        .filter(conversation_notes::Column::Openid.eq(openid))
        .order_by_asc(conversation_notes::Column::Id)
        .all(db)
        .await?)
}

pub async fn add(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    author: &CurrentAdmin,
    account_id: i64,
    openid: &str,
    body: &str,
) -> Result<conversation_notes::Model, AppError> {
    let body = checked_text("body", body, NOTE_MAX_CHARS)?;
    let now = crate::db::now();
    let row = conversation_notes::Model {
        id: ids.next_id()?,
        account_id,
        openid: openid.to_string(),
        admin_id: author.id,
        admin_name: author.username.clone(),
        body,
        created_at: now,
        updated_at: now,
    };
    Ok(row.into_active_model().reset_all().insert(db).await?)
}

/// Deletes a note: its author may, and admins may.
pub async fn delete(
    db: &DatabaseConnection,
    who: &CurrentAdmin,
    id: i64,
) -> Result<conversation_notes::Model, AppError> {
    let note = conversation_notes::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|n| who.can_access(n.account_id))
        .ok_or_else(|| AppError::NotFound(format!("note {id} not found")))?;
    if note.admin_id != who.id && !who.is_admin() {
        return Err(AppError::Forbidden(
            "only the note's author or an admin may delete it".into(),
        ));
    }
    conversation_notes::Entity::delete_by_id(id)
        .exec(db)
        .await?;
    Ok(note)
}

/// Someone a conversation of the account can be assigned to.
#[derive(Debug, Serialize)]
pub struct Assignee {
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    pub username: String,
    pub role: String,
}

/// The enabled admins, and the operators assigned the account.
pub async fn assignees(
    db: &DatabaseConnection,
    account_id: i64,
) -> Result<Vec<Assignee>, AppError> {
    Ok(admins::Entity::find()
        .filter(admins::Column::Status.eq(1))
        .order_by_asc(admins::Column::Username)
        .all(db)
        .await?
        .into_iter()
        .filter(|a| a.role == ROLE_ADMIN || account_ids_of(a).contains(&account_id))
        .map(|a| Assignee {
            id: a.id,
            username: a.username,
            role: a.role,
        })
        .collect())
}

/// The assignee `admin_id` names, checked: enabled, and able to see the account.
pub async fn assignee(
    db: &DatabaseConnection,
    account_id: i64,
    admin_id: i64,
) -> Result<Assignee, AppError> {
    assignees(db, account_id)
        .await?
        .into_iter()
        .find(|a| a.id == admin_id)
        .ok_or_else(|| {
            AppError::field(
                "admin_id",
                format!("no enabled admin or operator of this account has id {admin_id}"),
            )
        })
}
