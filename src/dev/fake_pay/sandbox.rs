//! The payer's and WeChat's side, over HTTP, for `wxmp sandbox` (tests call
//! [`super::FakePay::pay`] and build notifications themselves):
//!
//! - `POST /sandbox/orders/{out_trade_no}/pay`: the payer pays an unpaid order;
//! - `POST /sandbox/refunds/{out_refund_no}/finish` with an optional
//!   `{"status": "SUCCESS" | "CLOSED" | "ABNORMAL"}` (SUCCESS by default):
//!   a processing refund ends.
//!
//! Each then sends the signed, encrypted notification to the `notify_url`
//! wxmp gave, and answers what it did and how wxmp answered. Mistakes (an
//! unknown order, a paid one, a bad status) are answered with WeChat Pay's
//! error JSON, `{"code", "message"}`, and a 4xx status; nothing here panics.
//! These requests need no signature and are not recorded.
//!
//! The state changes and notifications themselves live here too, shared
//! with the test-facing [`super::FakePay::pay`], `finish_refund` and
//! `notification`, which panic on a test's mistake instead.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::keys::{encrypt, random_text, signed_headers, SignWith};
use super::server::{order_json, refund_json};
use super::{Inner, API_V3_KEY};

pub(super) async fn handle(
    shared: &Arc<Mutex<Inner>>,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Response {
    let parts: Vec<&str> = path.split('/').collect();
    let done = match (method.as_str(), parts.as_slice()) {
        ("POST", ["orders", no, "pay"]) if !no.is_empty() => pay(shared, no),
        ("POST", ["refunds", no, "finish"]) if !no.is_empty() => {
            let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let status = request["status"].as_str().unwrap_or("SUCCESS");
            finish_refund(shared, no, status)
        }
        _ => Err(Refusal::new(
            404,
            "NOT_FOUND",
            format!(
                "no such sandbox control: {method} /sandbox/{path}; try POST \
                 /sandbox/orders/{{out_trade_no}}/pay or POST \
                 /sandbox/refunds/{{out_refund_no}}/finish"
            ),
        )),
    };
    match done {
        Ok((mut answer, (url, headers, body))) => {
            answer["notified"] = deliver(&url, headers, body).await;
            (StatusCode::OK, Json(answer)).into_response()
        }
        Err(refusal) => refusal.into_response(),
    }
}

/// What was done, and the notification to send: (url, headers, body).
type Done = (Value, (String, Vec<(String, String)>, String));

fn pay(shared: &Arc<Mutex<Inner>>, out_trade_no: &str) -> Result<Done, Refusal> {
    let mut inner = shared.lock().unwrap_or_else(|p| p.into_inner());
    let resource = inner.pay(out_trade_no)?;
    let order = &inner.orders[out_trade_no];
    let with = inner.sign_with(&order.mchid);
    let (headers, body) = notification("TRANSACTION.SUCCESS", &resource, with);
    let answer = json!({
        "out_trade_no": out_trade_no,
        "trade_state": order.trade_state,
        "transaction_id": order.transaction_id,
    });
    Ok((answer, (order.notify_url.clone(), headers, body)))
}

fn finish_refund(
    shared: &Arc<Mutex<Inner>>,
    out_refund_no: &str,
    status: &str,
) -> Result<Done, Refusal> {
    if !matches!(status, "SUCCESS" | "CLOSED" | "ABNORMAL") {
        return Err(Refusal::new(
            400,
            "PARAM_ERROR",
            "status must be SUCCESS, CLOSED or ABNORMAL",
        ));
    }
    let mut inner = shared.lock().unwrap_or_else(|p| p.into_inner());
    let Some(refund) = inner.refunds.get(out_refund_no) else {
        return Err(Refusal::new(404, "RESOURCE_NOT_EXISTS", "no such refund"));
    };
    if refund.status != "PROCESSING" {
        return Err(Refusal::new(
            400,
            "INVALID_REQUEST",
            format!("the refund has already ended: {}", refund.status),
        ));
    }
    let (url, with) = (refund.notify_url.clone(), inner.sign_with(&refund.mchid));
    let resource = inner.finish_refund(out_refund_no, status)?;
    let (headers, body) = notification(&format!("REFUND.{status}"), &resource, with);
    let answer = json!({ "out_refund_no": out_refund_no, "status": status });
    Ok((answer, (url, headers, body)))
}

/// Why the fake refuses a call: WeChat Pay v3's `{"code", "message"}` with
/// its HTTP status.
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    status: u16,
    code: &'static str,
    pub(super) message: String,
}

