//! A fake WeChat Pay API v3 on 127.0.0.1 for tests, examples and `wxmp sandbox`. It checks
//! every request's `Authorization` signature with the merchant's public key,
//! keeps real order and refund state, signs every answer (with the "WeChat
//! Pay public key" or a platform certificate's key, per merchant), serves
//! `/v3/certificates` encrypted with the APIv3 key, and builds signed,
//! encrypted notifications to send to wxmp. It uses the `rsa`, `aes-gcm`
//! and `x509-cert` crates directly, not wxmp's own code, so it checks wxmp
//! rather than agreeing with it.

mod keys;
mod server;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use rsa::RsaPublicKey;
use serde_json::{json, Value};

use keys::random_text;
pub use keys::{
    encrypt, keys, private_pem, public_pem, signed_headers, wechat_sign, Keys, SignWith,
};
use server::{handle, order_json, refund_json};

pub const MCH_ID: &str = "1900000109";
pub const APP_ID: &str = "wxpaytest0000001";
pub const MERCHANT_SERIAL: &str = "444F4864EA9B34415B7A6B0A1BD7AE12F5C4C2D3";
pub const PUB_KEY_ID: &str = "PUB_KEY_ID_0119000001092026113000000000000001";
pub const API_V3_KEY: &str = "0123456789abcdefABCDEFGHIJKLMNOP";

/// One request the fake received (its signature checked or not).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path_and_query: String,
    pub authorization: String,
    pub body: String,
    pub signature_ok: bool,
}

#[derive(Debug, Clone)]
pub struct FakeOrder {
    pub appid: String,
    pub mchid: String,
    pub out_trade_no: String,
    pub trade_type: String,
    pub total: i64,
    pub trade_state: String,
    pub transaction_id: String,
    pub notify_url: String,
    pub openid: String,
    pub success_time: String,
    pub refunded: i64,
}

#[derive(Debug, Clone)]
pub struct FakeRefund {
    pub mchid: String,
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund: i64,
    pub total: i64,
    pub status: String,
    pub notify_url: String,
}

struct Merchant {
    serial: String,
    public_key: RsaPublicKey,
    api_v3_key: String,
    sign_with: SignWith,
}

#[derive(Default)]
pub struct Inner {
    merchants: HashMap<String, Merchant>,
    pub orders: HashMap<String, FakeOrder>,
    pub refunds: HashMap<String, FakeRefund>,
    pub requests: Vec<Recorded>,
    /// Held before answering a refund (to make concurrent refunds overlap).
    pub refund_delay: Duration,
    /// Answers the next refund request with this error (status, code).
    pub refuse_next_refund: Option<(u16, String)>,
    /// Makes the next refund, then answers 500 as if the answer were lost.
    pub lose_next_refund_answer: bool,
    sequence: u64,
}

pub struct FakePay {
    pub addr: SocketAddr,
    pub inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakePay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakePay {
    /// Starts the fake with the test merchant [`MCH_ID`] registered.
    pub async fn start(sign_with: SignWith) -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        inner.lock().unwrap().merchants.insert(
            MCH_ID.into(),
            Merchant {
                serial: MERCHANT_SERIAL.into(),
                public_key: keys().merchant.to_public_key(),
                api_v3_key: API_V3_KEY.into(),
                sign_with,
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = inner.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let shared = shared.clone();
                async move { handle(shared, method, uri, headers, body).await }
            },
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self { addr, inner, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Which key signs this merchant's answers from now on.
    pub fn sign_with(&self, with: SignWith) {
        self.inner
            .lock()
            .unwrap()
            .merchants
            .get_mut(MCH_ID)
            .unwrap()
            .sign_with = with;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn order(&self, out_trade_no: &str) -> Option<FakeOrder> {
        self.inner.lock().unwrap().orders.get(out_trade_no).cloned()
    }

    pub fn refund(&self, out_refund_no: &str) -> Option<FakeRefund> {
        self.inner
            .lock()
            .unwrap()
            .refunds
            .get(out_refund_no)
            .cloned()
    }

    /// The payer pays: the order becomes SUCCESS. Returns the decrypted
    /// TRANSACTION.SUCCESS resource WeChat would notify.
    pub fn pay(&self, out_trade_no: &str) -> Value {
        let mut inner = self.inner.lock().unwrap();
        inner.sequence += 1;
        let sequence = inner.sequence;
        let order = inner.orders.get_mut(out_trade_no).expect("order exists");
        assert_eq!(
            order.trade_state, "NOTPAY",
            "only unpaid orders can be paid"
        );
        order.trade_state = "SUCCESS".into();
        order.transaction_id = format!("42000000{sequence:020}");
        order.success_time = chrono::Utc::now()
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        order_json(order)
    }

    /// WeChat finishes a refund: SUCCESS (or CLOSED). Returns the REFUND.* resource.
    pub fn finish_refund(&self, out_refund_no: &str, status: &str) -> Value {
        let mut inner = self.inner.lock().unwrap();
        let refund = inner.refunds.get_mut(out_refund_no).expect("refund exists");
        refund.status = status.into();
        let (out_trade_no, amount) = (refund.out_trade_no.clone(), refund.refund);
        // Notifications name it refund_status; answers name it status.
        let mut resource = refund_json(refund);
        let status_value = resource.as_object_mut().unwrap().remove("status").unwrap();
        resource["refund_status"] = status_value;
        if status == "CLOSED" {
            if let Some(order) = inner.orders.get_mut(&out_trade_no) {
                order.refunded -= amount;
            }
        }
        resource
    }

    /// A signed, encrypted notification: (headers, body).
    pub fn notification(
        &self,
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
}
