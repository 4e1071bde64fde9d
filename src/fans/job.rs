//! The fan sync job: every follower's openid, then their details in
//! batches, upserted; progress in the job's payload.

use reqwest::Method;
use serde_json::{json, Value};

use super::service::upsert_fan;
use crate::entity::jobs;
use crate::jobs::{Job, JobError, JobFuture};
use crate::state::AppState;
use crate::wxapi::Body;

/// `user/info/batchget` takes at most this many openids.
const INFO_BATCH: usize = 100;

/// The job: `{account_id}` → every follower's openid, then their details in
/// batches, upserted.
pub struct SyncFans;

impl Job for SyncFans {
    const NAME: &'static str = "sync_fans";

    fn run<'a>(state: &'a AppState, job: &'a jobs::Model) -> JobFuture<'a> {
        Box::pin(sync_fans(state, job))
    }
}

async fn sync_fans(state: &AppState, job: &jobs::Model) -> Result<(), JobError> {
    let mut payload = job.payload.clone().unwrap_or_else(|| json!({}));
    let account = crate::jobs::payload_account(state, &payload).await?;
    let mut openids = Vec::new();
    let mut next = String::new();
    loop {
        let page = state
            .wxapi
            .call(
                &account,
                Method::GET,
                "/cgi-bin/user/get",
                &[("next_openid", next.clone())],
                Body::Empty,
            )
            .await?;
        let list = page["data"]["openid"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        openids.extend(list.iter().filter_map(|o| o.as_str().map(str::to_string)));
        payload["total"] = page["total"].clone();
        payload["fetched"] = json!(openids.len());
        crate::jobs::save_payload(state, job.id, &payload).await;
        next = page["next_openid"].as_str().unwrap_or_default().to_string();
        if list.is_empty()
            || next.is_empty()
            || openids.len() as i64 >= page["total"].as_i64().unwrap_or(0)
        {
            break;
        }
    }
    let mut stored = 0;
    for batch in openids.chunks(INFO_BATCH) {
        let list: Vec<Value> = batch
            .iter()
            .map(|o| json!({ "openid": o, "lang": "zh_CN" }))
            .collect();
        let info = state
            .wxapi
            .call(
                &account,
                Method::POST,
                "/cgi-bin/user/info/batchget",
                &[],
                Body::Json(json!({ "user_list": list })),
            )
            .await?;
        for fan in info["user_info_list"].as_array().into_iter().flatten() {
            upsert_fan(&state.db, &state.ids, account.id, fan).await?;
            stored += 1;
        }
        payload["stored"] = json!(stored);
        crate::jobs::save_payload(state, job.id, &payload).await;
    }
    tracing::info!(app_id = %account.app_id, fans = stored, "fans synced");
    Ok(())
}
