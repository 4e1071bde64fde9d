//! Admin endpoints for template messages: sync, send one, send to many.

use axum::extract::State;
use axum::routing::{get, post};
use sea_orm::{ActiveModelTrait, IntoActiveModel, TransactionTrait};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod;

use super::job::SendTemplates;
use super::service::{checked_template, send_one, sync_from_wechat, TemplateMessage};
use crate::audit;
use crate::auth::{account_for, account_in_body, account_in_query, CurrentAdmin};
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Api, Operation};
use crate::http::{parse_json_body, JsonBody, Query};
use crate::jobs::Job;
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    let op = |path: &str, summary: &str| {
        Operation::new(HttpMethod::Post, path, "templates", summary).json_body()
    };
    api.route(
        op("/wechat/wxtemplates/sync", "Sync the account's templates from WeChat: {account_id}")
            .calls_upstream(),
        post(sync_templates),
    )
    .route(
        op(
            "/wechat/wxtemplates/send",
            "Send a template message: {account_id, template_id, openid, data, url?, miniprogram?}",
        )
        .calls_upstream(),
        post(send_template),
    )
    .route(
        Operation::new(
            HttpMethod::Get,
            "/wechat/wxtemplates/fields",
            "templates",
            "A template's fields from its content: key, label, type and limit",
        )
        .query("account_id", "the account")
        .query("template_id", "WeChat's template id")
        // An account_id that names no account is a field error.
        .may_fail_with(&[422]),
        get(template_fields),
    )
    .route(
        op(
            "/wechat/wxtemplates/send_bulk",
            "Send a template message to many fans as a paced background job: {account_id, template_id, openids, data, url?}",
        ),
        post(send_bulk),
    )
}

async fn sync_templates(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state.db, &admin, body).await?;
    let synced = sync_from_wechat(&state.db, &state.ids, &state.wxapi, &account).await?;
    let change = audit::Change::action("sync_templates", "template", account.id, json!(synced));
    audit::record_action(&state, &admin, change).await;
    Ok(ok(synced))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldsQuery {
    account_id: String,
    template_id: String,
}

async fn template_fields(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(query): Query<FieldsQuery>,
) -> ApiResult {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let account = account_in_query(&state.db, &admin, &query.account_id).await?;
    let template = crate::entity::templates::Entity::find()
        .filter(crate::entity::templates::Column::AccountId.eq(account.id))
        .filter(crate::entity::templates::Column::TemplateId.eq(query.template_id.as_str()))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("template {} not found", query.template_id)))?;
    let fields: Vec<Value> = super::fields::fields(&template.content)
        .into_iter()
        .map(|field| {
            let rule = field.kind.map(super::fields::Kind::rule);
            let mut value = json!(field);
            value["rule"] = json!(rule);
            value
        })
        .collect();
    Ok(ok(json!({ "fields": fields })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendTemplate {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    template_id: String,
    openid: String,
    data: Map<String, Value>,
    #[serde(default)]
    url: String,
    miniprogram: Option<Value>,
}

async fn send_template(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: SendTemplate = parse_json_body(body)?;
    let account = account_for(&state.db, &admin, request.account_id).await?;
    if request.openid.trim().is_empty() {
        return Err(AppError::field("openid", "is required"));
    }
    let (template, data) =
        checked_template(&state.db, account.id, &request.template_id, request.data).await?;
    let message = TemplateMessage {
        template: &template,
        openid: &request.openid,
        data: &data,
        url: &request.url,
        miniprogram: request.miniprogram.as_ref(),
    };
    let (log, sent) = send_one(&state.db, &state.ids, &state.wxapi, &account, message).await?;
    let change = audit::Change::action(
        "send_template",
        "template",
        account.id,
        json!({ "template_id": request.template_id, "openid": request.openid, "sent": sent.is_ok() }),
    )
    .on(&request.template_id);
    audit::record_action(&state, &admin, change).await;
    match sent {
        Ok(()) => Ok(ok(log)),
        Err(error) => Err(error.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBulk {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    template_id: String,
    openids: Vec<String>,
    data: Map<String, Value>,
    #[serde(default)]
    url: String,
    miniprogram: Option<Value>,
}

async fn send_bulk(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: SendBulk = parse_json_body(body)?;
    let account = account_for(&state.db, &admin, request.account_id).await?;
    let openids: Vec<String> = request
        .openids
        .iter()
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .collect();
    if openids.is_empty() || openids.len() > 10_000 {
        return Err(AppError::field("openids", "1 to 10 000 openids"));
    }
    let (template, data) =
        checked_template(&state.db, account.id, &request.template_id, request.data).await?;
    let job = crate::jobs::new_job(
        state.ids.next_id()?,
        SendTemplates::NAME,
        json!({
            "account_id": account.id.to_string(), "template_id": template.template_id, "openids": openids,
            "data": data, "url": request.url, "miniprogram": request.miniprogram,
            "total": openids.len(), "next": 0, "sent": 0, "failed": 0,
        }),
        crate::db::now(),
    );
    let txn = state.db.begin().await?;
    let job = job.into_active_model().reset_all().insert(&txn).await?;
    let change = audit::Change::action(
        "send_bulk",
        "template",
        account.id,
        json!({ "template_id": template.template_id, "recipients": openids.len(), "job_id": job.id.to_string() }),
    )
    .on(&template.template_id);
    audit::record(&txn, &state.ids, &admin, change).await?;
    txn.commit().await?;
    state.jobs.notify();
    Ok(ok(job))
}
