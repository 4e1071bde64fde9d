//! What the pay routes share: the account and its merchant settings, the
//! notify URL, how orders and refunds are shown, and the WeChat Pay
//! round trips that bring an order's or refund's state up to date.

use axum::http::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use super::client::{PayAccount, PayClient};
use super::ledger::{self, TradeReport};
use crate::auth::CurrentAdmin;
use crate::entity::{accounts, pay_orders, pay_refunds};
use crate::error::AppError;
use sea_orm::DatabaseConnection;

pub async fn load_account(
    db: &DatabaseConnection,
    account_id: i64,
) -> Result<accounts::Model, AppError> {
    accounts::Entity::find_by_id(account_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("account {account_id} not found")))
}

pub async fn pay_account(db: &DatabaseConnection, account_id: i64) -> Result<PayAccount, AppError> {
    PayAccount::from_model(&load_account(db, account_id).await?)
}

/// Where WeChat Pay sends an account's notifications, under `public_base`
/// (see [`crate::http::public_base_url`]).
pub fn notify_url(public_base: &str, account_id: i64) -> String {
    format!("{public_base}/wechat/wxpay/notify/{account_id}")
}

/// `out_trade_no` / `out_refund_no`: what WeChat Pay accepts.
pub fn valid_merchant_no(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '|' | '*'))
}

pub fn present_order(order: &pay_orders::Model) -> Result<Value, AppError> {
    serde_json::to_value(order).map_err(AppError::internal)
}

pub fn present_refund(refund: &pay_refunds::Model) -> Result<Value, AppError> {
    serde_json::to_value(refund).map_err(AppError::internal)
}

pub async fn find_order_ref(
    db: &DatabaseConnection,
    viewer: &CurrentAdmin,
    order_id: Option<i64>,
    account_id: Option<i64>,
    out_trade_no: &str,
) -> Result<pay_orders::Model, AppError> {
    let order = match (order_id, account_id) {
        (Some(id), _) => ledger::find_order(db, id).await?,
        (None, Some(account_id)) if !out_trade_no.is_empty() => {
            viewer.require_account(account_id)?;
            pay_orders::Entity::find()
                .filter(pay_orders::Column::AccountId.eq(account_id))
                .filter(pay_orders::Column::OutTradeNo.eq(out_trade_no))
                .one(db)
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
pub async fn sync_order(
    db: &DatabaseConnection,
    pay: &PayClient,
    account: &mut PayAccount,
    order: &pay_orders::Model,
) -> Result<ledger::Applied, AppError> {
    let path = format!(
        "/v3/pay/transactions/out-trade-no/{}?mchid={}",
        order.out_trade_no, account.mch_id
    );
    let answer = pay.call(account, Method::GET, &path, None).await?;
    if answer["out_trade_no"].as_str() != Some(order.out_trade_no.as_str()) {
        return Err(AppError::Unavailable(
            "WeChat Pay answered about another order".into(),
        ));
    }
    let txn = ledger::begin_locked(db, order.id).await?;
    let applied = ledger::apply_trade(&txn, order.id, &TradeReport::from_json(&answer)).await?;
    txn.commit().await?;
    Ok(applied)
}
