//! `/wechat/wxpay/*`: create, query and close orders, the Native QR code,
//! refunds and their status, platform certificates. Every route needs a
//! token, and operators reach only their accounts' orders.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, TransactionTrait,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::client::{self, PayAccount, PayError};
use super::crypto;
use super::ledger::{self, RefundReport, TradeReport};
use super::states::{RefundStatus, TradeState};
use crate::auth::CurrentAdmin;
use crate::entity::{accounts, pay_orders, pay_refunds};
use crate::error::{ok, ApiResult, AppError, FieldErrors};
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
const MAX_TOTAL_FEE: i64 = 10_000_000_000;

pub async fn load_account(state: &AppState, account_id: i64) -> Result<accounts::Model, AppError> {
    accounts::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("account {account_id} not found")))
}

async fn pay_account(state: &AppState, account_id: i64) -> Result<PayAccount, AppError> {
    PayAccount::from_model(&load_account(state, account_id).await?)
}

/// `{public_url}/wechat/wxpay/notify/{account_id}`, the public URL derived
/// from the request when not configured.
pub fn notify_url(state: &AppState, headers: &HeaderMap, account_id: i64) -> String {
    let base = match &state.config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1");
            let scheme = headers
                .get("x-forwarded-proto")
                .and_then(|h| h.to_str().ok())
                .filter(|p| matches!(*p, "http" | "https"))
                .unwrap_or("http");
            format!("{scheme}://{host}")
        }
    };
    format!("{base}/wechat/wxpay/notify/{account_id}")
}

/// `out_trade_no` / `out_refund_no`: what WeChat Pay accepts.
fn valid_merchant_no(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '|' | '*'))
}

fn present_order(order: &pay_orders::Model) -> Result<Value, AppError> {
    serde_json::to_value(order).map_err(AppError::internal)
}

fn present_refund(refund: &pay_refunds::Model) -> Result<Value, AppError> {
    serde_json::to_value(refund).map_err(AppError::internal)
}

// ---------------------------------------------------------------- create

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateOrder {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    /// JSAPI or NATIVE.
    trade_type: String,
    /// In fen.
    total_fee: i64,
    description: String,
    #[serde(default)]
    openid: String,
    #[serde(default)]
    out_trade_no: String,
    #[serde(default)]
    attach: String,
    #[serde(default)]
    expire_minutes: Option<i64>,
}

impl CreateOrder {
    fn validate(&self) -> Result<(), AppError> {
        let mut errors = FieldErrors::new();
        if !matches!(self.trade_type.as_str(), "JSAPI" | "NATIVE") {
            errors.insert("trade_type".into(), "must be JSAPI or NATIVE".into());
        }
        if !(1..=MAX_TOTAL_FEE).contains(&self.total_fee) {
            errors.insert(
                "total_fee".into(),
                format!("must be a whole number of fen from 1 to {MAX_TOTAL_FEE}"),
            );
        }
        let chars = self.description.trim().chars().count();
        if chars == 0 || self.description.chars().count() > 127 {
            errors.insert("description".into(), "is required: 1–127 characters".into());
        }
        if self.trade_type == "JSAPI" && self.openid.trim().is_empty() {
            errors.insert(
                "openid".into(),
                "is required for JSAPI: the payer's openid under this account".into(),
            );
        }
        if self.openid.len() > 128 {
            errors.insert("openid".into(), "must be at most 128 bytes".into());
        }
        if !self.out_trade_no.is_empty() && !valid_merchant_no(&self.out_trade_no, 6, 32) {
            errors.insert(
                "out_trade_no".into(),
                "must be 6–32 letters, digits, _ - | or *".into(),
            );
        }
        if self.attach.chars().count() > 128 {
            errors.insert("attach".into(), "must be at most 128 characters".into());
        }
        if let Some(minutes) = self.expire_minutes {
            if !(1..=10_080).contains(&minutes) {
                errors.insert(
                    "expire_minutes".into(),
                    "must be from 1 to 10080 (7 days)".into(),
                );
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(errors))
        }
    }
}

