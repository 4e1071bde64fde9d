//! `GET /wechat/cluster/instances`: the instances sharing this database.

use axum::extract::State;
use axum::routing::get;
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use crate::auth::CurrentAdmin;
use crate::error::{ok, ApiResult};
use crate::http::openapi::{Api, Operation};
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    api.route(
        Operation::new(
            HttpMethod::Get,
            "/wechat/cluster/instances",
            "cluster",
            "The live instances on this database: worker id, host, version and the plugin versions each runs (admins only)",
        ),
        get(instances),
    )
}

async fn instances(State(state): State<AppState>, viewer: CurrentAdmin) -> ApiResult {
    viewer.require_admin()?;
    let list = super::instance::live(&state).await?;
    Ok(ok(json!({ "list": list, "total": list.len() })))
}
