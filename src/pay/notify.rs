//! `POST /wechat/wxpay/notify/{account_id}`: WeChat Pay's notifications.
//! Verified (signature by serial, freshness, no probes), decrypted, then
//! applied in one transaction that also journals the notification, so a
//! replay is seen and changes nothing.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};
use serde_json::{json, Value};

use super::client::PayAccount;
use super::crypto::{self, SignedHeaders, VerifyError};
use super::ledger::{self, Applied, RefundReport, TradeReport};
use crate::entity::{pay_notifications, pay_orders, pay_refunds};
use crate::error::AppError;
use crate::http::Path;
use crate::state::AppState;

/// A refusal in the form WeChat Pay reads.
fn fail(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    tracing::warn!(%status, %message, "pay notification refused");
    (status, Json(json!({ "code": "FAIL", "message": message }))).into_response()
}

pub async fn notify(
    State(state): State<AppState>,
    account_id: Result<Path<String>, AppError>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // Even a request that cannot be read is refused in WeChat Pay's form.
    let Some(account_id) = account_id.ok().and_then(|Path(id)| id.parse::<i64>().ok()) else {
        return fail(StatusCode::NOT_FOUND, "no such account");
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let error = crate::http::body_error(rejection.status(), rejection.body_text());
            return fail(error.status(), error.to_string());
        }
    };
    let account = match super::service::load_account(&state.db, account_id).await {
        Ok(account) => account,
        Err(AppError::NotFound(_)) => return fail(StatusCode::NOT_FOUND, "no such account"),
        Err(e) => return fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let mut pay = match PayAccount::from_model(&account) {
        Ok(pay) => pay,
        Err(_) => {
            return fail(
                StatusCode::NOT_FOUND,
                "WeChat Pay is not set up for this account",
            )
        }
    };
    let signed = match SignedHeaders::from_headers(&headers) {
        Ok(signed) => signed,
        Err(e) => return fail(StatusCode::UNAUTHORIZED, e.to_string()),
    };
    let now = chrono::Utc::now().timestamp();
    match pay.verifier.verify(&signed, &body, now) {
        Ok(()) => {}
        Err(VerifyError::UnknownSerial(serial)) if pay.uses_certificates => {
            // Perhaps a new platform certificate: fetch them (rate-limited) once.
            if let Err(e) = state.pay.refresh_certificates(&mut pay, false).await {
                tracing::warn!(account_id, %serial, error = %e, "platform certificate refresh failed");
            }
            if let Err(e) = pay.verifier.verify(&signed, &body, now) {
                return fail(StatusCode::UNAUTHORIZED, e.to_string());
            }
        }
        Err(e) => return fail(StatusCode::UNAUTHORIZED, e.to_string()),
    }
    let crypto::Notification {
        id: event_id,
        event_type,
        resource,
    } = match crypto::open_notification(pay.api_v3_key(), &body) {
        Ok(notification) => notification,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match handle(&state, &pay, &event_id, &event_type, &resource).await {
        Ok(result) => {
            tracing::info!(account_id, %event_id, %event_type, %result, "pay notification handled");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => {
            tracing::error!(account_id, %event_id, error = %e, "pay notification not handled");
            fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "not handled; please retry",
            )
        }
    }
}

/// The non-secret fields of a decrypted resource, for the journal.
fn summary(resource: &Value) -> String {
    let mut out = serde_json::Map::new();
    for key in [
        "mchid",
        "appid",
        "out_trade_no",
        "transaction_id",
        "trade_state",
        "trade_type",
        "out_refund_no",
        "refund_id",
        "refund_status",
        "success_time",
        "amount",
    ] {
        if let Some(value) = resource.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    Value::Object(out).to_string()
}

/// Journals and applies one verified notification; returns the result.
async fn handle(
    state: &AppState,
    pay: &PayAccount,
    event_id: &str,
    event_type: &str,
    resource: &Value,
) -> Result<String, AppError> {
    let text = |key: &str| resource[key].as_str().unwrap_or_default().to_string();
    let now = crate::db::now();
    let journal = pay_notifications::Model {
        id: state.ids.next_id()?,
        account_id: pay.account_id,
        event_id: event_id.into(),
        event_type: event_type.into(),
        out_trade_no: ledger::truncate(&text("out_trade_no"), 64),
        out_refund_no: ledger::truncate(&text("out_refund_no"), 64),
        summary: summary(resource),
        result: "pending".into(),
        detail: String::new(),
        created_at: now,
        updated_at: now,
    };
    let txn = state.db.begin().await?;
    // The journal row goes first: a replay trips its unique key here, before
    // anything else is touched (and SQLite's transaction starts as a writer).
    if let Err(error) =
        pay_notifications::Entity::insert(journal.clone().into_active_model().reset_all())
            .exec_without_returning(&txn)
            .await
    {
        txn.rollback().await?;
        return match AppError::from(error) {
            AppError::Conflict(_) => Ok("replay".into()),
            other => Err(other),
        };
    }
    let (result, detail) = apply(&txn, pay, event_type, resource).await?;
    pay_notifications::Entity::update_many()
        .col_expr(
            pay_notifications::Column::Result,
            sea_orm::sea_query::Expr::value(result.clone()),
        )
        .col_expr(
            pay_notifications::Column::Detail,
            sea_orm::sea_query::Expr::value(ledger::truncate(&detail, 255)),
        )
        .filter(pay_notifications::Column::Id.eq(journal.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(result)
}

fn describe(applied: &Applied) -> (String, String) {
    let detail = match applied {
        Applied::Changed { from, to } => format!("{from} → {to}"),
        Applied::Unchanged => "already recorded".into(),
        Applied::AmountMismatch { ours, reported } => format!(
            "amount mismatch: ours {ours} fen, reported {}",
            reported.map_or("none".into(), |r| format!("{r} fen"))
        ),
        Applied::Illegal { from, to } => format!("{from} → {to} is not allowed"),
        Applied::UnknownState(state) => format!("unknown state {state}"),
    };
    (applied.result().to_string(), detail)
}

async fn apply(
    txn: &DatabaseTransaction,
    pay: &PayAccount,
    event_type: &str,
    resource: &Value,
) -> Result<(String, String), AppError> {
    let mchid = resource["mchid"].as_str().unwrap_or_default();
    if !mchid.is_empty() && mchid != pay.mch_id {
        return Ok((
            "ignored".into(),
            format!("for merchant {mchid}, not this account's"),
        ));
    }
    if event_type.starts_with("TRANSACTION.") {
        let out_trade_no = resource["out_trade_no"].as_str().unwrap_or_default();
        let order = pay_orders::Entity::find()
            .filter(pay_orders::Column::AccountId.eq(pay.account_id))
            .filter(pay_orders::Column::OutTradeNo.eq(out_trade_no))
            .one(txn)
            .await?;
        let Some(order) = order else {
            tracing::error!(
                account_id = pay.account_id,
                out_trade_no,
                "pay notification for an unknown order"
            );
            return Ok(("unknown_order".into(), format!("no order {out_trade_no}")));
        };
        ledger::lock_order(txn, order.id).await?;
        let applied = ledger::apply_trade(txn, order.id, &TradeReport::from_json(resource)).await?;
        Ok(describe(&applied))
    } else if event_type.starts_with("REFUND.") {
        let out_refund_no = resource["out_refund_no"].as_str().unwrap_or_default();
        let refund = pay_refunds::Entity::find()
            .filter(pay_refunds::Column::AccountId.eq(pay.account_id))
            .filter(pay_refunds::Column::OutRefundNo.eq(out_refund_no))
            .one(txn)
            .await?;
        let Some(refund) = refund else {
            tracing::error!(
                account_id = pay.account_id,
                out_refund_no,
                "refund notification for an unknown refund"
            );
            return Ok((
                "unknown_refund".into(),
                format!("no refund {out_refund_no}"),
            ));
        };
        ledger::lock_order(txn, refund.order_id).await?;
        let applied =
            ledger::apply_refund(txn, refund.id, &RefundReport::from_json(resource), None).await?;
        Ok(describe(&applied))
    } else {
        Ok((
            "ignored".into(),
            format!("event type {event_type} is not handled"),
        ))
    }
}
