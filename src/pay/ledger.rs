//! The money side in the database: orders and refunds change state only
//! through these functions, inside the caller's transaction, and only along
//! the state machines of [`super::states`]. Every function is idempotent:
//! applying what is already recorded changes nothing.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};

use super::states::{RefundStatus, TradeState};
use crate::entity::{pay_orders, pay_refunds};
use crate::error::AppError;

type Time = chrono::DateTime<chrono::Utc>;

/// What WeChat Pay says about a transaction (from a query or a notification).
#[derive(Debug, Clone, Default)]
pub struct TradeReport {
    pub trade_state: String,
    pub transaction_id: String,
    /// `amount.total`, in fen.
    pub total: Option<i64>,
    pub success_time: Option<Time>,
}

impl TradeReport {
    pub fn from_json(value: &serde_json::Value) -> Self {
        Self {
            trade_state: value["trade_state"].as_str().unwrap_or_default().into(),
            transaction_id: value["transaction_id"].as_str().unwrap_or_default().into(),
            total: value["amount"]["total"].as_i64(),
            success_time: parse_wechat_time(value["success_time"].as_str()),
        }
    }
}

/// What WeChat Pay says about a refund.
#[derive(Debug, Clone, Default)]
pub struct RefundReport {
    pub status: String,
    pub refund_id: String,
    /// `amount.refund`, in fen.
    pub refund: Option<i64>,
    pub success_time: Option<Time>,
}

impl RefundReport {
    /// From a refund answer (`status`) or notification (`refund_status`).
    pub fn from_json(value: &serde_json::Value) -> Self {
        let status = value["status"]
            .as_str()
            .or(value["refund_status"].as_str())
            .unwrap_or_default();
        Self {
            status: status.into(),
            refund_id: value["refund_id"].as_str().unwrap_or_default().into(),
            refund: value["amount"]["refund"].as_i64(),
            success_time: parse_wechat_time(value["success_time"].as_str()),
        }
    }
}

/// WeChat writes times as RFC 3339 with an offset (`2026-11-30T10:00:00+08:00`).
pub fn parse_wechat_time(raw: Option<&str>) -> Option<Time> {
    use chrono::SubsecRound;
    raw.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc).trunc_subsecs(3))
}

/// What applying a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Changed {
        from: String,
        to: String,
    },
    Unchanged,
    /// The reported amount differs from ours: flagged, not applied.
    AmountMismatch {
        ours: i64,
        reported: Option<i64>,
    },
    /// The state machine forbids it: not applied (flagged when money moved).
    Illegal {
        from: String,
        to: String,
    },
    /// A state wxmp does not know: not applied.
    UnknownState(String),
}

impl Applied {
    pub fn result(&self) -> &'static str {
        match self {
            Applied::Changed { .. } => "applied",
            Applied::Unchanged => "unchanged",
            Applied::AmountMismatch { .. } => "amount_mismatch",
            Applied::Illegal { .. } => "illegal_transition",
            Applied::UnknownState(_) => "ignored",
        }
    }
}

/// Why a change to the ledger was not made.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
    #[error("pay order {0} not found")]
    OrderNotFound(i64),
    #[error("refund {0} not found")]
    RefundNotFound(i64),
    /// Another request changed the row first; trying again is safe.
    #[error("{0}")]
    ChangedMeanwhile(String),
    /// The stored rows contradict each other: for a person to look at.
    #[error("{0}")]
    Inconsistent(String),
}

impl From<LedgerError> for AppError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Database(error) => error.into(),
            LedgerError::OrderNotFound(_) | LedgerError::RefundNotFound(_) => {
                AppError::NotFound(error.to_string())
            }
            LedgerError::ChangedMeanwhile(message) => AppError::Conflict(message),
            LedgerError::Inconsistent(message) => AppError::Internal(message),
        }
    }
}

