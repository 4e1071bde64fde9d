//! The replies after the first of a rule that sends all of them (回复全部).
//! A passive reply carries one message, so the first answers the callback
//! and the others follow as customer-service messages, in order, from a
//! durable job: they survive a restart, and a retry of the job resumes after
//! the last one sent instead of sending it twice.

use std::time::Duration;

use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde_json::{json, Value};

use crate::entity::jobs;
use crate::jobs::{new_job, payload_account, save_payload, Job, JobError, JobFuture};
use crate::messages::service::{send_and_store, Outgoing};
use crate::state::AppState;
use crate::wechat::Reply;

/// The first reply goes out with the callback's answer; the others wait
/// this long, so WeChat has shown it before they arrive.
const AFTER_THE_ANSWER: Duration = Duration::from_secs(1);

/// Queues `replies` for the fan who sent message `message_id`, answered by
/// `handler` with rule `rule_id`.
pub async fn enqueue(
    state: &AppState,
    account_id: i64,
    openid: &str,
    message_id: i64,
    handler: &str,
    rule_id: i64,
    replies: &[Reply],
) -> Result<(), String> {
    let payload = json!({
        "account_id": account_id.to_string(),
        "openid": openid,
        "message_id": message_id.to_string(),
        "handler": handler,
        "rule_id": rule_id.to_string(),
        "replies": replies,
        "sent": 0,
    });
    let now = crate::db::now();
    let id = state.ids.next_id().map_err(|e| e.to_string())?;
    let mut job = new_job(id, RuleFollowups::NAME, payload, now);
    job.run_at = now + chrono::Duration::from_std(AFTER_THE_ANSWER).unwrap_or_default();
    job.into_active_model()
        .reset_all()
        .insert(&state.db)
        .await
        .map_err(|e| format!("the rule's other replies were not queued: {e}"))?;
    let signal = state.jobs.clone();
    tokio::spawn(async move {
        tokio::time::sleep(AFTER_THE_ANSWER).await;
        signal.notify();
    });
    Ok(())
}

/// The job: sends a rule's remaining replies, one customer-service message each.
pub struct RuleFollowups;

impl Job for RuleFollowups {
    const NAME: &'static str = "rule_followups";

    fn run<'a>(state: &'a AppState, job: &'a jobs::Model) -> JobFuture<'a> {
        Box::pin(send_followups(state, job))
    }
}

async fn send_followups(state: &AppState, job: &jobs::Model) -> Result<(), JobError> {
    let mut payload = job.payload.clone().unwrap_or(Value::Null);
    let account = payload_account(state, &payload).await?;
    let replies: Vec<Reply> = serde_json::from_value(payload["replies"].clone())
        .map_err(|e| JobError::Failed(format!("the queued replies cannot be read: {e}")))?;
    let openid = payload["openid"].as_str().unwrap_or_default().to_string();
    let handler = payload["handler"].as_str().unwrap_or_default().to_string();
    let sent = payload["sent"].as_u64().unwrap_or(0) as usize;
    for (index, reply) in replies.iter().enumerate().skip(sent) {
        send_and_store(
            &state.db,
            &state.ids,
            &state.wxapi,
            &account,
            Outgoing {
                openid: &openid,
                reply,
                // Not `reply_to`: a retry of the callback finds the passive
                // answer by it, and must not find one of these instead.
                reply_to: None,
                answered_by: &handler,
            },
        )
        .await
        .map_err(|e| JobError::Failed(e.to_string()))?;
        payload["sent"] = json!(index + 1);
        save_payload(state, job.id, &payload).await;
    }
    Ok(())
}
