//! WeChat Pay API v3 for the bound accounts: JSAPI and Native orders, query,
//! close, refunds, and verified, idempotent notifications.
//!
//! - [`crypto`]: signing, verification and decryption (no I/O);
//! - [`states`]: the order and refund state machines (no I/O);
//! - [`client`]: signed requests to WeChat Pay, verified answers, platform certificates;
//! - [`ledger`]: state changes of orders and refunds in the database;
//! - [`service`], [`orders`], [`refunds`]: what the endpoints do; [`qrcode`]: the Native QR code;
//! - [`routes`] and [`notify`]: the HTTP endpoints.

pub mod client;
pub mod crypto;
pub mod ledger;
pub mod notify;
pub mod orders;
pub mod qrcode;
pub mod refunds;
pub mod routes;
pub mod service;
pub mod states;
