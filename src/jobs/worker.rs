//! The worker: claims due jobs (pending, or running with an expired lease),
//! runs them through the [`Registry`], and records the outcome with backoff.

use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Registry, DONE, FAILED, PENDING, RUNNING};
use crate::entity::jobs;
use crate::state::AppState;

/// A running job whose worker vanished is taken over after this.
const LEASE: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_secs(2);

/// Backoff before attempt `attempts + 1`: 2, 4, 8 … seconds, at most 10 minutes.
pub fn backoff(attempts: i32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempts.clamp(1, 16) as u32).min(600))
}

/// Runs jobs until the task is aborted.
pub async fn worker(state: AppState, registry: Registry) {
    loop {
        match run_due(&state, &registry).await {
            Ok(0) => {
                let _ = tokio::time::timeout(POLL, state.jobs.notified()).await;
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
pub async fn run_due(state: &AppState, registry: &Registry) -> Result<usize, sea_orm::DbErr> {
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
        let result = registry.run(state, &job).await;
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
                        Expr::value(error.to_string().chars().take(2000).collect::<String>()),
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

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(super::backoff(1).as_secs(), 2);
        assert_eq!(super::backoff(3).as_secs(), 8);
        assert_eq!(super::backoff(30).as_secs(), 600);
    }
}
