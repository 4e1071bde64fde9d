//! Refunding part or all of a paid order: the refunds of an order never add
//! up to more than was paid, and one whose outcome is unknown stays reserved.

use axum::http::{HeaderMap, Method};
use sea_orm::TransactionTrait;
use serde::Deserialize;
use serde_json::{json, Value};

use super::client::{self, PayError};
use super::ledger::{self, RefundReport};
use super::service::*;
use super::states::{RefundStatus, TradeState};
use crate::auth::CurrentAdmin;
use crate::entity::pay_refunds;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
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

pub async fn request_refund(
    state: &AppState,
    viewer: &CurrentAdmin,
    headers: &HeaderMap,
    request: RefundRequest,
) -> Result<Value, AppError> {
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
        state,
        viewer,
        request.order_id,
        request.account_id,
        &request.out_trade_no,
    )
    .await?;
    let mut account = pay_account(state, order.account_id).await?;
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
        "notify_url": notify_url(state, headers, order.account_id),
        "amount": { "refund": request.refund_fee, "total": order.total_fee, "currency": "CNY" },
    });
    if !request.reason.is_empty() {
        wechat_body["reason"] = json!(request.reason);
    }
    let answer = client::call(
        state,
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
            mark_unknown(state, id, &error).await?;
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
            mark_unknown(state, id, &error).await?;
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
    let refund = find_refund(state, id).await?;
    Ok(json!({ "refund": present_refund(&refund)?, "result": applied.result() }))
}
