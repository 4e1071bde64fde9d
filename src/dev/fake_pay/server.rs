//! The fake WeChat Pay's HTTP side: checks each request's `Authorization`
//! signature with the merchant's public key, records it, answers the v3
//! endpoints wxmp uses from the order and refund state, and signs every answer.
//! Paths under `/sandbox/` go to `sandbox` instead. Every mistake a caller can
//! make is answered with WeChat Pay's error JSON, never a panic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::sha2::Sha256;
use rsa::signature::Verifier;
use serde_json::{json, Value};

use super::keys::{encrypt, keys, random_text, signed_headers};
use super::{FakeOrder, FakeRefund, Inner, Recorded, MCH_ID};

pub(super) fn order_json(order: &FakeOrder) -> Value {
    let mut value = json!({
        "appid": order.appid,
        "mchid": order.mchid,
        "out_trade_no": order.out_trade_no,
        "trade_type": order.trade_type,
        "trade_state": order.trade_state,
        "trade_state_desc": order.trade_state,
        "amount": { "total": order.total, "currency": "CNY" },
    });
    if !order.transaction_id.is_empty() {
        value["transaction_id"] = json!(order.transaction_id);
        value["success_time"] = json!(order.success_time);
        value["amount"]["payer_total"] = json!(order.total);
        value["payer"] = json!({ "openid": if order.openid.is_empty() { "oNativePayer" } else { &order.openid } });
    }
    value
}

pub(super) fn refund_json(refund: &FakeRefund) -> Value {
    let mut value = json!({
        "mchid": refund.mchid,
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "out_trade_no": refund.out_trade_no,
        "status": refund.status,
        "amount": { "refund": refund.refund, "total": refund.total, "payer_refund": refund.refund, "currency": "CNY" },
    });
    if refund.status == "SUCCESS" {
        value["success_time"] = json!(chrono::Utc::now().to_rfc3339());
    }
    value
}

fn error(status: u16, code: &str, message: &str) -> (u16, Option<Value>) {
    (status, Some(json!({ "code": code, "message": message })))
}

