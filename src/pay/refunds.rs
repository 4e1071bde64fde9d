//! Refunding part or all of a paid order: the refunds of an order never add
//! up to more than was paid, and one whose outcome is unknown stays reserved.

use axum::http::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde::Deserialize;
use serde_json::{json, Value};

use super::client::{PayClient, PayError};
use super::ledger::{self, RefundReport};
use super::service::{find_order_ref, notify_url, pay_account, present_refund, valid_merchant_no};
use super::states::{RefundStatus, TradeState};
use crate::auth::CurrentAdmin;
use crate::entity::pay_refunds;
use crate::error::{AppError, FieldErrors};
use crate::ids::IdGenerator;
use sea_orm::DatabaseConnection;

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
    db: &DatabaseConnection,
    ids: &IdGenerator,
    pay: &PayClient,
    viewer: &CurrentAdmin,
    public_base: &str,
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
        db,
        viewer,
        request.order_id,
        request.account_id,
        &request.out_trade_no,
    )
    .await?;
    let mut account = pay_account(db, order.account_id).await?;
    let id = ids.next_id()?;
    let out_refund_no = if request.out_refund_no.is_empty() {
        format!("RF{id}")
    } else {
        request.out_refund_no.clone()
    };

    // Reserve the amount first; only a reservation lets the request go out.
    let now = crate::db::now();
    let txn = db.begin().await?;
    if !ledger::reserve_refund(&txn, order.id, request.refund_fee).await? {
        txn.rollback().await?;
        let order = ledger::find_order(db, order.id).await?;
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
        return Err(match AppError::from(error) {
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
        "notify_url": notify_url(public_base, order.account_id),
        "amount": { "refund": request.refund_fee, "total": order.total_fee, "currency": "CNY" },
    });
    if !request.reason.is_empty() {
        wechat_body["reason"] = json!(request.reason);
    }
    let answer = pay
        .call(
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
            mark_unknown(db, id, &error).await?;
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
            mark_unknown(db, id, &error).await?;
            return Err(AppError::Unavailable(format!(
                "{error}; the refund {out_refund_no} stays reserved — query it with /wechat/wxpay/query_refund"
            )));
        }
    };
    let txn = ledger::begin_locked(db, order.id).await?;
    let applied = ledger::apply_refund(&txn, id, &report, note.as_deref()).await?;
    txn.commit().await?;
    if let Some(error) = failure {
        return Err(error.into());
    }
    tracing::info!(admin = %viewer.username, order_id = order.id, refund = id, %out_refund_no, refund_fee = request.refund_fee, "refund requested");
    let refund = find_refund(db, id).await?;
    Ok(json!({ "refund": present_refund(&refund)?, "result": applied.result() }))
}

pub async fn mark_unknown(
    db: &DatabaseConnection,
    refund_id: i64,
    error: &PayError,
) -> Result<(), AppError> {
    pay_refunds::Entity::update_many()
        .col_expr(
            pay_refunds::Column::Note,
            Expr::value(ledger::truncate(&format!("outcome unknown: {error}"), 255)),
        )
        .filter(pay_refunds::Column::Id.eq(refund_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn find_refund(db: &DatabaseConnection, id: i64) -> Result<pay_refunds::Model, AppError> {
    pay_refunds::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("refund {id} not found")))
}

/// A refund by its `id`, or by `account_id` + `out_refund_no`, checked
/// against the admin's accounts.
pub async fn find_refund_ref(
    db: &DatabaseConnection,
    viewer: &CurrentAdmin,
    id: Option<i64>,
    account_id: Option<i64>,
    out_refund_no: &str,
) -> Result<pay_refunds::Model, AppError> {
    let refund = match (id, account_id) {
        (Some(id), _) => find_refund(db, id).await?,
        (None, Some(account_id)) if !out_refund_no.is_empty() => {
            viewer.require_account(account_id)?;
            pay_refunds::Entity::find()
                .filter(pay_refunds::Column::AccountId.eq(account_id))
                .filter(pay_refunds::Column::OutRefundNo.eq(out_refund_no))
                .one(db)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("no refund {out_refund_no}")))?
        }
        _ => {
            return Err(AppError::field(
                "id",
                "is required (or account_id and out_refund_no)",
            ))
        }
    };
    viewer.require_account(refund.account_id)?;
    Ok(refund)
}

/// Longer than a refund request to WeChat Pay can take (see the client's
/// timeout): a refund still unknown to WeChat Pay after this was never
/// received, so no money moved.
pub const SUBMISSION_WINDOW: chrono::Duration = chrono::Duration::seconds(120);

/// Asks WeChat Pay about a refund and records its status; a refund WeChat Pay
/// never received (unknown after the submission window) is recorded failed.
pub async fn query(
    db: &DatabaseConnection,
    pay: &PayClient,
    refund: &pay_refunds::Model,
) -> Result<Value, AppError> {
    let mut account = pay_account(db, refund.account_id).await?;
    let path = format!("/v3/refund/domestic/refunds/{}", refund.out_refund_no);
    let (report, note) = match pay.call(&mut account, Method::GET, &path, None).await {
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
    let txn = ledger::begin_locked(db, refund.order_id).await?;
    let applied = ledger::apply_refund(&txn, refund.id, &report, note.as_deref()).await?;
    txn.commit().await?;
    let refund = find_refund(db, refund.id).await?;
    Ok(json!({ "refund": present_refund(&refund)?, "result": applied.result() }))
}
