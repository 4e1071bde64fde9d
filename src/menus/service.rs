//! Menus on WeChat: publish the stored tree, replace it with WeChat's, delete
//! it, or only read it; each records what is then live there (`wx_menu_live`)
//! for the menus page to compare with the stored draft.

use reqwest::Method;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};
use serde_json::{json, Value};

use super::rules::menu_json;
use crate::entity::{accounts, menu_live, menus};
use crate::error::AppError;
use crate::ids::IdGenerator;
use crate::wxapi::Body;
use crate::wxapi::WxApi;
use sea_orm::DatabaseConnection;

/// Publishes the account's stored menu; refuses one that breaks WeChat's rules.
pub async fn publish(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    wxapi: &WxApi,
    account: &accounts::Model,
    by: &str,
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
    record_live(db, ids, account.id, menu.clone(), "published", by).await?;
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
    by: &str,
) -> Result<usize, AppError> {
    let remote = remote_menu(wxapi, account).await?;
    let rows = super::rules::rows_from_wechat(&remote, account.id, ids, crate::db::now())?;
    let txn = db.begin().await?;
    record_live(
        &txn,
        ids,
        account.id,
        super::rules::menu_json_of(&rows),
        "synced",
        by,
    )
    .await?;
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

/// WeChat's menu of the account (`{"menu": {"button": […]}}`; none: no buttons).
async fn remote_menu(wxapi: &WxApi, account: &accounts::Model) -> Result<Value, AppError> {
    match wxapi
        .call(account, Method::GET, "/cgi-bin/menu/get", &[], Body::Empty)
        .await
    {
        Ok(remote) => Ok(remote),
        // 46003: the account has no menu.
        Err(error) if error.errcode() == Some(46003) => Ok(json!({ "menu": { "button": [] } })),
        Err(error) => Err(error.into()),
    }
}

/// Reads the menu on WeChat and records it as live, leaving the draft alone.
pub async fn check_on_wechat(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    wxapi: &WxApi,
    account: &accounts::Model,
    by: &str,
) -> Result<Value, AppError> {
    let remote = remote_menu(wxapi, account).await?;
    let rows = super::rules::rows_from_wechat(&remote, account.id, ids, crate::db::now())?;
    record_live(
        db,
        ids,
        account.id,
        super::rules::menu_json_of(&rows),
        "checked",
        by,
    )
    .await?;
    live(db, account).await
}

/// Records `menu` (WeChat's `{"button": […]}`) as live on WeChat for the account.
async fn record_live(
    db: &impl ConnectionTrait,
    ids: &IdGenerator,
    account_id: i64,
    menu: Value,
    source: &str,
    by: &str,
) -> Result<(), AppError> {
    let now = crate::db::now();
    let row = menu_live::Model {
        id: ids.next_id()?,
        account_id,
        menu: Some(menu),
        source: source.to_string(),
        admin_name: by.chars().take(64).collect(),
        seen_at: now,
        created_at: now,
        updated_at: now,
    };
    use menu_live::Column as C;
    menu_live::Entity::insert(row.into_active_model().reset_all())
        .on_conflict(
            OnConflict::column(C::AccountId)
                .update_columns([C::Menu, C::Source, C::AdminName, C::SeenAt, C::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// What is live on WeChat (as last seen: `null` if never) beside the stored
/// draft, both as WeChat's `{"button": […]}`.
pub async fn live(db: &DatabaseConnection, account: &accounts::Model) -> Result<Value, AppError> {
    let seen = menu_live::Entity::find()
        .filter(menu_live::Column::AccountId.eq(account.id))
        .one(db)
        .await?;
    let rows = menus::Entity::find()
        .filter(menus::Column::AccountId.eq(account.id))
        .all(db)
        .await?;
    let draft = super::rules::menu_json_of(&rows);
    let live = seen.map(|s| {
        json!({
            "menu": s.menu, "source": s.source, "admin_name": s.admin_name, "seen_at": s.seen_at,
            "same_as_draft": s.menu.as_ref() == Some(&draft),
        })
    });
    Ok(json!({ "live": live, "draft": draft }))
}

/// Deletes the menu on WeChat (the stored one stays).
pub async fn delete_on_wechat(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    wxapi: &WxApi,
    account: &accounts::Model,
    by: &str,
) -> Result<(), AppError> {
    wxapi
        .call(
            account,
            Method::GET,
            "/cgi-bin/menu/delete",
            &[],
            Body::Empty,
        )
        .await?;
    record_live(db, ids, account.id, json!({ "button": [] }), "deleted", by).await
}