/// Checks `Authorization` as WeChat Pay does; returns the merchant id.
fn check_authorization(
    inner: &Inner,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, String> {
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Authorization")?;
    let rest = header
        .strip_prefix("WECHATPAY2-SHA256-RSA2048 ")
        .ok_or("wrong scheme")?;
    let mut fields = HashMap::new();
    for part in rest.split(',') {
        let (name, value) = part.split_once('=').ok_or("malformed field")?;
        fields.insert(name.trim(), value.trim_matches('"'));
    }
    let field = |name: &str| fields.get(name).copied().ok_or(format!("no {name}"));
    let mchid = field("mchid")?;
    let merchant = inner.merchants.get(mchid).ok_or("unknown mchid")?;
    if field("serial_no")? != merchant.serial {
        return Err("wrong serial_no".into());
    }
    let timestamp: i64 = field("timestamp")?.parse().map_err(|_| "bad timestamp")?;
    if (chrono::Utc::now().timestamp() - timestamp).abs() > 300 {
        return Err("stale timestamp".into());
    }
    let body = std::str::from_utf8(body).map_err(|_| "body not UTF-8")?;
    let message = format!(
        "{method}\n{path_and_query}\n{timestamp}\n{}\n{body}\n",
        field("nonce_str")?
    );
    let signature = B64
        .decode(field("signature")?)
        .map_err(|_| "signature not base64")?;
    VerifyingKey::<Sha256>::new(merchant.public_key.clone())
        .verify(
            message.as_bytes(),
            &Signature::try_from(signature.as_slice()).map_err(|_| "bad signature bytes")?,
        )
        .map_err(|_| "signature does not verify")?;
    Ok(mchid.to_string())
}

pub(super) async fn handle(
    shared: Arc<Mutex<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(control) = uri.path().strip_prefix("/sandbox/") {
        return super::sandbox::handle(&shared, &method, control, &body).await;
    }
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let (checked, delay) = {
        let mut inner = shared.lock().unwrap();
        let checked = check_authorization(&inner, &method, &path_and_query, &headers, &body);
        inner.requests.push(Recorded {
            method: method.to_string(),
            path_and_query: path_and_query.clone(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .into(),
            body: String::from_utf8_lossy(&body).into(),
            signature_ok: checked.is_ok(),
        });
        (checked, inner.refund_delay)
    };
    let mchid = match checked {
        Ok(mchid) => mchid,
        Err(reason) => {
            return respond(&shared, MCH_ID, error(401, "SIGN_ERROR", &reason));
        }
    };
    if uri.path() == "/v3/refund/domestic/refunds" && !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = {
        let mut inner = shared.lock().unwrap();
        route(&mut inner, &mchid, &method, &uri, &request)
    };
    respond(&shared, &mchid, answer)
}

fn respond(
    shared: &Arc<Mutex<Inner>>,
    mchid: &str,
    (status, body): (u16, Option<Value>),
) -> Response {
    let with = shared.lock().unwrap().sign_with(mchid);
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut response = (StatusCode::from_u16(status).unwrap(), body.clone()).into_response();
    for (name, value) in signed_headers(with, body.as_bytes(), None) {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    if !body.is_empty() {
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
    }
    response
}

/// The order number in `/v3/pay/transactions/out-trade-no/{no}/close`.
fn close_path(path: &str) -> Option<&str> {
    path.strip_prefix("/v3/pay/transactions/out-trade-no/")?
        .strip_suffix("/close")
}

fn route(
    inner: &mut Inner,
    mchid: &str,
    method: &Method,
    uri: &Uri,
    request: &Value,
) -> (u16, Option<Value>) {
    let path = uri.path();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    inner.sequence += 1;
    let sequence = inner.sequence;
    match (method.as_str(), path) {
        ("POST", "/v3/pay/transactions/jsapi" | "/v3/pay/transactions/native") => {
            if let Some((status, code)) = inner.refuse_next_order.take() {
                return error(status, &code, "refused on purpose");
            }
            let jsapi = path.ends_with("jsapi");
            if text(&request["mchid"]) != mchid {
                return error(400, "PARAM_ERROR", "mchid does not match the signer");
            }
            let total = request["amount"]["total"].as_i64().unwrap_or(0);
            let out_trade_no = text(&request["out_trade_no"]);
            let openid = text(&request["payer"]["openid"]);
            if total < 1
                || out_trade_no.is_empty()
                || text(&request["description"]).is_empty()
                || text(&request["appid"]).is_empty()
                || !text(&request["notify_url"]).starts_with("http")
                || (jsapi && openid.is_empty())
            {
                return error(400, "PARAM_ERROR", "missing or invalid parameters");
            }
            if inner.orders.contains_key(&out_trade_no) {
                return error(400, "INVALID_REQUEST", "out_trade_no already used");
            }
            inner.orders.insert(
                out_trade_no.clone(),
                FakeOrder {
                    appid: text(&request["appid"]),
                    mchid: mchid.into(),
                    out_trade_no,
                    trade_type: if jsapi { "JSAPI" } else { "NATIVE" }.into(),
                    total,
                    trade_state: "NOTPAY".into(),
                    transaction_id: String::new(),
                    notify_url: text(&request["notify_url"]),
                    openid,
                    success_time: String::new(),
                    refunded: 0,
                },
            );
            if jsapi {
                (
                    200,
                    Some(
                        json!({ "prepay_id": format!("wx{sequence:08}fakeprepay{}", random_text(10)) }),
                    ),
                )
            } else {
                (
                    200,
                    Some(
                        json!({ "code_url": format!("weixin://wxpay/bizpayurl?pr={}", random_text(7)) }),
                    ),
                )
            }
        }
        ("GET", _) if path.starts_with("/v3/pay/transactions/out-trade-no/") => {
            let no = &path["/v3/pay/transactions/out-trade-no/".len()..];
            if uri.query() != Some(&format!("mchid={mchid}")) {
                return error(400, "PARAM_ERROR", "mchid is required");
            }
            match inner.orders.get(no) {
                Some(order) if order.mchid == mchid => (200, Some(order_json(order))),
                _ => error(404, "ORDER_NOT_EXIST", "no such order"),
            }
        }
        ("POST", _) if close_path(path).is_some() => {
            let no = close_path(path).unwrap_or_default();
            if text(&request["mchid"]) != mchid {
                return error(400, "PARAM_ERROR", "mchid is required");
            }
            match inner.orders.get_mut(no) {
                Some(order) if matches!(order.trade_state.as_str(), "SUCCESS" | "REFUND") => {
                    error(400, "ORDERPAID", "the order is paid")
                }
                Some(order) => {
                    order.trade_state = "CLOSED".into();
                    (204, None)
                }
                None => error(404, "ORDER_NOT_EXIST", "no such order"),
            }
        }
        ("POST", "/v3/refund/domestic/refunds") => {
            if let Some((status, code)) = inner.refuse_next_refund.take() {
                return error(status, &code, "refused on purpose");
            }
            let out_refund_no = text(&request["out_refund_no"]);
            if let Some(existing) = inner.refunds.get(&out_refund_no) {
                return (200, Some(refund_json(existing)));
            }
            let out_trade_no = text(&request["out_trade_no"]);
            let refund = request["amount"]["refund"].as_i64().unwrap_or(0);
            let Some(order) = inner.orders.get_mut(&out_trade_no) else {
                return error(404, "RESOURCE_NOT_EXISTS", "no such order");
            };
            if !matches!(order.trade_state.as_str(), "SUCCESS" | "REFUND") {
                return error(400, "INVALID_REQUEST", "the order is not paid");
            }
            if request["amount"]["total"].as_i64() != Some(order.total) || refund < 1 {
                return error(400, "PARAM_ERROR", "amount does not match the order");
            }
            if order.refunded + refund > order.total {
                return error(403, "NOT_ENOUGH", "refund exceeds the paid amount");
            }
            order.refunded += refund;
            order.trade_state = "REFUND".into();
            let record = FakeRefund {
                mchid: mchid.into(),
                out_trade_no,
                out_refund_no: out_refund_no.clone(),
                refund_id: format!("50300000{sequence:020}"),
                refund,
                total: order.total,
                status: "PROCESSING".into(),
                notify_url: text(&request["notify_url"]),
            };
            let answer = refund_json(&record);
            inner.refunds.insert(out_refund_no, record);
            if std::mem::take(&mut inner.lose_next_refund_answer) {
                return error(500, "SYSTEM_ERROR", "answer lost on purpose");
            }
            (200, Some(answer))
        }
        ("GET", _) if path.starts_with("/v3/refund/domestic/refunds/") => {
            let no = &path["/v3/refund/domestic/refunds/".len()..];
            match inner.refunds.get(no) {
                Some(refund) if refund.mchid == mchid => (200, Some(refund_json(refund))),
                _ => error(404, "RESOURCE_NOT_EXISTS", "no such refund"),
            }
        }
        ("GET", "/v3/certificates") => {
            let key = inner.merchants[mchid].api_v3_key.clone();
            let nonce = random_text(12);
            let now = chrono::Utc::now();
            (
                200,
                Some(json!({ "data": [{
                    "serial_no": keys().certificate_serial,
                    "effective_time": now.to_rfc3339(),
                    "expire_time": (now + chrono::Duration::days(5 * 365)).to_rfc3339(),
                    "encrypt_certificate": {
                        "algorithm": "AEAD_AES_256_GCM",
                        "nonce": nonce,
                        "associated_data": "certificate",
                        "ciphertext": encrypt(&key, &nonce, "certificate", keys().certificate_pem.as_bytes()),
                    }
                }]})),
            )
        }
        _ => error(404, "NOT_FOUND", "no such endpoint in the fake"),
    }
}