impl Refusal {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl Inner {
    /// The payer pays a NOTPAY order: it becomes SUCCESS. Returns the
    /// decrypted TRANSACTION.SUCCESS resource.
    pub(super) fn pay(&mut self, out_trade_no: &str) -> Result<Value, Refusal> {
        self.sequence += 1;
        let sequence = self.sequence;
        let Some(order) = self.orders.get_mut(out_trade_no) else {
            return Err(Refusal::new(404, "ORDER_NOT_EXIST", "no such order"));
        };
        if order.trade_state != "NOTPAY" {
            return Err(Refusal::new(
                400,
                "INVALID_REQUEST",
                format!(
                    "only unpaid orders can be paid; this one is {}",
                    order.trade_state
                ),
            ));
        }
        order.trade_state = "SUCCESS".into();
        order.transaction_id = format!("42000000{sequence:020}");
        order.success_time = chrono::Utc::now()
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        Ok(order_json(order))
    }

    /// A refund ends with `status`. Returns the REFUND.* resource.
    pub(super) fn finish_refund(
        &mut self,
        out_refund_no: &str,
        status: &str,
    ) -> Result<Value, Refusal> {
        let Some(refund) = self.refunds.get_mut(out_refund_no) else {
            return Err(Refusal::new(404, "RESOURCE_NOT_EXISTS", "no such refund"));
        };
        refund.status = status.into();
        let (out_trade_no, amount) = (refund.out_trade_no.clone(), refund.refund);
        // Notifications name it refund_status; answers name it status.
        let mut resource = refund_json(refund);
        let status_value = resource.as_object_mut().unwrap().remove("status").unwrap();
        resource["refund_status"] = status_value;
        if status == "CLOSED" {
            if let Some(order) = self.orders.get_mut(&out_trade_no) {
                order.refunded -= amount;
            }
        }
        Ok(resource)
    }
}

/// A signed, encrypted notification: (headers, body).
pub(super) fn notification(
    event_type: &str,
    resource: &Value,
    with: SignWith,
) -> (Vec<(String, String)>, String) {
    let nonce = random_text(12);
    let associated_data = if event_type.starts_with("REFUND.") {
        "refund"
    } else {
        "transaction"
    };
    let body = json!({
            "id": format!("EV-{}", random_text(20)),
            "create_time": chrono::Utc::now().to_rfc3339(),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功",
            "resource": {
                "original_type": associated_data,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": encrypt(API_V3_KEY, &nonce, associated_data, resource.to_string().as_bytes()),
                "associated_data": associated_data,
                "nonce": nonce,
            }
        })
        .to_string();
    (signed_headers(with, body.as_bytes(), None), body)
}

/// Posts the notification as WeChat would; reports wxmp's answer.
async fn deliver(url: &str, headers: Vec<(String, String)>, body: String) -> Value {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(e) => return json!({ "url": url, "error": e.to_string() }),
    };
    let mut request = client
        .post(url)
        .header("Content-Type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let answer = response.text().await.unwrap_or_default();
            json!({ "url": url, "status": status, "answer": answer })
        }
        Err(e) => json!({ "url": url, "error": e.to_string() }),
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = json!({ "code": self.code, "message": self.message });
        (status, Json(body)).into_response()
    }
}
