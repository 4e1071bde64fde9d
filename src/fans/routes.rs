//! Admin endpoint that syncs every fan from WeChat (a background job).

use axum::extract::State;
use axum::routing::post;
use sea_orm::{ActiveModelTrait, IntoActiveModel, TransactionTrait};
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use super::job::SyncFans;
use crate::audit;
use crate::auth::{account_in_body, CurrentAdmin};
use crate::error::{ok, ApiResult};
use crate::http::openapi::{Api, Operation};
use crate::http::JsonBody;
use crate::jobs::Job;
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    api.route(
        Operation::new(
            HttpMethod::Post,
            "/wechat/wxusers/sync",
            "fans",
            "Sync every fan from WeChat as a background job: {account_id} → job",
        )
        .json_body(),
        post(sync_fans),
    )
}

async fn sync_fans(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state.db, &admin, body).await?;
    let now = crate::db::now();
    let job = crate::jobs::new_job(
        state.ids.next_id()?,
        SyncFans::NAME,
        json!({ "account_id": account.id.to_string(), "fetched": 0, "total": null, "stored": 0 }),
        now,
    );
    let txn = state.db.begin().await?;
    let job = job.into_active_model().reset_all().insert(&txn).await?;
    let change = audit::Change::action(
        "sync_fans",
        "fan",
        account.id,
        json!({ "job_id": job.id.to_string() }),
    );
    audit::record(&txn, &state.ids, &admin, change).await?;
    txn.commit().await?;
    state.jobs.notify();
    Ok(ok(job))
}
