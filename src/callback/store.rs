//! Writes of the callback path, funnelled through one writer task: received
//! messages with their fan bookkeeping and jobs, and replies. Requests that
//! arrive together share one transaction (group commit), which is also what
//! SQLite's single writer wants.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, TransactionTrait,
};
use tokio::sync::{mpsc, oneshot};

use crate::entity::{jobs, messages, template_logs, users};

/// Requests waiting beyond this are refused rather than queued without bound.
const QUEUE: usize = 4096;
/// Most requests one transaction takes.
const BATCH: usize = 64;

/// What happens to the fan who sent a message.
#[derive(Clone, Debug)]
pub struct FanChange {
    pub account_id: i64,
    pub openid: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// Counts as an interaction: message_count + 1 and last_interact_time.
    pub interaction: bool,
    pub subscription: Option<Subscription>,
}

#[derive(Clone, Debug)]
pub enum Subscription {
    /// Followed; `qr_scene` when through a parametric QR code.
    Subscribed {
        qr_scene: Option<String>,
    },
    Unsubscribed,
}

/// A received message, ready to store (its id already assigned).
#[derive(Clone, Debug)]
pub struct Inbound {
    pub message: messages::Model,
    pub fan: Option<FanChange>,
    pub jobs: Vec<jobs::Model>,
    /// A template message's delivery report: (msgid, WeChat's status).
    pub template_delivery: Option<(i64, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    New,
    /// A retry: the message was stored before under this id.
    Duplicate(i64),
}

enum Request {
    Inbound(Box<Inbound>, oneshot::Sender<Result<Stored, StoreError>>),
    Reply(
        Box<messages::Model>,
        oneshot::Sender<Result<(), StoreError>>,
    ),
    /// The chain ran for this received message and gave no reply.
    Handled(i64, oneshot::Sender<Result<(), StoreError>>),
}

#[derive(Clone)]
pub struct MessageStore {
    sender: mpsc::Sender<Request>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot store the message: database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("cannot store the message: the writer has stopped")]
    WriterStopped,
    #[error("cannot store the message: the database is unreachable: {0}")]
    Unreachable(String),
}

impl MessageStore {
    /// Starts the writer task on the current runtime.
    pub fn start(db: DatabaseConnection, ids: std::sync::Arc<crate::ids::IdGenerator>) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(writer(db, ids, receiver));
        Self { sender }
    }

    pub async fn record_inbound(&self, inbound: Inbound) -> Result<Stored, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.sender
            .send(Request::Inbound(Box::new(inbound), tx))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        rx.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// Marks a received message handled when its chain gave no reply (a
    /// stored reply says so by itself).
    pub async fn mark_handled(&self, message_id: i64) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.sender
            .send(Request::Handled(message_id, tx))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        rx.await.map_err(|_| StoreError::WriterStopped)?
    }

    pub async fn record_reply(&self, reply: messages::Model) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.sender
            .send(Request::Reply(Box::new(reply), tx))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        rx.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn writer(
    db: DatabaseConnection,
    ids: std::sync::Arc<crate::ids::IdGenerator>,
    mut receiver: mpsc::Receiver<Request>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        let results: Vec<Result<Option<Stored>, StoreError>> = match apply_batch_retrying(
            &db, &ids, &batch,
        )
        .await
        {
            Ok(results) => results.into_iter().map(Ok).collect(),
            Err(error) if crate::db::is_unreachable(&error) => {
                // Nothing can be written now: fail them all at once rather than
                // wait for a connection once per request.
                tracing::warn!(%error, size = batch.len(), "group commit failed: database unreachable");
                let reason = error.to_string();
                batch
                    .iter()
                    .map(|_| Err(StoreError::Unreachable(reason.clone())))
                    .collect()
            }
            Err(error) => {
                // One bad request must not fail the others: retry each alone.
                tracing::warn!(%error, size = batch.len(), "group commit failed; writing one by one");
                let mut results = Vec::with_capacity(batch.len());
                for request in &batch {
                    let single =
                        apply_batch_retrying(&db, &ids, std::slice::from_ref(request)).await;
                    results.push(single.map(|mut r| r.remove(0)).map_err(StoreError::from));
                }
                results
            }
        };
        for (request, result) in batch.drain(..).zip(results) {
            match request {
                Request::Inbound(_, reply) => {
                    let _ = reply.send(result.map(|outcome| outcome.unwrap_or(Stored::New)));
                }
                Request::Reply(_, reply) | Request::Handled(_, reply) => {
                    let _ = reply.send(result.map(|_| ()));
                }
            }
        }
    }
}