pub async fn create_order(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: CreateOrder = parse_json_body(body)?;
    request.validate()?;
    viewer.require_account(request.account_id)?;
    let mut account = pay_account(&state, request.account_id).await?;
    let id = state.ids.next_id()?;
    let out_trade_no = if request.out_trade_no.is_empty() {
        format!("WX{id}")
    } else {
        request.out_trade_no.clone()
    };
    let now = crate::db::now();
    let expire_at = request
        .expire_minutes
        .map(|m| now + chrono::Duration::minutes(m));
    let order = pay_orders::Model {
        id,
        account_id: request.account_id,
        out_trade_no: out_trade_no.clone(),
        openid: if request.trade_type == "JSAPI" {
            request.openid.trim().to_string()
        } else {
            String::new()
        },
        total_fee: request.total_fee,
        trade_state: TradeState::NotPay.as_str().into(),
        description: request.description.clone(),
        trade_type: request.trade_type.clone(),
        attach: request.attach.clone(),
        expire_at,
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    pay_orders::Entity::insert(order.clone().into_active_model().reset_all())
        .exec_without_returning(&state.db)
        .await
        .map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => AppError::Conflict(format!(
                "out_trade_no {out_trade_no} is already used by an order of this account"
            )),
            other => other,
        })?;

    let mut wechat_body = json!({
        "appid": account.app_id,
        "mchid": account.mch_id,
        "description": request.description,
        "out_trade_no": out_trade_no,
        "notify_url": notify_url(&state, &headers, request.account_id),
        "amount": { "total": request.total_fee, "currency": "CNY" },
    });
    if !request.attach.is_empty() {
        wechat_body["attach"] = json!(request.attach);
    }
    if let Some(expire_at) = expire_at {
        let china = chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset");
        wechat_body["time_expire"] = json!(expire_at
            .with_timezone(&china)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false));
    }
    let path = if request.trade_type == "JSAPI" {
        wechat_body["payer"] = json!({ "openid": order.openid });
        "/v3/pay/transactions/jsapi"
    } else {
        "/v3/pay/transactions/native"
    };
    let answer = client::call(&state, &mut account, Method::POST, path, Some(&wechat_body)).await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => {
            let txn = ledger::begin_locked(&state.db, id).await?;
            if let PayError::Rejected { .. } = &error {
                // WeChat Pay has no such order: it can never be paid.
                ledger::apply_trade(
                    &txn,
                    id,
                    &TradeReport {
                        trade_state: TradeState::Closed.as_str().into(),
                        ..Default::default()
                    },
                )
                .await?;
            }
            set_order_note(&txn, id, &format!("creating: {error}")).await?;
            txn.commit().await?;
            return Err(error.into());
        }
    };

    let mut result = json!({});
    let mut update = pay_orders::Entity::update_many()
        .col_expr(pay_orders::Column::UpdatedAt, Expr::value(crate::db::now()));
    if request.trade_type == "JSAPI" {
        let prepay_id = answer["prepay_id"].as_str().unwrap_or_default().to_string();
        if prepay_id.is_empty() {
            return Err(AppError::Unavailable(
                "WeChat Pay answered without a prepay_id".into(),
            ));
        }
        let params = account.signer.jsapi_params(
            &account.app_id,
            &prepay_id,
            chrono::Utc::now().timestamp(),
            &crypto::nonce(),
        );
        result["prepay_id"] = json!(prepay_id);
        result["pay_params"] = json!(params);
        update = update.col_expr(pay_orders::Column::PrepayId, Expr::value(prepay_id));
    } else {
        let code_url = answer["code_url"].as_str().unwrap_or_default().to_string();
        if code_url.is_empty() {
            return Err(AppError::Unavailable(
                "WeChat Pay answered without a code_url".into(),
            ));
        }
        result["code_url"] = json!(code_url);
        result["qrcode_url"] = json!(format!("/wechat/wxpay/qrcode?order_id={id}"));
        update = update.col_expr(pay_orders::Column::CodeUrl, Expr::value(code_url));
    }
    update
        .filter(pay_orders::Column::Id.eq(id))
        .exec(&state.db)
        .await?;
    tracing::info!(admin = %viewer.username, order_id = id, %out_trade_no, total_fee = request.total_fee, trade_type = %request.trade_type, "pay order created");
    result["order"] = present_order(&ledger::find_order(&state.db, id).await?)?;
    Ok(ok(result))
}

