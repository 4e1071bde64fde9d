//! WeChat Pay API v3 for the bound accounts: JSAPI and Native orders, query,
//! close, refunds, and verified, idempotent notifications.
//!
//! - [`crypto`]: signing, verification and decryption (no I/O);
//! - [`states`]: the order and refund state machines (no I/O);
//! - [`client`]: signed requests to WeChat Pay, verified answers, platform certificates;
//! - [`ledger`]: state changes of orders and refunds in the database;
//! - [`routes`] and [`notify`]: the HTTP endpoints.

pub mod client;
pub mod crypto;
pub mod ledger;
pub mod notify;
pub mod routes;
pub mod states;

use axum::routing::{get, post};
use utoipa::openapi::path::HttpMethod;

use crate::admin::Resource;
use crate::api::{Api, Operation};
use crate::entity::pay_notifications;
use crate::error::FieldErrors;

/// The journal of received notifications, listed read-only.
pub struct PayNotifications;

impl Resource for PayNotifications {
    type Entity = pay_notifications::Entity;
    type Model = pay_notifications::Model;
    type ActiveModel = pay_notifications::ActiveModel;
    const NOUN: &'static str = "pay notification";
    const FILTERS: &'static [&'static str] = &[
        "event_id",
        "event_type",
        "out_trade_no",
        "out_refund_no",
        "result",
    ];

    fn validate(_: &pay_notifications::Model, _: &mut FieldErrors) {}
}

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
        post(routes::create_order),
    )
    .route(
        Operation::new(Get, "/wechat/wxpay/qrcode", TAG, "The Native order's code_url as a PNG QR code")
            .query("order_id", "the order's id"),
        get(routes::qrcode),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/query_order",
            TAG,
            "Ask WeChat Pay about an order and record its state: {order_id} or {account_id, out_trade_no}",
        )
        .json_body(),
        post(routes::query_order),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/close_order",
            TAG,
            "Close an unpaid order: {order_id} or {account_id, out_trade_no}",
        )
        .json_body(),
        post(routes::close_order),
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
        post(routes::refund),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/query_refund",
            TAG,
            "Ask WeChat Pay about a refund and record its status: {id} or {account_id, out_refund_no}",
        )
        .json_body(),
        post(routes::query_refund),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/refresh_certificates",
            TAG,
            "Download the account's platform certificates now (GET /v3/certificates): {account_id}",
        )
        .json_body(),
        post(routes::refresh_certificates),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/wxpay/notify/{account_id}",
            TAG,
            "WeChat Pay's notifications (signed and encrypted); 204 when handled, {code: FAIL, message} otherwise",
        )
        .public(),
        post(notify::notify),
    )
    .list::<PayNotifications>("/wechat/wxpay/notifications", TAG)
}
