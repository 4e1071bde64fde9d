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
    Ok(json!({ "published": menu["button"].as_array().map(Vec::len).unwrap_or(0), "menu": menu }))
}

/// Replaces the stored menu with WeChat's; returns how many buttons were stored.
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
    let buttons = remote["menu"]["button"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let now = crate::db::now();
    let txn = db.begin().await?;
    menus::Entity::delete_many()
        .filter(menus::Column::AccountId.eq(account.id))
        .exec(&txn)
        .await?;
    let mut stored = 0;
    for (order, button) in buttons.iter().enumerate() {
        let parent = menu_row(ids, account.id, 0, order, button, now)?;
        let parent_id = parent.id;
        parent.into_active_model().reset_all().insert(&txn).await?;
        stored += 1;
        for (sub_order, sub) in button["sub_button"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            menu_row(ids, account.id, parent_id, sub_order, sub, now)?
                .into_active_model()
                .reset_all()
                .insert(&txn)
                .await?;
            stored += 1;
        }
    }
    txn.commit().await?;
    Ok(stored)
}

fn menu_row(
    ids: &IdGenerator,
    account_id: i64,
    parent_id: i64,
    order: usize,
    button: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<menus::Model, AppError> {
    let text = |key: &str| button[key].as_str().unwrap_or_default().to_string();
    let has_children = button["sub_button"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    Ok(menus::Model {
        id: ids.next_id()?,
        account_id,
        parent_id,
        menu_name: text("name"),
        menu_type: if has_children {
            String::new()
        } else {
            text("type")
        },
        menu_key: text("key"),
        url: text("url"),
        media_id: text("media_id"),
        article_id: text("article_id"),
        appid: text("appid"),
        pagepath: text("pagepath"),
        sort_order: order as i32,
        created_at: now,
        updated_at: now,
    })
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
