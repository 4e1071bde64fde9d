//! Archive, restore and purge of an account, each in one transaction with its
//! audit record.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, Set, TransactionTrait,
};
use serde_json::{json, Value};

use crate::audit;
use crate::auth::CurrentAdmin;
use crate::entity::*;
use crate::error::AppError;
use crate::state::AppState;

/// Runs `$body` once for every table whose rows carry the account's id, in an
/// order that deletes referencing rows first (refunds before their orders).
/// Adding such a table means adding it here: deletion and the "still has"
/// check both read this list.
macro_rules! for_each_account_table {
    ($m:ident, $label:ident => $body:block) => {{
        macro_rules! one {
            ($entity:ident, $name:literal) => {{
                #[allow(unused_imports)]
                use $entity as $m;
                let $label: &'static str = $name;
                $body
            }};
        }
        one!(pay_notifications, "pay notifications");
        one!(pay_refunds, "refunds");
        one!(pay_orders, "pay orders");
        one!(template_logs, "template sends");
        one!(templates, "templates");
        one!(messages, "messages");
        one!(users, "fans");
        one!(menus, "menus");
        one!(materials, "materials");
        one!(auto_replies, "auto replies");
    }};
}

/// How many rows of each kind the accounts `ids` hold (kinds with none left out).
pub async fn holdings(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<(&'static str, u64)>, AppError> {
    let mut held = Vec::new();
    for_each_account_table!(table, label => {
        let n = table::Entity::find()
            .filter(table::Column::AccountId.is_in(ids.to_vec()))
            .count(db)
            .await?;
        if n > 0 {
            held.push((label, n));
        }
    });
    Ok(held)
}

/// Deletes the plugin state, switches, settings and counters of `ids`, the
/// record of their menus live on WeChat, and their inbox (read marks,
/// assignments, notes, canned replies): they belong to the account alone and
/// go with it even on a plain delete.
pub async fn delete_own_rows(db: &impl ConnectionTrait, ids: &[i64]) -> Result<(), AppError> {
    plugin_state::Entity::delete_many()
        .filter(plugin_state::Column::AccountId.is_in(ids.to_vec()))
        .exec(db)
        .await?;
    plugin_settings::Entity::delete_many()
        .filter(plugin_settings::Column::AccountId.is_in(ids.to_vec()))
        .exec(db)
        .await?;
    plugin_counters::Entity::delete_many()
        .filter(plugin_counters::Column::AccountId.is_in(ids.to_vec()))
        .exec(db)
        .await?;
    plugin_config::Entity::delete_many()
        .filter(plugin_config::Column::AccountId.is_in(ids.to_vec()))
        .exec(db)
        .await?;
    menu_live::Entity::delete_many()
        .filter(menu_live::Column::AccountId.is_in(ids.to_vec()))
        .exec(db)
        .await?;
    conversations::Entity::delete_many()
        .filter(conversations::Column::AccountId.is_in(ids.to_vec()))
        .exec(db)
        .await?;
    conversation_notes::Entity::delete_many()
        .filter(conversation_notes::Column::AccountId.is_in(ids.to_vec()))
        .exec(db)
        .await?;
    canned_replies::Entity::delete_many()
        .filter(canned_replies::Column::AccountId.is_in(ids.to_vec()))
        .exec(db)
        .await?;
    Ok(())
}

async fn find(state: &AppState, id: i64) -> Result<accounts::Model, AppError> {
    accounts::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("account {id} not found")))
}

/// Archives (`archive`) or restores the account. Archived: disabled, so the
/// callback no longer answers for it, and marked so the console hides it from
/// pickers. Restored: enabled again, mark cleared. Repeating either changes
/// nothing.
pub async fn set_archived(
    state: &AppState,
    admin: &CurrentAdmin,
    id: i64,
    archive: bool,
) -> Result<accounts::Model, AppError> {
    admin.require_admin()?;
    let account = find(state, id).await?;
    if account.archived_at.is_some() == archive {
        return Ok(account);
    }
    let mut row = account.clone().into_active_model();
    row.status = Set(if archive { 0 } else { 1 });
    row.archived_at = Set(archive.then(crate::db::now));
    row.updated_at = Set(crate::db::now());
    let txn = state.db.begin().await?;
    let updated = row.update(&txn).await?;
    let action = if archive {
        "archive_account"
    } else {
        "restore_account"
    };
    let change = audit::Change::action(
        action,
        "account",
        id,
        json!({ "account_name": account.account_name, "app_id": account.app_id }),
    )
    .on(id);
    audit::record(&txn, &state.ids, admin, change).await?;
    // Other instances drop their cached copy when this commits.
    crate::db::epoch::bump(&txn, crate::db::epoch::CONFIG).await?;
    txn.commit().await?;
    state.callback_accounts.invalidate(id);
    tracing::info!(admin = %admin.username, account_id = id, action, "account archive changed");
    Ok(updated)
}

/// Deletes the account and every row that belongs to it, in one transaction,
/// once `confirm_name` is its name. The audit trail keeps its history (the
/// trail outlives what it names) and records what was deleted.
pub async fn purge(
    state: &AppState,
    admin: &CurrentAdmin,
    id: i64,
    confirm_name: &str,
) -> Result<Value, AppError> {
    admin.require_admin()?;
    let account = find(state, id).await?;
    if confirm_name.trim() != account.account_name.trim() {
        return Err(AppError::field(
            "confirm_name",
            "must be the account's name, typed exactly",
        ));
    }
    let ids = [id];
    let txn = state.db.begin().await?;
    let deleted = holdings(&txn, &ids).await?;
    for_each_account_table!(table, _label => {
        table::Entity::delete_many()
            .filter(table::Column::AccountId.eq(id))
            .exec(&txn)
            .await?;
    });
    delete_own_rows(&txn, &ids).await?;
    unassign_operators(&txn, id).await?;
    accounts::Entity::delete_by_id(id).exec(&txn).await?;
    let counts: serde_json::Map<String, Value> = deleted
        .iter()
        .map(|(label, n)| (label.to_string(), json!(n)))
        .collect();
    let change = audit::Change::action(
        "purge_account",
        "account",
        id,
        json!({ "account_name": account.account_name, "app_id": account.app_id, "deleted": counts }),
    )
    .on(id);
    audit::record(&txn, &state.ids, admin, change).await?;
    // Other instances drop their cached copy when this commits.
    crate::db::epoch::bump(&txn, crate::db::epoch::CONFIG).await?;
    txn.commit().await?;
    state.callback_accounts.invalidate(id);
    tracing::warn!(admin = %admin.username, account_id = id, app_id = %account.app_id, "account deleted with all its data");
    Ok(json!({ "id": id.to_string(), "deleted": counts }))
}

/// Takes the account out of every operator's `account_ids`.
async fn unassign_operators(db: &impl ConnectionTrait, id: i64) -> Result<(), AppError> {
    for operator in admins::Entity::find().all(db).await? {
        let assigned = crate::auth::account_ids_of(&operator);
        if !assigned.contains(&id) {
            continue;
        }
        let kept: Vec<String> = assigned
            .iter()
            .filter(|&&a| a != id)
            .map(i64::to_string)
            .collect();
        admins::Entity::update_many()
            .col_expr(admins::Column::AccountIds, Expr::value(json!(kept)))
            .filter(admins::Column::Id.eq(operator.id))
            .exec(db)
            .await?;
    }
    Ok(())
}
