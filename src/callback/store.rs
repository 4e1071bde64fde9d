//! Writes of the callback path, funnelled through one writer task: received
//! messages with their fan bookkeeping and jobs, and replies. Requests that
//! arrive together share one transaction (group commit, see [`super::batch`]),
//! which is also what SQLite's single writer wants.

use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};

use super::batch::apply_batch;
use crate::entity::{jobs, messages};
use crate::inbox::events::Hub;

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

pub(super) enum Request {
    Inbound(Box<Inbound>, oneshot::Sender<Result<Stored, StoreError>>),
    Reply(Box<messages::Model>, Committed),
    /// The chain ran for this received message and gave no reply.
    Handled(i64, Committed),
    /// Answered once every write queued before it is committed.
    Flush(Committed),
}

type Committed = oneshot::Sender<Result<(), StoreError>>;

/// A queued write; await it to learn that it was committed.
pub struct Pending(oneshot::Receiver<Result<(), StoreError>>);

impl Pending {
    pub async fn committed(self) -> Result<(), StoreError> {
        self.0.await.map_err(|_| StoreError::WriterStopped)?
    }
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
    /// Starts the writer task on the current runtime; what it commits is
    /// published on `hub` for open consoles.
    pub fn start(
        db: DatabaseConnection,
        ids: std::sync::Arc<crate::ids::IdGenerator>,
        hub: Hub,
    ) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(writer(db, ids, receiver, hub));
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

    /// Queues marking a received message handled when its chain gave no
    /// reply (a stored reply says so by itself).
    pub async fn mark_handled(&self, message_id: i64) -> Result<Pending, StoreError> {
        self.queue(|committed| Request::Handled(message_id, committed))
            .await
    }

    /// Queues the reply's row: it rides in the writer's next batch, and the
    /// fan need not wait for it.
    pub async fn record_reply(&self, reply: messages::Model) -> Result<Pending, StoreError> {
        self.queue(|committed| Request::Reply(Box::new(reply), committed))
            .await
    }

    /// Waits until every write queued so far is committed (at shutdown).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.queue(Request::Flush).await?.committed().await
    }

    async fn queue(
        &self,
        request: impl FnOnce(Committed) -> Request,
    ) -> Result<Pending, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.sender
            .send(request(tx))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        Ok(Pending(rx))
    }
}

async fn writer(
    db: DatabaseConnection,
    ids: std::sync::Arc<crate::ids::IdGenerator>,
    mut receiver: mpsc::Receiver<Request>,
    hub: Hub,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        // What bounds the callback under load: how full and how long each
        // group commit is (a writer always busy with small batches is slow
        // per row; one with full batches is at the database's speed).
        metrics::histogram!("wxmp_store_batch_requests").record(batch.len() as f64);
        let started = std::time::Instant::now();
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
        metrics::histogram!("wxmp_store_commit_seconds").record(started.elapsed().as_secs_f64());
        for (request, result) in batch.drain(..).zip(results) {
            // Published after the commit, and after the waiting request has
            // its answer: consoles never delay the callback.
            match request {
                Request::Inbound(inbound, reply) => {
                    let stored = result.map(|outcome| outcome.unwrap_or(Stored::New));
                    let new = matches!(stored, Ok(Stored::New));
                    let _ = reply.send(stored);
                    if new {
                        hub.message_stored(&inbound.message);
                    }
                }
                Request::Reply(row, committed) => {
                    let done = result.is_ok();
                    let _ = committed.send(result.map(|_| ()));
                    if done {
                        hub.message_stored(&row);
                    }
                }
                Request::Handled(_, committed) | Request::Flush(committed) => {
                    let _ = committed.send(result.map(|_| ()));
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
