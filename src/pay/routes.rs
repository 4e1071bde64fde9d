//! `/wechat/wxpay/*`: create, query and close orders, the Native QR code,
//! refunds and their status, platform certificates. Every route needs a
//! token, and operators reach only their accounts' orders.

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::ledger::{self};
use super::orders::{self, CreateOrder};
use super::qrcode::qr_png;
use super::refunds::{self, RefundRequest};
use super::service::{find_order_ref, pay_account};
use super::states::TradeState;
use crate::audit;
use crate::auth::CurrentAdmin;
use crate::entity::pay_orders;
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Answers, Api, Operation};
use crate::http::{parse_json_body, JsonBody, PublicBase, Query};
use crate::state::AppState;
use axum::routing::{get, post};
use sea_orm::DatabaseConnection;
use utoipa::openapi::path::HttpMethod;

pub fn register(api: Api) -> Api {
    use HttpMethod::{Get, Post};
    const TAG: &str = "pay";
    api.route(
        Operation::new(
            Post,
            "/wechat/wxpay/create_order",
            TAG,
            "Create a JSAPI or Native order: {account_id, trade_type JSAPI|NATIVE, total_fee (fen), description, \
             openid (JSAPI), out_trade_no?, attach?, expire_minutes?} → order plus pay_params (JSAPI) or code_url (NATIVE)",
        )
        .json_body()
        .calls_upstream(),
        post(create_order),
    )
    .route(
        Operation::new(Get, "/wechat/wxpay/qrcode", TAG, "The Native order's code_url as a PNG QR code")
            .query("order_id", "the order's id")
            .answers(Answers::Content(&["image/png"])),
        get(qrcode),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/query_order",
            TAG,
            "Ask WeChat Pay about an order and record its state: {order_id} or {account_id, out_trade_no}",
        )
        .json_body()
        .calls_upstream(),
        post(query_order),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/close_order",
            TAG,
            "Close an unpaid order: {order_id} or {account_id, out_trade_no}",
        )
        .json_body()
        .calls_upstream(),
        post(close_order),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/refund",
            TAG,
            "Refund part or all of a paid order: {order_id | account_id + out_trade_no, refund_fee (fen), reason?, \
             out_refund_no?}; the refunds of an order never add up to more than was paid",
        )
        .json_body()
        .calls_upstream(),
        post(refund),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/query_refund",
            TAG,
            "Ask WeChat Pay about a refund and record its status: {id} or {account_id, out_refund_no}",
        )
        .json_body()
        .calls_upstream(),
        post(query_refund),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/refresh_certificates",
            TAG,
            "Download the account's platform certificates now (GET /v3/certificates): {account_id}",
        )
        .json_body()
        .calls_upstream(),
        post(refresh_certificates),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/notify/{account_id}",
            TAG,
            "WeChat Pay's notifications (signed and encrypted); 204 when handled, {code: FAIL, message} otherwise",
        )
        .public()
        .answers(Answers::PayNotify)
        .may_fail_with(&[401, 413]),
        post(super::notify::notify),
    )
}

async fn create_order(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    PublicBase(base): PublicBase,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: CreateOrder = parse_json_body(body.clone())?;
    let order = orders::create(&state.db, &state.ids, &state.pay, &viewer, &base, request).await?;
    record_pay_action(&state, &viewer, "create_order", &order["order"], body).await;
    Ok(ok(order))
}

/// Records a pay action in the audit trail, naming the order or refund row
/// it produced or changed.
async fn record_pay_action(
    state: &AppState,
    viewer: &CurrentAdmin,
    action: &str,
    row: &Value,
    params: Value,
) {
    let (Some(id), Some(account_id)) = (
        row.get("id").and_then(crate::ids::parse_id),
        row.get("account_id").and_then(crate::ids::parse_id),
    ) else {
        return;
    };
    let resource = if row.get("out_refund_no").is_some() {
        "pay_refund"
    } else {
        "pay_order"
    };
    let change = audit::Change::action(action, resource, account_id, params).on(id);
    audit::record_action(state, viewer, change).await;
}

