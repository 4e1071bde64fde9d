//! The bulk template send: a paced background job that resumes where it
//! stopped (after a quota error or a restart), its progress in its payload.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Map, Value};

use super::service::{send_one, TemplateMessage};
use crate::entity::{jobs, templates};
use crate::jobs::{Job, JobError, JobFuture};
use crate::state::AppState;

/// At most this many template messages a second from one job.
const BULK_RATE_PER_SECOND: u64 = 50;

/// The bulk-send job: `{account_id, template_id, openids, data, …}`; resumes
/// where it stopped, paced, progress in its payload.
pub struct SendTemplates;

impl Job for SendTemplates {
    const NAME: &'static str = "send_templates";

    fn run<'a>(state: &'a AppState, job: &'a jobs::Model) -> JobFuture<'a> {
        Box::pin(send_templates(state, job))
    }
}

async fn send_templates(state: &AppState, job: &jobs::Model) -> Result<(), JobError> {
    let mut payload = job.payload.clone().unwrap_or_default();
    let account = crate::jobs::payload_account(state, &payload).await?;
    let template_id = payload["template_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let template = templates::Entity::find()
        .filter(templates::Column::AccountId.eq(account.id))
        .filter(templates::Column::TemplateId.eq(template_id.as_str()))
        .one(&state.db)
        .await?
        .ok_or("the template no longer exists")?;
    let openids: Vec<String> =
        serde_json::from_value(payload["openids"].clone()).map_err(|e| e.to_string())?;
    let data: Map<String, Value> =
        serde_json::from_value(payload["data"].clone()).map_err(|e| e.to_string())?;
    let url = payload["url"].as_str().unwrap_or_default().to_string();
    let miniprogram = Some(payload["miniprogram"].clone()).filter(|m| m.is_object());
    let pace = std::time::Duration::from_millis(1000 / BULK_RATE_PER_SECOND);
    let mut next = payload["next"].as_u64().unwrap_or(0) as usize;
    while next < openids.len() {
        let message = TemplateMessage {
            template: &template,
            openid: &openids[next],
            data: &data,
            url: &url,
            miniprogram: miniprogram.as_ref(),
        };
        let (_, result) = send_one(&state.db, &state.ids, &state.wxapi, &account, message)
            .await
            .map_err(|e| e.to_string())?;
        match result {
            Ok(()) => payload["sent"] = json!(payload["sent"].as_u64().unwrap_or(0) + 1),
            // Out of quota: stop here; the job is retried later and resumes.
            Err(error) if error.errcode() == Some(45009) => {
                crate::jobs::save_payload(state, job.id, &payload).await;
                return Err(error.into());
            }
            Err(_) => payload["failed"] = json!(payload["failed"].as_u64().unwrap_or(0) + 1),
        }
        next += 1;
        payload["next"] = json!(next);
        if next.is_multiple_of(10) || next == openids.len() {
            crate::jobs::save_payload(state, job.id, &payload).await;
        }
        tokio::time::sleep(pace).await;
    }
    Ok(())
}
