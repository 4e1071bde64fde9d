//! One group commit of the callback's writes in as few statements as the
//! batch allows: one multi-row insert for all received messages, one to see
//! which of them were retries (only when some were), one upsert for the fans
//! they came from with their counters, one insert for all replies, one update
//! for the messages handled without a reply. The rare rows (follows and
//! unfollows, jobs, template delivery reports) keep a statement of their own.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, TransactionTrait,
};

use super::store::{FanChange, Inbound, Request, Stored, Subscription};
use crate::entity::{jobs, messages, template_logs, users};
use crate::ids::IdGenerator;

/// Commits `batch` in one transaction: for each request, `Some` with how a
/// received message was stored, `None` for the other writes.
pub(super) async fn apply_batch(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    batch: &[Request],
) -> Result<Vec<Option<Stored>>, sea_orm::DbErr> {
    let txn = db.begin().await?;
    let inbound: Vec<(usize, &Inbound)> = batch
        .iter()
        .enumerate()
        .filter_map(|(i, request)| match request {
            Request::Inbound(inbound, _) => Some((i, inbound.as_ref())),
            _ => None,
        })
        .collect();
    let mut results = vec![None; batch.len()];
    for (i, stored) in store_messages(&txn, &inbound).await? {
        results[i] = Some(stored);
    }
    let new: Vec<&Inbound> = inbound
        .iter()
        .filter(|(i, _)| results[*i] == Some(Stored::New))
        .map(|(_, inbound)| *inbound)
        .collect();
    update_fans(&txn, ids, new.iter().filter_map(|i| i.fan.as_ref())).await?;
    let new_jobs: Vec<_> = new
        .iter()
        .flat_map(|i| &i.jobs)
        .map(|job| job.clone().into_active_model().reset_all())
        .collect();
    if !new_jobs.is_empty() {
        jobs::Entity::insert_many(new_jobs)
            .exec_without_returning(&txn)
            .await?;
    }
    for inbound in &new {
        if let Some((msgid, status)) = &inbound.template_delivery {
            record_delivery(&txn, &inbound.message, *msgid, status).await?;
        }
    }

    let replies: Vec<_> = batch
        .iter()
        .filter_map(|request| match request {
            Request::Reply(reply, _) => {
                Some(reply.as_ref().clone().into_active_model().reset_all())
            }
            _ => None,
        })
        .collect();
    if !replies.is_empty() {
        messages::Entity::insert_many(replies)
            .exec_without_returning(&txn)
            .await?;
    }
    let handled: Vec<i64> = batch
        .iter()
        .filter_map(|request| match request {
            Request::Handled(id, _) => Some(*id),
            _ => None,
        })
        .collect();
    if !handled.is_empty() {
        messages::Entity::update_many()
            .col_expr(messages::Column::Handled, Expr::value(1i16))
            .filter(messages::Column::Id.is_in(handled))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(results)
}

type DedupeKey<'a> = (i64, &'a str);

fn dedupe_key(message: &messages::Model) -> DedupeKey<'_> {
    (
        message.account_id,
        message.dedupe_key.as_deref().unwrap_or_default(),
    )
}

