//! Menus on WeChat: publish the stored tree, replace it with WeChat's, delete it.

use reqwest::Method;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, TransactionTrait,
};
use serde_json::{json, Value};

use super::rules::menu_json;
use crate::entity::{accounts, menus};
use crate::error::AppError;
use crate::ids::IdGenerator;
use crate::wxapi::Body;
use crate::wxapi::WxApi;
use sea_orm::DatabaseConnection;

/// Publishes the account's stored menu; refuses one that breaks WeChat's rules.
pub async fn publish(
    db: &DatabaseConnection,
    wxapi: &WxApi,
    account: &accounts::Model,
) -> Result<Value, AppError> {
    let rows = menus::Entity::find()
        .filter(menus::Column::AccountId.eq(account.id))
        .all(db)
        .await?;
    let menu = menu_json(&rows).map_err(|problems| {
        AppError::BadRequest(format!(
            "the menu cannot be published: {}",
            problems.join("; ")
        ))
    })?;
    wxapi
        .call(
            account,
            Method::POST,
            "/cgi-bin/menu/create",
            &[],
            Body::Json(menu.clone()),
        )
        .await?;
    Ok(json!({ "published": super::rules::count_buttons(&menu), "menu": menu }))
}

/// Replaces the stored menu with WeChat's; returns how many buttons were
/// stored: one row per top-level button or sub-button, as
/// [`super::rules::count_buttons`] counts.
pub async fn pull_from_wechat(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    wxapi: &WxApi,
    account: &accounts::Model,
) -> Result<usize, AppError> {
    let remote = match wxapi
        .call(account, Method::GET, "/cgi-bin/menu/get", &[], Body::Empty)
        .await
    {
        Ok(remote) => remote,
        // 46003: the account has no menu.
        Err(error) if error.errcode() == Some(46003) => json!({ "menu": { "button": [] } }),
        Err(error) => return Err(error.into()),
    };
    let rows = super::rules::rows_from_wechat(&remote, account.id, ids, crate::db::now())?;
    let txn = db.begin().await?;
    menus::Entity::delete_many()
        .filter(menus::Column::AccountId.eq(account.id))
        .exec(&txn)
        .await?;
    // Parents come before their sub-buttons.
    for row in &rows {
        row.clone()
            .into_active_model()
            .reset_all()
            .insert(&txn)
            .await?;
    }
    let stored = rows.len();
    txn.commit().await?;
    Ok(stored)
}

/// Deletes the menu on WeChat (the stored one stays).
pub async fn delete_on_wechat(wxapi: &WxApi, account: &accounts::Model) -> Result<(), AppError> {
    wxapi
        .call(
            account,
            Method::GET,
            "/cgi-bin/menu/delete",
            &[],
            Body::Empty,
        )
        .await?;
    Ok(())
}