// ---------------------------------------------------------------- lookups

/// An order by `order_id`, or by `account_id` + `out_trade_no`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderRef {
    #[serde(default, with = "crate::ids::json_opt_id")]
    order_id: Option<i64>,
    #[serde(default, with = "crate::ids::json_opt_id")]
    account_id: Option<i64>,
    #[serde(default)]
    out_trade_no: String,
}

impl OrderRef {
    async fn find(
        self,
        db: &DatabaseConnection,
        viewer: &CurrentAdmin,
    ) -> Result<pay_orders::Model, AppError> {
        find_order_ref(
            db,
            viewer,
            self.order_id,
            self.account_id,
            &self.out_trade_no,
        )
        .await
    }
}

async fn query_order(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let order = parse_json_body::<OrderRef>(body)?
        .find(&state.db, &viewer)
        .await?;
    Ok(ok(orders::query(&state.db, &state.pay, &order).await?))
}

async fn close_order(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let order = parse_json_body::<OrderRef>(body.clone())?
        .find(&state.db, &viewer)
        .await?;
    let closed = orders::close(&state.db, &state.pay, &viewer, &order).await?;
    record_pay_action(&state, &viewer, "close_order", &closed["order"], body).await;
    Ok(ok(closed))
}

// ---------------------------------------------------------------- QR code

#[derive(Deserialize)]
struct QrQuery {
    order_id: String,
}

async fn qrcode(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    Query(query): Query<QrQuery>,
) -> Result<Response, AppError> {
    let id: i64 = query
        .order_id
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest("order_id is not an id".into()))?;
    let order = ledger::find_order(&state.db, id).await?;
    viewer.require_account(order.account_id)?;
    if order.code_url.is_empty() {
        return Err(AppError::Conflict(format!(
            "order {id} has no code_url (only NATIVE orders have a QR code)"
        )));
    }
    if !TradeState::parse(&order.trade_state).is_some_and(TradeState::is_open) {
        return Err(AppError::Conflict(format!(
            "order {id} is {}; its QR code can no longer be paid",
            order.trade_state
        )));
    }
    let png = qr_png(&order.code_url)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from(png),
    )
        .into_response())
}

async fn refund(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    PublicBase(base): PublicBase,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: RefundRequest = parse_json_body(body.clone())?;
    let refund =
        refunds::request_refund(&state.db, &state.ids, &state.pay, &viewer, &base, request).await?;
    record_pay_action(&state, &viewer, "refund", &refund["refund"], body).await;
    Ok(ok(refund))
}

/// A refund by its `id`, or by `account_id` + `out_refund_no`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundRef {
    #[serde(default, with = "crate::ids::json_opt_id")]
    id: Option<i64>,
    #[serde(default, with = "crate::ids::json_opt_id")]
    account_id: Option<i64>,
    #[serde(default)]
    out_refund_no: String,
}

async fn query_refund(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let r: RefundRef = parse_json_body(body)?;
    let refund =
        refunds::find_refund_ref(&state.db, &viewer, r.id, r.account_id, &r.out_refund_no).await?;
    Ok(ok(refunds::query(&state.db, &state.pay, &refund).await?))
}

// ---------------------------------------------------------------- certificates

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountRef {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
}

async fn refresh_certificates(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let r: AccountRef = parse_json_body(body)?;
    viewer.require_account(r.account_id)?;
    let mut account = pay_account(&state.db, r.account_id).await?;
    let serials = state.pay.refresh_certificates(&mut account, true).await?;
    let change = audit::Change::action(
        "refresh_certificates",
        "account",
        r.account_id,
        json!({ "serials": serials }),
    )
    .on(r.account_id);
    audit::record_action(&state, &viewer, change).await;
    Ok(ok(
        json!({ "serials": serials, "verifier": account.verifier.serials() }),
    ))
}