/// [`apply_batch`], run again (a few times) when it lost a race with another
/// instance's transaction: the rolled-back batch left nothing behind.
async fn apply_batch_retrying(
    db: &DatabaseConnection,
    ids: &crate::ids::IdGenerator,
    batch: &[Request],
) -> Result<Vec<Option<Stored>>, sea_orm::DbErr> {
    let mut tries = 0;
    loop {
        match apply_batch(db, ids, batch).await {
            Err(error) if crate::db::is_lost_race(&error) && tries < 4 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(2 * tries)).await;
            }
            result => return result,
        }
    }
}

async fn apply_batch(
    db: &DatabaseConnection,
    ids: &crate::ids::IdGenerator,
    batch: &[Request],
) -> Result<Vec<Option<Stored>>, sea_orm::DbErr> {
    // `Some` for a received message (new or duplicate), `None` for a reply.
    let txn = db.begin().await?;
    let mut results = Vec::with_capacity(batch.len());
    for request in batch {
        match request {
            Request::Inbound(inbound, _) => {
                results.push(Some(store_inbound(&txn, ids, inbound).await?))
            }
            Request::Reply(reply, _) => {
                messages::Entity::insert(reply.as_ref().clone().into_active_model().reset_all())
                    .exec_without_returning(&txn)
                    .await?;
                results.push(None);
            }
            Request::Handled(id, _) => {
                messages::Entity::update_many()
                    .col_expr(messages::Column::Handled, Expr::value(1i16))
                    .filter(messages::Column::Id.eq(*id))
                    .exec(&txn)
                    .await?;
                results.push(None);
            }
        }
    }
    txn.commit().await?;
    Ok(results)
}

async fn store_inbound(
    txn: &DatabaseTransaction,
    ids: &crate::ids::IdGenerator,
    inbound: &Inbound,
) -> Result<Stored, sea_orm::DbErr> {
    let message = &inbound.message;
    let inserted = messages::Entity::insert(message.clone().into_active_model().reset_all())
        .on_conflict(
            OnConflict::columns([messages::Column::AccountId, messages::Column::DedupeKey])
                .do_nothing_on([messages::Column::Id])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    // MySQL reports a row "found" by ON DUPLICATE KEY as affected, so there
    // the stored row's id tells whether it is ours.
    if inserted == 0 || txn.get_database_backend() == DbBackend::MySql {
        let mut existing = messages::Entity::find()
            .filter(messages::Column::AccountId.eq(message.account_id))
            .filter(messages::Column::DedupeKey.eq(message.dedupe_key.clone()));
        if txn.get_database_backend() == DbBackend::MySql {
            // A locking read (FOR UPDATE: MariaDB has no FOR SHARE) sees the
            // latest committed row; a plain one reads
            // the batch's snapshot, which may predate another instance's
            // insert of this very message (and then finds nothing).
            existing = existing.lock_exclusive();
        }
        let existing = existing.one(txn).await?.map(|m| m.id).unwrap_or_default();
        if existing != message.id {
            return Ok(Stored::Duplicate(existing));
        }
    }
    if let Some(fan) = &inbound.fan {
        update_fan(txn, ids, fan).await?;
    }
    for job in &inbound.jobs {
        job.clone()
            .into_active_model()
            .reset_all()
            .insert(txn)
            .await?;
    }
    if let Some((msgid, status)) = &inbound.template_delivery {
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
            .filter(template_logs::Column::Msgid.eq(*msgid))
            .exec(txn)
            .await?;
    }
    Ok(Stored::New)
}

/// Creates the fan when unknown, then updates counters in SQL so concurrent
/// messages never lose an increment.
async fn update_fan(
    txn: &DatabaseTransaction,
    ids: &crate::ids::IdGenerator,
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
