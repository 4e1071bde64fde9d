//! A fake WeChat Pay API v3 on 127.0.0.1 for tests, examples and `wxmp sandbox`. It checks
//! every request's `Authorization` signature with the merchant's public key,
//! keeps real order and refund state, signs every answer (with the "WeChat
//! Pay public key" or a platform certificate's key, per merchant), serves
//! `/v3/certificates` encrypted with the APIv3 key, and builds signed,
//! encrypted notifications to send to wxmp. It uses the `rsa`, `aes-gcm`
//! and `x509-cert` crates directly, not wxmp's own code, so it checks wxmp
//! rather than agreeing with it.
//!
//! `sandbox` adds what WeChat's payer side would do, over HTTP, for
//! `wxmp sandbox`: pay an order, finish a refund, each notified to wxmp.

mod keys;
mod sandbox;
mod server;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use rsa::RsaPublicKey;
use serde_json::Value;

pub use keys::{
    encrypt, keys, private_pem, public_pem, signed_headers, wechat_sign, Keys, SignWith,
};
use sandbox::notification;
use server::handle;

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
    /// Answers the next order request (JSAPI or Native) with this error (status, code).
    pub refuse_next_order: Option<(u16, String)>,
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
    /// Starts the fake on a free port of 127.0.0.1 with the test merchant
    /// [`MCH_ID`] registered.
    pub async fn start(sign_with: SignWith) -> Self {
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::start_on(any_port, sign_with)
            .await
            .expect("bind 127.0.0.1")
    }

    /// Starts the fake on `addr` (port 0 picks one) with the test merchant
    /// [`MCH_ID`] registered.
    pub async fn start_on(addr: SocketAddr, sign_with: SignWith) -> std::io::Result<Self> {
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
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
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
        Ok(Self { addr, inner, task })
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
    /// Panics when the order is unknown or not NOTPAY (a test's mistake).
    pub fn pay(&self, out_trade_no: &str) -> Value {
        match self.inner.lock().unwrap().pay(out_trade_no) {
            Ok(resource) => resource,
            Err(refused) => panic!("cannot pay {out_trade_no}: {}", refused.message),
        }
    }

    /// WeChat finishes a refund: SUCCESS (or CLOSED). Returns the REFUND.* resource.
    /// Panics when the refund is unknown (a test's mistake).
    pub fn finish_refund(&self, out_refund_no: &str, status: &str) -> Value {
        match self
            .inner
            .lock()
            .unwrap()
            .finish_refund(out_refund_no, status)
        {
            Ok(resource) => resource,
            Err(refused) => panic!("cannot finish {out_refund_no}: {}", refused.message),
        }
    }

    /// A signed, encrypted notification: (headers, body).
    pub fn notification(
        &self,
        event_type: &str,
        resource: &Value,
        with: SignWith,
    ) -> (Vec<(String, String)>, String) {
        notification(event_type, resource, with)
    }
}

impl Inner {
    /// Which key signs this merchant's answers and notifications.
    fn sign_with(&self, mchid: &str) -> SignWith {
        self.merchants
            .get(mchid)
            .map_or(SignWith::PublicKey, |m| m.sign_with)
    }
}