/// Inserts the received messages not stored before and says, for each
/// (by its index in the batch), whether it is new or a retry of which row.
async fn store_messages(
    txn: &DatabaseTransaction,
    inbound: &[(usize, &Inbound)],
) -> Result<Vec<(usize, Stored)>, sea_orm::DbErr> {
    // The same message twice in one batch: the first one stands for both.
    let mut first_of: HashMap<DedupeKey, &messages::Model> = HashMap::new();
    for (_, i) in inbound {
        first_of.entry(dedupe_key(&i.message)).or_insert(&i.message);
    }
    if first_of.is_empty() {
        return Ok(Vec::new());
    }
    // In key order, so that instances inserting the same messages at once
    // take their locks in the same order.
    let mut rows: Vec<&messages::Model> = first_of.values().copied().collect();
    rows.sort_unstable_by(|a, b| dedupe_key(a).cmp(&dedupe_key(b)));
    let inserted = messages::Entity::insert_many(
        rows.iter()
            .map(|m| (*m).clone().into_active_model().reset_all()),
    )
    .on_conflict(
        OnConflict::columns([messages::Column::AccountId, messages::Column::DedupeKey])
            .do_nothing_on([messages::Column::Id])
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    let backend = txn.get_database_backend();
    // MySQL counts a row found by ON DUPLICATE KEY as affected, so there the
    // stored rows' ids tell which are ours.
    let stored_ids = if inserted as usize == rows.len() && backend != DbBackend::MySql {
        None
    } else {
        Some(stored_ids(txn, &rows).await?)
    };
    Ok(inbound
        .iter()
        .map(|(index, i)| {
            let key = dedupe_key(&i.message);
            let first = first_of[&key];
            let stored_id = match &stored_ids {
                None => first.id,
                Some(ids) => ids.get(&key).copied().unwrap_or_default(),
            };
            let stored = if stored_id == i.message.id {
                Stored::New
            } else {
                Stored::Duplicate(stored_id)
            };
            (*index, stored)
        })
        .collect())
}

/// The ids under which `rows`' messages are stored now.
async fn stored_ids<'a>(
    txn: &DatabaseTransaction,
    rows: &[&'a messages::Model],
) -> Result<HashMap<DedupeKey<'a>, i64>, sea_orm::DbErr> {
    let mut accounts: Vec<i64> = rows.iter().map(|m| m.account_id).collect();
    accounts.dedup();
    let mut query = messages::Entity::find()
        .select_only()
        .columns([
            messages::Column::Id,
            messages::Column::AccountId,
            messages::Column::DedupeKey,
        ])
        .filter(messages::Column::AccountId.is_in(accounts))
        .filter(messages::Column::DedupeKey.is_in(rows.iter().map(|m| m.dedupe_key.clone())));
    if txn.get_database_backend() == DbBackend::MySql {
        // A locking read (FOR UPDATE: MariaDB has no FOR SHARE) sees the
        // latest committed rows; a plain one reads the transaction's
        // snapshot, which may predate another instance's insert of these
        // very messages (and then finds nothing).
        query = query.lock_exclusive();
    }
    let found: Vec<(i64, i64, Option<String>)> = query.into_tuple().all(txn).await?;
    let mut ids = HashMap::with_capacity(found.len());
    for (id, account_id, key) in found {
        // Keyed by the batch's own rows, so the map borrows nothing of `found`.
        if let Some(row) = rows
            .iter()
            .find(|m| m.account_id == account_id && m.dedupe_key == key)
        {
            ids.insert(dedupe_key(row), id);
        }
    }
    Ok(ids)
}

