//! Orders: creating one (checked, stored first so a crash cannot lose it, then
//! placed with WeChat Pay; the JSAPI pay parameters or the Native code_url
//! back), querying its state, closing it.

use axum::http::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::client::{PayClient, PayError};
use super::crypto;
use super::ledger::{self, TradeReport};
use super::service::{notify_url, pay_account, present_order, sync_order, valid_merchant_no};
use super::states::TradeState;
use crate::audit;
use crate::auth::CurrentAdmin;
use crate::entity::pay_orders;
use crate::error::{AppError, FieldErrors};
use crate::ids::IdGenerator;
use sea_orm::DatabaseConnection;

/// Largest order WeChat Pay's JSAPI and Native accept, in fen.
pub const MAX_TOTAL_FEE: i64 = 10_000_000_000;

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
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
    pub fn validate(&self) -> Result<(), AppError> {
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

pub async fn create(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    pay: &PayClient,
    viewer: &CurrentAdmin,
    public_base: &str,
    request: CreateOrder,
) -> Result<Value, AppError> {
    request.validate()?;
    viewer.require_account(request.account_id)?;
    let mut account = pay_account(db, request.account_id).await?;
    let id = ids.next_id()?;
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
        .exec_without_returning(db)
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
        "notify_url": notify_url(public_base, request.account_id),
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
    let answer = pay
        .call(&mut account, Method::POST, path, Some(&wechat_body))
        .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(error @ PayError::Rejected { .. }) => {
            // WeChat Pay has no such order, so it can never be paid: drop the
            // row (a closed one would pile up on each retry and keep the
            // out_trade_no taken) and keep the refusal in the audit trail.
            let txn = ledger::begin_locked(db, id).await?;
            pay_orders::Entity::delete_by_id(id).exec(&txn).await?;
            let mut params = serde_json::to_value(&request).map_err(AppError::internal)?;
            params["out_trade_no"] = json!(out_trade_no);
            params["error"] = json!(error.to_string());
            let change = audit::Change::action(
                "create_order_refused",
                "pay_order",
                request.account_id,
                params,
            )
            .on(id);
            audit::record(&txn, ids, viewer, change).await?;
            txn.commit().await?;
            tracing::warn!(admin = %viewer.username, %out_trade_no, %error, "pay order refused by WeChat Pay; not kept");
            return Err(error.into());
        }
        Err(error) => {
            // No trustworthy answer: WeChat Pay may hold the order, so keep
            // it open; a query tells.
            set_order_note(db, id, &format!("creating: {error}")).await?;
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
        .exec(db)
        .await?;
    tracing::info!(admin = %viewer.username, order_id = id, %out_trade_no, total_fee = request.total_fee, trade_type = %request.trade_type, "pay order created");
    result["order"] = present_order(&ledger::find_order(db, id).await?)?;
    Ok(result)
}

pub async fn set_order_note<C: sea_orm::ConnectionTrait>(
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

/// Asks WeChat Pay about an order and records what it says.
pub async fn query(
    db: &DatabaseConnection,
    pay: &PayClient,
    order: &pay_orders::Model,
) -> Result<Value, AppError> {
    let mut account = pay_account(db, order.account_id).await?;
    let applied = sync_order(db, pay, &mut account, order).await?;
    let order = ledger::find_order(db, order.id).await?;
    Ok(json!({
        "order": present_order(&order)?,
        "trade_state": order.trade_state,
        "result": applied.result(),
    }))
}

/// Closes an unpaid order on WeChat Pay and records it; an order paid
/// meanwhile is recorded as paid and the close refused.
pub async fn close(
    db: &DatabaseConnection,
    pay: &PayClient,
    viewer: &CurrentAdmin,
    order: &pay_orders::Model,
) -> Result<Value, AppError> {
    let current = TradeState::parse(&order.trade_state)
        .ok_or_else(|| AppError::internal("stored trade_state unknown"))?;
    if current == TradeState::Closed {
        return Ok(json!({ "order": present_order(order)?, "result": "unchanged" }));
    }
    if !current.is_open() {
        return Err(AppError::Conflict(format!(
            "only unpaid orders can be closed; order {} is {current}",
            order.id
        )));
    }
    let mut account = pay_account(db, order.account_id).await?;
    let path = format!(
        "/v3/pay/transactions/out-trade-no/{}/close",
        order.out_trade_no
    );
    let body = json!({ "mchid": account.mch_id });
    match pay
        .call(&mut account, Method::POST, &path, Some(&body))
        .await
    {
        Ok(_) => {}
        Err(PayError::Rejected { code, message, .. }) if code == "ORDERPAID" => {
            // Paid meanwhile: record the payment rather than the close.
            sync_order(db, pay, &mut account, order).await?;
            return Err(AppError::Conflict(format!(
                "order {} was paid meanwhile and cannot be closed ({message})",
                order.id
            )));
        }
        Err(error) => return Err(error.into()),
    }
    let txn = ledger::begin_locked(db, order.id).await?;
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
    let order = ledger::find_order(db, order.id).await?;
    Ok(json!({ "order": present_order(&order)?, "result": applied.result() }))
}
