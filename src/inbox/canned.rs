//! Canned replies: an account's ready-made texts, inserted into a reply and
//! edited before it is sent.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};

use super::notes::checked_text;
use crate::auth::CurrentAdmin;
use crate::entity::canned_replies;
use crate::error::AppError;
use crate::ids::IdGenerator;

pub const TITLE_MAX_CHARS: usize = 64;
/// As long as the reply box takes.
pub const CONTENT_MAX_CHARS: usize = 2000;

pub async fn list(
    db: &DatabaseConnection,
    account_id: i64,
) -> Result<Vec<canned_replies::Model>, AppError> {
    Ok(canned_replies::Entity::find()
        .filter(canned_replies::Column::AccountId.eq(account_id))
        .order_by_asc(canned_replies::Column::Title)
        .order_by_asc(canned_replies::Column::Id)
        .all(db)
        .await?)
}

pub async fn add(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    account_id: i64,
    title: &str,
    content: &str,
) -> Result<canned_replies::Model, AppError> {
    let title = checked_text("title", title, TITLE_MAX_CHARS)?;
    let content = checked_text("content", content, CONTENT_MAX_CHARS)?;
    let now = crate::db::now();
    let row = canned_replies::Model {
        id: ids.next_id()?,
        account_id,
        title,
        content,
        created_at: now,
        updated_at: now,
    };
    Ok(row.into_active_model().reset_all().insert(db).await?)
}

/// The canned reply `id`, when the admin may see its account.
pub async fn find(
    db: &DatabaseConnection,
    who: &CurrentAdmin,
    id: i64,
) -> Result<canned_replies::Model, AppError> {
    canned_replies::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|c| who.can_access(c.account_id))
        .ok_or_else(|| AppError::NotFound(format!("canned reply {id} not found")))
}

pub async fn edit(
    db: &DatabaseConnection,
    existing: canned_replies::Model,
    title: Option<&str>,
    content: Option<&str>,
) -> Result<canned_replies::Model, AppError> {
    let mut row = existing.into_active_model();
    if let Some(title) = title {
        row.title = Set(checked_text("title", title, TITLE_MAX_CHARS)?);
    }
    if let Some(content) = content {
        row.content = Set(checked_text("content", content, CONTENT_MAX_CHARS)?);
    }
    row.updated_at = Set(crate::db::now());
    Ok(row.update(db).await?)
}

pub async fn delete(
    db: &DatabaseConnection,
    existing: &canned_replies::Model,
) -> Result<(), AppError> {
    canned_replies::Entity::delete_by_id(existing.id)
        .exec(db)
        .await?;
    Ok(())
}
