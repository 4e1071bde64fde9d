//! `/wechat/wxpay/*`: create, query and close orders, the Native QR code,
//! refunds and their status, platform certificates. Every route needs a
//! token, and operators reach only their accounts' orders.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::json;

use super::client::{self, PayError};
use super::ledger::{self, RefundReport, TradeReport};
use super::orders::{self, CreateOrder};
use super::qrcode::qr_png;
use super::refunds::{self, RefundRequest};
use super::service::*;
use super::states::{RefundStatus, TradeState};
use crate::auth::CurrentAdmin;
use crate::entity::pay_refunds;
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Api, Operation};
use crate::http::{parse_json_body, JsonBody};
use crate::state::AppState;
use axum::routing::{get, post};
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
        .json_body(),
        post(create_order),
    )
    .route(
        Operation::new(Get, "/wechat/wxpay/qrcode", TAG, "The Native order's code_url as a PNG QR code")
            .query("order_id", "the order's id"),
        get(qrcode),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/query_order",
            TAG,
            "Ask WeChat Pay about an order and record its state: {order_id} or {account_id, out_trade_no}",
        )
        .json_body(),
        post(query_order),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/close_order",
            TAG,
            "Close an unpaid order: {order_id} or {account_id, out_trade_no}",
        )
        .json_body(),
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
        .json_body(),
        post(refund),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/query_refund",
            TAG,
            "Ask WeChat Pay about a refund and record its status: {id} or {account_id, out_refund_no}",
        )
        .json_body(),
        post(query_refund),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/refresh_certificates",
            TAG,
            "Download the account's platform certificates now (GET /v3/certificates): {account_id}",
        )
        .json_body(),
        post(refresh_certificates),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/notify/{account_id}",
            TAG,
            "WeChat Pay's notifications (signed and encrypted); 204 when handled, {code: FAIL, message} otherwise",
        )
        .public(),
        post(super::notify::notify),
    )
}

/// Largest order WeChat Pay's JSAPI and Native accept, in fen.
pub async fn create_order(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: CreateOrder = parse_json_body(body)?;
    Ok(ok(orders::create(&state, &viewer, &headers, request).await?))
}

// ---------------------------------------------------------------- lookups

pub async fn query_order(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let r: OrderRef = parse_json_body(body)?;
    let order = find_order_ref(&state, &viewer, r.order_id, r.account_id, &r.out_trade_no).await?;
    let mut account = pay_account(&state, order.account_id).await?;
    let applied = sync_order(&state, &mut account, &order).await?;
    let order = ledger::find_order(&state.db, order.id).await?;
    Ok(ok(json!({
        "order": present_order(&order)?,
        "trade_state": order.trade_state,
        "result": applied.result(),
    })))
}

pub async fn close_order(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let r: OrderRef = parse_json_body(body)?;
    let order = find_order_ref(&state, &viewer, r.order_id, r.account_id, &r.out_trade_no).await?;
    let current = TradeState::parse(&order.trade_state)
        .ok_or_else(|| AppError::internal("stored trade_state unknown"))?;
    if current == TradeState::Closed {
        return Ok(ok(
            json!({ "order": present_order(&order)?, "result": "unchanged" }),
        ));
    }
    if !current.is_open() {
        return Err(AppError::Conflict(format!(
            "only unpaid orders can be closed; order {} is {current}",
            order.id
        )));
    }
    let mut account = pay_account(&state, order.account_id).await?;
    let path = format!(
        "/v3/pay/transactions/out-trade-no/{}/close",
        order.out_trade_no
    );
    let body = json!({ "mchid": account.mch_id });
    match client::call(&state, &mut account, Method::POST, &path, Some(&body)).await {
        Ok(_) => {}
        Err(PayError::Rejected { code, message, .. }) if code == "ORDERPAID" => {
            // Paid meanwhile: record the payment rather than the close.
            sync_order(&state, &mut account, &order).await?;
            return Err(AppError::Conflict(format!(
                "order {} was paid meanwhile and cannot be closed ({message})",
                order.id
            )));
        }
        Err(error) => return Err(error.into()),
    }
    let txn = ledger::begin_locked(&state.db, order.id).await?;
    let applied = ledger::apply_trade(
        &txn,
        order.id,
        &TradeReport {
            trade_state: TradeState::Closed.as_str().into(),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(admin = %viewer.username, order_id = order.id, "pay order closed");
    let order = ledger::find_order(&state.db, order.id).await?;
    Ok(ok(
        json!({ "order": present_order(&order)?, "result": applied.result() }),
    ))
}

// ---------------------------------------------------------------- QR code

#[derive(Deserialize)]
pub struct QrQuery {
    order_id: String,
}

pub async fn qrcode(
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

/// A QR code as a grayscale PNG: 8 pixels a module, a 4-module quiet zone.
pub async fn refund(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: RefundRequest = parse_json_body(body)?;
    Ok(ok(refunds::request_refund(
        &state, &viewer, &headers, request,
    )
    .await?))
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

pub async fn query_refund(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let r: RefundRef = parse_json_body(body)?;
    let refund = match (r.id, r.account_id) {
        (Some(id), _) => find_refund(&state, id).await?,
        (None, Some(account_id)) if !r.out_refund_no.is_empty() => {
            viewer.require_account(account_id)?;
            pay_refunds::Entity::find()
                .filter(pay_refunds::Column::AccountId.eq(account_id))
                .filter(pay_refunds::Column::OutRefundNo.eq(r.out_refund_no.as_str()))
                .one(&state.db)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("no refund {}", r.out_refund_no)))?
        }
        _ => {
            return Err(AppError::field(
                "id",
                "is required (or account_id and out_refund_no)",
            ))
        }
    };
    viewer.require_account(refund.account_id)?;
    let mut account = pay_account(&state, refund.account_id).await?;
    let path = format!("/v3/refund/domestic/refunds/{}", refund.out_refund_no);
    let (report, note) = match client::call(&state, &mut account, Method::GET, &path, None).await {
        Ok(answer) => {
            if answer["out_refund_no"].as_str() != Some(refund.out_refund_no.as_str()) {
                return Err(AppError::Unavailable(
                    "WeChat Pay answered about another refund".into(),
                ));
            }
            (RefundReport::from_json(&answer), None)
        }
        Err(PayError::Rejected {
            status: 404,
            code,
            message,
        }) if refund.status == RefundStatus::Submitting.as_str()
            && refund.created_at < crate::db::now() - SUBMISSION_WINDOW =>
        {
            // The request never reached WeChat Pay: no money moved.
            (
                RefundReport {
                    status: RefundStatus::Failed.as_str().into(),
                    ..Default::default()
                },
                Some(format!("WeChat Pay has no such refund: {code}: {message}")),
            )
        }
        Err(error) => return Err(error.into()),
    };
    let txn = ledger::begin_locked(&state.db, refund.order_id).await?;
    let applied = ledger::apply_refund(&txn, refund.id, &report, note.as_deref()).await?;
    txn.commit().await?;
    let refund = find_refund(&state, refund.id).await?;
    Ok(ok(
        json!({ "refund": present_refund(&refund)?, "result": applied.result() }),
    ))
}

// ---------------------------------------------------------------- certificates

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountRef {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
}

pub async fn refresh_certificates(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let r: AccountRef = parse_json_body(body)?;
    viewer.require_account(r.account_id)?;
    let mut account = pay_account(&state, r.account_id).await?;
    let serials = client::refresh_certificates(&state, &mut account, true).await?;
    Ok(ok(
        json!({ "serials": serials, "verifier": account.verifier.serials() }),
    ))
}
