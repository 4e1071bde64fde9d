//! Durable background jobs in the `jobs` table: they survive restarts, are
//! retried with backoff, keep their last error, and give up after a bounded
//! number of attempts. Any instance may run any job; a claim in SQL makes
//! sure only one does.

pub mod media;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;
use tokio::sync::Notify;

use crate::entity::jobs;
use crate::state::AppState;

pub const DOWNLOAD_IMAGE: &str = "download_image";
pub const MAX_ATTEMPTS: i32 = 6;
/// A running job whose worker vanished is taken over after this.
const LEASE: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_secs(2);

pub const PENDING: &str = "pending";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

pub fn new_job(
    id: i64,
    kind: &str,
    payload: Value,
    now: chrono::DateTime<chrono::Utc>,
) -> jobs::Model {
    jobs::Model {
        id,
        kind: kind.to_string(),
        payload: Some(payload),
        status: PENDING.into(),
        attempts: 0,
        max_attempts: MAX_ATTEMPTS,
        run_at: now,
        locked_until: None,
        last_error: String::new(),
        created_at: now,
        updated_at: now,
    }
}

/// Wakes the worker when a job was enqueued, so it need not wait for its poll.
#[derive(Clone, Default)]
pub struct JobSignal(Arc<Notify>);

impl JobSignal {
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

/// Records a running job's progress (its payload) for admins to watch.
pub async fn save_payload(state: &AppState, job_id: i64, payload: &Value) {
    let saved = jobs::Entity::update_many()
        .col_expr(jobs::Column::Payload, Expr::value(payload.clone()))
        .filter(jobs::Column::Id.eq(job_id))
        .exec(&state.db)
        .await;
    if let Err(error) = saved {
        tracing::warn!(job = job_id, %error, "job progress not saved");
    }
}

/// The account a job's payload names (`account_id`).
pub async fn payload_account(
    state: &AppState,
    payload: &Value,
) -> Result<crate::entity::accounts::Model, String> {
    let account_id = payload
        .get("account_id")
        .and_then(crate::ids::parse_id)
        .ok_or("payload has no account_id")?;
    crate::entity::accounts::Entity::find_by_id(account_id)
        .one(&state.db)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("account {account_id} no longer exists"))
}

/// Backoff before attempt `attempts + 1`: 2, 4, 8 … seconds, at most 10 minutes.
pub fn backoff(attempts: i32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempts.clamp(1, 16) as u32).min(600))
}

/// Runs jobs until the task is aborted.
pub async fn worker(state: AppState) {
    loop {
        match run_due(&state).await {
            Ok(0) => {
                let _ = tokio::time::timeout(POLL, state.jobs.0.notified()).await;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "job queue unavailable; retrying");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

/// Claims and runs the jobs that are due; returns how many ran.
pub async fn run_due(state: &AppState) -> Result<usize, sea_orm::DbErr> {
    let now = chrono::Utc::now();
    let due = jobs::Entity::find()
        .filter(claimable(now))
        .order_by_asc(jobs::Column::RunAt)
        .limit(16)
        .all(&state.db)
        .await?;
    let mut ran = 0;
    for job in due {
        let lease_end = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let claimed = jobs::Entity::update_many()
            .col_expr(jobs::Column::Status, Expr::value(RUNNING))
            .col_expr(jobs::Column::LockedUntil, Expr::value(lease_end))
            .col_expr(
                jobs::Column::Attempts,
                Expr::col(jobs::Column::Attempts).add(1),
            )
            .col_expr(jobs::Column::UpdatedAt, Expr::value(now))
            .filter(jobs::Column::Id.eq(job.id))
            .filter(claimable(now))
            .exec(&state.db)
            .await?;
        if claimed.rows_affected != 1 {
            continue; // another worker took it
        }
        ran += 1;
        let attempts = job.attempts + 1;
        let result = run(state, &job).await;
        let finished = chrono::Utc::now();
        let mut update = jobs::Entity::update_many()
            .col_expr(
                jobs::Column::LockedUntil,
                Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
            )
            .col_expr(jobs::Column::UpdatedAt, Expr::value(finished))
            .filter(jobs::Column::Id.eq(job.id));
        match result {
            Ok(()) => {
                update = update
                    .col_expr(jobs::Column::Status, Expr::value(DONE))
                    .col_expr(jobs::Column::LastError, Expr::value(""));
            }
            Err(error) => {
                let gives_up = attempts >= job.max_attempts;
                tracing::warn!(job = job.id, kind = %job.kind, attempts, gives_up, %error, "job failed");
                let retry_at =
                    finished + chrono::Duration::from_std(backoff(attempts)).unwrap_or_default();
                update = update
                    .col_expr(
                        jobs::Column::Status,
                        Expr::value(if gives_up { FAILED } else { PENDING }),
                    )
                    .col_expr(jobs::Column::RunAt, Expr::value(retry_at))
                    .col_expr(
                        jobs::Column::LastError,
                        Expr::value(error.chars().take(2000).collect::<String>()),
                    );
            }
        }
        update.exec(&state.db).await?;
    }
    Ok(ran)
}

/// Pending and due, or running with an expired lease.
fn claimable(now: chrono::DateTime<chrono::Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(jobs::Column::Status.eq(PENDING))
                .add(jobs::Column::RunAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(jobs::Column::Status.eq(RUNNING))
                .add(jobs::Column::LockedUntil.lt(now)),
        )
}

async fn run(state: &AppState, job: &jobs::Model) -> Result<(), String> {
    let payload = job.payload.clone().unwrap_or(Value::Null);
    match job.kind.as_str() {
        DOWNLOAD_IMAGE => media::download_image_job(state, &payload).await,
        crate::wxapi::fans::SYNC_FANS => crate::wxapi::fans::sync_fans_job(state, job).await,
        crate::wxapi::routes::SEND_TEMPLATES => {
            crate::wxapi::routes::send_templates_job(state, job).await
        }
        other => Err(format!("no handler for job kind {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(super::backoff(1).as_secs(), 2);
        assert_eq!(super::backoff(3).as_secs(), 8);
        assert_eq!(super::backoff(30).as_secs(), 600);
    }
}