async fn set_order_note<C: sea_orm::ConnectionTrait>(
    db: &C,
    order_id: i64,
    note: &str,
) -> Result<(), AppError> {
    pay_orders::Entity::update_many()
        .col_expr(
            pay_orders::Column::Note,
            Expr::value(ledger::truncate(note, 255)),
        )
        .filter(pay_orders::Column::Id.eq(order_id))
        .exec(db)
        .await?;
    Ok(())
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

async fn find_order_ref(
    state: &AppState,
    viewer: &CurrentAdmin,
    order_id: Option<i64>,
    account_id: Option<i64>,
    out_trade_no: &str,
) -> Result<pay_orders::Model, AppError> {
    let order = match (order_id, account_id) {
        (Some(id), _) => ledger::find_order(&state.db, id).await?,
        (None, Some(account_id)) if !out_trade_no.is_empty() => {
            viewer.require_account(account_id)?;
            pay_orders::Entity::find()
                .filter(pay_orders::Column::AccountId.eq(account_id))
                .filter(pay_orders::Column::OutTradeNo.eq(out_trade_no))
                .one(&state.db)
                .await?
                .ok_or_else(|| {
                    AppError::NotFound(format!("no order {out_trade_no} in account {account_id}"))
                })?
        }
        _ => {
            return Err(AppError::field(
                "order_id",
                "is required (or account_id and out_trade_no)",
            ))
        }
    };
    viewer.require_account(order.account_id)?;
    Ok(order)
}

/// Asks WeChat Pay about an order and records the answer.
async fn sync_order(
    state: &AppState,
    account: &mut PayAccount,
    order: &pay_orders::Model,
) -> Result<ledger::Applied, AppError> {
    let path = format!(
        "/v3/pay/transactions/out-trade-no/{}?mchid={}",
        order.out_trade_no, account.mch_id
    );
    let answer = client::call(state, account, Method::GET, &path, None).await?;
    if answer["out_trade_no"].as_str() != Some(order.out_trade_no.as_str()) {
        return Err(AppError::Unavailable(
            "WeChat Pay answered about another order".into(),
        ));
    }
    let txn = ledger::begin_locked(&state.db, order.id).await?;
    let applied = ledger::apply_trade(&txn, order.id, &TradeReport::from_json(&answer)).await?;
    txn.commit().await?;
    Ok(applied)
}

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
pub fn qr_png(text: &str) -> Result<Vec<u8>, AppError> {
    const SCALE: usize = 8;
    const QUIET: usize = 4;
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| AppError::internal(format!("QR code: {e}")))?;
    let width = code.width();
    let colors = code.to_colors();
    let size = (width + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; size * size];
    for (index, color) in colors.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (index % width + QUIET, index / width + QUIET);
        for y in my * SCALE..(my + 1) * SCALE {
            pixels[y * size + mx * SCALE..y * size + (mx + 1) * SCALE].fill(0);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, size as u32, size as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(AppError::internal)?;
    writer
        .write_image_data(&pixels)
        .map_err(AppError::internal)?;
    writer.finish().map_err(AppError::internal)?;
    Ok(out)
}

// ---------------------------------------------------------------- refunds

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundRequest {
    #[serde(default, with = "crate::ids::json_opt_id")]
    order_id: Option<i64>,
    #[serde(default, with = "crate::ids::json_opt_id")]
    account_id: Option<i64>,
    #[serde(default)]
    out_trade_no: String,
    /// In fen.
    refund_fee: i64,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    out_refund_no: String,
}

pub async fn refund(
    State(state): State<AppState>,
    viewer: CurrentAdmin,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: RefundRequest = parse_json_body(body)?;
    let mut errors = FieldErrors::new();
    if request.refund_fee < 1 {
        errors.insert("refund_fee".into(), "must be at least 1 fen".into());
    }
    if request.reason.chars().count() > 80 {
        errors.insert("reason".into(), "must be at most 80 characters".into());
    }
    if !request.out_refund_no.is_empty() && !valid_merchant_no(&request.out_refund_no, 1, 64) {
        errors.insert(
            "out_refund_no".into(),
            "must be 1–64 letters, digits, _ - | or *".into(),
        );
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let order = find_order_ref(
        &state,
        &viewer,
        request.order_id,
        request.account_id,
        &request.out_trade_no,
    )
    .await?;
    let mut account = pay_account(&state, order.account_id).await?;
    let id = state.ids.next_id()?;
    let out_refund_no = if request.out_refund_no.is_empty() {
        format!("RF{id}")
    } else {
        request.out_refund_no.clone()
    };

    // Reserve the amount first; only a reservation lets the request go out.
    let now = crate::db::now();
    let txn = state.db.begin().await?;
    if !ledger::reserve_refund(&txn, order.id, request.refund_fee).await? {
        txn.rollback().await?;
        let order = ledger::find_order(&state.db, order.id).await?;
        return Err(
            if !TradeState::parse(&order.trade_state).is_some_and(|s| s.is_paid()) {
                AppError::Conflict(format!(
                    "order {} is {}; only paid orders can be refunded",
                    order.id, order.trade_state
                ))
            } else if order.flagged != 0 {
                AppError::Conflict(format!(
                    "order {} is flagged ({}); resolve that before refunding",
                    order.id, order.note
                ))
            } else {
                AppError::Conflict(format!(
                "a refund of {} fen would exceed the paid amount: {} of {} fen already refunded or being refunded",
                request.refund_fee, order.refunded_total, order.total_fee
            ))
            },
        );
    }
    let row = pay_refunds::Model {
        id,
        account_id: order.account_id,
        order_id: order.id,
        out_trade_no: order.out_trade_no.clone(),
        out_refund_no: out_refund_no.clone(),
        refund_fee: request.refund_fee,
        total_fee: order.total_fee,
        reason: request.reason.clone(),
        status: RefundStatus::Submitting.as_str().into(),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    if let Err(error) = ledger::insert_refund(&txn, row).await {
        txn.rollback().await?;
        return Err(match error {
            AppError::Conflict(_) => {
                AppError::Conflict(format!("out_refund_no {out_refund_no} is already used"))
            }
            other => other,
        });
    }
    txn.commit().await?;

    let mut wechat_body = json!({
        "out_trade_no": order.out_trade_no,
        "out_refund_no": out_refund_no,
        "notify_url": notify_url(&state, &headers, order.account_id),
        "amount": { "refund": request.refund_fee, "total": order.total_fee, "currency": "CNY" },
    });
    if !request.reason.is_empty() {
        wechat_body["reason"] = json!(request.reason);
    }
    let answer = client::call(
        &state,
        &mut account,
        Method::POST,
        "/v3/refund/domestic/refunds",
        Some(&wechat_body),
    )
    .await;
    let (report, note, failure) = match answer {
        Ok(answer) if answer["out_refund_no"].as_str() == Some(out_refund_no.as_str()) => {
            (RefundReport::from_json(&answer), None, None)
        }
        Ok(_) => {
            let error = PayError::Unknown("the answer is about another refund".into());
            mark_unknown(&state, id, &error).await?;
            return Err(error.into());
        }
        Err(error @ PayError::Rejected { .. }) => {
            let note = error.to_string();
            (
                RefundReport {
                    status: RefundStatus::Failed.as_str().into(),
                    ..Default::default()
                },
                Some(note),
                Some(error),
            )
        }
        Err(error) => {
            // Unknown outcome: the amount stays reserved until a query says.
            mark_unknown(&state, id, &error).await?;
            return Err(AppError::Unavailable(format!(
                "{error}; the refund {out_refund_no} stays reserved — query it with /wechat/wxpay/query_refund"
            )));
        }
    };
    let txn = ledger::begin_locked(&state.db, order.id).await?;
    let applied = ledger::apply_refund(&txn, id, &report, note.as_deref()).await?;
    txn.commit().await?;
    if let Some(error) = failure {
        return Err(error.into());
    }
    tracing::info!(admin = %viewer.username, order_id = order.id, refund = id, %out_refund_no, refund_fee = request.refund_fee, "refund requested");
    let refund = find_refund(&state, id).await?;
    Ok(ok(
        json!({ "refund": present_refund(&refund)?, "result": applied.result() }),
    ))
}

async fn mark_unknown(state: &AppState, refund_id: i64, error: &PayError) -> Result<(), AppError> {
    pay_refunds::Entity::update_many()
        .col_expr(
            pay_refunds::Column::Note,
            Expr::value(ledger::truncate(&format!("outcome unknown: {error}"), 255)),
        )
        .filter(pay_refunds::Column::Id.eq(refund_id))
        .exec(&state.db)
        .await?;
    Ok(())
}

async fn find_refund(state: &AppState, id: i64) -> Result<pay_refunds::Model, AppError> {
    pay_refunds::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("refund {id} not found")))
}

/// Longer than a refund request to WeChat Pay can take (see the client's
/// timeout): a refund still unknown to WeChat Pay after this was never
/// received, so no money moved.
const SUBMISSION_WINDOW: chrono::Duration = chrono::Duration::seconds(120);

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
