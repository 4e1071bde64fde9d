//! The account a request names, checked against the signed-in admin's accounts.

use sea_orm::EntityTrait;
use serde::Deserialize;
use serde_json::Value;

use super::CurrentAdmin;
use crate::entity::accounts;
use crate::error::AppError;
use crate::http::parse_json_body;
use sea_orm::DatabaseConnection;

#[derive(Deserialize)]
struct AccountRequest {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
}

/// The account a `{"account_id": …}` body names, checked against the admin's accounts.
pub async fn account_in_body(
    db: &DatabaseConnection,
    admin: &CurrentAdmin,
    body: Value,
) -> Result<accounts::Model, AppError> {
    let request: AccountRequest = parse_json_body(body)?;
    account_for(db, admin, request.account_id).await
}

/// The account an `account_id` query parameter names, checked against the admin's accounts.
pub async fn account_in_query(
    db: &DatabaseConnection,
    admin: &CurrentAdmin,
    raw: &str,
) -> Result<accounts::Model, AppError> {
    let account_id: i64 = raw
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest(format!("account_id={raw:?} is not an id")))?;
    account_for(db, admin, account_id).await
}

/// The account of a request, checked against the admin's accounts.
pub async fn account_for(
    db: &DatabaseConnection,
    admin: &CurrentAdmin,
    account_id: i64,
) -> Result<accounts::Model, AppError> {
    admin.require_account(account_id)?;
    accounts::Entity::find_by_id(account_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::field("account_id", format!("no account with id {account_id}")))
}