/// Takes the write lock on an order's row for the rest of the transaction,
/// so everything touching its money happens one at a time (and SQLite's
/// transaction starts as a writer).
pub async fn lock_order<C: ConnectionTrait>(db: &C, order_id: i64) -> Result<(), LedgerError> {
    pay_orders::Entity::update_many()
        .col_expr(
            pay_orders::Column::UpdatedAt,
            Expr::col(pay_orders::Column::UpdatedAt).into(),
        )
        .filter(pay_orders::Column::Id.eq(order_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn find_order<C: ConnectionTrait>(
    db: &C,
    order_id: i64,
) -> Result<pay_orders::Model, LedgerError> {
    pay_orders::Entity::find_by_id(order_id)
        .one(db)
        .await?
        .ok_or(LedgerError::OrderNotFound(order_id))
}

/// Flags an order for a person and keeps the reason.
pub async fn flag_order<C: ConnectionTrait>(
    db: &C,
    order_id: i64,
    reason: &str,
) -> Result<(), LedgerError> {
    tracing::error!(order_id, reason, "pay order flagged");
    pay_orders::Entity::update_many()
        .col_expr(pay_orders::Column::Flagged, Expr::value(1i16))
        .col_expr(pay_orders::Column::Note, Expr::value(truncate(reason, 255)))
        .col_expr(pay_orders::Column::UpdatedAt, Expr::value(crate::db::now()))
        .filter(pay_orders::Column::Id.eq(order_id))
        .exec(db)
        .await?;
    Ok(())
}

pub fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Applies WeChat's view of a transaction to the (locked) order.
pub async fn apply_trade<C: ConnectionTrait>(
    db: &C,
    order_id: i64,
    report: &TradeReport,
) -> Result<Applied, LedgerError> {
    let order = find_order(db, order_id).await?;
    let Some(next) = TradeState::parse(&report.trade_state) else {
        tracing::warn!(order_id, state = %report.trade_state, "unknown trade_state reported");
        return Ok(Applied::UnknownState(report.trade_state.clone()));
    };
    let current = TradeState::parse(&order.trade_state).ok_or_else(|| {
        LedgerError::Inconsistent(format!(
            "order {order_id} has state {:?}",
            order.trade_state
        ))
    })?;
    if next.is_paid() && report.total != Some(order.total_fee) {
        flag_order(
            db,
            order_id,
            &format!(
                "amount mismatch: WeChat Pay reports {} fen paid ({}), the order is for {} fen",
                report.total.map_or("no".into(), |t| t.to_string()),
                report.transaction_id,
                order.total_fee
            ),
        )
        .await?;
        return Ok(Applied::AmountMismatch {
            ours: order.total_fee,
            reported: report.total,
        });
    }
    // REFUND is SUCCESS plus refunds: WeChat may still report SUCCESS when
    // every refund was closed, and the order stays as it is.
    if current == next || (current == TradeState::Refund && next == TradeState::Success) {
        if next.is_paid() && order.transaction_id.is_empty() && !report.transaction_id.is_empty() {
            pay_orders::Entity::update_many()
                .col_expr(
                    pay_orders::Column::TransactionId,
                    Expr::value(report.transaction_id.clone()),
                )
                .filter(pay_orders::Column::Id.eq(order_id))
                .exec(db)
                .await?;
        }
        return Ok(Applied::Unchanged);
    }
    if !current.can_become(next) {
        let detail = format!("{current} → {next} is not allowed");
        if next.is_paid() {
            flag_order(
                db,
                order_id,
                &format!(
                    "WeChat Pay reports the order paid ({}) but it is {current}",
                    report.transaction_id
                ),
            )
            .await?;
        } else {
            tracing::warn!(order_id, %detail, "refused a trade state change");
        }
        return Ok(Applied::Illegal {
            from: current.to_string(),
            to: next.to_string(),
        });
    }
    let mut update = pay_orders::Entity::update_many()
        .col_expr(pay_orders::Column::TradeState, Expr::value(next.as_str()))
        .col_expr(pay_orders::Column::UpdatedAt, Expr::value(crate::db::now()));
    if next.is_paid() && !current.is_paid() {
        let paid_at = report.success_time.unwrap_or_else(crate::db::now);
        update = update
            .col_expr(pay_orders::Column::PaidAt, Expr::value(paid_at))
            .col_expr(
                pay_orders::Column::TransactionId,
                Expr::value(report.transaction_id.clone()),
            );
    }
    let done = update
        .filter(pay_orders::Column::Id.eq(order_id))
        .filter(pay_orders::Column::TradeState.eq(current.as_str()))
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        return Err(LedgerError::ChangedMeanwhile(format!(
            "order {order_id} changed meanwhile; try again"
        )));
    }
    tracing::info!(order_id, from = %current, to = %next, "pay order state changed");
    Ok(Applied::Changed {
        from: current.to_string(),
        to: next.to_string(),
    })
}

/// Reserves `amount` of a paid order for a refund: succeeds only while the
/// order is paid and reserved plus refunded stays within the paid amount.
/// One conditional UPDATE, so concurrent refunds cannot overdraw.
pub async fn reserve_refund<C: ConnectionTrait>(
    db: &C,
    order_id: i64,
    amount: i64,
) -> Result<bool, LedgerError> {
    let done = pay_orders::Entity::update_many()
        .col_expr(
            pay_orders::Column::RefundedTotal,
            Expr::col(pay_orders::Column::RefundedTotal).add(amount),
        )
        .col_expr(pay_orders::Column::UpdatedAt, Expr::value(crate::db::now()))
        .filter(pay_orders::Column::Id.eq(order_id))
        .filter(
            pay_orders::Column::TradeState
                .is_in([TradeState::Success.as_str(), TradeState::Refund.as_str()]),
        )
        .filter(pay_orders::Column::Flagged.eq(0i16))
        .filter(
            Expr::col(pay_orders::Column::RefundedTotal)
                .lte(Expr::col(pay_orders::Column::TotalFee).sub(amount)),
        )
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Gives a reserved amount back (the refund did not happen).
async fn release_refund<C: ConnectionTrait>(
    db: &C,
    order_id: i64,
    amount: i64,
) -> Result<(), LedgerError> {
    let done = pay_orders::Entity::update_many()
        .col_expr(
            pay_orders::Column::RefundedTotal,
            Expr::col(pay_orders::Column::RefundedTotal).sub(amount),
        )
        .col_expr(pay_orders::Column::UpdatedAt, Expr::value(crate::db::now()))
        .filter(pay_orders::Column::Id.eq(order_id))
        .filter(pay_orders::Column::RefundedTotal.gte(amount))
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        return Err(LedgerError::Inconsistent(format!(
            "order {order_id}: cannot release {amount} fen, less is reserved"
        )));
    }
    Ok(())
}

/// Applies WeChat's view of a refund to the refund row and its order.
pub async fn apply_refund<C: ConnectionTrait>(
    db: &C,
    refund_row_id: i64,
    report: &RefundReport,
    note: Option<&str>,
) -> Result<Applied, LedgerError> {
    let refund = pay_refunds::Entity::find_by_id(refund_row_id)
        .one(db)
        .await?
        .ok_or(LedgerError::RefundNotFound(refund_row_id))?;
    let Some(next) = RefundStatus::parse(&report.status) else {
        tracing::warn!(refund_row_id, status = %report.status, "unknown refund status reported");
        return Ok(Applied::UnknownState(report.status.clone()));
    };
    let current = RefundStatus::parse(&refund.status).ok_or_else(|| {
        LedgerError::Inconsistent(format!(
            "refund {refund_row_id} has status {:?}",
            refund.status
        ))
    })?;
    if let Some(reported) = report.refund {
        if reported != refund.refund_fee {
            let reason = format!(
                "amount mismatch: WeChat Pay reports {reported} fen refunded, the refund is for {} fen",
                refund.refund_fee
            );
            tracing::error!(refund_row_id, %reason, "refund flagged");
            pay_refunds::Entity::update_many()
                .col_expr(
                    pay_refunds::Column::Note,
                    Expr::value(truncate(&reason, 255)),
                )
                .filter(pay_refunds::Column::Id.eq(refund_row_id))
                .exec(db)
                .await?;
            flag_order(db, refund.order_id, &reason).await?;
            return Ok(Applied::AmountMismatch {
                ours: refund.refund_fee,
                reported: Some(reported),
            });
        }
    }
    if current == next {
        if refund.refund_id.is_empty() && !report.refund_id.is_empty() {
            pay_refunds::Entity::update_many()
                .col_expr(
                    pay_refunds::Column::RefundId,
                    Expr::value(report.refund_id.clone()),
                )
                .filter(pay_refunds::Column::Id.eq(refund_row_id))
                .exec(db)
                .await?;
        }
        return Ok(Applied::Unchanged);
    }
    if !current.can_become(next) {
        tracing::warn!(refund_row_id, from = %current, to = %next, "refused a refund status change");
        return Ok(Applied::Illegal {
            from: current.to_string(),
            to: next.to_string(),
        });
    }
    let mut update = pay_refunds::Entity::update_many()
        .col_expr(pay_refunds::Column::Status, Expr::value(next.as_str()))
        .col_expr(
            pay_refunds::Column::UpdatedAt,
            Expr::value(crate::db::now()),
        );
    if !report.refund_id.is_empty() {
        update = update.col_expr(
            pay_refunds::Column::RefundId,
            Expr::value(report.refund_id.clone()),
        );
    }
    if next == RefundStatus::Success {
        update = update.col_expr(
            pay_refunds::Column::SuccessTime,
            Expr::value(report.success_time.unwrap_or_else(crate::db::now)),
        );
    }
    if let Some(note) = note {
        update = update.col_expr(pay_refunds::Column::Note, Expr::value(truncate(note, 255)));
    }
    let done = update
        .filter(pay_refunds::Column::Id.eq(refund_row_id))
        .filter(pay_refunds::Column::Status.eq(current.as_str()))
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        return Err(LedgerError::ChangedMeanwhile(format!(
            "refund {refund_row_id} changed meanwhile; try again"
        )));
    }
    if next.releases_amount() && !current.releases_amount() {
        release_refund(db, refund.order_id, refund.refund_fee).await?;
    }
    if matches!(next, RefundStatus::Processing | RefundStatus::Success) {
        // WeChat reports an order with any refund as REFUND.
        let order = find_order(db, refund.order_id).await?;
        if order.trade_state == TradeState::Success.as_str() {
            apply_trade(
                db,
                order.id,
                &TradeReport {
                    trade_state: TradeState::Refund.as_str().into(),
                    transaction_id: order.transaction_id.clone(),
                    total: Some(order.total_fee),
                    success_time: order.paid_at,
                },
            )
            .await?;
        }
    }
    tracing::info!(refund_row_id, from = %current, to = %next, "refund status changed");
    Ok(Applied::Changed {
        from: current.to_string(),
        to: next.to_string(),
    })
}

/// A new refund row (its amount already reserved).
pub async fn insert_refund<C: ConnectionTrait>(
    db: &C,
    row: pay_refunds::Model,
) -> Result<(), LedgerError> {
    pay_refunds::Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Begins a transaction holding `order_id`'s row lock.
pub async fn begin_locked(
    db: &sea_orm::DatabaseConnection,
    order_id: i64,
) -> Result<sea_orm::DatabaseTransaction, LedgerError> {
    let txn = db.begin().await?;
    lock_order(&txn, order_id).await?;
    Ok(txn)
}
