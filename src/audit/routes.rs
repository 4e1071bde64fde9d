//! `GET /wechat/audit_log/list`: the audit trail, newest first, for admins.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use crate::auth::CurrentAdmin;
use crate::entity::audit_log::{Column, Entity};
use crate::error::{ok, ApiResult, AppError};
use crate::http::listing::{refuse_nul, time_bounds, Page};
use crate::http::openapi::{Api, Operation};
use crate::http::Query;
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    api.route(
        Operation::new(
            HttpMethod::Get,
            "/wechat/audit_log/list",
            "audit",
            "The audit trail, newest first: who changed what, when, from where (admins only)",
        )
        .query("page", "page number, from 1")
        .query("page_size", "rows per page, 1–100 (default 20)")
        .query("admin_id", "only changes by this admin")
        .query("admin_name", "only changes by this user name")
        .query(
            "action",
            "create, update, delete, or an action such as publish_menu",
        )
        .query("resource", "account, auto_reply, menu, admin, …")
        .query("resource_id", "only changes to this row")
        .query(
            "account_id",
            "only changes concerning this official account",
        )
        .query(
            "start",
            "made at or after (RFC 3339, YYYY-MM-DD or unix seconds)",
        )
        .query("end", "made at or before"),
        get(list),
    )
}

async fn list(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult {
    viewer.require_admin()?;
    refuse_nul(&params)?;
    let Page { page, page_size } = Page::from_params(&params)?;
    let given = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let id_param = |name: &str| {
        given(name)
            .map(|raw| {
                raw.parse::<i64>()
                    .map_err(|_| AppError::BadRequest(format!("{name}={raw:?} is not an id")))
            })
            .transpose()
    };

    let mut condition = Condition::all();
    if let Some(id) = id_param("admin_id")? {
        condition = condition.add(Column::AdminId.eq(id));
    }
    if let Some(id) = id_param("account_id")? {
        condition = condition.add(Column::AccountId.eq(id));
    }
    for (name, column) in [
        ("admin_name", Column::AdminName),
        ("action", Column::Action),
        ("resource", Column::Resource),
        ("resource_id", Column::ResourceId),
    ] {
        if let Some(value) = given(name) {
            condition = condition.add(column.eq(value));
        }
    }
    let [start, end] = time_bounds(&params)?;
    if let Some(start) = start {
        condition = condition.add(Column::CreatedAt.gte(start));
    }
    if let Some(end) = end {
        condition = condition.add(Column::CreatedAt.lte(end));
    }

    // Ids are time-ordered Snowflakes: newest first, ties impossible.
    let paginator = Entity::find()
        .filter(condition)
        .order_by_desc(Column::Id)
        .paginate(&state.db, page_size);
    let total = paginator.num_items().await?;
    let list = paginator.fetch_page(page - 1).await?;
    Ok(ok(
        json!({ "list": list, "total": total, "page": page, "page_size": page_size }),
    ))
}