/// The fans of new messages: those who simply wrote get one upsert for all
/// (created when unknown, counters added in SQL so concurrent batches lose
/// no increment); follows, unfollows and other events a statement each.
async fn update_fans<'a>(
    txn: &DatabaseTransaction,
    ids: &IdGenerator,
    fans: impl Iterator<Item = &'a FanChange>,
) -> Result<(), sea_orm::DbErr> {
    let mut wrote: HashMap<(i64, &str), (i32, chrono::DateTime<chrono::Utc>)> = HashMap::new();
    let mut others = Vec::new();
    for fan in fans {
        if fan.interaction && fan.subscription.is_none() {
            let entry = wrote
                .entry((fan.account_id, fan.openid.as_str()))
                .or_insert((0, fan.at));
            entry.0 += 1;
            entry.1 = entry.1.max(fan.at);
        } else {
            others.push(fan);
        }
    }
    if !wrote.is_empty() {
        let mut rows = Vec::with_capacity(wrote.len());
        for ((account_id, openid), (count, at)) in wrote {
            rows.push(users::Model {
                id: ids
                    .next_id()
                    .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?,
                account_id,
                openid: openid.to_string(),
                subscribe_status: 1,
                message_count: count,
                last_interact_time: Some(at),
                created_at: at,
                updated_at: at,
                ..Default::default()
            });
        }
        // In key order, so that concurrent upserts lock fans in one order.
        rows.sort_unstable_by(|a, b| (a.account_id, &a.openid).cmp(&(b.account_id, &b.openid)));
        let added = match txn.get_database_backend() {
            DbBackend::MySql => "message_count + VALUES(message_count)",
            _ => "wx_users.message_count + excluded.message_count",
        };
        users::Entity::insert_many(rows.into_iter().map(|r| r.into_active_model().reset_all()))
            .on_conflict(
                OnConflict::columns([users::Column::AccountId, users::Column::Openid])
                    .value(users::Column::MessageCount, Expr::cust(added))
                    .update_columns([users::Column::LastInteractTime, users::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    for fan in others {
        update_fan(txn, ids, fan).await?;
    }
    Ok(())
}

/// Creates the fan when unknown, then updates counters and the
/// subscription in SQL so concurrent messages never lose an increment.
async fn update_fan(
    txn: &DatabaseTransaction,
    ids: &IdGenerator,
    fan: &FanChange,
) -> Result<(), sea_orm::DbErr> {
    let id = ids
        .next_id()
        .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
    let subscribed = !matches!(fan.subscription, Some(Subscription::Unsubscribed));
    let new_fan = users::Model {
        id,
        account_id: fan.account_id,
        openid: fan.openid.clone(),
        subscribe_status: i16::from(subscribed),
        created_at: fan.at,
        updated_at: fan.at,
        ..Default::default()
    };
    users::Entity::insert(new_fan.into_active_model().reset_all())
        .on_conflict(
            OnConflict::columns([users::Column::AccountId, users::Column::Openid])
                .do_nothing_on([users::Column::Id])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;

    let mut update = users::Entity::update_many()
        .col_expr(users::Column::UpdatedAt, Expr::value(fan.at))
        .filter(users::Column::AccountId.eq(fan.account_id))
        .filter(users::Column::Openid.eq(fan.openid.as_str()));
    if fan.interaction {
        update = update
            .col_expr(
                users::Column::MessageCount,
                Expr::col(users::Column::MessageCount).add(1),
            )
            .col_expr(users::Column::LastInteractTime, Expr::value(fan.at));
    }
    match &fan.subscription {
        Some(Subscription::Subscribed { qr_scene }) => {
            update = update
                .col_expr(users::Column::SubscribeStatus, Expr::value(1i16))
                .col_expr(users::Column::SubscribeTime, Expr::value(fan.at));
            if let Some(scene) = qr_scene {
                update = update
                    .col_expr(
                        users::Column::SubscribeScene,
                        Expr::value("ADD_SCENE_QR_CODE"),
                    )
                    .col_expr(users::Column::QrScene, Expr::value(scene.as_str()));
            }
        }
        Some(Subscription::Unsubscribed) => {
            update = update
                .col_expr(users::Column::SubscribeStatus, Expr::value(0i16))
                .col_expr(users::Column::UnsubscribeTime, Expr::value(fan.at));
        }
        None => {}
    }
    update.exec(txn).await?;
    Ok(())
}

/// A template message's delivery report, on the log row of its msgid.
async fn record_delivery(
    txn: &DatabaseTransaction,
    message: &messages::Model,
    msgid: i64,
    status: &str,
) -> Result<(), sea_orm::DbErr> {
    template_logs::Entity::update_many()
        .col_expr(
            template_logs::Column::Status,
            Expr::value(crate::templates::service::delivery_status(status)),
        )
        .col_expr(
            template_logs::Column::DeliveredAt,
            Expr::value(message.created_at),
        )
        .col_expr(
            template_logs::Column::UpdatedAt,
            Expr::value(message.created_at),
        )
        .filter(template_logs::Column::AccountId.eq(message.account_id))
        .filter(template_logs::Column::Msgid.eq(msgid))
        .exec(txn)
        .await?;
    Ok(())
}
