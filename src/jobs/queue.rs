//! Enqueueing jobs and the helpers job bodies share.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use super::{JobError, MAX_ATTEMPTS, PENDING};
use crate::entity::{accounts, jobs};
use crate::state::AppState;

/// A new pending job row of kind `kind`, due now.
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
        owner: String::new(),
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
) -> Result<accounts::Model, JobError> {
    let account_id = payload
        .get("account_id")
        .and_then(crate::ids::parse_id)
        .ok_or("payload has no account_id")?;
    accounts::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| JobError::Failed(format!("account {account_id} no longer exists")))
}
