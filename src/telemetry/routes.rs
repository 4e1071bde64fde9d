//! `GET /metrics`: the Prometheus text format, for a scraper holding
//! `WXMP_METRICS_TOKEN` or an admin.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{EntityTrait, QuerySelect};
use utoipa::openapi::path::HttpMethod;

use crate::auth::CurrentAdmin;
use crate::entity::jobs;
use crate::error::AppError;
use crate::http::openapi::{Answers, Api, Operation};
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    api.route(
        Operation::new(
            HttpMethod::Get,
            "/metrics",
            "health",
            "Metrics in the Prometheus text format: requests by route and status with latencies, callbacks by outcome and handler, jobs, WeChat API calls, plugin runs, and this instance's worker id lease. Bearer: WXMP_METRICS_TOKEN or an admin's token",
        )
        .answers(Answers::Content(&["text/plain"])),
        get(metrics),
    )
}

async fn metrics(State(state): State<AppState>, mut parts: Parts) -> Result<Response, AppError> {
    authorize(&state, &mut parts).await?;
    record_gauges(&state).await?;
    let handle = super::handle();
    handle.run_upkeep();
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// The scrape token, compared in constant time, or else an admin's JWT.
async fn authorize(state: &AppState, parts: &mut Parts) -> Result<(), AppError> {
    let bearer = crate::auth::bearer_token(&parts.headers).ok();
    if let (Some(expected), Some(given)) = (state.config.metrics_token.as_deref(), bearer) {
        if crate::wechat::signature::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Ok(());
        }
    }
    CurrentAdmin::from_request_parts(parts, state)
        .await?
        .require_admin()
}

/// What the database says now: jobs by kind and status, live instances, and
/// this instance's worker id and whether its lease lets it issue ids.
async fn record_gauges(state: &AppState) -> Result<(), AppError> {
    let counts: Vec<(String, String, i64)> = jobs::Entity::find()
        .select_only()
        .column(jobs::Column::Kind)
        .column(jobs::Column::Status)
        .column_as(Expr::expr(Func::count(Expr::col(jobs::Column::Id))), "n")
        .group_by(jobs::Column::Kind)
        .group_by(jobs::Column::Status)
        .into_tuple()
        .all(&state.db)
        .await?;
    for (kind, status, n) in counts {
        metrics::gauge!("wxmp_jobs", "kind" => kind, "status" => status).set(n as f64);
    }
    let live = crate::db::lease::live(&state.db, crate::cluster::instance::LEASE_PREFIX).await?;
    metrics::gauge!("wxmp_instances_live").set(live.len() as f64);
    metrics::gauge!("wxmp_worker_id").set(f64::from(state.ids.worker_id()));
    metrics::gauge!("wxmp_id_lease_valid").set(if state.ids.issuing() { 1.0 } else { 0.0 });
    let uptime = chrono::Utc::now() - state.started_at;
    metrics::gauge!("wxmp_uptime_seconds").set(uptime.num_milliseconds() as f64 / 1000.0);
    metrics::gauge!("wxmp_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(())
}
