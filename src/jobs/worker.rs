//! The worker: claims due jobs (pending, or running with an expired lease),
//! runs them through the [`Registry`], and records the outcome with backoff.
//! With several instances on one database each job is claimed by exactly one
//! of them: the claim is a conditional update that only one can win. The
//! lease is short and renewed while the job runs, so a job of a crashed
//! instance is taken up again within the lease (`WXMP_JOB_LEASE`) plus a
//! poll; the claim
//! number (`attempts`) guards the renewals and the outcome, so a worker that
//! lost its lease never overwrites the new holder's result.

use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use tokio::sync::watch;

use super::{Registry, DONE, FAILED, PENDING, RUNNING};
use crate::entity::jobs;
use crate::state::AppState;

const POLL: Duration = Duration::from_secs(2);

/// How long a claim holds: a running job whose worker vanished is taken
/// over after this.
fn lease(state: &AppState) -> Duration {
    Duration::from_secs(state.config.job_lease_secs)
}

/// Backoff before attempt `attempts + 1`: 2, 4, 8 … seconds, at most 10 minutes.
pub fn backoff(attempts: i32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempts.clamp(1, 16) as u32).min(600))
}

/// Runs jobs until `stopping` turns true; the job running then finishes
/// first, and none is claimed after it.
pub async fn worker(state: AppState, registry: Registry, stopping: watch::Receiver<bool>) {
    while !*stopping.borrow() {
        match run_due(&state, &registry, &stopping).await {
            Ok(0) => {
                let mut stopping = stopping.clone();
                tokio::select! {
                    _ = tokio::time::timeout(POLL, state.jobs.notified()) => {}
                    _ = stopping.changed() => {}
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "job queue unavailable; retrying");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

fn lease_from(
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::Utc> {
    now + chrono::Duration::from_std(lease(state)).unwrap_or_default()
}

/// Runs `job` (claimed as claim number `attempts`), renewing its lease
/// while it runs.
async fn run_renewing(
    state: &AppState,
    registry: &Registry,
    job: &jobs::Model,
    attempts: i32,
) -> Result<(), super::JobError> {
    let run = registry.run(state, job);
    tokio::pin!(run);
    // Renewed three times a lease: one slow renewal does not lose it.
    let every = lease(state) / 3;
    let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            result = &mut run => return result,
            _ = renew.tick() => {
                let now = chrono::Utc::now();
                let renewed = jobs::Entity::update_many()
                    .col_expr(jobs::Column::LockedUntil, Expr::value(lease_from(state, now)))
                    .filter(jobs::Column::Id.eq(job.id))
                    .filter(jobs::Column::Status.eq(RUNNING))
                    .filter(jobs::Column::Attempts.eq(attempts))
                    .exec(&state.db)
                    .await;
                match renewed {
                    Ok(r) if r.rows_affected == 1 => {}
                    Ok(_) => tracing::warn!(job = job.id, "job lease lost to another worker"),
                    Err(error) => tracing::warn!(job = job.id, %error, "cannot renew the job lease"),
                }
            }
        }
    }
}

/// Claims and runs the jobs that are due; returns how many ran.
async fn run_due(
    state: &AppState,
    registry: &Registry,
    stopping: &watch::Receiver<bool>,
) -> Result<usize, sea_orm::DbErr> {
    let now = chrono::Utc::now();
    let due = jobs::Entity::find()
        .filter(claimable(now))
        .order_by_asc(jobs::Column::RunAt)
        .limit(16)
        .all(&state.db)
        .await?;
    let mut ran = 0;
    for job in due {
        if *stopping.borrow() {
            break;
        }
        let now = chrono::Utc::now();
        let lease_end = lease_from(state, now);
        let claimed = jobs::Entity::update_many()
            .col_expr(jobs::Column::Status, Expr::value(RUNNING))
            .col_expr(jobs::Column::LockedUntil, Expr::value(lease_end))
            .col_expr(
                jobs::Column::Attempts,
                Expr::col(jobs::Column::Attempts).add(1),
            )
            .col_expr(jobs::Column::UpdatedAt, Expr::value(now))
            .filter(jobs::Column::Id.eq(job.id))
            // Unchanged since read: the claim number below is ours.
            .filter(jobs::Column::Attempts.eq(job.attempts))
            .filter(claimable(now))
            .exec(&state.db)
            .await?;
        if claimed.rows_affected != 1 {
            continue; // another worker took it
        }
        ran += 1;
        let attempts = job.attempts + 1;
        let result = run_renewing(state, registry, &job, attempts).await;
        let finished = chrono::Utc::now();
        let outcome = if result.is_ok() { "done" } else { "failed" };
        metrics::counter!("wxmp_jobs_run_total", "kind" => job.kind.clone(), "outcome" => outcome)
            .increment(1);
        let mut update = jobs::Entity::update_many()
            .col_expr(
                jobs::Column::LockedUntil,
                Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
            )
            .col_expr(jobs::Column::UpdatedAt, Expr::value(finished))
            .filter(jobs::Column::Id.eq(job.id))
            .filter(jobs::Column::Attempts.eq(attempts));
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
        if update.exec(&state.db).await?.rows_affected == 0 {
            // Our lease ran out and another worker claimed the job again:
            // its outcome is the one that counts.
            tracing::warn!(
                job = job.id,
                attempts,
                "job outcome dropped: the lease was lost to another worker"
            );
        }
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
